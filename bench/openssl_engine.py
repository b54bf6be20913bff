"""OpenSSL (through Python's `ssl` module) behind our TLS contract, for comparisons only.

The product never uses this: it exists so that benchmarks and interop tests
can run *our* event loop and HTTP code with OpenSSL doing the TLS, and so
isolate what our TLS 1.3 costs.  `ssl.SSLObject` over two `MemoryBIO`s is a
sans-IO TLS object, which is exactly the tls/api.py contract.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

from tls_web_server.config import ServerConfig
from tls_web_server.tls.api import Negotiated, TLSConnection
from tls_web_server.tls.errors import TLSError, TLSUsageError


class OpenSSLServerConnection:
    """A server-side ssl.SSLObject wearing the four-method contract."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._established = False
        self._peer_closed = False
        self._plaintext = bytearray()

    def feed_wire_data(self, data: bytes) -> None:
        self._incoming.write(data)
        try:
            if not self._established:
                self._ssl.do_handshake()
                self._established = True
            while True:
                chunk = self._ssl.read(1 << 16)
                if not chunk:
                    self._peer_closed = True
                    return
                self._plaintext += chunk
        except ssl.SSLWantReadError:
            return
        except ssl.SSLZeroReturnError:
            self._peer_closed = True
        except ssl.SSLError as error:
            raise TLSError(f"OpenSSL: {error.reason or error}") from None

    def pop_pending_wire_data(self) -> bytes:
        return self._outgoing.read()

    def read_plaintext(self) -> bytes:
        data = bytes(self._plaintext)
        self._plaintext.clear()
        return data

    def protect_application_data(self, data: bytes) -> bytes:
        if not self._established:
            raise TLSUsageError("handshake not finished")
        view = memoryview(data)
        while view:
            written = self._ssl.write(view)
            view = view[written:]
        return self._outgoing.read()

    def close(self) -> None:
        try:
            self._ssl.unwrap()
        except ssl.SSLError:
            pass

    @property
    def is_established(self) -> bool:
        return self._established

    @property
    def peer_closed(self) -> bool:
        return self._peer_closed

    @property
    def negotiated(self) -> Negotiated | None:
        cipher = self._ssl.cipher()
        if cipher is None:
            return None
        return Negotiated(
            protocol=self._ssl.version() or "?",
            cipher_suite=cipher[0],
            group="?",
            alpn=self._ssl.selected_alpn_protocol(),
        )


def openssl_context(server: ServerConfig) -> ssl.SSLContext:
    """A TLS 1.3-only server context with the server block's certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    assert server.ssl_certificate is not None and server.ssl_certificate_key is not None
    chain = server.ssl_certificate.read_bytes()
    if server.ssl_certificate_chain is not None:
        chain += server.ssl_certificate_chain.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        chain_path = Path(folder) / "chain.pem"
        chain_path.write_bytes(chain)
        context.load_cert_chain(chain_path, server.ssl_certificate_key)
    return context


def openssl_engine(servers: list[ServerConfig]) -> Callable[[], TLSConnection]:
    """A server/listeners.py TLS 1.3 engine backed by OpenSSL (default server's certificate)."""
    context = openssl_context(servers[0])
    return lambda: OpenSSLServerConnection(context)
