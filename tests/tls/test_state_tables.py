"""The state tables are what the code does: each transition a real handshake reports is a row.

docs/state-machines.md is generated from SERVER_TRANSITIONS and
CLIENT_TRANSITIONS (tests/test_docs.py checks that); this file checks the
tables against the transitions the state machines report to their observer
("state" events, previous -> next) in the handshakes that matter: the simple
1-RTT handshake of RFC 8448 section 3, a HelloRetryRequest (section 5),
resumption (section 4, without 0-RTT), client authentication (section 6,
the client's side, with the RFC's CertificateRequest in a real server's
flight) and mutual TLS between our client and our server (with a
certificate, and without one where it is optional, after a retry).  The
message that moved a state is the last one received before the event; the
row is found by (state, message) and the next-state column must be the one
observed.  Together the handshakes must use every row.

After the handshake the state is Traffic and stays there: no "state" event is
reported, so the Traffic rows are checked with `state_name` around the message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tls_web_server.tls import pki
from tls_web_server.tls.handshake_states import FAILED, TRAFFIC, Transition, is_state_name
from tls_web_server.tls.tls13 import client as tls13_client
from tls_web_server.tls.tls13 import server as tls13_server
from tls_web_server.tls.tls13.client import TicketStore
from tls_web_server.tls.tls13.client_authentication import ClientAuthentication, ClientVerifyMode
from tls_web_server.tls.tls13.enums import HandshakeType, NamedGroup
from tls_web_server.tls.tls13.handshake_context import FinishedVerified, Traffic
from tls_web_server.tls.tls13.messages import CertificateRequest
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.toy import client as toy_client
from tls_web_server.tls.toy import server as toy_server

from .conftest import DemoPki
from .tls13.flight_surgery import ObservedServer, new_client, pump
from .tls13.rfc8448 import step
from .toy.support import handshake, make_pair

Event = dict[str, Any]
Observed = tuple[str, str, str]  # (previous state, message received, next state)
Paths = tuple[list[str], list[str]]  # the server's and the client's table events, in order

SERVER_TABLE = tls13_server.SERVER_TRANSITIONS
CLIENT_TABLE = tls13_client.CLIENT_TRANSITIONS


def observed_transitions(events: Iterable[Event]) -> list[Observed]:
    """(previous, message, next) for every "state" event, with the message that caused it."""
    transitions = []
    last_received = None
    for event in events:
        if event["kind"] == "message" and event["direction"] == "received":
            last_received = event["name"]
        elif event["kind"] == "state":
            assert last_received is not None, event
            transitions.append((event["previous"], last_received, event["next"]))
    return transitions


def table_events(table: tuple[Transition, ...], observed: Iterable[Observed]) -> list[str]:
    """The table's event for each observed transition; fails on one the table does not have."""
    events = []
    for previous, message, next_state in observed:
        rows = [row for row in table if row.state == previous and row.message == message]
        assert rows, f"the table has no row for {message} in {previous}"
        matching = [row for row in rows if row.next_state == next_state]
        assert len(matching) == 1, (
            f"{previous} --{message}--> {next_state} is not in the table "
            f"(it says: {[row.next_state for row in rows]})"
        )
        events.append(matching[0].event)
    return events


def paths(server_events: list[Event], client_events: list[Event]) -> Paths:
    return (
        table_events(SERVER_TABLE, observed_transitions(server_events)),
        table_events(CLIENT_TABLE, observed_transitions(client_events)),
    )


def rfc8448_message(section: int, actor: str, name: str, occurrence: int = 0) -> bytes:
    return step(section, actor, f"construct a {name} handshake message", occurrence)[name]


def new_observed_server(
    demo: DemoPki, events: list[Event], **settings: Any
) -> TLS13ServerConnection:
    return TLS13ServerConnection(
        ServerSettings(credentials=demo.credentials, **settings),
        random_bytes=os.urandom,
        clock=lambda: demo.now,
        observer=events.append,
    )


def handshake_message(message: bytes) -> bytes:
    """One whole handshake message as a plaintext record (content type 22)."""
    return b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message


# ---------------------------------------------------------------------------
# TLS 1.3
# ---------------------------------------------------------------------------


def test_rfc8448_simple_handshake(ecdsa_pki: DemoPki) -> None:
    # The RFC's own ClientHello (section 3) moves our server as the table says.
    rfc_events: list[Event] = []
    server = new_observed_server(ecdsa_pki, rfc_events)
    server.feed_wire_data(handshake_message(rfc8448_message(3, "client", "ClientHello")))
    assert table_events(SERVER_TABLE, observed_transitions(rfc_events)) == ["ClientHello"]
    assert server.state_name == "ExpectFinished"

    # The same handshake between our client and our server, to the end: our
    # client asks for a compressed certificate (RFC 8879), and gets it.
    server_path, client_path = full_handshake(ecdsa_pki)
    assert server_path == ["ClientHello", "Finished"]
    assert client_path == [
        "ServerHello",
        "EncryptedExtensions",
        "CompressedCertificate",
        "CertificateVerify",
        "Finished",
    ]
    # A server with compression off sends the Certificate as it is.
    _, client_path = full_handshake(ecdsa_pki, certificate_compression=False)
    assert client_path[2] == "Certificate"


def full_handshake(demo: DemoPki, **server_settings: Any) -> Paths:
    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(demo, observer=client_events.append)
    server = new_observed_server(demo, server_events, **server_settings)
    pump(client, server)
    assert client.state_name == server.state_name == TRAFFIC
    return paths(server_events, client_events)


def test_rfc8448_hello_retry_request(ecdsa_pki: DemoPki) -> None:
    # Section 5: the client's share is x25519, the server wants secp256r1.
    rfc_events: list[Event] = []
    server = new_observed_server(ecdsa_pki, rfc_events, groups=(NamedGroup.secp256r1,))
    server.feed_wire_data(handshake_message(rfc8448_message(5, "client", "ClientHello")))
    retry = server.pop_pending_wire_data()
    assert retry[5] == HandshakeType.server_hello  # the HelloRetryRequest
    assert table_events(SERVER_TABLE, observed_transitions(rfc_events)) == [
        "ClientHello (no usable key share)"
    ]
    assert server.state_name == "ExpectSecondClientHello"

    server_path, client_path = hello_retry_handshake(ecdsa_pki)
    assert server_path == ["ClientHello (no usable key share)", "ClientHello", "Finished"]
    assert client_path == [
        "HelloRetryRequest",
        "ServerHello",
        "EncryptedExtensions",
        "CompressedCertificate",
        "CertificateVerify",
        "Finished",
    ]


def hello_retry_handshake(demo: DemoPki) -> Paths:
    """Our client and server, the server limited to a group the client has no share for."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(demo, observer=client_events.append)
    server = new_observed_server(demo, server_events, groups=(NamedGroup.secp384r1,))
    pump(client, server)
    assert client.negotiated is not None and client.negotiated.hello_retry
    return paths(server_events, client_events)


def test_resumption_and_the_tickets_that_make_it(ecdsa_pki: DemoPki) -> None:
    server_path, client_path = resumed_handshake(ecdsa_pki)
    assert server_path == ["ClientHello", "Finished"]
    assert client_path == ["ServerHello", "EncryptedExtensions (resumed)", "Finished"]


def resumed_handshake(demo: DemoPki) -> Paths:
    tickets = TicketStore()
    ticket_key = TicketKey.generate(os.urandom)
    first_events: list[Event] = []
    first = new_client(demo, tickets=tickets, observer=first_events.append)
    pump(first, new_observed_server(demo, [], ticket_key=ticket_key))
    # Traffic --NewSessionTicket--> Traffic: two tickets taken, still in Traffic, no state event.
    assert len(tickets) == 2 and first.state_name == TRAFFIC
    received = [e["name"] for e in first_events if e["kind"] == "message"]
    assert received[-2:] == ["NewSessionTicket", "NewSessionTicket"]
    assert first_events[-1]["kind"] != "state"

    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(demo, tickets=tickets, observer=client_events.append)
    server = new_observed_server(demo, server_events, ticket_key=ticket_key)
    pump(client, server)
    assert client.negotiated is not None and client.negotiated.resumed
    return paths(server_events, client_events)


def test_client_authentication_requested_by_the_rfc8448_certificate_request(
    ecdsa_pki: DemoPki,
) -> None:
    client_path, sent = client_authentication_handshake(ecdsa_pki)
    assert client_path == [
        "ServerHello",
        "EncryptedExtensions",
        "CertificateRequest",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ]
    # We have no certificate: the answer is an empty Certificate with the request's context.
    assert [e["name"] for e in sent] == ["ClientHello", "Certificate", "Finished"]
    request = CertificateRequest.decode(RFC8448_CERTIFICATE_REQUEST[4:])
    assert sent[1]["fields"].certificate_request_context == request.certificate_request_context
    assert sent[1]["fields"].entries == ()


RFC8448_CERTIFICATE_REQUEST = rfc8448_message(6, "server", "CertificateRequest")


def client_authentication_handshake(demo: DemoPki) -> tuple[list[str], list[Event]]:
    """Section 6: the server asks for a client certificate.

    Our server never does, so the RFC's CertificateRequest goes into a real
    server's flight, re-signed and re-finished over the edited transcript.
    """
    client_events: list[Event] = []
    client = new_client(demo, observer=client_events.append)
    server = ObservedServer(demo)
    flight = server.answer(client.pop_pending_wire_data())
    flight = flight.inserted_before(HandshakeType.certificate, RFC8448_CERTIFICATE_REQUEST)
    client.feed_wire_data(flight.reauthenticated(demo.credentials.private_key).wire())
    assert client.is_established
    sent = [e for e in client_events if e["kind"] == "message" and e["direction"] == "sent"]
    return table_events(CLIENT_TABLE, observed_transitions(client_events)), sent


def test_mutual_tls_between_our_client_and_our_server(
    ecdsa_pki: DemoPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server_path, client_path = mutual_handshake(ecdsa_pki, tmp_path_factory)
    assert server_path == [
        "ClientHello (client certificate requested)",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ]
    assert client_path == [
        "ServerHello",
        "EncryptedExtensions",
        "CertificateRequest",
        "CompressedCertificate",  # the server's chain (RFC 8879); the client's goes plain
        "CertificateVerify",
        "Finished",
    ]
    # After a HelloRetryRequest, and with no certificate where one is optional.
    server_path, _ = optional_after_retry_handshake(ecdsa_pki)
    assert server_path == [
        "ClientHello (no usable key share)",
        "ClientHello (client certificate requested)",
        "Certificate (empty, optional)",
        "Finished",
    ]


def mutual_handshake(demo: DemoPki, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Our client with a certificate from the demo CA; our server requires one."""
    folder = tmp_path_factory.mktemp("state-table-client")
    pki.issue_client_certificate(
        demo.files.intermediate_cert,
        demo.files.intermediate_key,
        folder / "client.pem",
        folder / "client_key.pem",
        "client",
        now=demo.now,
    )
    credentials = pki.load_server_credentials(folder / "client.pem", folder / "client_key.pem")
    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(demo, observer=client_events.append, client_credentials=credentials)
    server = new_observed_server(
        demo,
        server_events,
        client_authentication=ClientAuthentication(ClientVerifyMode.ON, demo.roots),
    )
    pump(client, server)
    assert client.state_name == server.state_name == TRAFFIC
    sent = [e["name"] for e in client_events if e["kind"] == "message" and e["direction"] == "sent"]
    assert sent == ["ClientHello", "Certificate", "CertificateVerify", "Finished"]
    return paths(server_events, client_events)


def optional_after_retry_handshake(demo: DemoPki) -> Paths:
    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(demo, observer=client_events.append)
    server = new_observed_server(
        demo,
        server_events,
        groups=(NamedGroup.secp384r1,),
        client_authentication=ClientAuthentication(ClientVerifyMode.OPTIONAL, demo.roots),
    )
    pump(client, server)
    assert client.state_name == server.state_name == TRAFFIC
    return paths(server_events, client_events)


def test_key_update_keeps_both_sides_in_traffic(ecdsa_pki: DemoPki) -> None:
    client_events: list[Event] = []
    server_events: list[Event] = []
    client = new_client(ecdsa_pki, observer=client_events.append)
    server = new_observed_server(ecdsa_pki, server_events)
    pump(client, server)
    handshake_events = (len(client_events), len(server_events))

    client.request_key_update()
    pump(client, server)  # the server updates, and answers with its own KeyUpdate
    for events, start in zip((client_events, server_events), handshake_events, strict=True):
        later = events[start:]
        assert [e["name"] for e in later if e["kind"] == "message"] == ["KeyUpdate", "KeyUpdate"]
        assert not [e for e in later if e["kind"] == "state"]
    assert client.state_name == server.state_name == TRAFFIC
    for table in (SERVER_TABLE, CLIENT_TABLE):
        assert Transition(TRAFFIC, "KeyUpdate", TRAFFIC) in table


def test_every_tls13_row_is_taken_by_one_of_the_handshakes_above(
    ecdsa_pki: DemoPki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A row no handshake takes is a diagram of something the code does not do.
    server_used: set[str] = set()
    client_used: set[str] = set()
    for run in (
        full_handshake,
        hello_retry_handshake,
        resumed_handshake,
        optional_after_retry_handshake,
        lambda demo: mutual_handshake(demo, tmp_path_factory),
    ):
        server_path, client_path = run(ecdsa_pki)
        server_used.update(server_path)
        client_used.update(client_path)
    client_used.update(client_authentication_handshake(ecdsa_pki)[0])
    for table, used in ((SERVER_TABLE, server_used), (CLIENT_TABLE, client_used)):
        assert {row.event for row in table if row.state != TRAFFIC} == used
    # The Traffic rows: KeyUpdate both ways, NewSessionTicket for the client (tests above).
    assert {row.event for row in SERVER_TABLE if row.state == TRAFFIC} == {"KeyUpdate"}
    assert {row.event for row in CLIENT_TABLE if row.state == TRAFFIC} == {
        "KeyUpdate",
        "NewSessionTicket",
    }


# ---------------------------------------------------------------------------
# toytls
# ---------------------------------------------------------------------------


def test_toytls_handshake_follows_its_tables(ecdsa_pki: DemoPki) -> None:
    server_events: list[Event] = []
    client_events: list[Event] = []
    server, client = make_pair(
        ecdsa_pki, server_observer=server_events.append, client_observer=client_events.append
    )
    handshake(server, client)
    assert table_events(toy_server.SERVER_TRANSITIONS, observed_transitions(server_events)) == [
        "ClientHello"
    ]
    assert table_events(toy_client.CLIENT_TRANSITIONS, observed_transitions(client_events)) == [
        "ServerHello",
        "ServerAuth",
    ]
    # Traffic --application record--> Traffic, without a state event.
    count = len(server_events)
    server.feed_wire_data(client.protect_application_data(b"hello"))
    assert server.read_plaintext() == b"hello" and server.state_name == TRAFFIC
    assert not [e for e in server_events[count:] if e["kind"] == "state"]
    for table in (toy_server.SERVER_TRANSITIONS, toy_client.CLIENT_TRANSITIONS):
        assert table[-1] == Transition(TRAFFIC, "application record", TRAFFIC)


# ---------------------------------------------------------------------------
# one naming scheme for both protocols
# ---------------------------------------------------------------------------

MACHINES = [
    (tls13_server, SERVER_TABLE),
    (tls13_client, CLIENT_TABLE),
    (toy_server, toy_server.SERVER_TRANSITIONS),
    (toy_client, toy_client.CLIENT_TRANSITIONS),
]


@pytest.mark.parametrize(("module", "table"), MACHINES, ids=lambda m: getattr(m, "__name__", ""))
def test_every_state_is_a_class_named_as_the_scheme_says(module: Any, table: Any) -> None:
    for row in table:
        assert isinstance(row, Transition)
        for name in (row.state, row.next_state):
            assert is_state_name(name), name
            if name != TRAFFIC:
                state_class = getattr(module, name)
                assert state_class.name == name


def test_the_scheme_refuses_the_old_names() -> None:
    for name in ("WAIT_SERVER_AUTH", "ESTABLISHED", "FAILED", "Start", "Expect", "Expectations"):
        assert not is_state_name(name), name
    assert is_state_name(FAILED) and is_state_name("ExpectSecondClientHello")


def test_traffic_needs_the_proof_that_finished_verified(ecdsa_pki: DemoPki) -> None:
    client = new_client(ecdsa_pki)
    pump(client, new_observed_server(ecdsa_pki, []))
    negotiated = client.negotiated
    assert negotiated is not None
    forged: Callable[[], object] = lambda: FinishedVerified(object(), bytes(32))  # noqa: E731
    with pytest.raises(TypeError, match="verify_finished"):
        forged()
    with pytest.raises(TypeError, match="proof"):
        Traffic(object(), negotiated)  # type: ignore[arg-type]
