"""What a peer may make us do for nothing is bounded; four corners of RFC 8446 are kept.

The limits (connection.py, docs/tls13.md): KeyUpdates without application
data between them, empty application records in a row, warning alerts in a
row.  Each is allowed up to its limit, reset by application data, and one
more is an unexpected_message.

The corners: a legacy_version below TLS 1.0 (appendix D.5), a
ChangeCipherSpec inside a fragmented handshake message (section 5.1), a
second ClientHello that adds a cookie or a pre_shared_key (section 4.1.2),
and NewSessionTickets that leave with the answer to the client's Finished.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from tls_web_server.tls.errors import AlertDescription, AlertLevel, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.connection import (
    MAX_EMPTY_RECORDS,
    MAX_KEY_UPDATES_WITHOUT_DATA,
    MAX_WARNING_ALERTS,
)
from tls_web_server.tls.tls13.enums import (
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
)
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.server import TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

from ..conftest import DemoPki
from .scripted_client import ReceivedTicket, ScriptedClient, new_server, plaintext_record

Alert = AlertDescription
USER_CANCELED = bytes((AlertLevel.warning, AlertDescription.user_canceled))


@pytest.fixture
def server(ecdsa_pki: DemoPki) -> TLS13ServerConnection:
    return new_server(ecdsa_pki.credentials)


@pytest.fixture
def client(ecdsa_pki: DemoPki) -> ScriptedClient:
    return ScriptedClient(roots=ecdsa_pki.roots, now=ecdsa_pki.now)


def established(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    client.handshake(server)
    assert server.is_established


def refused(
    server: TLS13ServerConnection, client: ScriptedClient | None, data: bytes, alert: Alert
) -> TLSError:
    """`data` fails with `alert`, which the server queues (encrypted if `client` has keys)."""
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(data)
    assert failure.value.alert is alert, failure.value.reason
    sent = server.pop_pending_wire_data()
    if client is None:
        assert sent == plaintext_record(ContentType.alert, bytes((AlertLevel.fatal, alert)))
    else:
        client.receive(sent)
        assert client.alerts[-1] == (AlertLevel.fatal, alert)
    assert server.state_name == "Failed"
    return failure.value


# ------------------------------------------------------------------ limits


def test_key_updates_without_data_are_limited(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA):
        client.receive_from(server, client.key_update_record(KeyUpdateRequest.update_requested))
    # Each asked for an answer, and got one: no more than the limit.
    assert client.key_updates == [KeyUpdateRequest.update_not_requested] * (
        MAX_KEY_UPDATES_WITHOUT_DATA
    )
    one_more = client.key_update_record(KeyUpdateRequest.update_requested)
    error = refused(server, client, one_more, Alert.unexpected_message)
    assert "KeyUpdates" in error.reason
    assert len(client.key_updates) == MAX_KEY_UPDATES_WITHOUT_DATA


def test_application_data_resets_the_key_update_count(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    for round_number in range(3):
        for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA):
            server.feed_wire_data(client.key_update_record(KeyUpdateRequest.update_not_requested))
        server.feed_wire_data(client.application_data_record(b"%d" % round_number))
    assert server.read_plaintext() == b"012"
    assert server.is_established


def test_empty_records_in_a_row_are_limited(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    empties = b"".join(client.application_data_record(b"") for _ in range(MAX_EMPTY_RECORDS))
    server.feed_wire_data(empties + client.application_data_record(b"data"))
    # A record with content ends the run: the same number is allowed again.
    empties = b"".join(client.application_data_record(b"") for _ in range(MAX_EMPTY_RECORDS))
    server.feed_wire_data(empties)
    assert server.read_plaintext() == b"data"
    error = refused(server, client, client.application_data_record(b""), Alert.unexpected_message)
    assert "empty records" in error.reason


def test_warning_alerts_in_a_row_are_limited(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    for _ in range(MAX_WARNING_ALERTS):
        server.feed_wire_data(client.protected_record(ContentType.alert, USER_CANCELED))
    server.feed_wire_data(client.application_data_record(b"data"))
    for _ in range(MAX_WARNING_ALERTS):
        server.feed_wire_data(client.protected_record(ContentType.alert, USER_CANCELED))
    assert server.read_plaintext() == b"data"
    one_more = client.protected_record(ContentType.alert, USER_CANCELED)
    error = refused(server, client, one_more, Alert.unexpected_message)
    assert "warning alerts" in error.reason


def test_warning_alerts_during_the_handshake_are_limited(server: TLS13ServerConnection) -> None:
    warning = plaintext_record(ContentType.alert, USER_CANCELED)
    server.feed_wire_data(warning * MAX_WARNING_ALERTS)
    refused(server, None, warning, Alert.unexpected_message)


# ---------------------------------------------- legacy_version (appendix D.5)


@pytest.mark.parametrize("version", [0x0300, 0x0000, 0x0102, 0x0200, 0x02FF])
def test_a_legacy_version_below_tls_1_0(
    server: TLS13ServerConnection, client: ScriptedClient, version: int
) -> None:
    hello = dataclasses.replace(client.client_hello(), legacy_version=version)
    error = refused(server, None, client.hello_record(hello), Alert.protocol_version)
    assert f"{version:#06x}" in error.reason


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303])
def test_legacy_versions_from_tls_1_0_are_accepted(
    server: TLS13ServerConnection, client: ScriptedClient, version: int
) -> None:
    # Section 4.1.2 asks for 0x0303; older TLS values only announce the record layer's past.
    hello = dataclasses.replace(client.client_hello(), legacy_version=version)
    client.receive_from(server, client.hello_record(hello))
    assert client.server_finished_verified


# ------------------------------------- ChangeCipherSpec inside a message (5.1)


def test_a_change_cipher_spec_between_two_fragments_of_the_finished(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    client.receive_from(server, client.hello_record(client.client_hello()))
    finished = bytes((HandshakeType.finished, 0, 0, 32)) + client.client_finished_verify_data
    first_half = client.protected_record(ContentType.handshake, finished[:10])
    change_cipher_spec = plaintext_record(ContentType.change_cipher_spec, b"\x01")
    error = refused(server, client, first_half + change_cipher_spec, Alert.unexpected_message)
    assert "change_cipher_spec" in error.reason


def test_a_change_cipher_spec_between_two_fragments_of_the_second_client_hello(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    client.receive_from(
        server,
        client.hello_record(
            client.client_hello(
                supported_groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=()
            )
        ),
    )
    assert client.hello_retry_request is not None
    second = client.client_hello(key_share_groups=(NamedGroup.x25519,)).encode()
    fragments = (
        plaintext_record(ContentType.handshake, second[:40])
        + plaintext_record(ContentType.change_cipher_spec, b"\x01")
        + plaintext_record(ContentType.handshake, second[40:])
    )
    refused(server, None, fragments, Alert.unexpected_message)


# ------------------------------- the second ClientHello (section 4.1.2)


def retried(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    """The first ClientHello has no key share: the server asks for x25519."""
    first = client.client_hello(
        supported_groups=(NamedGroup.x25519, NamedGroup.secp256r1), key_share_groups=()
    )
    client.receive_from(server, client.hello_record(first))
    assert client.hello_retry_request is not None


def test_a_second_client_hello_with_a_cookie_we_never_sent(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    retried(server, client)
    cookie = Extension(ExtensionType.cookie, ext.encode_cookie(b"made up"))
    second = client.client_hello(key_share_groups=(NamedGroup.x25519,), extra_extensions=(cookie,))
    error = refused(server, None, client.hello_record(second), Alert.illegal_parameter)
    assert "cookie" in error.reason


def test_a_second_client_hello_that_adds_a_pre_shared_key(
    ecdsa_pki: DemoPki, client: ScriptedClient
) -> None:
    key = TicketKey.generate(os.urandom)
    issuing = ScriptedClient()
    issuing.handshake(new_server(ecdsa_pki.credentials, ticket_key=key))
    ticket: ReceivedTicket = issuing.tickets[0]
    server = new_server(ecdsa_pki.credentials, ticket_key=key)
    retried(server, client)
    second = client.client_hello(key_share_groups=(NamedGroup.x25519,), ticket=ticket)
    error = refused(server, None, client.hello_record(second), Alert.illegal_parameter)
    assert "pre_shared_key" in error.reason


def test_a_second_client_hello_may_keep_its_pre_shared_key(
    ecdsa_pki: DemoPki, client: ScriptedClient
) -> None:
    # What section 4.1.2 does allow: the same ticket, its binder recomputed.
    key = TicketKey.generate(os.urandom)
    issuing = ScriptedClient()
    issuing.handshake(new_server(ecdsa_pki.credentials, ticket_key=key))
    ticket = issuing.tickets[0]
    server = new_server(ecdsa_pki.credentials, ticket_key=key)
    client.handshake(
        server,
        supported_groups=(NamedGroup.x25519, NamedGroup.secp256r1),
        key_share_groups=(),
        ticket=ticket,
    )
    assert client.hello_retry_request is not None and client.resumed
    assert server.is_established


# --------------------------------- NewSessionTicket right after the Finished


def test_tickets_leave_with_the_answer_to_the_client_finished(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # A client that reads its tickets before it sends a request (or never sends
    # one) gets them: they are in what the server has to send as soon as the
    # client's Finished is fed, with no application data from either side.
    client.receive_from(server, client.hello_record(client.client_hello()))
    server.feed_wire_data(client.finished_record())
    assert server.is_established
    sent = server.pop_pending_wire_data()
    client.receive(sent)
    assert len(client.tickets) == 2
    assert client.application_data == b""
    # And they are not sent again with the first response.
    client.receive(server.protect_application_data(b"response"))
    assert len(client.tickets) == 2
    assert client.application_data == b"response"
