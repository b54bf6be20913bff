"""Our TLS 1.3 client against two real servers in memory: Python's ssl (OpenSSL) and our own.

No sockets: bytes are carried between the two sans-IO objects (Python's over
ssl.MemoryBIO).  Each test shows one thing the client must get right with a
server that is not a script: every cipher suite and certificate key type it
accepts (an Ed25519 server ends at its hello), a HelloRetryRequest,
resumption with a ticket, KeyUpdate in both directions, close_notify in both
directions, and tickets kept for later.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tls.conftest import ACCEPTED_KEY_TYPES, DemoPki
from tests.tls.tls13.flight_surgery import new_client, new_server, pump
from tls_web_server.tls.errors import AlertDescription, TLSError, TLSUsageError
from tls_web_server.tls.pki import KEY_TYPES
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.client import TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.enums import CipherSuite, ExtensionType, NamedGroup, SignatureScheme
from tls_web_server.tls.tls13.messages import ClientHello
from tls_web_server.tls.tls13.tickets import TicketKey

ALL_SUITES = tuple(CipherSuite)

# The CertificateVerify scheme a server with each demo key type signs with.
EXPECTED_SCHEME_PREFIX = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "rsa-2048": "rsa_pss_rsae_",
}


class Events:
    """An observer that keeps every event, to see which messages and secrets went by."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def received(self, name: str) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event["kind"] == "message"
            and event["direction"] == "received"
            and event["name"] == name
        ]

    def secret_names(self) -> list[str]:
        return [event["name"] for event in self.events if event["kind"] == "secret"]


def assert_data_flows(client: TLS13ClientConnection, server: Any, read_server: Callable) -> None:
    """Application bytes go both ways: client to server, and server to client."""
    server.feed_wire_data(client.protect_application_data(b"GET / HTTP/1.1\r\n\r\n"))
    assert read_server() == b"GET / HTTP/1.1\r\n\r\n"


# ---------------------------------------------------------------------------
# against our own server
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda suite: suite.name)
def test_full_handshake_with_our_server(accepted_pki: DemoPki, suite: CipherSuite):
    tickets = TicketStore()
    client = new_client(accepted_pki, tickets=tickets, cipher_suites=(suite,))
    server = new_server(accepted_pki)
    pump(client, server)

    assert client.is_established and server.is_established
    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.cipher_suite == suite.name
    # Our first key share, the post-quantum hybrid, which the server prefers.
    assert negotiated.group == "X25519MLKEM768"
    assert negotiated.alpn == "http/1.1"
    assert negotiated.server_name == "localhost"
    assert negotiated.signature_scheme is not None
    assert negotiated.signature_scheme.startswith(EXPECTED_SCHEME_PREFIX[accepted_pki.key_type])
    assert not negotiated.resumed and not negotiated.hello_retry
    assert negotiated == server.negotiated
    # Our server sends two NewSessionTickets after the client's Finished (server.py).
    assert len(tickets) == 2

    server.feed_wire_data(client.protect_application_data(b"ping"))
    assert server.read_plaintext() == b"ping"
    client.feed_wire_data(server.protect_application_data(b"pong" * 5000))
    assert client.read_plaintext() == b"pong" * 5000


def test_handshake_survives_a_flight_fed_three_bytes_at_a_time(ecdsa_pki: DemoPki):
    client = new_client(ecdsa_pki, tickets=TicketStore())
    server = new_server(ecdsa_pki)
    server.feed_wire_data(client.pop_pending_wire_data())
    flight = server.pop_pending_wire_data()
    for start in range(0, len(flight), 3):
        client.feed_wire_data(flight[start : start + 3])
    server.feed_wire_data(client.pop_pending_wire_data())
    assert client.is_established and server.is_established


@pytest.mark.parametrize("group", [NamedGroup.secp384r1, NamedGroup.x448], ids=lambda g: g.name)
def test_hello_retry_request_from_our_server(ecdsa_pki: DemoPki, group: NamedGroup):
    # We send shares for x25519 and secp256r1 only; a server limited to another
    # group we support must ask again (RFC 8446 section 4.1.4).
    client = new_client(ecdsa_pki)
    server = new_server(ecdsa_pki, groups=(group,))
    pump(client, server)

    assert client.is_established
    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.hello_retry
    assert negotiated.group == group.name
    assert negotiated == server.negotiated
    assert_data_flows(client, server, server.read_plaintext)


def test_resumption_with_our_servers_ticket(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    ticket_key = TicketKey.generate(lambda size: bytes(range(size)))
    first = new_client(ecdsa_pki, tickets=tickets)
    pump(first, new_server(ecdsa_pki, ticket_key=ticket_key))
    assert len(tickets) == 2

    second = new_client(ecdsa_pki, tickets=tickets)
    assert len(tickets) == 1  # a ticket is taken when the hello is built, and used once
    server = new_server(ecdsa_pki, ticket_key=ticket_key)
    pump(second, server)

    negotiated = second.negotiated
    assert negotiated is not None
    assert negotiated.resumed
    assert negotiated.signature_scheme is None  # no certificate in a resumed handshake
    assert negotiated == server.negotiated
    assert len(tickets) == 3  # one left, two new
    assert_data_flows(second, server, server.read_plaintext)


def test_resumption_after_a_hello_retry_request(ecdsa_pki: DemoPki):
    # After the retry the binder covers message_hash + HelloRetryRequest + hello (4.2.11.2).
    tickets = TicketStore()
    ticket_key = TicketKey.generate(lambda size: bytes(size))
    pump(new_client(ecdsa_pki, tickets=tickets), new_server(ecdsa_pki, ticket_key=ticket_key))

    client = new_client(ecdsa_pki, tickets=tickets)
    server = new_server(ecdsa_pki, ticket_key=ticket_key, groups=(NamedGroup.secp384r1,))
    pump(client, server)

    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.resumed and negotiated.hello_retry
    assert negotiated.group == "secp384r1"


def test_a_ticket_is_only_offered_to_the_server_it_came_from(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    ticket_key = TicketKey.generate(lambda size: bytes(size))
    pump(new_client(ecdsa_pki, tickets=tickets), new_server(ecdsa_pki, ticket_key=ticket_key))

    other = TLS13ClientConnection(
        "localhost",
        new_client(ecdsa_pki, tickets=tickets).settings,
        random_bytes=os.urandom,
        clock=lambda: ecdsa_pki.now,
        ticket_scope="localhost:8443",
    )
    server = new_server(ecdsa_pki, ticket_key=ticket_key)
    pump(other, server)
    assert other.negotiated is not None and not other.negotiated.resumed


def test_an_expired_ticket_is_not_offered(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    pump(new_client(ecdsa_pki, tickets=tickets), new_server(ecdsa_pki))
    assert len(tickets) == 2

    later = ecdsa_pki.now + 7201  # our server's tickets live 7200 s
    client = new_client(ecdsa_pki, tickets=tickets, clock=lambda: later)
    assert len(tickets) == 0  # both were looked at and dropped
    server = new_server(ecdsa_pki)
    pump(client, server)
    assert client.negotiated is not None and not client.negotiated.resumed


def test_a_ticket_lifetime_over_seven_days_is_taken_as_seven_days(ecdsa_pki: DemoPki):
    # RFC 8446 section 4.6.1: servers must not announce more than 604800 s.
    tickets = TicketStore()
    thirty_days = 30 * 24 * 3600
    pump(new_client(ecdsa_pki, tickets=tickets), new_server(ecdsa_pki, ticket_lifetime=thirty_days))
    assert len(tickets) == 2
    eight_days_later = ecdsa_pki.now + 8 * 24 * 3600
    client = new_client(ecdsa_pki, tickets=tickets, clock=lambda: eight_days_later)
    assert len(tickets) == 0  # both dropped: they lived seven days, not thirty
    pump(client, new_server(ecdsa_pki))
    assert client.negotiated is not None and not client.negotiated.resumed


def test_key_update_requested_by_our_client_is_answered_by_our_server(ecdsa_pki: DemoPki):
    events = Events()
    client = new_client(ecdsa_pki, observer=events)
    server = new_server(ecdsa_pki)
    pump(client, server)

    client.request_key_update()
    server.feed_wire_data(client.pop_pending_wire_data())
    # RFC 8446 section 4.6.3: the server updates its own keys, not asking again.
    client.feed_wire_data(server.pop_pending_wire_data())
    [answer] = events.received("KeyUpdate")
    assert answer["fields"] == {"request_update": "update_not_requested"}
    assert "next_write_application_traffic_secret" in events.secret_names()
    assert "next_read_application_traffic_secret" in events.secret_names()
    assert client.pop_pending_wire_data() == b""  # no answer to an update_not_requested

    server.feed_wire_data(client.protect_application_data(b"after"))
    assert server.read_plaintext() == b"after"
    client.feed_wire_data(server.protect_application_data(b"answer"))
    assert client.read_plaintext() == b"answer"


def test_key_update_requested_by_our_server_is_answered_by_our_client(ecdsa_pki: DemoPki):
    events = Events()
    client = new_client(ecdsa_pki, observer=events)
    server = new_server(ecdsa_pki)
    pump(client, server)

    server.request_key_update()
    client.feed_wire_data(server.pop_pending_wire_data())
    [request] = events.received("KeyUpdate")
    assert request["fields"] == {"request_update": "update_requested"}
    server.feed_wire_data(client.pop_pending_wire_data())  # the client's own KeyUpdate

    client.feed_wire_data(server.protect_application_data(b"new keys"))
    assert client.read_plaintext() == b"new keys"
    server.feed_wire_data(client.protect_application_data(b"new keys too"))
    assert server.read_plaintext() == b"new keys too"


def test_close_notify_from_our_client(ecdsa_pki: DemoPki):
    client = new_client(ecdsa_pki)
    server = new_server(ecdsa_pki)
    pump(client, server)

    client.close()
    server.feed_wire_data(client.pop_pending_wire_data())
    assert server.peer_closed
    with pytest.raises(TLSUsageError):
        client.protect_application_data(b"too late")
    # Closing is one direction only (section 6.1): the server may still answer.
    client.feed_wire_data(server.protect_application_data(b"last words"))
    assert client.read_plaintext() == b"last words"


def test_close_notify_from_our_server(ecdsa_pki: DemoPki):
    client = new_client(ecdsa_pki)
    server = new_server(ecdsa_pki)
    pump(client, server)

    server.close()
    client.feed_wire_data(server.pop_pending_wire_data())
    assert client.peer_closed
    assert client.read_plaintext() == b""
    server.feed_wire_data(client.protect_application_data(b"still heard"))
    assert server.read_plaintext() == b"still heard"


# ---------------------------------------------------------------------------
# against Python's ssl module (OpenSSL) as the server
# ---------------------------------------------------------------------------


class PythonSslServer:
    """ssl.SSLObject in server mode over memory BIOs, behind feed/pop like our objects."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.handshake_done = False
        self.peer_closed = False
        self._plaintext = bytearray()

    def feed_wire_data(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self.handshake_done:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                return
            self.handshake_done = True
        while True:
            try:
                chunk = self.tls.read(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:
                self.peer_closed = True
                return
            if not chunk:  # CPython's answer to a close_notify once the shutdown is recorded
                self.peer_closed = True
                return
            self._plaintext += chunk

    def pop_pending_wire_data(self) -> bytes:
        return self._outgoing.read()

    def read_plaintext(self) -> bytes:
        data = bytes(self._plaintext)
        self._plaintext.clear()
        return data

    def send(self, data: bytes) -> None:
        self.tls.write(data)


def python_server_context(demo: DemoPki, folder: Path, curve: str | None = None) -> ssl.SSLContext:
    """A TLS 1.3-only server context with `demo`'s chain, answering ALPN http/1.1."""
    chain = folder / f"{demo.key_type}-chain.pem"
    chain.write_bytes(
        demo.files.server_cert.read_bytes() + demo.files.intermediate_cert.read_bytes()
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(chain, demo.files.server_key)
    context.set_alpn_protocols(["http/1.1"])
    if curve is not None:
        context.set_ecdh_curve(curve)  # OpenSSL 3: the only group the server accepts
    return context


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda suite: suite.name)
def test_full_handshake_with_python_ssl(accepted_pki: DemoPki, suite: CipherSuite, tmp_path: Path):
    tickets = TicketStore()
    client = new_client(accepted_pki, tickets=tickets, cipher_suites=(suite,))
    server = PythonSslServer(python_server_context(accepted_pki, tmp_path))
    pump(client, server)

    assert client.is_established and server.handshake_done
    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.cipher_suite == suite.name
    assert server.tls.cipher()[0] == suite.name
    assert negotiated.alpn == "http/1.1" == server.tls.selected_alpn_protocol()
    assert negotiated.signature_scheme is not None
    assert negotiated.signature_scheme.startswith(EXPECTED_SCHEME_PREFIX[accepted_pki.key_type])
    assert len(tickets) == 2  # OpenSSL also sends two tickets by default

    assert_data_flows(client, server, server.read_plaintext)
    server.send(b"HTTP/1.1 200 OK\r\n\r\n")
    client.feed_wire_data(server.pop_pending_wire_data())
    assert client.read_plaintext() == b"HTTP/1.1 200 OK\r\n\r\n"


def test_hello_retry_request_from_python_ssl(ecdsa_pki: DemoPki, tmp_path: Path):
    client = new_client(ecdsa_pki)
    server = PythonSslServer(python_server_context(ecdsa_pki, tmp_path, curve="secp384r1"))
    pump(client, server)

    negotiated = client.negotiated
    assert negotiated is not None
    assert negotiated.hello_retry
    assert negotiated.group == "secp384r1"
    assert_data_flows(client, server, server.read_plaintext)


def test_resumption_with_python_ssls_ticket(ecdsa_pki: DemoPki, tmp_path: Path):
    # The tickets are sealed with the context's keys: the same context must see both.
    context = python_server_context(ecdsa_pki, tmp_path)
    tickets = TicketStore()
    pump(new_client(ecdsa_pki, tickets=tickets), PythonSslServer(context))
    assert len(tickets) == 2

    client = new_client(ecdsa_pki, tickets=tickets)
    server = PythonSslServer(context)
    pump(client, server)

    assert client.negotiated is not None and client.negotiated.resumed
    assert server.tls.session_reused
    assert_data_flows(client, server, server.read_plaintext)


def test_key_update_requested_by_our_client_is_answered_by_python_ssl(
    ecdsa_pki: DemoPki, tmp_path: Path
):
    events = Events()
    client = new_client(ecdsa_pki, observer=events)
    server = PythonSslServer(python_server_context(ecdsa_pki, tmp_path))
    pump(client, server)

    client.request_key_update()
    server.feed_wire_data(client.pop_pending_wire_data() + client.protect_application_data(b"x"))
    assert server.read_plaintext() == b"x"  # read under the client's new keys
    # OpenSSL sends its answering KeyUpdate with the next thing it writes.
    server.send(b"y")
    client.feed_wire_data(server.pop_pending_wire_data())
    [answer] = events.received("KeyUpdate")
    assert answer["fields"] == {"request_update": "update_not_requested"}
    assert client.read_plaintext() == b"y"


def test_close_notify_both_ways_with_python_ssl(ecdsa_pki: DemoPki, tmp_path: Path):
    client = new_client(ecdsa_pki)
    server = PythonSslServer(python_server_context(ecdsa_pki, tmp_path))
    pump(client, server)

    client.close()
    server.feed_wire_data(client.pop_pending_wire_data())
    assert server.peer_closed

    server.tls.unwrap()  # OpenSSL answers with its own close_notify
    client.feed_wire_data(server.pop_pending_wire_data())
    assert client.peer_closed
    assert client.read_plaintext() == b""


def test_demo_key_types_are_all_covered():
    # The parametrized tests above run once per key type our client accepts;
    # the tests below show what happens with the one it refuses.
    assert set(EXPECTED_SCHEME_PREFIX) == set(ACCEPTED_KEY_TYPES) == set(KEY_TYPES) - {"ed25519"}


# ---------------------------------------------------------------------------
# Ed25519: refused, as browsers refuse it
# ---------------------------------------------------------------------------


def test_our_hello_offers_no_ed25519(ecdsa_pki: DemoPki):
    # A scheme a client offers must be one it can accept at the end: our
    # clients refuse Ed25519 certificates (pki_verification.py), as Chromium does.
    client = new_client(ecdsa_pki)
    record = client.pop_pending_wire_data()
    hello = ClientHello.decode(record[5 + 4 :])  # the record header, then the handshake header
    offered = ext.decode_signature_algorithms(hello.extension(ExtensionType.signature_algorithms))
    assert SignatureScheme.ed25519 not in offered
    assert SignatureScheme.ecdsa_secp256r1_sha256 in offered
    assert SignatureScheme.rsa_pss_rsae_sha256 in offered


def test_a_server_with_only_an_ed25519_chain_ends_at_our_hello(
    demo_pki_factory: Callable[[str], DemoPki], tmp_path: Path
):
    # Neither our server nor OpenSSL can sign for a client that offers no
    # ed25519: each answers our hello with handshake_failure, and no chain is sent.
    ed25519_pki = demo_pki_factory("ed25519")
    for server in (
        new_server(ed25519_pki),
        PythonSslServer(python_server_context(ed25519_pki, tmp_path)),
    ):
        client = new_client(ed25519_pki)
        with pytest.raises((TLSError, ssl.SSLError)):
            server.feed_wire_data(client.pop_pending_wire_data())
        with pytest.raises(TLSError) as caught:
            client.feed_wire_data(server.pop_pending_wire_data())
        assert caught.value.received_alert == AlertDescription.handshake_failure
        assert not client.is_established
