"""server/accept.py and server/transport.py: the session is chosen by the negotiated ALPN.

The TLS transport knows nothing of HTTP: a different session class in the
SESSIONS table gets the plaintext instead of Http1Session, with no change to
the transport.  That is the slot an HTTP/2 session would fill.
"""

from __future__ import annotations

import socket
from enum import Enum

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.client.fetch import BlockingTLS, fetch, tls13_client_factory
from tls_web_server.server import accept
from tls_web_server.server.http1 import Http1Session
from tls_web_server.server.settings import ListenerSpec
from tls_web_server.server.transport import Transport
from tls_web_server.tcp.connection import Connection


class ShoutSession:
    """A session that answers each piece of plaintext in capitals, through its transport."""

    def __init__(self, connection: Connection, transport: Transport, spec: ListenerSpec) -> None:
        self.connection = connection
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())

    def eof_received(self) -> None:
        self.transport.close()

    def output_drained(self) -> None:
        pass

    def timed_out(self, reason: Enum) -> None:
        self.transport.close()

    def stop_gracefully(self) -> None:
        self.transport.close()

    def connection_lost(self) -> None:
        pass


@pytest.fixture
def site(tmp_path, demo_pki):
    return write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;")


def test_http_1_1_is_the_session_of_its_alpn_name_and_of_no_alpn():
    assert accept.SESSIONS["http/1.1"] is Http1Session
    assert accept.SESSIONS[accept.WITHOUT_ALPN] is Http1Session


def test_the_tls_server_offers_the_sessions_it_has(site, demo_pki):
    with serve_in_thread(site) as running:
        result = fetch(running.url("ssl"), new_tls=tls13_client_factory(demo_pki.root_cert))
    assert result.response.status == 200
    assert result.negotiated is not None
    assert result.negotiated.alpn == "http/1.1"


def test_the_transport_hands_plaintext_to_whatever_session_the_table_names(
    site, demo_pki, monkeypatch
):
    monkeypatch.setattr(accept, "SESSIONS", {"http/1.1": ShoutSession})
    with serve_in_thread(site) as running:
        port = running.port("ssl")
        tls = tls13_client_factory(demo_pki.root_cert)("localhost", port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            channel = BlockingTLS(sock, tls)
            channel.handshake()
            channel.send(b"hello, session")
            received = b""
            while len(received) < len(b"HELLO, SESSION"):
                plaintext, finished = channel.receive()
                received += plaintext
                assert not finished
            channel.close()
    assert received == b"HELLO, SESSION"


def test_a_protocol_without_a_session_is_logged_and_closed(site, tmp_path, demo_pki, monkeypatch):
    monkeypatch.setattr(accept, "SESSIONS", {})
    with serve_in_thread(site) as running:
        port = running.port("ssl")
        tls = tls13_client_factory(demo_pki.root_cert)("localhost", port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            channel = BlockingTLS(sock, tls)
            channel.handshake()
            finished = False
            while not finished:
                _, finished = channel.receive()
    error_log = (tmp_path / "error.log").read_text()
    assert "no session speaks ALPN protocol 'http/1.1'" in error_log
