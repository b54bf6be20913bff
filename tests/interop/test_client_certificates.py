"""Mutual TLS end to end: curl, Python's ssl and our client against ssl_verify_client.

One server, three TLS listeners from one configuration file: `on`, `optional`
and `optional_no_ca`, each with an access log that writes nginx's
$ssl_client_verify, $ssl_client_s_dn, $ssl_client_i_dn and
$ssl_client_fingerprint.  Each client presents, in turn, a certificate from
the server's CA, none, one from another CA, an expired one, and (ours only,
since the others cannot be told to sign wrongly) a certificate with another
key's CertificateVerify.  The outcomes are the ones docs/tls13.md promises:
a certificate that is not accepted ends the handshake with its alert, and
nothing is served.

The directives are ours to test, so these servers always run our TLS 1.3
(TLS_WEB_SERVER_TLS13_ENGINE=openssl does not apply them).
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.harness import (
    CLIENT_TIMEOUT_SECONDS,
    python_client_context,
    python_https_get,
    require_tool,
)
from tls_web_server.client.fetch import ClientError, fetch, tls13_client_factory
from tls_web_server.config import load_config
from tls_web_server.server.server import Server
from tls_web_server.tls import pki

MODES = ("on", "optional", "optional_no_ca")
LOG_FORMAT = "$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|$ssl_client_fingerprint|$status"
DAY = 86400.0


@dataclass(frozen=True)
class ClientFiles:
    cert: Path
    key: Path

    def credentials(self) -> pki.ServerCredentials:
        return pki.load_server_credentials(self.cert, self.key)


@dataclass(frozen=True)
class MutualServer:
    folder: Path
    root_cert: Path
    ports: dict[str, int]  # ssl_verify_client mode -> port
    good: ClientFiles
    stranger: ClientFiles
    expired: ClientFiles

    def url(self, mode: str) -> str:
        return f"https://localhost:{self.ports[mode]}/"

    def log_lines(self, mode: str) -> list[str]:
        path = self.folder / f"{mode}-access.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def wait_for_line(self, mode: str, count: int) -> str:
        """The `count`th line of the mode's access log (the log is flushed once per loop turn)."""
        deadline = time.monotonic() + CLIENT_TIMEOUT_SECONDS
        while len(lines := self.log_lines(mode)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{mode}: expected {count} log lines, have {lines!r}")
            time.sleep(0.02)  # polling interval; the deadline decides
        return lines[count - 1]

    def wait_for_error(self, text: str) -> None:
        """Until the error log has a line with `text` (polled, like the access log)."""
        path = self.folder / "error.log"
        deadline = time.monotonic() + CLIENT_TIMEOUT_SECONDS
        while not (path.exists() and text in path.read_text(encoding="utf-8")):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in {path}")
            time.sleep(0.02)  # polling interval; the deadline decides


def issue(ca_folder: Path, out: Path, name: str, now: float | None = None) -> ClientFiles:
    files = ClientFiles(out / f"{name}_cert.pem", out / f"{name}_key.pem")
    pki.issue_client_certificate(
        ca_folder / "intermediate_cert.pem",
        ca_folder / "intermediate_key.pem",
        files.cert,
        files.key,
        name,
        now=now,
    )
    return files


def write_config(folder: Path, chain: pki.GeneratedPki) -> Path:
    (folder / "html").mkdir()
    (folder / "html" / "index.html").write_text("mutual TLS works\n", encoding="utf-8")
    blocks = "".join(
        f"""
    server {{
        listen 127.0.0.1:0 ssl;
        server_name localhost;
        ssl_verify_client {mode};
        access_log {folder / f"{mode}-access.log"} mtls;
        location / {{ root html; }}
    }}"""
        for mode in MODES
    )
    config = folder / "site.conf"
    config.write_text(
        f"""
error_log {folder / "error.log"};
http {{
    log_format mtls '{LOG_FORMAT}';
    ssl_certificate {chain.server_cert};
    ssl_certificate_key {chain.server_key};
    ssl_certificate_chain {chain.intermediate_cert};
    ssl_client_certificate {chain.root_cert};
    ssl_verify_depth 1;
{blocks}
}}
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def mutual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MutualServer]:
    folder = tmp_path_factory.mktemp("mtls")
    chain = pki.generate_pki(folder / "ca", ["localhost"])
    pki.generate_pki(folder / "other-ca", ["localhost"])  # the CA the server does not trust
    clients = folder / "clients"
    clients.mkdir()
    server = Server(load_config(write_config(folder, chain)))
    bound = server.bind()
    ports = dict(zip(MODES, (listener.port for listener in bound), strict=True))
    thread = threading.Thread(
        target=server.run, kwargs={"install_signal_handlers": False}, daemon=True
    )
    thread.start()
    try:
        yield MutualServer(
            folder=folder,
            root_cert=chain.root_cert,
            ports=ports,
            good=issue(folder / "ca", clients, "alice"),
            stranger=issue(folder / "other-ca", clients, "mallory"),
            expired=issue(folder / "ca", clients, "old", now=time.time() - 2 * 365 * DAY),
        )
    finally:
        server.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the server did not stop within 20 s"
    assert "internal error" not in (folder / "error.log").read_text(encoding="utf-8")


def fingerprint(files: ClientFiles) -> str:
    leaf = pki.load_server_credentials(files.cert, files.key).chain_der[0]
    return hashlib.sha1(leaf).hexdigest()


def assert_success_line(line: str, files: ClientFiles, name: str) -> None:
    verify, subject, issuer, print_, status = line.split("|")
    assert verify == "SUCCESS"
    assert subject == f"CN={name},O=tls-web-server demo"
    assert issuer.startswith("CN=tls-web-server demo intermediate CA")
    assert print_ == fingerprint(files)
    assert status == "200"


# ---------------------------------------------------------------------------
# curl
# ---------------------------------------------------------------------------


def curl(mutual: MutualServer, mode: str, files: ClientFiles | None) -> subprocess.CompletedProcess:
    require_tool("curl")
    options = ["--cert", str(files.cert), "--key", str(files.key)] if files else []
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--cacert",
            str(mutual.root_cert),
            "--resolve",
            f"localhost:{mutual.ports[mode]}:127.0.0.1",
            "--max-time",
            str(int(CLIENT_TIMEOUT_SECONDS)),
            *options,
            mutual.url(mode),
        ],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS * 2,
        check=False,
    )


@pytest.mark.parametrize("mode", MODES)
def test_curl_with_a_trusted_certificate(mutual: MutualServer, mode: str) -> None:
    before = len(mutual.log_lines(mode))
    result = curl(mutual, mode, mutual.good)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "mutual TLS works\n"
    assert_success_line(mutual.wait_for_line(mode, before + 1), mutual.good, "alice")


def test_curl_without_a_certificate(mutual: MutualServer) -> None:
    refused = curl(mutual, "on", None)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "certificate required" in refused.stderr.lower()
    before = len(mutual.log_lines("optional"))
    served = curl(mutual, "optional", None)
    assert served.returncode == 0 and served.stdout == "mutual TLS works\n"
    assert mutual.wait_for_line("optional", before + 1) == "NONE|-|-|-|200"


@pytest.mark.parametrize(
    ("which", "alert"), [("stranger", "unknown ca"), ("expired", "certificate expired")]
)
@pytest.mark.parametrize("mode", ["on", "optional"])
def test_curl_with_a_certificate_we_refuse(
    mutual: MutualServer, mode: str, which: str, alert: str
) -> None:
    result = curl(mutual, mode, getattr(mutual, which))
    assert result.returncode != 0 and result.stdout == ""
    assert alert in result.stderr.lower()


# ---------------------------------------------------------------------------
# Python's ssl
# ---------------------------------------------------------------------------


def python_context(mutual: MutualServer, files: ClientFiles | None) -> ssl.SSLContext:
    context = python_client_context(mutual.root_cert)
    if files is not None:
        context.load_cert_chain(files.cert, files.key)
    return context


def python_refused(mutual: MutualServer, mode: str, files: ClientFiles | None) -> str:
    """The reason of the SSLError Python's client meets (at its first read, in TLS 1.3)."""
    context = python_context(mutual, files)
    with (
        socket.create_connection(("127.0.0.1", mutual.ports[mode]), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        with pytest.raises(ssl.SSLError) as caught:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            while tls.recv(65536):
                pass
        return str(caught.value.reason)


@pytest.mark.parametrize("mode", MODES)
def test_python_ssl_with_a_trusted_certificate(mutual: MutualServer, mode: str) -> None:
    before = len(mutual.log_lines(mode))
    server = _as_interop(mutual, mode)
    fetched = python_https_get(server, python_context(mutual, mutual.good))
    assert fetched.response.status == 200
    assert fetched.session_reused is False
    assert_success_line(mutual.wait_for_line(mode, before + 1), mutual.good, "alice")


def test_python_ssl_without_a_certificate(mutual: MutualServer) -> None:
    assert python_refused(mutual, "on", None) == "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    before = len(mutual.log_lines("optional_no_ca"))
    fetched = python_https_get(_as_interop(mutual, "optional_no_ca"), python_context(mutual, None))
    assert fetched.response.status == 200
    assert mutual.wait_for_line("optional_no_ca", before + 1) == "NONE|-|-|-|200"


@pytest.mark.parametrize("mode", ["on", "optional"])
def test_python_ssl_with_a_certificate_we_refuse(mutual: MutualServer, mode: str) -> None:
    assert python_refused(mutual, mode, mutual.stranger) == "TLSV1_ALERT_UNKNOWN_CA"
    assert python_refused(mutual, mode, mutual.expired) == "SSLV3_ALERT_CERTIFICATE_EXPIRED"


def test_optional_no_ca_serves_an_untrusted_certificate_and_logs_why(
    mutual: MutualServer,
) -> None:
    before = len(mutual.log_lines("optional_no_ca"))
    context = python_context(mutual, mutual.stranger)
    fetched = python_https_get(_as_interop(mutual, "optional_no_ca"), context)
    assert fetched.response.status == 200
    line = mutual.wait_for_line("optional_no_ca", before + 1)
    verify, subject, _issuer, print_, status = line.split("|")
    assert re.fullmatch(r"FAILED:chain does not lead to the trusted root .*", verify), verify
    assert subject == "CN=mallory,O=tls-web-server demo"
    assert print_ == fingerprint(mutual.stranger) and status == "200"
    # An expired certificate is no "unknown CA": refused even here, as nginx does.
    assert python_refused(mutual, "optional_no_ca", mutual.expired) == (
        "SSLV3_ALERT_CERTIFICATE_EXPIRED"
    )


@dataclass(frozen=True)
class _InteropView:
    """What harness.python_https_get reads of a server: its TLS port."""

    ssl_port: int


def _as_interop(mutual: MutualServer, mode: str) -> _InteropView:
    return _InteropView(mutual.ports[mode])


# ---------------------------------------------------------------------------
# our client
# ---------------------------------------------------------------------------


def ours(mutual: MutualServer, mode: str, credentials: pki.ServerCredentials | None):
    factory = tls13_client_factory(mutual.root_cert, client_credentials=credentials)
    return fetch(mutual.url(mode), new_tls=factory, timeout=CLIENT_TIMEOUT_SECONDS)


@pytest.mark.parametrize("mode", MODES)
def test_our_client_with_a_trusted_certificate(mutual: MutualServer, mode: str) -> None:
    before = len(mutual.log_lines(mode))
    result = ours(mutual, mode, mutual.good.credentials())
    assert result.response.status == 200 and result.response.body == b"mutual TLS works\n"
    assert_success_line(mutual.wait_for_line(mode, before + 1), mutual.good, "alice")


@pytest.mark.parametrize(
    ("mode", "which", "alert"),
    [
        ("on", None, "certificate_required"),
        ("on", "stranger", "unknown_ca"),
        ("optional", "stranger", "unknown_ca"),
        ("on", "expired", "certificate_expired"),
        ("optional", "expired", "certificate_expired"),
    ],
)
def test_our_client_refused(mutual: MutualServer, mode: str, which: str | None, alert: str) -> None:
    credentials = getattr(mutual, which).credentials() if which else None
    with pytest.raises(ClientError, match=alert):
        ours(mutual, mode, credentials)


@pytest.mark.parametrize("mode", MODES)
def test_a_certificate_verify_by_another_key_is_decrypt_error(
    mutual: MutualServer, mode: str
) -> None:
    good = mutual.good.credentials()
    impostor = pki.ServerCredentials(
        chain_der=good.chain_der,
        private_key=mutual.stranger.credentials().private_key,
        signature_schemes=good.signature_schemes,
        leaf_names=(),
    )
    with pytest.raises(ClientError, match="decrypt_error"):
        ours(mutual, mode, impostor)
    # The server logged the refusal (the log is flushed once per loop turn), and is still well.
    mutual.wait_for_error("client signature over the transcript is invalid")
    before = len(mutual.log_lines(mode))
    assert ours(mutual, mode, good).response.status == 200
    # Waited for, so that no later test counts this line as its own.
    assert_success_line(mutual.wait_for_line(mode, before + 1), mutual.good, "alice")
