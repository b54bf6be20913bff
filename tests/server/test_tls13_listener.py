"""`listen ... ssl;` end to end: our TLS 1.3 under the same session, SNI, keylog, record sizes."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.tls import pki


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ssl_client(root: Path, *, keylog: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(root))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    if keylog is not None:
        context.keylog_filename = str(keylog)
    return context


def fetch_over_ssl(context: ssl.SSLContext, port: int, server_name: str, path: str = "/"):
    """(response bytes, peer certificate) for one request on a new connection."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n"
        tls.sendall(request.encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks), tls.getpeercert()


def dns_names(certificate: dict) -> set[str]:
    return {value for kind, value in certificate["subjectAltName"] if kind == "DNS"}


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    """Two server blocks sharing one ssl port, each with its own certificate."""
    folder = tmp_path_factory.mktemp("sni")
    alpha = pki.generate_pki(folder / "alpha", ["alpha.test"])
    beta_cert, beta_key = folder / "beta_cert.pem", folder / "beta_key.pem"
    pki.issue_server_certificate(
        alpha.intermediate_cert, alpha.intermediate_key, beta_cert, beta_key, names=["beta.test"]
    )
    for name in ("alpha", "beta"):
        (folder / "html" / name).mkdir(parents=True)
        (folder / "html" / name / "index.html").write_text(f"<p>{name}</p>\n")
    port = free_port()
    config = folder / "site.conf"
    config.write_text(
        f"""
http {{
    access_log off;
    ssl_certificate_chain {alpha.intermediate_cert};
    server {{
        listen 127.0.0.1:{port} ssl default_server;
        server_name alpha.test;
        ssl_certificate {alpha.server_cert};
        ssl_certificate_key {alpha.server_key};
        root html/alpha;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name beta.test;
        ssl_certificate {beta_cert};
        ssl_certificate_key {beta_key};
        root html/beta;
    }}
}}
"""
    )
    return config, alpha.root_cert


def test_sni_selects_the_server_block_and_its_certificate(two_sites):
    config, root = two_sites
    context = ssl_client(root)
    context.check_hostname = False  # the unknown name below gets the default certificate
    with serve_in_thread(config) as running:
        port = running.bound[0].port
        alpha_page, alpha_cert = fetch_over_ssl(context, port, "alpha.test")
        beta_page, beta_cert = fetch_over_ssl(context, port, "beta.test")
        other_page, other_cert = fetch_over_ssl(context, port, "unknown.test")
    assert dns_names(alpha_cert) == {"alpha.test"}
    assert dns_names(beta_cert) == {"beta.test"}
    assert dns_names(other_cert) == {"alpha.test"}  # unknown names get the default server
    assert alpha_page.endswith(b"<p>alpha</p>\n")
    assert beta_page.endswith(b"<p>beta</p>\n")
    assert other_page.endswith(b"<p>alpha</p>\n")


@pytest.fixture
def tls_site(tmp_path, demo_pki):
    return write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;")


def test_sslkeylogfile_lines_match_what_openssl_logs(tls_site, tmp_path, demo_pki, monkeypatch):
    ours = tmp_path / "ours.keys"
    monkeypatch.setenv("SSLKEYLOGFILE", str(ours))
    theirs = tmp_path / "openssl.keys"
    with serve_in_thread(tls_site) as running:
        # Python's ssl reads SSLKEYLOGFILE too: the client must write elsewhere.
        monkeypatch.delenv("SSLKEYLOGFILE")
        page, _ = fetch_over_ssl(
            ssl_client(demo_pki.root_cert, keylog=theirs), running.port("ssl"), "localhost"
        )
    assert page.startswith(b"HTTP/1.1 200 OK")
    our_lines = set(ours.read_text().splitlines())
    their_lines = {line for line in theirs.read_text().splitlines() if not line.startswith("#")}
    assert len(our_lines) == 5
    assert our_lines == their_lines
    assert oct(ours.stat().st_mode & 0o777) == "0o600"


def test_a_small_response_leaves_as_one_record_and_a_large_one_in_full_records(
    tls_site, tmp_path, demo_pki
):
    """Read the raw records with our own record reader, decrypting nothing."""
    from tls_web_server.tls.tls13.record import RecordReader

    (tmp_path / "html" / "big.bin").write_bytes(b"z" * 100_000)
    context = ssl_client(demo_pki.root_cert)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with (
        serve_in_thread(tls_site) as running,
        socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10) as sock,
    ):
        while True:
            try:
                client.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536))
        sock.sendall(outgoing.read())

        def records_for(path: str, expected_body: int) -> list[int]:
            client.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            sock.sendall(outgoing.read())
            reader, sizes, body = RecordReader(), [], b""
            while len(body) < expected_body or b"\r\n\r\n" not in body:
                data = sock.recv(65536)
                reader.feed(data)
                while (record := reader.next_record()) is not None:
                    if record.content_type == 23:
                        sizes.append(len(record.fragment))
                incoming.write(data)
                try:
                    while True:
                        body += client.read(65536)
                except ssl.SSLWantReadError:
                    pass
                if b"\r\n\r\n" in body and len(body.split(b"\r\n\r\n", 1)[1]) >= expected_body:
                    break
            return sizes

        records_for("/", 15)  # session tickets may arrive with the first response
        small = records_for("/", 15)
        large = records_for("/big.bin", 100_000)
    assert len(small) == 1
    full = 16384 + 1 + 16  # plaintext, content type byte, AEAD tag
    assert large[:-1] == [full] * (len(large) - 1)
    assert len(large) == 7  # head + 100,000 bytes = 6 full records and a short one


def test_plain_http_sent_to_the_tls_port_is_refused_without_harm(tls_site, tmp_path, demo_pki):
    with serve_in_thread(tls_site) as running:
        with socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = sock.recv(100)
            # A plaintext unexpected_message alert, then the close.
            assert reply[:3] == b"\x15\x03\x03"
            assert reply[5:7] == b"\x02\x0a"
            assert sock.recv(100) == b""
        page, _ = fetch_over_ssl(ssl_client(demo_pki.root_cert), running.port("ssl"), "localhost")
        assert page.startswith(b"HTTP/1.1 200 OK")
    assert "plain HTTP sent to a TLS port" in (tmp_path / "error.log").read_text()
