"""Our TLS 1.3 client refusing a server that cannot prove who it is, and bad messages after.

Certificate chains (expired, wrong name, unknown root, unparsable),
CertificateRequest, CertificateVerify (a scheme we did not offer, a
tampered signature) and Finished, each on a flight from our real server
edited with flight_surgery.py; then NewSessionTicket and KeyUpdate after
the handshake.  Each test names the exact alert of RFC 8446 section 6.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from tests.tls.conftest import DemoPki, make_demo_pki
from tests.tls.tls13.flight_surgery import (
    ServerFlight,
    answered,
    new_client,
    new_server,
    pump,
    refused,
)
from tls_web_server.tls import pki
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.client import TicketStore
from tls_web_server.tls.tls13.enums import (
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    Finished,
    KeyUpdate,
    NewSessionTicket,
)
from tls_web_server.tls.tls13.record import RecordProtection
from tls_web_server.tls.tls13.tickets import TicketKey

Alert = AlertDescription
DAY = 24 * 3600


# ---------------------------------------------------------------------------
# Certificate and CertificateRequest (RFC 8446 sections 4.3.2, 4.4.2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "reason"),
    [(400, "expired on"), (-2, "is not valid before")],
    ids=["expired", "not-yet"],
)
def test_a_leaf_outside_its_validity(ecdsa_pki: DemoPki, days: int, reason: str):
    moment = ecdsa_pki.now + days * DAY
    client, _server, flight = answered(ecdsa_pki, clock=lambda: moment)
    error = refused(client, flight.wire(), Alert.certificate_expired)
    assert reason in error.reason and "CN=localhost" in error.reason


def test_a_certificate_for_another_name(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki, server_name="wrong.example")
    error = refused(client, flight.wire(), Alert.bad_certificate)
    assert error.reason == "certificate for localhost does not match wrong.example"


def test_a_chain_to_a_root_we_do_not_trust(ecdsa_pki: DemoPki, tmp_path: Path):
    stranger = make_demo_pki(tmp_path, "ecdsa-p256")
    client, _server, flight = answered(ecdsa_pki, roots=stranger.roots)
    error = refused(client, flight.wire(), Alert.unknown_ca)
    assert error.reason.startswith("chain does not lead to the trusted root")


def test_an_ed25519_chain_is_unsupported_certificate(ecdsa_pki: DemoPki, tmp_path: Path):
    # Our clients refuse Ed25519 certificates, as browsers do (pki_verification.py).
    # Our server never sends this chain to our hello (it offers no ed25519), so
    # the chain goes into an ECDSA server's flight by hand.
    ed25519_pki = make_demo_pki(tmp_path, "ed25519")
    client, _server, flight = answered(ecdsa_pki, roots=ed25519_pki.roots)
    entries = tuple(CertificateEntry(der) for der in ed25519_pki.credentials.chain_der)
    edited = flight.replaced(HandshakeType.certificate, Certificate(b"", entries).encode())
    error = refused(client, edited.wire(), Alert.unsupported_certificate)
    assert error.reason.startswith(
        "certificate 'CN=localhost,O=tls-web-server demo' holds an Ed25519 key:"
        " Ed25519 certificates are refused here, as browsers refuse them"
    )
    assert "`tls-web-server certs DIR --key-type ecdsa-p256` (the default)" in error.reason


def ecdsa_leaf_under_ed25519_ca(directory: Path) -> DemoPki:
    """An ECDSA leaf issued by the Ed25519 demo's intermediate: only its signature is Ed25519."""
    ed25519_pki = make_demo_pki(directory, "ed25519")
    leaf, key = directory / "ecdsa_leaf.pem", directory / "ecdsa_leaf_key.pem"
    pki.issue_server_certificate(
        ed25519_pki.files.intermediate_cert,
        ed25519_pki.files.intermediate_key,
        leaf,
        key,
        now=ed25519_pki.now,
    )
    credentials = pki.load_server_credentials(leaf, key, ed25519_pki.files.intermediate_cert)
    return dataclasses.replace(ed25519_pki, key_type="ecdsa-p256", credentials=credentials)


def test_an_ecdsa_leaf_signed_by_an_ed25519_ca_is_refused_too(tmp_path: Path):
    # Our server serves this chain as it is and signs CertificateVerify with
    # ECDSA; the Ed25519 signature on the leaf is what our client refuses.
    mixed = ecdsa_leaf_under_ed25519_ca(tmp_path)
    client, _server, flight = answered(mixed)
    error = refused(client, flight.wire(), Alert.unsupported_certificate)
    assert error.reason.startswith(
        "certificate 'CN=localhost,O=tls-web-server demo' is signed with Ed25519 (by"
        " 'CN=tls-web-server demo intermediate CA "
    )
    assert "as browsers refuse them" in error.reason


def _certificate(flight: ServerFlight) -> Certificate:
    return Certificate.decode(flight.message(HandshakeType.certificate)[4:])


def test_a_certificate_with_a_request_context(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    edited = dataclasses.replace(_certificate(flight), certificate_request_context=b"\x01")
    refused(
        client,
        flight.replaced(HandshakeType.certificate, edited.encode()).wire(),
        Alert.illegal_parameter,
    )


def test_an_empty_certificate(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    empty = Certificate(b"", ()).encode()
    refused(client, flight.replaced(HandshakeType.certificate, empty).wire(), Alert.decode_error)


def test_a_certificate_that_does_not_parse(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    garbage = Certificate(b"", (CertificateEntry(b"\x30\x03\x02\x01\x00"),)).encode()
    refused(
        client, flight.replaced(HandshakeType.certificate, garbage).wire(), Alert.bad_certificate
    )


def _certificate_request(context: bytes = b"") -> bytes:
    schemes = ext.encode_signature_algorithms((SignatureScheme.ecdsa_secp256r1_sha256,))
    return CertificateRequest(
        context, (Extension(ExtensionType.signature_algorithms, schemes),)
    ).encode()


def test_a_certificate_request_is_answered_with_an_empty_certificate(ecdsa_pki: DemoPki):
    events: list[dict[str, Any]] = []
    client, _server, flight = answered(ecdsa_pki, observer=events.append)
    flight = flight.inserted_before(HandshakeType.certificate, _certificate_request(b"\x07"))
    client.feed_wire_data(flight.reauthenticated(ecdsa_pki.credentials.private_key).wire())

    assert client.is_established
    sent_messages = [
        (event["name"], event["fields"])
        for event in events
        if event["kind"] == "message" and event["direction"] == "sent"
    ]
    # Section 4.4.2: with no certificate to offer, an empty one carrying the request's context.
    assert [name for name, _fields in sent_messages] == ["ClientHello", "Certificate", "Finished"]
    assert sent_messages[1][1] == Certificate(b"\x07", ())


def test_a_second_certificate_request(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    flight = flight.inserted_before(HandshakeType.certificate, _certificate_request())
    flight = flight.inserted_before(HandshakeType.certificate, _certificate_request())
    refused(client, flight.wire(), Alert.unexpected_message)


@pytest.mark.parametrize(
    "missing", [HandshakeType.certificate, HandshakeType.certificate_verify], ids=lambda t: t.name
)
def test_a_flight_that_skips_authentication(ecdsa_pki: DemoPki, missing: HandshakeType):
    client, _server, flight = answered(ecdsa_pki)
    error = refused(client, flight.without(missing).wire(), Alert.unexpected_message)
    assert "is not expected in state" in error.reason


def test_a_certificate_in_a_resumed_handshake(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    ticket_key = TicketKey.generate(os.urandom)
    pump(new_client(ecdsa_pki, tickets=tickets), new_server(ecdsa_pki, ticket_key=ticket_key))
    client, _server, flight = answered(
        ecdsa_pki, tickets=tickets, server_settings={"ticket_key": ticket_key}
    )
    assert HandshakeType.certificate not in flight.message_types  # resumed: no certificate
    full_chain = Certificate(
        b"", tuple(CertificateEntry(der) for der in ecdsa_pki.credentials.chain_der)
    ).encode()
    flight = flight.inserted_before(HandshakeType.finished, full_chain)
    error = refused(client, flight.wire(), Alert.unexpected_message)
    assert "ExpectFinished" in error.reason


# ---------------------------------------------------------------------------
# CertificateVerify (RFC 8446 section 4.4.3) and Finished (4.4.4)
# ---------------------------------------------------------------------------


def _certificate_verify(flight: ServerFlight) -> CertificateVerify:
    return CertificateVerify.decode(flight.message(HandshakeType.certificate_verify)[4:])


@pytest.mark.parametrize(
    "scheme",
    [SignatureScheme.ecdsa_secp521r1_sha512, SignatureScheme.rsa_pkcs1_sha256, 0xFEFE],
    ids=["p521", "pkcs1", "unknown"],
)
def test_a_signature_scheme_we_did_not_offer(ecdsa_pki: DemoPki, scheme: int):
    client, _server, flight = answered(ecdsa_pki)
    edited = dataclasses.replace(_certificate_verify(flight), algorithm=scheme)
    flight = flight.replaced(HandshakeType.certificate_verify, edited.encode())
    error = refused(client, flight.wire(), Alert.illegal_parameter)
    assert "which we did not offer" in error.reason


@pytest.mark.parametrize("flip_at", [0, 10, -1], ids=["first", "middle", "last"])
def test_a_tampered_signature(ecdsa_pki: DemoPki, flip_at: int):
    client, _server, flight = answered(ecdsa_pki)
    verify = _certificate_verify(flight)
    signature = bytearray(verify.signature)
    signature[flip_at] ^= 0x01
    edited = dataclasses.replace(verify, signature=bytes(signature))
    flight = flight.replaced(HandshakeType.certificate_verify, edited.encode())
    error = refused(client, flight.wire(), Alert.decrypt_error)
    assert error.reason == "server signature over the transcript is invalid"


def test_a_signature_scheme_that_does_not_fit_the_key(ecdsa_pki: DemoPki):
    # rsa_pss_rsae_sha256 was offered, but the certificate holds a P-256 key.
    client, _server, flight = answered(ecdsa_pki)
    edited = dataclasses.replace(
        _certificate_verify(flight), algorithm=SignatureScheme.rsa_pss_rsae_sha256
    )
    flight = flight.replaced(HandshakeType.certificate_verify, edited.encode())
    refused(client, flight.wire(), Alert.decrypt_error)


def test_an_ed25519_certificate_verify_was_not_offered(ecdsa_pki: DemoPki):
    # Section 4.4.3: the scheme must be one the client listed; ours lists no ed25519.
    client, _server, flight = answered(ecdsa_pki)
    edited = dataclasses.replace(_certificate_verify(flight), algorithm=SignatureScheme.ed25519)
    flight = flight.replaced(HandshakeType.certificate_verify, edited.encode())
    error = refused(client, flight.wire(), Alert.illegal_parameter)
    assert error.reason == "the server signed with scheme 0x0807, which we did not offer"


def test_a_wrong_finished(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    verify_data = Finished.decode(flight.message(HandshakeType.finished)[4:]).verify_data
    wrong = Finished(bytes(byte ^ 0xFF for byte in verify_data)).encode()
    error = refused(
        client, flight.replaced(HandshakeType.finished, wrong).wire(), Alert.decrypt_error
    )
    assert error.reason == "the server's Finished does not verify"


def test_a_finished_of_the_wrong_length(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    short = Finished(bytes(20)).encode()
    refused(client, flight.replaced(HandshakeType.finished, short).wire(), Alert.decode_error)


# ---------------------------------------------------------------------------
# after the handshake: tickets and KeyUpdate (RFC 8446 section 4.6)
# ---------------------------------------------------------------------------


def established(demo: DemoPki, tickets: TicketStore | None = None):
    """A client that completed its handshake, and a way to send it protected server records."""
    client, server, flight = answered(demo, tickets=tickets)
    client.feed_wire_data(flight.wire())
    assert client.is_established and flight.parameters is not None
    # The server's own NewSessionTickets come only after our Finished: sequence 0 is free.
    protection = RecordProtection(
        flight.parameters, server.secrets.secrets["SERVER_TRAFFIC_SECRET_0"]
    )
    return client, protection


def _ticket(lifetime: int) -> bytes:
    return NewSessionTicket(lifetime, 12345, b"\x00", b"ticket-bytes").encode()


def test_tickets_are_kept_with_their_lifetime_capped_at_seven_days(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    client, protection = established(ecdsa_pki, tickets)
    client.feed_wire_data(protection.seal(ContentType.handshake, _ticket(30 * DAY)))
    assert len(tickets) == 1
    # Section 4.6.1: never use a ticket longer than seven days, whatever the server says.
    assert tickets.take("localhost", ecdsa_pki.now + 7 * DAY - 1) is not None
    client.feed_wire_data(protection.seal(ContentType.handshake, _ticket(30 * DAY)))
    assert tickets.take("localhost", ecdsa_pki.now + 7 * DAY + 1) is None


def test_a_ticket_with_lifetime_zero_is_not_kept(ecdsa_pki: DemoPki):
    tickets = TicketStore()
    client, protection = established(ecdsa_pki, tickets)
    client.feed_wire_data(protection.seal(ContentType.handshake, _ticket(0)))
    assert len(tickets) == 0
    assert client.is_established


def test_a_key_update_with_an_unknown_request(ecdsa_pki: DemoPki):
    client, protection = established(ecdsa_pki)
    bad = bytes((HandshakeType.key_update, 0, 0, 1, 2))
    with pytest.raises(TLSError) as caught:
        client.feed_wire_data(protection.seal(ContentType.handshake, bad))
    assert caught.value.alert is Alert.illegal_parameter


def test_a_handshake_message_that_has_no_place_after_the_handshake(ecdsa_pki: DemoPki):
    client, protection = established(ecdsa_pki)
    with pytest.raises(TLSError) as caught:
        client.feed_wire_data(protection.seal(ContentType.handshake, Finished(bytes(32)).encode()))
    assert caught.value.alert is Alert.unexpected_message


def test_a_key_update_is_applied(ecdsa_pki: DemoPki):
    # The control for the two tests above: a well-formed KeyUpdate changes the read keys.
    client, protection = established(ecdsa_pki)
    update = KeyUpdate(KeyUpdateRequest.update_not_requested).encode()
    client.feed_wire_data(protection.seal(ContentType.handshake, update))
    with pytest.raises(TLSError) as caught:
        client.feed_wire_data(protection.seal(ContentType.application_data, b"old keys"))
    assert caught.value.alert is Alert.bad_record_mac
