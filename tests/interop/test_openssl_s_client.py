"""`openssl s_client` against our TLS 1.3: chains, HelloRetryRequest, resumption, KeyUpdate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.interop.harness import KEY_TYPES, ServerPool, assert_server_healthy, require_tool
from tests.interop.openssl_cli import (
    SECP256R1,
    InteractiveProcess,
    is_hello_retry_request,
    run_s_client,
    s_client_command,
    selected_group,
    traced_handshake_messages,
)

# How s_client names the signature in CertificateVerify for each chain; RSA
# keys must sign with RSA-PSS in TLS 1.3 (RFC 8446 section 4.2.3).
SIGNATURE_TYPE = {"ecdsa-p256": "ECDSA", "rsa-2048": "RSA-PSS", "ed25519": "Ed25519"}

# s_client -msg dumps of KeyUpdate (RFC 8446 section 4.6.3): type 24, length 1,
# then request_update: 0 update_not_requested, 1 update_requested.
KEY_UPDATE_NOT_REQUESTED = "KeyUpdate\n    18 00 00 01 00\n"
KEY_UPDATE_REQUESTED = "KeyUpdate\n    18 00 00 01 01\n"


@pytest.fixture(autouse=True)
def _openssl_installed() -> None:
    require_tool("openssl")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_s_client_verifies_the_chain_and_gets_the_page(servers: ServerPool, key_type: str):
    server = servers.get(key_type)
    output = run_s_client(server)

    assert "Verify return code: 0 (ok)" in output
    assert "Verified peername: localhost" in output
    assert re.search(r"^New, TLSv1\.3, Cipher is TLS_\w+$", output, re.MULTILINE), output
    signature = re.search(r"^Peer signature type: (\S+)$", output, re.MULTILINE)
    assert signature is not None, output
    assert signature[1].lower() == SIGNATURE_TYPE[key_type].lower()
    assert "HTTP/1.1 200 OK\r\n" in output
    assert server.marker in output
    assert_server_healthy(server)


def test_unsupported_group_gets_a_hello_retry_request_then_p256(servers: ServerPool):
    # The client's only key share is for P-521, which the server does not
    # support; P-256 is its second choice (RFC 8446 section 4.1.4).
    server = servers.get("ecdsa-p256", without_p521=True)
    output = run_s_client(server, "-groups", "P-521:P-256", "-msg")

    messages = traced_handshake_messages(output)
    client_hellos = [m for m in messages if not m.received and m.name == "ClientHello"]
    server_hellos = [m for m in messages if m.received and m.name == "ServerHello"]
    assert len(client_hellos) == 2, output
    assert len(server_hellos) == 2, output
    hello_retry_request, server_hello = server_hellos
    assert is_hello_retry_request(hello_retry_request.body)
    assert selected_group(hello_retry_request.body) == SECP256R1
    assert not is_hello_retry_request(server_hello.body)
    # The order on the wire: ClientHello, HRR, the second ClientHello, ServerHello.
    assert (
        client_hellos[0].offset
        < hello_retry_request.offset
        < client_hellos[1].offset
        < server_hello.offset
    )
    assert "Server Temp Key: ECDH, prime256v1, 256 bits" in output
    assert "Verify return code: 0 (ok)" in output
    assert "HTTP/1.1 200 OK\r\n" in output
    assert server.marker in output
    assert_server_healthy(server)


def test_session_ticket_resumes_the_session(servers: ServerPool, tmp_path: Path):
    server = servers.get("ecdsa-p256")
    session = tmp_path / "s_client.session"

    first = run_s_client(server, "-sess_out", str(session))
    assert re.search(r"^New, TLSv1\.3, ", first, re.MULTILINE), first
    assert server.marker in first
    assert session.stat().st_size > 0, "no NewSessionTicket arrived"

    second = run_s_client(server, "-sess_in", str(session))
    assert re.search(r"^Reused, TLSv1\.3, Cipher is TLS_\w+$", second, re.MULTILINE), second
    assert "HTTP/1.1 200 OK\r\n" in second
    assert server.marker in second
    assert_server_healthy(server)


def test_key_updates_from_the_client_then_a_request(servers: ServerPool):
    server = servers.get("ecdsa-p256")
    # Without -ign_eof (which would disable them) s_client reads `k` and `K`
    # lines as commands; -crlf turns our "\n" into the "\r\n" HTTP needs.
    with InteractiveProcess(s_client_command(server, "-crlf", "-msg")) as client:
        handshake_done = client.wait_for("Verify return code: 0 (ok)\n")
        client.send(b"k\n")  # KeyUpdate, update_not_requested
        first_update = client.wait_for(
            f">>> TLS 1.3, Handshake [length 0005], {KEY_UPDATE_NOT_REQUESTED}",
            after=handshake_done,
        )
        client.send(b"K\n")  # KeyUpdate, update_requested
        second_update = client.wait_for(
            f">>> TLS 1.3, Handshake [length 0005], {KEY_UPDATE_REQUESTED}", after=first_update
        )
        for line in (b"GET / HTTP/1.1\n", b"Host: localhost\n", b"\n"):
            client.send(line)
        response_end = client.wait_for(server.marker, after=second_update)
        assert client.finish() == 0
        output = client.output

    # The request went out under the client's twice-updated keys, so a
    # response at all shows the server followed both updates.
    status_line = output.find("HTTP/1.1 200 OK\r\n", second_update)
    assert second_update < status_line < response_end, output
    # update_requested obliges the server to update its own sending keys
    # before its next application data (RFC 8446 section 4.6.3).
    server_update = output.find(
        f"<<< TLS 1.3, Handshake [length 0005], {KEY_UPDATE_NOT_REQUESTED}", second_update
    )
    assert second_update < server_update < status_line, output
    assert_server_healthy(server)
