"""Our TLS 1.3 server against OpenSSL (Python's ssl, in memory) and against the scripted client.

OpenSSL is the real client here: it verifies our chain against the demo
root, our signature, our Finished and our records, so a handshake that
completes is a handshake a browser-grade stack accepts.  Bytes move between
`ssl.MemoryBIO`s and the sans-IO server object; no socket is opened.
The scripted client covers what `ssl` cannot be made to send: KeyUpdate,
zero-length records, 0-RTT, unknown key shares.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

import pytest

from tls_web_server.tls.errors import AlertDescription, AlertLevel, TLSUsageError
from tls_web_server.tls.tls13 import connection as connection_module
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    HELLO_RETRY_REQUEST_RANDOM,
    CipherSuite,
    ContentType,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
)
from tls_web_server.tls.tls13.extensions import KeyShareEntry
from tls_web_server.tls.tls13.messages import Certificate, KeyUpdate, NewSessionTicket
from tls_web_server.tls.tls13.record import MAX_PLAINTEXT_LENGTH, RecordReader
from tls_web_server.tls.tls13.server import TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

from ..conftest import DemoPki
from .scripted_client import GREASE_GROUP, UNKNOWN_GROUP, ScriptedClient, new_server

SIGNATURE_SCHEME_FOR_KEY = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ed25519": "ed25519",
}


class OpenSSLClient:
    """Python's ssl as a TLS 1.3 client over two memory BIOs."""

    def __init__(
        self,
        demo: DemoPki,
        *,
        alpn: bool = True,
        session: ssl.SSLSession | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if context is None:
            context = openssl_context(demo, alpn=alpn)
        self.context = context
        self.incoming = ssl.MemoryBIO()  # what the server sent, for OpenSSL to read
        self.outgoing = ssl.MemoryBIO()  # what OpenSSL wrote, for the server
        self.ssl_object = context.wrap_bio(
            self.incoming, self.outgoing, server_hostname="localhost", session=session
        )

    def handshake_with(self, server: TLS13ServerConnection) -> None:
        """Run the handshake to the end, tickets included."""
        for _ in range(10):
            try:
                self.ssl_object.do_handshake()
                finished = True
            except ssl.SSLWantReadError:
                finished = False
            self.exchange(server)
            if finished:
                break
        assert server.is_established
        self.read_all()  # take in the NewSessionTickets

    def exchange(self, server: TLS13ServerConnection) -> None:
        """Move OpenSSL's pending bytes to the server and the server's answer back."""
        data = self.outgoing.read()
        if data:
            server.feed_wire_data(data)
        self.incoming.write(server.pop_pending_wire_data())

    def read_all(self) -> bytes:
        """Every application byte OpenSSL can decrypt from what it has received."""
        received = bytearray()
        while True:
            try:
                chunk = self.ssl_object.read(1 << 17)
            except ssl.SSLWantReadError:
                return bytes(received)
            if not chunk:
                return bytes(received)
            received += chunk


def openssl_context(demo: DemoPki, *, alpn: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cafile=demo.files.root_cert)
    if alpn:
        context.set_alpn_protocols(["http/1.1"])
    return context


def events(kind: str, name: str | None = None):
    """An observer that collects events of one kind (and message name), and the list it fills."""
    collected: list[dict[str, Any]] = []

    def observer(event: dict[str, Any]) -> None:
        if event["kind"] == kind and (name is None or event.get("name") == name):
            collected.append(event)

    return observer, collected


# ------------------------------------------------------------- OpenSSL


@pytest.mark.parametrize("suite", list(CipherSuite), ids=lambda suite: suite.name)
def test_openssl_handshake_for_each_key_type_and_cipher_suite(
    any_pki: DemoPki, suite: CipherSuite
) -> None:
    server = new_server(any_pki.credentials, cipher_suites=(suite,))
    client = OpenSSLClient(any_pki)
    client.handshake_with(server)

    negotiated = server.negotiated
    assert negotiated is not None
    assert negotiated.protocol == "TLSv1.3"
    assert negotiated.cipher_suite == suite.name
    assert negotiated.group == "x25519"
    assert negotiated.alpn == "http/1.1"
    assert negotiated.server_name == "localhost"
    assert negotiated.signature_scheme == SIGNATURE_SCHEME_FOR_KEY[any_pki.key_type]
    assert not negotiated.resumed and not negotiated.hello_retry
    assert client.ssl_object.version() == "TLSv1.3"
    assert client.ssl_object.cipher()[0] == suite.name
    assert client.ssl_object.selected_alpn_protocol() == "http/1.1"

    # Both directions, several records each way.
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3
    client.ssl_object.write(request)
    client.ssl_object.write(b"second write")
    server.feed_wire_data(client.outgoing.read())
    assert server.read_plaintext() == request + b"second write"
    assert server.read_plaintext() == b""  # each byte is returned once
    response = os.urandom(3000)
    client.incoming.write(server.protect_application_data(response))
    client.incoming.write(server.protect_application_data(b"tail"))
    assert client.read_all() == response + b"tail"


def test_openssl_without_alpn_gets_no_protocol(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = OpenSSLClient(ecdsa_pki, alpn=False)
    client.handshake_with(server)
    assert server.negotiated is not None and server.negotiated.alpn is None
    assert client.ssl_object.selected_alpn_protocol() is None


def test_openssl_hello_retry_request_when_its_share_is_not_ours(ecdsa_pki: DemoPki) -> None:
    # OpenSSL sends an x25519 share only; this server takes secp384r1 only.
    server = new_server(ecdsa_pki.credentials, groups=(NamedGroup.secp384r1,))
    client = OpenSSLClient(ecdsa_pki)
    client.handshake_with(server)
    negotiated = server.negotiated
    assert negotiated is not None
    assert negotiated.hello_retry and negotiated.group == "secp384r1"
    client.ssl_object.write(b"after a retry")
    server.feed_wire_data(client.outgoing.read())
    assert server.read_plaintext() == b"after a retry"


@pytest.mark.parametrize("suite", list(CipherSuite), ids=lambda suite: suite.name)
def test_openssl_resumes_with_the_session_from_the_first_connection(
    ecdsa_pki: DemoPki, suite: CipherSuite
) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    context = openssl_context(ecdsa_pki)
    first_server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key, cipher_suites=(suite,))
    first = OpenSSLClient(ecdsa_pki, context=context)
    first.handshake_with(first_server)
    session = first.ssl_object.session
    assert session is not None and session.has_ticket
    assert not first.ssl_object.session_reused

    second_server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key, cipher_suites=(suite,))
    second = OpenSSLClient(ecdsa_pki, context=context, session=session)
    second.handshake_with(second_server)
    assert second.ssl_object.session_reused
    negotiated = second_server.negotiated
    assert negotiated is not None
    assert negotiated.resumed and negotiated.cipher_suite == suite.name
    assert negotiated.signature_scheme is None  # no certificate on resumption
    second.ssl_object.write(b"resumed")
    second_server.feed_wire_data(second.outgoing.read())
    assert second_server.read_plaintext() == b"resumed"


def test_openssl_is_not_resumed_by_a_server_with_another_ticket_key(ecdsa_pki: DemoPki) -> None:
    context = openssl_context(ecdsa_pki)
    first = OpenSSLClient(ecdsa_pki, context=context)
    first.handshake_with(new_server(ecdsa_pki.credentials))
    other_server = new_server(ecdsa_pki.credentials)  # a different TicketKey
    second = OpenSSLClient(ecdsa_pki, context=context, session=first.ssl_object.session)
    second.handshake_with(other_server)
    assert not second.ssl_object.session_reused
    assert other_server.negotiated is not None and not other_server.negotiated.resumed


def test_server_key_update_is_answered_by_openssl(ecdsa_pki: DemoPki) -> None:
    observer, key_updates = events("message", "KeyUpdate")
    server = new_server(ecdsa_pki.credentials, observer=observer)
    client = OpenSSLClient(ecdsa_pki)
    client.handshake_with(server)

    server.request_key_update()
    client.incoming.write(server.pop_pending_wire_data())
    assert client.read_all() == b""
    # OpenSSL answers update_requested with its own KeyUpdate before its next data.
    client.ssl_object.write(b"under new keys")
    server.feed_wire_data(client.outgoing.read())
    assert server.read_plaintext() == b"under new keys"
    assert [(event["direction"], event["fields"]) for event in key_updates] == [
        ("sent", KeyUpdate(KeyUpdateRequest.update_requested)),
        ("received", {"request_update": "update_not_requested"}),
    ]
    client.incoming.write(server.protect_application_data(b"and back"))
    assert client.read_all() == b"and back"


def test_server_close_notify_is_a_clean_eof_for_openssl(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = OpenSSLClient(ecdsa_pki)
    client.handshake_with(server)
    client.incoming.write(server.protect_application_data(b"last words"))
    server.close()
    client.incoming.write(server.pop_pending_wire_data())
    assert client.ssl_object.read(100) == b"last words"
    # b"" is ssl's clean EOF (close_notify seen); no data yet would be SSLWantReadError.
    assert client.ssl_object.read(100) == b""
    with pytest.raises(TLSUsageError):
        server.protect_application_data(b"after close")
    server.close()  # a second close sends nothing more
    assert server.pop_pending_wire_data() == b""


def test_openssl_close_notify_closes_our_side_and_we_answer(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = OpenSSLClient(ecdsa_pki)
    client.handshake_with(server)
    client.ssl_object.write(b"bye")
    with pytest.raises(ssl.SSLWantReadError):
        client.ssl_object.unwrap()  # sends close_notify, then waits for ours
    assert not server.peer_closed
    server.feed_wire_data(client.outgoing.read())
    assert server.read_plaintext() == b"bye"
    assert server.peer_closed
    assert server.is_established  # half-closed: we may still send
    client.incoming.write(server.protect_application_data(b"a last answer"))
    server.close()
    client.incoming.write(server.pop_pending_wire_data())
    assert client.ssl_object.read(100) == b"a last answer"
    client.ssl_object.unwrap()  # our close_notify completes OpenSSL's shutdown


def test_a_40_kib_response_travels_as_16_kib_records(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = OpenSSLClient(ecdsa_pki)
    client.handshake_with(server)
    response = os.urandom(40 * 1024)
    records_bytes = server.protect_application_data(response)

    reader = RecordReader()
    reader.feed(records_bytes)
    records = []
    while (record := reader.next_record()) is not None:
        records.append(record)
    # 16 KiB of content + 1 type byte + 16 tag bytes per full record.
    overhead = 1 + 16
    assert [len(record.fragment) - overhead for record in records] == [
        MAX_PLAINTEXT_LENGTH,
        MAX_PLAINTEXT_LENGTH,
        40 * 1024 - 2 * MAX_PLAINTEXT_LENGTH,
    ]
    assert all(record.content_type == ContentType.application_data for record in records)
    client.incoming.write(records_bytes)
    assert client.read_all() == response


def test_keylog_lines_match_what_openssl_logs(ecdsa_pki: DemoPki, tmp_path: Path) -> None:
    openssl_log = tmp_path / "openssl.keys"
    context = openssl_context(ecdsa_pki)
    context.keylog_filename = str(openssl_log)
    our_lines: list[str] = []
    server = new_server(ecdsa_pki.credentials, keylog=our_lines.append)
    client = OpenSSLClient(ecdsa_pki, context=context)
    client.handshake_with(server)

    openssl_lines = [
        line
        for line in openssl_log.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(our_lines) == sorted(openssl_lines)
    labels = {line.split()[0] for line in our_lines}
    assert labels == {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    }
    assert len(our_lines) == len(labels)  # each secret once
    assert len({line.split()[1] for line in our_lines}) == 1  # one client random


# ------------------------------------------------------------ scripted client


def scripted_client(demo: DemoPki) -> ScriptedClient:
    """A client that checks our chain and CertificateVerify with the project's own verifier."""
    return ScriptedClient(roots=demo.roots, now=demo.now)


def test_two_new_session_tickets_each_good_for_resumption(ecdsa_pki: DemoPki) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    client = scripted_client(ecdsa_pki)
    client.handshake(new_server(ecdsa_pki.credentials, ticket_key=ticket_key))
    tickets = [message for message in client.messages if isinstance(message, NewSessionTicket)]
    assert len(tickets) == 2
    assert tickets[0].ticket_nonce != tickets[1].ticket_nonce
    assert tickets[0].ticket != tickets[1].ticket
    assert all(ticket.ticket_lifetime == 7200 for ticket in tickets)
    assert client.tickets[0].psk != client.tickets[1].psk

    for ticket in client.tickets:
        server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key)
        resuming = scripted_client(ecdsa_pki)
        resuming.handshake(server, ticket=ticket)
        assert resuming.resumed and resuming.certificate is None
        assert server.negotiated is not None and server.negotiated.resumed
        resuming.receive_from(server, resuming.application_data_record(b"resumed"))
        assert server.read_plaintext() == b"resumed"


def test_no_tickets_without_psk_dhe_ke(ecdsa_pki: DemoPki) -> None:
    client = scripted_client(ecdsa_pki)
    server = new_server(ecdsa_pki.credentials)
    client.handshake(server, psk_modes=None)
    assert server.is_established
    assert client.tickets == []


def test_client_key_update_requesting_ours_is_answered(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    # update_not_requested: the server changes its read keys and says nothing.
    client.receive_from(server, client.key_update_record(KeyUpdateRequest.update_not_requested))
    assert client.key_updates == []
    client.receive_from(server, client.application_data_record(b"one"))
    assert server.read_plaintext() == b"one"

    # update_requested: the server answers with its own KeyUpdate, then uses new keys.
    client.receive_from(server, client.key_update_record(KeyUpdateRequest.update_requested))
    assert client.key_updates == [KeyUpdateRequest.update_not_requested]
    client.receive_from(server, client.application_data_record(b"two"))
    assert server.read_plaintext() == b"two"
    client.receive(server.protect_application_data(b"answer under new keys"))
    assert bytes(client.application_data) == b"answer under new keys"


def test_no_key_update_answer_after_our_close_notify(ecdsa_pki: DemoPki) -> None:
    # Section 6.1: close_notify says we "will not send any more messages".
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    server.close()
    client.receive(server.pop_pending_wire_data())
    chunk = client.key_update_record(KeyUpdateRequest.update_requested)
    client.receive_from(server, chunk + client.application_data_record(b"still readable"))
    assert client.key_updates == []
    assert server.read_plaintext() == b"still readable"  # a half-closed connection still reads


def test_server_updates_its_keys_on_its_own_after_many_records(
    ecdsa_pki: DemoPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Section 5.5: keys wear out; the server moves on before the limit (2^24 records,
    # lowered here so the test can reach it).
    monkeypatch.setattr(connection_module, "KEY_UPDATE_AFTER_RECORDS", 3)
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)  # the two tickets took sequence numbers 0 and 1
    for number in range(6):
        client.receive(server.protect_application_data(b"record %d;" % number))
    assert bytes(client.application_data) == b"".join(b"record %d;" % n for n in range(6))
    # At sequence number 3 the first update, then every third record after it.
    assert client.key_updates == [KeyUpdateRequest.update_not_requested] * 2


def test_certificate_chosen_by_server_name(demo_pki_factory: Any) -> None:
    default = demo_pki_factory("ecdsa-p256")
    exact = demo_pki_factory("rsa-2048")
    wildcard = demo_pki_factory("ed25519")
    by_name = {"exact.example": exact.credentials, "*.wild.example": wildcard.credentials}
    expected = {
        "exact.example": "rsa_pss_rsae_sha256",
        "EXACT.example.": "rsa_pss_rsae_sha256",  # DNS names are case-insensitive
        "www.wild.example": "ed25519",
        "wild.example": "ecdsa_secp256r1_sha256",  # a wildcard needs a label in its place
        "other.example": "ecdsa_secp256r1_sha256",
    }
    for server_name, scheme in expected.items():
        server = new_server(default.credentials, credentials_by_name=by_name)
        ScriptedClient().handshake(server, server_name=server_name)
        assert server.negotiated is not None
        assert server.negotiated.signature_scheme == scheme, server_name
        assert server.negotiated.server_name == server_name


def test_key_update_and_data_in_one_chunk(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    chunk = (
        client.application_data_record(b"old keys, ")
        + client.key_update_record(KeyUpdateRequest.update_requested)
        + client.application_data_record(b"new keys")
    )
    client.receive_from(server, chunk)
    assert server.read_plaintext() == b"old keys, new keys"
    assert client.key_updates == [KeyUpdateRequest.update_not_requested]


def test_zero_length_application_data_records_are_accepted(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    client.receive_from(server, client.application_data_record(b""))
    assert server.read_plaintext() == b""
    # Section 5.4: padding alone is fine too.
    padded_empty = client.protected_record(ContentType.application_data, b"", padding=100)
    client.receive_from(server, padded_empty + client.application_data_record(b"after"))
    assert server.read_plaintext() == b"after"
    assert server.is_established


def test_unknown_groups_and_shares_are_skipped(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    unknown = (UNKNOWN_GROUP, GREASE_GROUP)
    client.handshake(
        server,
        supported_groups=(*unknown, NamedGroup.x25519),
        key_share_groups=(*unknown, NamedGroup.x25519),
    )
    assert server.negotiated is not None
    assert server.negotiated.group == "x25519" and not server.negotiated.hello_retry


def test_server_prefers_its_own_group_order_among_the_shares(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials, groups=(NamedGroup.secp256r1, NamedGroup.x25519))
    client = scripted_client(ecdsa_pki)
    client.handshake(server, key_share_groups=(NamedGroup.x25519, NamedGroup.secp256r1))
    assert server.negotiated is not None and server.negotiated.group == "secp256r1"


@pytest.mark.parametrize("session_id", [b"", b"\x42" * 32], ids=["no-session-id", "session-id"])
def test_hello_retry_request_then_a_correct_second_hello(
    ecdsa_pki: DemoPki, session_id: bytes
) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    # A share only for a group we do not know: the server must ask for x25519.
    first = client.client_hello(
        legacy_session_id=session_id,
        supported_groups=(UNKNOWN_GROUP, NamedGroup.x25519),
        key_share_groups=(UNKNOWN_GROUP,),
    )
    client.receive_from(server, client.hello_record(first))
    retry = client.hello_retry_request
    assert retry is not None and client.server_hello is None
    assert retry.random == HELLO_RETRY_REQUEST_RANDOM
    assert retry.legacy_session_id_echo == session_id
    selected = ext.decode_hello_retry_key_share(retry.extension(ExtensionType.key_share) or b"")
    assert selected == NamedGroup.x25519
    assert retry.extension(ExtensionType.cookie) is None
    versions = retry.extension(ExtensionType.supported_versions)
    assert versions is not None and ext.decode_selected_version(versions) == 0x0304
    # Appendix D.4: a ChangeCipherSpec follows the HRR when the client sent a session id.
    assert client.change_cipher_specs == (1 if session_id else 0)

    second = client.client_hello(key_share_groups=(NamedGroup.x25519,))
    client.receive_from(server, client.hello_record(second))
    assert client.server_finished_verified
    assert client.change_cipher_specs == (1 if session_id else 0)  # never a second one
    client.receive_from(server, client.finished_record())
    assert server.is_established
    negotiated = server.negotiated
    assert negotiated is not None and negotiated.hello_retry and negotiated.group == "x25519"
    client.receive_from(server, client.application_data_record(b"after a retry"))
    assert server.read_plaintext() == b"after a retry"


def test_resumption_after_a_hello_retry_request(ecdsa_pki: DemoPki) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    first = scripted_client(ecdsa_pki)
    first.handshake(new_server(ecdsa_pki.credentials, ticket_key=ticket_key))
    server = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, groups=(NamedGroup.secp256r1,)
    )
    client = scripted_client(ecdsa_pki)
    # The binder of the second hello covers message_hash and the HRR (section 4.2.11.2).
    client.handshake(server, ticket=first.tickets[0])
    negotiated = server.negotiated
    assert negotiated is not None
    assert negotiated.hello_retry and negotiated.resumed and negotiated.group == "secp256r1"


def test_0rtt_data_is_skipped_and_never_delivered(ecdsa_pki: DemoPki) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    first = scripted_client(ecdsa_pki)
    first.handshake(new_server(ecdsa_pki.credentials, ticket_key=ticket_key))

    server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key)
    client = scripted_client(ecdsa_pki)
    hello = client.client_hello(ticket=first.tickets[0], early_data=True)
    # A 0-RTT client sends its hello, a CCS and early data without waiting.
    flight = (
        client.hello_record(hello)
        + bytes((ContentType.change_cipher_spec, 3, 3, 0, 1, 1))
        + client.early_data_record(b"GET /early HTTP/1.1\r\n\r\n")
        + client.early_data_record(b"x" * 1000)
    )
    client.receive_from(server, flight)
    assert client.encrypted_extensions is not None
    # We never accept early data, so EncryptedExtensions does not say we did.
    assert client.encrypted_extensions.extension(ExtensionType.early_data) is None
    client.receive_from(server, client.finished_record())
    assert server.is_established
    assert server.negotiated is not None and server.negotiated.resumed
    assert server.read_plaintext() == b""
    client.receive_from(server, client.application_data_record(b"real data"))
    assert server.read_plaintext() == b"real data"


def test_0rtt_records_before_the_second_hello_are_skipped(ecdsa_pki: DemoPki) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    first = scripted_client(ecdsa_pki)
    first.handshake(new_server(ecdsa_pki.credentials, ticket_key=ticket_key))

    server = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, groups=(NamedGroup.secp256r1,)
    )
    client = scripted_client(ecdsa_pki)
    hello = client.client_hello(ticket=first.tickets[0], early_data=True)
    flight = client.hello_record(hello) + client.early_data_record(b"early " * 100)
    client.receive_from(server, flight)
    assert client.hello_retry_request is not None
    # More 0-RTT records in flight when the HRR arrives: skipped in the clear.
    client.receive_from(server, client.early_data_record(b"still early"))
    second = client.client_hello(key_share_groups=(NamedGroup.secp256r1,), early_data=False)
    client.receive_from(server, client.hello_record(second))
    client.receive_from(server, client.finished_record())
    assert server.is_established
    assert server.read_plaintext() == b""


def test_an_expired_ticket_gives_a_full_handshake(ecdsa_pki: DemoPki) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    first = scripted_client(ecdsa_pki)
    issued_at = 1_700_000_000.0
    first.handshake(
        new_server(ecdsa_pki.credentials, ticket_key=ticket_key, clock=lambda: issued_at)
    )
    lifetime = first.tickets[0].ticket_lifetime

    just_valid = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, clock=lambda: issued_at + lifetime
    )
    client = scripted_client(ecdsa_pki)
    client.handshake(just_valid, ticket=first.tickets[0])
    assert just_valid.negotiated is not None and just_valid.negotiated.resumed

    expired = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, clock=lambda: issued_at + lifetime + 1
    )
    client = scripted_client(ecdsa_pki)
    client.handshake(expired, ticket=first.tickets[0])
    assert expired.negotiated is not None and not expired.negotiated.resumed
    assert not client.resumed
    assert isinstance(client.certificate, Certificate)  # a full handshake proves the name again


def test_a_ticket_for_a_suite_the_client_no_longer_offers_is_not_used(
    ecdsa_pki: DemoPki,
) -> None:
    ticket_key = TicketKey.generate(os.urandom)
    first = scripted_client(ecdsa_pki)
    first.handshake(
        new_server(ecdsa_pki.credentials, ticket_key=ticket_key),
        cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,),
    )
    server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key)
    client = scripted_client(ecdsa_pki)
    # The ticket's hash is SHA-384; a client offering only SHA-256 suites cannot use it.
    client.handshake(
        server, ticket=first.tickets[0], cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)
    )
    assert server.negotiated is not None and not server.negotiated.resumed


def test_alerts_are_not_sent_for_a_clean_handshake(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    assert client.alerts == []
    server.close()
    client.receive(server.pop_pending_wire_data())
    assert client.alerts == [(AlertLevel.warning, AlertDescription.close_notify)]
    assert client.protected_alerts == [True]


def test_data_after_the_peers_close_notify_is_ignored(ecdsa_pki: DemoPki) -> None:
    server = new_server(ecdsa_pki.credentials)
    client = scripted_client(ecdsa_pki)
    client.handshake(server)
    kept = client.application_data_record(b"kept")
    close_notify = client.protected_record(
        ContentType.alert, bytes((AlertLevel.warning, AlertDescription.close_notify))
    )
    client.receive_from(server, kept + close_notify + b"\xff garbage")
    assert server.peer_closed
    assert server.read_plaintext() == b"kept"


def test_a_grease_share_before_ours_is_skipped(ecdsa_pki: DemoPki) -> None:
    # A share for a group we support is used even when it is not the client's first.
    server = new_server(ecdsa_pki.credentials, groups=(NamedGroup.x25519,))
    client = scripted_client(ecdsa_pki)
    grease_share = KeyShareEntry(GREASE_GROUP, b"\x00")
    hello = client.client_hello(supported_groups=(GREASE_GROUP, NamedGroup.x25519))
    shares = ext.decode_client_key_shares(hello.extension(ExtensionType.key_share) or b"")
    client.handshake(
        server,
        supported_groups=(GREASE_GROUP, NamedGroup.x25519),
        key_shares=(grease_share, *shares),
    )
    assert server.is_established
