"""Mutual TLS from the command line: `certs --client NAME` and `get --cert --key`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.conftest import serve_in_thread
from tls_web_server.cli import main
from tls_web_server.tls import pki


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    folder = tmp_path / "certs"
    assert main(["certs", str(folder), "--client", "alice"]) == 0
    return folder


def test_certs_client_says_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = tmp_path / "certs"
    assert main(["certs", str(folder), "--client", "alice"]) == 0
    out = capsys.readouterr().out
    assert f"client certificate for alice: {folder / 'client_alice_cert.pem'}" in out
    assert f"client private key (mode 0600): {folder / 'client_alice_key.pem'}" in out
    assert "ssl_client_certificate" in out


def write_config(folder: Path, certs: Path) -> Path:
    (folder / "html").mkdir()
    (folder / "html" / "index.html").write_text("for alice\n", encoding="utf-8")
    config = folder / "site.conf"
    config.write_text(
        f"""
http {{
    ssl_certificate {certs / "server_cert.pem"};
    ssl_certificate_key {certs / "server_key.pem"};
    ssl_certificate_chain {certs / "intermediate_cert.pem"};
    ssl_client_certificate {certs / "root_cert.pem"};
    ssl_verify_client on;
    server {{
        listen 127.0.0.1:0 ssl;
        access_log off;
        location / {{ root html; }}
    }}
}}
""",
        encoding="utf-8",
    )
    return config


def test_certs_client_issues_a_client_auth_chain_with_an_owner_only_key(certs: Path) -> None:
    key = certs / "client_alice_key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    chain = x509.load_pem_x509_certificates((certs / "client_alice_cert.pem").read_bytes())
    leaf, issuer = chain
    assert issuer.subject == leaf.issuer
    assert issuer == x509.load_pem_x509_certificate((certs / "intermediate_cert.pem").read_bytes())
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["alice"]


def test_certs_client_again_keeps_the_existing_ca(
    certs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root_before = (certs / "root_cert.pem").read_bytes()
    server_before = (certs / "server_cert.pem").read_bytes()
    assert main(["certs", str(certs), "--client", "bob@example.com"]) == 0
    assert "issuing from the existing CA" in capsys.readouterr().out
    assert (certs / "root_cert.pem").read_bytes() == root_before
    assert (certs / "server_cert.pem").read_bytes() == server_before
    leaf = x509.load_pem_x509_certificates(
        (certs / "client_bob@example.com_cert.pem").read_bytes()
    )[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.RFC822Name) == ["bob@example.com"]


def test_certs_client_refuses_a_name_that_is_no_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", str(tmp_path / "c"), "--client", "../evil"]) == 2
    assert "a client name is" in capsys.readouterr().err
    assert not list((tmp_path / "c").glob("client_*"))


def test_get_with_and_without_a_client_certificate(
    tmp_path: Path, certs: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    cafile = str(certs / "root_cert.pem")
    cert, key = str(certs / "client_alice_cert.pem"), str(certs / "client_alice_key.pem")
    with serve_in_thread(write_config(tmp_path, certs)) as running:
        url = running.url("ssl")
        assert main(["get", url, "--cafile", cafile, "--cert", cert, "--key", key]) == 0
        assert capsysbinary.readouterr().out == b"for alice\n"
        assert main(["get", url, "--cafile", cafile]) == 1
        error = capsysbinary.readouterr().err.decode()
        assert "certificate_required" in error and "--cert FILE --key FILE" in error
        assert "RFC 8446 section 4.4.2.4" in error


def test_get_needs_cert_and_key_together_and_tls13(
    certs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = str(certs / "client_alice_cert.pem")
    assert main(["get", "https://localhost:1/", "--cert", cert]) == 2
    assert "--cert FILE and --key FILE together" in capsys.readouterr().err
    key = str(certs / "client_alice_key.pem")
    assert main(["get", "https://localhost:1/", "--toytls", "--cert", cert, "--key", key]) == 2


def test_get_reports_an_unreadable_key(certs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert = str(certs / "client_alice_cert.pem")
    wrong_key = str(certs / "server_key.pem")  # a real key, not this certificate's
    assert main(["get", "https://localhost:1/", "--cert", cert, "--key", wrong_key]) == 2
    assert "does not belong to the certificate" in capsys.readouterr().err


def test_the_client_certificate_loads_as_the_chain_it_sends(certs: Path) -> None:
    credentials = pki.load_server_credentials(
        certs / "client_alice_cert.pem", certs / "client_alice_key.pem"
    )
    assert len(credentials.chain_der) == 2
