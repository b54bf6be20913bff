"""A small HTTPS server on tlslite-ng, the other pure-Python TLS 1.3: a peer for the benchmarks.

tlslite-ng (pip package `tlslite-ng`) implements TLS 1.3 in Python, with an
ECDSA P-256 server key, so it serves the very same certificate chain and
files as ours, nginx and the stdlib-ssl server.  Without optional
accelerators (M2Crypto, pycryptodome, gmpy) installed, everything down to
AES-GCM and X25519 is pure Python: that is the configuration the benchmark
measures, and the report says so.

The server is deliberately simple: one connection at a time, blocking
sockets, `TLSConnection.handshakeServer`, then HTTP/1.1 GET requests on a
keep-alive connection answered from the root folder.  One at a time is not
a handicap for a CPU-bound handshake benchmark on one core (a pure-Python
handshake takes milliseconds, the client's reset arrives in microseconds),
but it is one for any latency-bound load, which is why the benchmark only
measures its handshakes.

Run as a child (`python bench/tlslite_server.py --root DIR --cert C --chain I --key K`),
it prints "listening on https://127.0.0.1:PORT (TLSv1.3)" and serves until SIGTERM.

This module serves files under its root only, listens on 127.0.0.1 only,
and never touches our server's code.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

import tlslite
from tlslite import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey
from tlslite.errors import TLSError

HOST = "127.0.0.1"
LISTEN_BACKLOG = 1024
# A client that stops talking must not hold the only connection slot for long.
IDLE_TIMEOUT_SECONDS = 5.0
MAX_HEAD_BYTES = 16 * 1024
READ_SIZE = 16 * 1024


def version() -> str:
    return f"tlslite-ng {tlslite.__version__}"


def load_credentials(cert: Path, chain: Path, key: Path) -> tuple[X509CertChain, object]:
    """The server certificate followed by the intermediate, and the private key (PKCS#8 PEM)."""
    certificate_chain = X509CertChain()
    certificate_chain.parsePemList(cert.read_text() + chain.read_text())
    private_key = parsePEMKey(key.read_text(), private=True)
    return certificate_chain, private_key


def tls13_settings() -> HandshakeSettings:
    settings = HandshakeSettings()
    settings.minVersion = (3, 4)  # TLS 1.3 only, as every other server in the benchmark
    settings.maxVersion = (3, 4)
    return settings


def _read_head(connection: TLSConnection, pending: bytearray) -> bytes | None:
    """One request head (through the blank line), or None when the client closed first."""
    while True:
        end = pending.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(pending[: end + 4])
            del pending[: end + 4]
            return head
        if len(pending) > MAX_HEAD_BYTES:
            return None
        chunk = connection.read(READ_SIZE)
        if not chunk:
            return None
        pending += chunk


def _response(root: Path, head: bytes) -> tuple[bytes, bool]:
    """(the whole response, keep the connection open?) for one GET or HEAD request."""
    request_line, _, header_text = head.partition(b"\r\n")
    parts = request_line.split()
    keep_alive = b"connection: close" not in header_text.lower()
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD"):
        return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", False
    path = (root / parts[1].decode("ascii", "replace").lstrip("/")).resolve()
    if root not in path.parents or not path.is_file():
        status, body = b"404 Not Found", b""
    else:
        status, body = b"200 OK", path.read_bytes()
    head_lines = [
        b"HTTP/1.1 " + status,
        b"Content-Type: application/octet-stream",
        b"Content-Length: " + str(len(body)).encode(),
    ]
    if not keep_alive:
        head_lines.append(b"Connection: close")
    response = b"\r\n".join(head_lines) + b"\r\n\r\n"
    return response + (body if parts[0] == b"GET" else b""), keep_alive


def serve_connection(
    sock: socket.socket, root: Path, chain: X509CertChain, key: object, settings: HandshakeSettings
) -> None:
    sock.settimeout(IDLE_TIMEOUT_SECONDS)
    connection = TLSConnection(sock)
    try:
        connection.handshakeServer(
            certChain=chain, privateKey=key, settings=settings, alpn=[bytearray(b"http/1.1")]
        )
        pending = bytearray()
        while (head := _read_head(connection, pending)) is not None:
            response, keep_alive = _response(root, head)
            connection.write(response)
            if not keep_alive:
                break
        connection.close()
    except (TLSError, OSError):
        # A reset after our first flight is how the handshake benchmark says goodbye.
        pass
    finally:
        sock.close()


def serve(root: Path, cert: Path, chain: Path, key: Path, port: int) -> int:
    certificate_chain, private_key = load_credentials(cert, chain, key)
    settings = tls13_settings()
    listener = socket.create_server((HOST, port), backlog=LISTEN_BACKLOG)
    print(f"listening on https://{HOST}:{listener.getsockname()[1]} (TLSv1.3)", flush=True)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    root = root.resolve()
    with listener:
        while True:
            sock, _address = listener.accept()
            serve_connection(sock, root, certificate_chain, private_key, settings)


def main() -> int:
    parser = argparse.ArgumentParser(description="a tlslite-ng HTTPS server for the benchmarks")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--chain", type=Path, required=True, help="the intermediate certificate")
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    return serve(args.root, args.cert, args.chain, args.key, args.port)


if __name__ == "__main__":
    sys.exit(main())
