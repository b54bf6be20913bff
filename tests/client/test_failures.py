"""Failures that teach: each wrong-port or trust mistake gets the step, the alert, the fix.

The server waits 60 s for a request head or a handshake and the client 20 s
for an answer, so a message here proves the answer came at once: a wait for
a timeout would end the test with "timed out" instead of the explanation.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import time

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.client.fetch import (
    ClientError,
    fetch,
    tls13_client_factory,
    toytls_client_factory,
)
from tls_web_server.tls import pki

PATIENT = "client_header_timeout 60s; ssl_handshake_timeout 60s;"
LISTENS = "listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;\n        listen 127.0.0.1:0 toytls;"
CLIENT_WAIT = 20.0


@pytest.fixture
def site(tmp_path, demo_pki):
    return write_site(tmp_path, demo_pki, extra_http=PATIENT, listens=LISTENS)


def failure(url: str, new_tls=None) -> str:
    with pytest.raises(ClientError) as caught:
        fetch(url, new_tls=new_tls, timeout=CLIENT_WAIT)
    message = str(caught.value)
    assert "timed out" not in message
    return message


def error_log(site) -> str:
    return (site.parent / "error.log").read_text()


def with_scheme(url: str, scheme: str) -> str:
    return scheme + url[url.index(":") :]


def test_tls13_to_a_plain_port_is_answered_400_and_told_to_use_http(site, demo_pki):
    with serve_in_thread(site) as running:
        url = with_scheme(running.url("plain"), "https")
        message = failure(url, tls13_client_factory(demo_pki.root_cert))
    assert "the port speaks plain HTTP" in message
    assert "use http://" in message
    assert "TLS handshake record on a plain HTTP port" in error_log(site)


def test_a_raw_client_hello_on_a_plain_port_gets_400_and_a_close_at_once(site):
    with (
        serve_in_thread(site) as running,
        socket.create_connection(("127.0.0.1", running.port("plain")), timeout=20) as sock,
    ):
        sock.sendall(bytes.fromhex("160301002a010000260303") + bytes(32))
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in answer


def test_toytls_to_a_plain_port_is_told_to_use_http(site, demo_pki):
    with serve_in_thread(site) as running:
        url = with_scheme(running.url("plain"), "https")
        message = failure(url, toytls_client_factory(demo_pki.root_cert))
    assert "the port speaks plain HTTP" in message
    assert "toytls ClientHello" in message
    assert "a toytls ClientHello does" in error_log(site)


def test_plain_http_to_a_tls13_port_is_told_to_use_https(site):
    with serve_in_thread(site) as running:
        message = failure(with_scheme(running.url("ssl"), "http"))
    assert "the port speaks TLS" in message
    assert "unexpected_message" in message
    assert "use https://" in message
    assert "plain HTTP sent to a TLS 1.3 port" in error_log(site)


def test_plain_http_to_a_toytls_port_is_told_https_with_toytls(site):
    with serve_in_thread(site) as running:
        message = failure(with_scheme(running.url("toytls"), "http"))
    assert "use https:// with --toytls" in message
    assert "plain HTTP sent to a toytls port" in error_log(site)


def test_tls13_to_a_toytls_port_is_told_to_add_toytls(site, demo_pki):
    with serve_in_thread(site) as running:
        message = failure(running.url("toytls"), tls13_client_factory(demo_pki.root_cert))
    assert "add --toytls" in message
    assert "RFC 8446 section 6" in message
    assert "a TLS ClientHello sent to a toytls port" in error_log(site)


def test_toytls_to_a_tls13_port_is_told_to_drop_toytls(site, demo_pki):
    with serve_in_thread(site) as running:
        message = failure(running.url("ssl"), toytls_client_factory(demo_pki.root_cert))
    assert "the port speaks TLS 1.3" in message
    assert "drop --toytls" in message
    assert "a toytls ClientHello sent to a TLS 1.3 port" in error_log(site)


def test_an_untrusted_root_names_the_issuer_and_cafile(site, tmp_path):
    other = pki.generate_pki(tmp_path / "other", ["localhost"])
    with serve_in_thread(site) as running:
        message = failure(running.url("ssl"), tls13_client_factory(other.root_cert))
    assert "unknown_ca" in message
    assert "RFC 8446 section 4.4.2.2" in message
    assert "--cafile PATH" in message
    assert "tls-web-server demo intermediate CA" in message


def test_two_generated_cas_never_share_a_name(tmp_path):
    first = pki.load_trusted_roots(pki.generate_pki(tmp_path / "a", ["localhost"]).root_cert)
    second = pki.load_trusted_roots(pki.generate_pki(tmp_path / "b", ["localhost"]).root_cert)
    assert first[0].subject != second[0].subject
    assert "SHA-256 " in pki.describe_with_fingerprint(first[0])


def test_a_name_mismatch_names_the_certificate_names(tmp_path):
    elsewhere = pki.generate_pki(tmp_path / "elsewhere", ["www.example.test"])
    config = write_site(tmp_path / "site", elsewhere, extra_http=PATIENT, listens=LISTENS)
    with serve_in_thread(config) as running:
        message = failure(running.url("ssl"), tls13_client_factory(elsewhere.root_cert))
    assert "does not match localhost" in message
    assert "www.example.test" in message
    assert "--name NAME" in message


def test_an_expired_certificate_gives_the_date(tmp_path):
    old = pki.generate_pki(tmp_path / "old", ["localhost"], now=time.time() - 3 * 365 * 86400)
    config = write_site(tmp_path / "site", old, extra_http=PATIENT, listens=LISTENS)
    with serve_in_thread(config) as running:
        before = time.strftime("%Y-%m-%d", time.gmtime())
        message = failure(running.url("ssl"), tls13_client_factory(old.root_cert))
        after = time.strftime("%Y-%m-%d", time.gmtime())
    assert "certificate_expired" in message
    assert "expired on " in message
    assert any(f"today is {day} here" in message for day in (before, after))


def _python_ssl_handshake(port: int, context: ssl.SSLContext) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=CLIENT_WAIT) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


def test_a_tls12_only_client_is_logged_with_the_rfc_section(site):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with serve_in_thread(site) as running:
        _python_ssl_handshake(running.port("ssl"), context)
    log = error_log(site)
    assert "offered only TLS 1.2 or older" in log
    assert "RFC 8446 section 4.2.1" in log


def test_a_client_that_distrusts_our_root_is_told_to_trust_it(site, tmp_path):
    other = pki.generate_pki(tmp_path / "other", ["localhost"])
    context = ssl.create_default_context(cafile=str(other.root_cert))
    with serve_in_thread(site) as running:
        _python_ssl_handshake(running.port("ssl"), context)
    log = error_log(site)
    assert "does not trust our certificate" in log
    assert "to trust the local root in your browser" in log


def test_get_names_the_trusted_roots_and_the_local_ca_the_chain_ends_at(
    tmp_path, monkeypatch, capsys
):
    from tls_web_server import quick_serve
    from tls_web_server.cli import main

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    local, _created = quick_serve.ensure_local_ca(quick_serve.state_folder() / "ca")
    served = pki.GeneratedPki(
        root_cert=local.root_cert,
        intermediate_cert=local.intermediate_cert,
        server_cert=local.server_cert,
        server_key=local.server_key,
        root_key=local.folder / "root_key.pem",
        intermediate_key=local.folder / "intermediate_key.pem",
    )
    other = pki.generate_pki(tmp_path / "other", ["localhost"])
    config = write_site(tmp_path / "site", served, extra_http=PATIENT, listens=LISTENS)
    with serve_in_thread(config) as running:
        status = main(["get", running.url("ssl"), "--cafile", str(other.root_cert)])
    assert status == 1
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    local_root = pki.load_trusted_roots(local.root_cert)[0]
    other_root = pki.load_trusted_roots(other.root_cert)[0]
    assert f"{other.root_cert} trusts {pki.describe_with_fingerprint(other_root)}" in message
    assert f"the chain ends at {pki.describe_with_fingerprint(local_root)}" in message
    assert f"use --cafile {local.root_cert}" in message


def test_the_log_repeats_the_trust_command_serve_printed(site, tmp_path):
    other = pki.generate_pki(tmp_path / "other", ["localhost"])
    context = ssl.create_default_context(cafile=str(other.root_cert))
    command = "certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n test-ca -i /path/root_cert.pem"
    with serve_in_thread(site, trust_command=command) as running:
        _python_ssl_handshake(running.port("ssl"), context)
    log = error_log(site)
    assert f"make it trust `{command}` (as `serve` printed at startup)" in log


def test_an_ecdsa_certificate_from_an_ed25519_ca_is_refused_with_its_own_fix(tmp_path):
    # Our server serves the chain and signs with ECDSA; our client refuses the
    # CA's Ed25519 signature (pki_verification.py), and the refusal says the fix.
    ed25519 = pki.generate_pki(tmp_path / "ed", ["localhost"], key_type="ed25519")
    leaf, key = tmp_path / "leaf.pem", tmp_path / "leaf_key.pem"
    pki.issue_server_certificate(ed25519.intermediate_cert, ed25519.intermediate_key, leaf, key)
    mixed = dataclasses.replace(ed25519, server_cert=leaf, server_key=key)
    config = write_site(tmp_path / "site", mixed, extra_http=PATIENT, listens=LISTENS)
    with serve_in_thread(config) as running:
        message = failure(running.url("ssl"), tls13_client_factory(ed25519.root_cert))
    assert "certificate 'CN=localhost,O=tls-web-server demo' is signed with Ed25519" in message
    assert "as browsers refuse them" in message
    assert "(alert sent: unsupported_certificate)" in message
    assert "verifying the server's certificate, RFC 8446 section 4.4.2.2" in message
    assert message.count("`tls-web-server certs") == 1  # the reason's fix, not a second one
    assert "--key-type ecdsa-p256" in message
