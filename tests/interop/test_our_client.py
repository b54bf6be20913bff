"""Our TLS 1.3 client over real sockets: against OpenSSL's s_server, Python's ssl, and our server.

Every connection here is a real TCP connection on loopback, driven by
client/fetch.py (`fetch`, `tls13_client_factory`) or by the `tls-web-server get`
command itself, run as a child process.  The servers are the independent
implementations: `openssl s_server -tls1_3` (one child per test, on a port the
kernel chose, read back from its "ACCEPT" line) and an `ssl.SSLContext`
server in a thread; then our own server, so the command a learner types is
shown working, and shown failing with a one-line explanation that names the
alert.

What this module must never do: sleep to synchronise (it waits for what a
process printed), use a fixed port, or kill a process it did not start.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tests.interop.harness import CLIENT_TIMEOUT_SECONDS, KEY_TYPES, ChainStore, require_tool
from tests.interop.openssl_cli import InteractiveProcess
from tls_web_server.client.fetch import ClientError, FetchResult, fetch, tls13_client_factory
from tls_web_server.tls import pki
from tls_web_server.tls.tls13.client import TicketStore

TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

# What CertificateVerify is signed with, per demo key type (RFC 8446 section 4.2.3).
SCHEME_PREFIX = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "rsa-2048": "rsa_pss_rsae_",
}

_ACCEPT_LINE = re.compile(r"ACCEPT [^\n]*:(\d+)\n")


# ---------------------------------------------------------------------------
# openssl s_server
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def openssl_s_server(chain: pki.GeneratedPki, *options: str) -> Iterator[int]:
    """`openssl s_server -tls1_3 -www` with `chain`; yields the port it listens on."""
    require_tool("openssl")
    command = [
        "openssl",
        "s_server",
        "-tls1_3",
        "-www",  # answers any request with a status page naming the session: New or Reused
        "-accept",
        "127.0.0.1:0",  # the kernel picks a free port; s_server prints it
        "-cert",
        str(chain.server_cert),
        "-key",
        str(chain.server_key),
        "-cert_chain",
        str(chain.intermediate_cert),
        *options,
    ]
    with InteractiveProcess(command) as server:
        end = server.wait_for("ACCEPT")
        server.wait_for("\n", after=end)
        match = _ACCEPT_LINE.search(server.output)
        assert match is not None, server.output
        yield int(match[1])


def our_client(root_cert: Path, tickets: TicketStore | None = None):
    return tls13_client_factory(root_cert, tickets=tickets)


def get(port: int, root_cert: Path, tickets: TicketStore | None = None) -> FetchResult:
    return fetch(
        f"https://localhost:{port}/",
        new_tls=our_client(root_cert, tickets),
        timeout=CLIENT_TIMEOUT_SECONDS,
    )


@pytest.mark.parametrize("suite", TLS13_SUITES)
def test_each_cipher_suite_against_s_server(chains: ChainStore, suite: str):
    chain = chains.get("ecdsa-p256")
    with openssl_s_server(chain, "-ciphersuites", suite) as port:
        result = get(port, chain.root_cert)

    assert result.response.status == 200
    assert result.negotiated is not None
    assert result.negotiated.protocol == "TLSv1.3"
    assert result.negotiated.cipher_suite == suite
    # The status page is OpenSSL's own account of the session.
    assert f"New, TLSv1.3, Cipher is {suite}".encode() in result.response.body


def test_hello_retry_request_from_s_server_limited_to_p384(chains: ChainStore):
    # We send key shares for x25519 and secp256r1 only: the server must ask again.
    chain = chains.get("ecdsa-p256")
    with openssl_s_server(chain, "-groups", "P-384") as port:
        result = get(port, chain.root_cert)

    assert result.response.status == 200
    negotiated = result.negotiated
    assert negotiated is not None
    assert negotiated.hello_retry
    assert negotiated.group == "secp384r1"


@pytest.mark.parametrize("key_type", SCHEME_PREFIX)
def test_each_certificate_key_type_against_s_server(chains: ChainStore, key_type: str):
    chain = chains.get(key_type)
    with openssl_s_server(chain) as port:
        result = get(port, chain.root_cert)

    assert result.response.status == 200
    negotiated = result.negotiated
    assert negotiated is not None and negotiated.signature_scheme is not None
    assert negotiated.signature_scheme.startswith(SCHEME_PREFIX[key_type])


def test_an_ed25519_s_server_is_refused_and_told_why(chains: ChainStore):
    # Our client offers no ed25519 (it refuses Ed25519 certificates, as browsers
    # do), so s_server has nothing to sign with and refuses the hello.
    assert set(KEY_TYPES) - set(SCHEME_PREFIX) == {"ed25519"}
    chain = chains.get("ed25519")
    with openssl_s_server(chain) as port, pytest.raises(ClientError) as caught:
        get(port, chain.root_cert)
    message = str(caught.value)
    assert "the server sent handshake_failure" in message
    assert "A server whose certificate holds an Ed25519 key ends here" in message
    assert "`tls-web-server certs DIR --key-type ecdsa-p256`" in message


def test_resumption_against_s_server(chains: ChainStore):
    chain = chains.get("ecdsa-p256")
    tickets = TicketStore()
    with openssl_s_server(chain) as port:
        first = get(port, chain.root_cert, tickets)
        assert len(tickets) >= 1, "s_server sent no NewSessionTicket"
        second = get(port, chain.root_cert, tickets)

    assert first.negotiated is not None and not first.negotiated.resumed
    assert second.negotiated is not None and second.negotiated.resumed
    assert second.negotiated.signature_scheme is None  # no certificate when resuming
    assert b"Reused, TLSv1.3" in second.response.body  # and OpenSSL agrees


# ---------------------------------------------------------------------------
# Python's ssl module as the server
# ---------------------------------------------------------------------------


@dataclass
class PythonServerLog:
    """What the server thread saw: the ALPN and version it agreed, and any failure."""

    alpn: list[str | None] = field(default_factory=list)
    versions: list[str | None] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


@contextlib.contextmanager
def python_ssl_server(
    chain: pki.GeneratedPki, folder: Path, body: bytes
) -> Iterator[tuple[int, PythonServerLog]]:
    """An SSLContext server (TLS 1.3 only, ALPN http/1.1) answering one request with `body`."""
    chain_file = folder / "python-server-chain.pem"
    chain_file.write_bytes(chain.server_cert.read_bytes() + chain.intermediate_cert.read_bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(chain_file, chain.server_key)
    context.set_alpn_protocols(["http/1.1"])
    log = PythonServerLog()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(CLIENT_TIMEOUT_SECONDS)

    def serve_one() -> None:
        try:
            connection, _address = listener.accept()
            with context.wrap_socket(connection, server_side=True) as tls:
                log.alpn.append(tls.selected_alpn_protocol())
                log.versions.append(tls.version())
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                head = (
                    f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                tls.sendall(head.encode() + body)
        except (OSError, ssl.SSLError) as error:
            log.errors.append(error)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], log
    finally:
        thread.join(timeout=CLIENT_TIMEOUT_SECONDS)
        listener.close()


def test_our_client_against_a_python_ssl_server(chains: ChainStore, tmp_path: Path):
    chain = chains.get("ecdsa-p256")
    page = b"<p>served by Python's ssl module</p>\n"
    with python_ssl_server(chain, tmp_path, page) as (port, log):
        result = get(port, chain.root_cert)

    assert log.errors == []
    assert result.response.status == 200
    assert result.response.body == page
    assert result.negotiated is not None
    assert result.negotiated.alpn == "http/1.1"
    assert log.alpn == ["http/1.1"] and log.versions == ["TLSv1.3"]


# ---------------------------------------------------------------------------
# our own server, and the `get` command a learner types
# ---------------------------------------------------------------------------


def tls_web_server_command() -> list[str]:
    """The installed `tls-web-server` script of this interpreter, else `python -m`."""
    script = Path(sys.executable).with_name("tls-web-server")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "tls_web_server"]


def run_get(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tls_web_server_command(), "get", *arguments],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS * 2,
        check=False,
    )


@contextlib.contextmanager
def our_ssl_server(folder: Path, chain: pki.GeneratedPki) -> Iterator[int]:
    """Our server with one `listen ... ssl;` (site: tests/conftest.py), on a free port."""
    config = write_site(folder, chain, listens="listen 127.0.0.1:0 ssl;")
    with serve_in_thread(config) as running:
        yield running.port("ssl")


def test_our_client_fetches_from_our_server(demo_pki: pki.GeneratedPki, tmp_path: Path):
    with our_ssl_server(tmp_path, demo_pki) as port:
        result = get(port, demo_pki.root_cert)

    assert result.response.status == 200
    assert result.response.body == b"<h1>hello</h1>\n"
    assert result.negotiated is not None
    assert result.negotiated.protocol == "TLSv1.3" and result.negotiated.alpn == "http/1.1"


def test_get_resumes_the_second_connection(demo_pki: pki.GeneratedPki, tmp_path: Path):
    with our_ssl_server(tmp_path, demo_pki) as port:
        url = f"https://localhost:{port}/"
        done = run_get("-v", "--resume", "--cafile", str(demo_pki.root_cert), url, url)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "<h1>hello</h1>\n" * 2
    first, second = done.stderr.splitlines()
    assert first.startswith("TLSv1.3 ") and "resumed=no" in first and "alpn=http/1.1" in first
    assert second.startswith("TLSv1.3 ") and "resumed=yes" in second


def test_get_names_the_group_and_takes_groups_in_openssls_names(
    demo_pki: pki.GeneratedPki, tmp_path: Path
):
    with our_ssl_server(tmp_path, demo_pki) as port:
        url = f"https://localhost:{port}/"
        cafile = ("--cafile", str(demo_pki.root_cert))
        default = run_get("-v", *cafile, url)
        chosen = [
            run_get("-v", "--groups", groups, *cafile, url)
            for groups in ("P-256:X25519", "SecP384r1MLKEM1024", "X448:X25519MLKEM768")
        ]
        refused = run_get("--groups", "X25519:ffdhe2048", *cafile, url)

    # The defaults: a hybrid share the server prefers, in one round trip.
    assert default.returncode == 0, default.stderr
    assert default.stderr.startswith("TLSv1.3 TLS_AES_128_GCM_SHA256 X25519MLKEM768 hrr=no")
    summaries = [done.stderr.split()[2:4] for done in chosen]
    assert [done.returncode for done in chosen] == [0, 0, 0]
    # x25519 is the default share among P-256:X25519; the server prefers it too.
    assert summaries[0] == ["x25519", "hrr=no"]
    assert summaries[1] == ["SecP384r1MLKEM1024", "hrr=no"]  # the only group, its share sent
    assert summaries[2] == ["X25519MLKEM768", "hrr=no"]
    assert refused.returncode == 2 and "unknown group 'ffdhe2048'" in refused.stderr


def assert_explained_in_one_line(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tls-web-server: TLS failed: "), lines[0]
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_get_explains_a_certificate_for_another_name(tmp_path: Path):
    other = pki.generate_pki(tmp_path / "pki", ["other.example"])
    with our_ssl_server(tmp_path, other) as port:
        done = run_get("--cafile", str(other.root_cert), f"https://localhost:{port}/")

    assert_explained_in_one_line(
        done,
        "certificate for other.example does not match localhost",
        "(alert sent: bad_certificate)",
    )


def test_get_explains_an_untrusted_root(
    demo_pki: pki.GeneratedPki, chains: ChainStore, tmp_path: Path
):
    stranger = chains.get("ecdsa-p256")  # another demo root, not the one that signed the server
    with our_ssl_server(tmp_path, demo_pki) as port:
        done = run_get("--cafile", str(stranger.root_cert), f"https://localhost:{port}/")

    assert_explained_in_one_line(
        done, "chain does not lead to the trusted root", "(alert sent: unknown_ca)"
    )


def test_get_names_the_alert_a_server_sent(chains: ChainStore):
    # s_server limited to a finite-field group we do not offer refuses our hello.
    chain = chains.get("ecdsa-p256")
    with openssl_s_server(chain, "-groups", "ffdhe2048") as port:
        done = run_get("--cafile", str(chain.root_cert), f"https://localhost:{port}/")

    assert_explained_in_one_line(done, "(alert received: handshake_failure)")
