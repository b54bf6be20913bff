"""Every rule RFC 8446 says a server must enforce, each answered with its exact alert.

Each test makes the scripted client break one rule and checks three things:
the TLSError names the alert, the alert really is queued for the peer (a
plaintext record before the server has keys, an encrypted one after, which
the client decrypts), and the connection stays failed: any further input
raises TLSError again and nothing more is sent.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from tls_web_server.tls.crypto import Aead
from tls_web_server.tls.errors import AlertDescription, AlertLevel, TLSError, TLSUsageError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.key_schedule import traffic_key_and_iv
from tls_web_server.tls.tls13.messages import ClientHello, KeyUpdate, NewSessionTicket
from tls_web_server.tls.tls13.record import MAX_CIPHERTEXT_LENGTH, MAX_PLAINTEXT_LENGTH
from tls_web_server.tls.tls13.server import TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

from ..conftest import DemoPki
from .scripted_client import (
    ReceivedTicket,
    ScriptedClient,
    alert_record,
    new_server,
    plaintext_record,
)

FATAL = AlertLevel.fatal
CHANGE_CIPHER_SPEC = plaintext_record(ContentType.change_cipher_spec, b"\x01")


def assert_fails(
    server: TLS13ServerConnection,
    data: bytes,
    alert: AlertDescription,
    *,
    client: ScriptedClient | None = None,
) -> None:
    """Feeding `data` fails with `alert`, which is queued; the connection stays failed.

    Without `client` the alert must be the server's only output, in the
    clear; with one, the client takes in the output and must find the
    alert, encrypted, as the last thing the server said.
    """
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(data)
    assert failure.value.alert is alert, failure.value.reason
    assert failure.value.received_alert is None
    sent = server.pop_pending_wire_data()
    if client is None:
        assert sent == alert_record(alert)
    else:
        client.receive(sent)
        assert client.alerts == [(FATAL, alert)]
        assert client.protected_alerts == [True]
    assert_stays_failed(server)


def assert_stays_failed(server: TLS13ServerConnection) -> None:
    assert not server.is_established
    assert server.state_name == "Failed"
    with pytest.raises(TLSError):
        server.feed_wire_data(CHANGE_CIPHER_SPEC)
    with pytest.raises(TLSError):
        server.feed_wire_data(b"")
    server.close()  # no close_notify after a fatal alert
    assert server.pop_pending_wire_data() == b""


@pytest.fixture
def server(ecdsa_pki: DemoPki) -> TLS13ServerConnection:
    return new_server(ecdsa_pki.credentials)


@pytest.fixture
def client(ecdsa_pki: DemoPki) -> ScriptedClient:
    return ScriptedClient(roots=ecdsa_pki.roots, now=ecdsa_pki.now)


def fake_ticket() -> ReceivedTicket:
    """A ticket no server issued: enough to build a well-formed pre_shared_key offer."""
    return ReceivedTicket(
        os.urandom(100), os.urandom(32), CipherSuite.TLS_AES_128_GCM_SHA256, 0, 7200
    )


@pytest.fixture(scope="module")
def ticket_key() -> TicketKey:
    return TicketKey.generate(os.urandom)


@pytest.fixture(scope="module")
def real_ticket(ecdsa_pki: DemoPki, ticket_key: TicketKey) -> ReceivedTicket:
    issuing = ScriptedClient()
    issuing.handshake(new_server(ecdsa_pki.credentials, ticket_key=ticket_key))
    return issuing.tickets[0]


def hello_up_to_server_finished(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    client.receive_from(server, client.hello_record(client.client_hello()))
    assert client.server_finished_verified


def established(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    client.handshake(server)
    assert server.is_established


# ------------------------------------------------------------- ClientHello


def _x25519_share(client: ScriptedClient) -> KeyShareEntry:
    hello = client.client_hello()
    return ext.decode_client_key_shares(hello.extension(ExtensionType.key_share) or b"")[0]


HELLO_RULES = {
    # Section 4.2.1: no supported_versions means TLS 1.2 or older, which we do not speak.
    "no supported_versions": (dict(supported_versions=None), AlertDescription.protocol_version),
    "no 0x0304 in supported_versions": (
        dict(supported_versions=(0x0303, 0x0302)),
        AlertDescription.protocol_version,
    ),
    # Section 4.1.2: legacy_compression_methods is exactly [0].
    "compression [1]": (dict(compression_methods=b"\x01"), AlertDescription.illegal_parameter),
    "compression [0, 1]": (
        dict(compression_methods=b"\x00\x01"),
        AlertDescription.illegal_parameter,
    ),
    # Section 4.2.8: shares only for groups in supported_groups.
    "key share for an unlisted group": (
        dict(supported_groups=(NamedGroup.secp256r1,)),
        AlertDescription.illegal_parameter,
    ),
    # Section 9.2: the mandatory extension pairs.
    "no key_share": (dict(key_share_groups=None), AlertDescription.missing_extension),
    "no supported_groups": (dict(supported_groups=None), AlertDescription.missing_extension),
    "no signature_algorithms": (
        dict(signature_algorithms=None),
        AlertDescription.missing_extension,
    ),
    # Section 4.1.1: nothing in common is a handshake_failure.
    "no common cipher suite": (
        dict(cipher_suites=(0x1304, 0x1305, 0xC02F)),
        AlertDescription.handshake_failure,
    ),
    "no common group": (
        dict(supported_groups=(0x0019, 0x0100, 0x0A0A), key_share_groups=(0x0019,)),
        AlertDescription.handshake_failure,
    ),
    "no common signature scheme": (
        dict(
            signature_algorithms=(
                SignatureScheme.rsa_pkcs1_sha256,
                SignatureScheme.ecdsa_secp521r1_sha512,
                SignatureScheme.ed448,
            )
        ),
        AlertDescription.handshake_failure,
    ),
    # RFC 7301 section 3.2.
    "ALPN offers only h2": (dict(alpn=(b"h2",)), AlertDescription.no_application_protocol),
    # Section 4.2.9: a PSK offer needs psk_key_exchange_modes.
    "PSK without psk_key_exchange_modes": (
        dict(ticket=fake_ticket(), psk_modes=None),
        AlertDescription.missing_extension,
    ),
    "an empty extensions block": (
        dict(
            supported_versions=None,
            server_name=None,
            supported_groups=None,
            key_share_groups=None,
            signature_algorithms=None,
            alpn=None,
            psk_modes=None,
        ),
        AlertDescription.protocol_version,
    ),
}


@pytest.mark.parametrize("rule", list(HELLO_RULES))
def test_client_hello_rule(
    server: TLS13ServerConnection, client: ScriptedClient, rule: str
) -> None:
    changes, alert = HELLO_RULES[rule]
    hello = client.client_hello(**changes)
    assert_fails(server, client.hello_record(hello), alert)


def test_two_key_shares_for_one_group(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    share = _x25519_share(client)
    hello = client.client_hello(key_shares=(share, share))
    assert_fails(server, client.hello_record(hello), AlertDescription.illegal_parameter)


def test_a_malformed_x25519_share(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    # Section 4.2.8.2: 32 bytes; anything else cannot be a public key.
    hello = client.client_hello(key_shares=(KeyShareEntry(NamedGroup.x25519, b"\x09" * 31),))
    assert_fails(server, client.hello_record(hello), AlertDescription.illegal_parameter)


def test_a_low_order_x25519_share(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    # An all-zero shared secret "MUST" be refused (section 7.4.2).
    hello = client.client_hello(key_shares=(KeyShareEntry(NamedGroup.x25519, bytes(32)),))
    assert_fails(server, client.hello_record(hello), AlertDescription.illegal_parameter)


def test_an_off_curve_p256_share(ecdsa_pki: DemoPki, client: ScriptedClient) -> None:
    server = new_server(ecdsa_pki.credentials, groups=(NamedGroup.secp256r1,))
    point = b"\x04" + bytes(31) + b"\x01" + bytes(31) + b"\x01"
    hello = client.client_hello(
        supported_groups=(NamedGroup.secp256r1,),
        key_shares=(KeyShareEntry(NamedGroup.secp256r1, point),),
    )
    assert_fails(server, client.hello_record(hello), AlertDescription.illegal_parameter)


def test_pre_shared_key_not_last(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    hello = client.client_hello(ticket=fake_ticket())
    psk = hello.extensions[-1]
    assert psk.type == ExtensionType.pre_shared_key
    reordered = dataclasses.replace(hello, extensions=(psk, *hello.extensions[:-1]))
    assert_fails(server, client.hello_record(reordered), AlertDescription.illegal_parameter)


def test_a_duplicated_extension(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    hello = client.client_hello()
    doubled = dataclasses.replace(hello, extensions=(*hello.extensions, hello.extensions[0]))
    assert_fails(server, client.hello_record(doubled), AlertDescription.illegal_parameter)


def test_a_bad_binder(
    ecdsa_pki: DemoPki,
    ticket_key: TicketKey,
    real_ticket: ReceivedTicket,
    client: ScriptedClient,
) -> None:
    server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key)
    hello = client.client_hello(ticket=real_ticket)
    binder = ext.decode_offered_psks(hello.extensions[-1].data).binders[0]
    forged = hello.with_psk_binders((bytes((binder[0] ^ 1,)) + binder[1:],))
    assert_fails(server, client.hello_record(forged), AlertDescription.decrypt_error)


def test_a_binder_of_the_wrong_length(
    ecdsa_pki: DemoPki,
    ticket_key: TicketKey,
    real_ticket: ReceivedTicket,
    client: ScriptedClient,
) -> None:
    server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key)
    hello = client.client_hello(ticket=real_ticket)
    forged = hello.with_psk_binders((bytes(48),))
    assert_fails(server, client.hello_record(forged), AlertDescription.decrypt_error)


def test_an_unknown_ticket_falls_back_to_a_full_handshake(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    client.handshake(server, ticket=fake_ticket())
    assert server.is_established
    assert server.negotiated is not None and not server.negotiated.resumed


def test_a_client_hello_that_is_not_one(server: TLS13ServerConnection) -> None:
    # A Finished as the first message: section 4, anything but ClientHello is unexpected.
    assert_fails(
        server,
        plaintext_record(ContentType.handshake, bytes((HandshakeType.finished, 0, 0, 1, 0))),
        AlertDescription.unexpected_message,
    )


def test_a_truncated_client_hello_body(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    raw = client.client_hello().encode()
    body = raw[4:-3]
    message = bytes((HandshakeType.client_hello,)) + len(body).to_bytes(3, "big") + body
    assert_fails(
        server,
        plaintext_record(ContentType.handshake, message),
        AlertDescription.decode_error,
    )


# ------------------------------------------------------- HelloRetryRequest


def retried(ecdsa_pki: DemoPki, client: ScriptedClient, **changes: object) -> TLS13ServerConnection:
    """A server that has answered the client's first hello with a HelloRetryRequest."""
    server = new_server(ecdsa_pki.credentials, groups=(NamedGroup.secp256r1,))
    client.receive_from(server, client.hello_record(client.client_hello(**changes)))
    assert client.hello_retry_request is not None
    return server


SECOND_HELLO_CHANGES = {
    "cipher_suites": dict(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)),
    "random": dict(random=bytes(32)),
    "legacy_session_id": dict(legacy_session_id=b""),
    "server_name": dict(server_name="other.example"),
    "alpn": dict(alpn=(b"http/1.1", b"h2")),
    "supported_groups": dict(supported_groups=(NamedGroup.secp256r1,)),
    "an added extension": dict(extra_extensions=(Extension(0x0A0A, b""),)),
    "early_data": dict(early_data=True),
    "share for the wrong group": dict(key_share_groups=(NamedGroup.x25519,)),
    "two shares": dict(key_share_groups=(NamedGroup.secp256r1, NamedGroup.x25519)),
    "no share": dict(key_share_groups=()),
}


@pytest.mark.parametrize("change", list(SECOND_HELLO_CHANGES))
def test_second_client_hello_may_not_change(
    ecdsa_pki: DemoPki, client: ScriptedClient, change: str
) -> None:
    server = retried(ecdsa_pki, client)
    changes = {"key_share_groups": (NamedGroup.secp256r1,), **SECOND_HELLO_CHANGES[change]}
    second = client.client_hello(**changes)  # type: ignore[arg-type]
    assert_fails(server, client.hello_record(second), AlertDescription.illegal_parameter)


def test_a_third_client_hello_is_unexpected(ecdsa_pki: DemoPki, client: ScriptedClient) -> None:
    server = retried(ecdsa_pki, client)
    second = client.client_hello(key_share_groups=(NamedGroup.secp256r1,))
    client.receive_from(server, client.hello_record(second))
    assert client.server_hello is not None
    third = client.protected_record(ContentType.handshake, second.encode())
    assert_fails(server, third, AlertDescription.unexpected_message, client=client)


def test_a_corrupt_record_after_the_second_hello_when_early_data_was_offered(
    ecdsa_pki: DemoPki,
    ticket_key: TicketKey,
    real_ticket: ReceivedTicket,
    client: ScriptedClient,
) -> None:
    # The 0-RTT data of the first hello is skipped; after the second hello
    # nothing is 0-RTT any more (section 4.2.10), so a bad record is bad_record_mac.
    server = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, groups=(NamedGroup.secp256r1,)
    )
    hello = client.client_hello(ticket=real_ticket, early_data=True)
    client.receive_from(server, client.hello_record(hello) + client.early_data_record(b"0-RTT"))
    second = client.client_hello(key_share_groups=(NamedGroup.secp256r1,), early_data=False)
    client.receive_from(server, client.hello_record(second))
    finished = bytearray(client.finished_record())
    finished[-1] ^= 0x01
    assert_fails(server, bytes(finished), AlertDescription.bad_record_mac, client=client)


def test_too_much_0rtt_data_before_the_second_hello(
    ecdsa_pki: DemoPki,
    ticket_key: TicketKey,
    real_ticket: ReceivedTicket,
    client: ScriptedClient,
) -> None:
    server = new_server(
        ecdsa_pki.credentials, ticket_key=ticket_key, groups=(NamedGroup.secp256r1,)
    )
    hello = client.client_hello(ticket=real_ticket, early_data=True)
    client.receive_from(server, client.hello_record(hello))
    # Skipping is bounded (64 KiB): past that, application data in the clear is unexpected.
    flood = b"".join(client.early_data_record(bytes(16000)) for _ in range(5))
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(flood)
    assert failure.value.alert is AlertDescription.unexpected_message
    assert server.pop_pending_wire_data() == alert_record(AlertDescription.unexpected_message)
    assert_stays_failed(server)


# ------------------------------------------------------------------ records


def test_a_wrong_client_finished(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    hello_up_to_server_finished(server, client)
    wrong = bytes(b ^ 0x55 for b in client.client_finished_verify_data)
    assert_fails(
        server, client.finished_record(wrong), AlertDescription.decrypt_error, client=client
    )


def test_a_client_finished_of_the_wrong_length(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    short = client.client_finished_verify_data[:-1]
    assert_fails(
        server, client.finished_record(short), AlertDescription.decode_error, client=client
    )


def test_a_second_change_cipher_spec(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    hello_up_to_server_finished(server, client)
    server.feed_wire_data(CHANGE_CIPHER_SPEC)  # the one allowed (appendix D.4)
    assert_fails(server, CHANGE_CIPHER_SPEC, AlertDescription.unexpected_message, client=client)


@pytest.mark.parametrize("payload", [b"\x02", b"\x00", b"\x01\x01"], ids=["2", "0", "1,1"])
def test_a_change_cipher_spec_that_is_not_the_byte_1(
    server: TLS13ServerConnection, client: ScriptedClient, payload: bytes
) -> None:
    hello_up_to_server_finished(server, client)
    assert_fails(
        server,
        plaintext_record(ContentType.change_cipher_spec, payload),
        AlertDescription.unexpected_message,
        client=client,
    )


def test_a_change_cipher_spec_before_the_client_hello(server: TLS13ServerConnection) -> None:
    assert_fails(server, CHANGE_CIPHER_SPEC, AlertDescription.unexpected_message)


def test_a_change_cipher_spec_after_the_handshake(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    assert_fails(server, CHANGE_CIPHER_SPEC, AlertDescription.unexpected_message, client=client)


def test_a_protected_change_cipher_spec(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    record = client.protected_record(ContentType.change_cipher_spec, b"\x01")
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_a_plaintext_handshake_record_after_the_keys_changed(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    finished = bytes((HandshakeType.finished, 0, 0, 32)) + client.client_finished_verify_data
    assert_fails(
        server,
        plaintext_record(ContentType.handshake, finished),
        AlertDescription.unexpected_message,
        client=client,
    )


@pytest.mark.parametrize("extra", [b"\x14\x00", b"\x14\x00\x00\x20" + bytes(32)])
def test_client_hello_record_with_bytes_after_the_hello(
    server: TLS13ServerConnection, client: ScriptedClient, extra: bytes
) -> None:
    # Section 5.1: the ClientHello precedes a key change and must end its record.
    hello = client.client_hello()
    client.hello_record(hello)  # the client's transcript holds the hello...
    record = plaintext_record(ContentType.handshake, hello.encode() + extra)  # ...sent with more
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_application_data_under_handshake_keys(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    record = client.protected_record(ContentType.application_data, b"GET / HTTP/1.1\r\n\r\n")
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_application_data_before_the_client_hello(server: TLS13ServerConnection) -> None:
    assert_fails(
        server,
        plaintext_record(ContentType.application_data, bytes(40)),
        AlertDescription.unexpected_message,
    )


def test_a_protected_record_over_the_limit(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    header = bytes((ContentType.application_data, 3, 3)) + (MAX_CIPHERTEXT_LENGTH + 1).to_bytes(
        2, "big"
    )
    # The header alone is enough: the server does not wait for 16 KiB to refuse it.
    assert_fails(server, header, AlertDescription.record_overflow, client=client)


def test_a_plaintext_record_over_the_limit(server: TLS13ServerConnection) -> None:
    record = plaintext_record(ContentType.handshake, bytes(MAX_PLAINTEXT_LENGTH + 1))
    assert_fails(server, record, AlertDescription.record_overflow)


def test_a_protected_record_decrypting_to_more_than_2_14_bytes(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    assert client.write is not None and client.parameters is not None
    # Seal 2^14 + 2 bytes of inner plaintext by hand: within the ciphertext
    # limit, but over the content limit of section 5.4.
    key, iv = traffic_key_and_iv(client.parameters, client.write.traffic_secret)
    inner = bytes(MAX_PLAINTEXT_LENGTH + 1) + b"\x17"
    header = bytes((23, 3, 3)) + (len(inner) + 16).to_bytes(2, "big")
    record = header + Aead(client.parameters.aead, key).seal(iv, inner, header)
    assert_fails(server, record, AlertDescription.record_overflow, client=client)


def test_a_flipped_bit_in_a_protected_record(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    record = bytearray(client.finished_record())
    record[10] ^= 0x04
    assert_fails(server, bytes(record), AlertDescription.bad_record_mac, client=client)


def test_a_flipped_bit_in_application_data(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    record = bytearray(client.application_data_record(b"hello"))
    record[-1] ^= 0x80
    assert_fails(server, bytes(record), AlertDescription.bad_record_mac, client=client)


@pytest.mark.parametrize("established_first", [False, True], ids=["handshake", "traffic"])
def test_an_empty_protected_record(
    server: TLS13ServerConnection, client: ScriptedClient, established_first: bool
) -> None:
    # Section 5.2: no AEAD tag, so it cannot authenticate: bad_record_mac, never ignored.
    if established_first:
        established(server, client)
    else:
        hello_up_to_server_finished(server, client)
    empty = bytes((ContentType.application_data, 3, 3, 0, 0))
    assert_fails(server, empty, AlertDescription.bad_record_mac, client=client)


def test_a_record_of_unknown_content_type(server: TLS13ServerConnection) -> None:
    assert_fails(server, plaintext_record(0x18, b"\x01"), AlertDescription.unexpected_message)


def test_plain_http_on_the_tls_port(server: TLS13ServerConnection) -> None:
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(b"GET / HTTP/1.1\r\n")
    assert failure.value.alert is AlertDescription.unexpected_message
    assert "plain HTTP" in failure.value.reason
    assert server.pop_pending_wire_data() == alert_record(AlertDescription.unexpected_message)


def test_an_empty_handshake_record(server: TLS13ServerConnection) -> None:
    assert_fails(
        server, plaintext_record(ContentType.handshake, b""), AlertDescription.unexpected_message
    )


def test_a_protected_record_of_only_zeros(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # Section 5.4: no non-zero byte means no content type.
    hello_up_to_server_finished(server, client)
    record = client.protected_record(0, b"\x00\x00")
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_an_alert_interrupting_a_handshake_message(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # Section 5.1: handshake messages are not interleaved with other record types.
    hello_up_to_server_finished(server, client)
    finished = bytes((HandshakeType.finished, 0, 0, 32)) + client.client_finished_verify_data
    first_half = client.protected_record(ContentType.handshake, finished[:10])
    warning = client.protected_record(
        ContentType.alert, bytes((AlertLevel.warning, AlertDescription.user_canceled))
    )
    assert_fails(server, first_half + warning, AlertDescription.unexpected_message, client=client)


def test_an_alert_record_of_three_bytes(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    record = client.protected_record(ContentType.alert, b"\x02\x28\x00")
    assert_fails(server, record, AlertDescription.decode_error, client=client)


def test_key_update_before_the_handshake_is_over(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello_up_to_server_finished(server, client)
    record = client.protected_record(
        ContentType.handshake, KeyUpdate(KeyUpdateRequest.update_requested).encode()
    )
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_a_key_update_with_an_unknown_request(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    record = client.protected_record(ContentType.handshake, bytes((24, 0, 0, 1, 2)))
    assert_fails(server, record, AlertDescription.illegal_parameter, client=client)


def test_a_key_update_sharing_its_record_with_the_next_message(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # Section 5.1: KeyUpdate precedes a key change, so it must end its record.
    established(server, client)
    key_update = KeyUpdate(KeyUpdateRequest.update_not_requested).encode()
    record = client.protected_record(ContentType.handshake, key_update + key_update)
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


@pytest.mark.parametrize(
    "message",
    [
        NewSessionTicket(7200, 1, b"", b"ticket").encode(),
        bytes((HandshakeType.client_hello, 0, 0, 0)),
        bytes((HandshakeType.finished, 0, 0, 32)) + bytes(32),
    ],
    ids=["NewSessionTicket", "ClientHello", "Finished"],
)
def test_post_handshake_messages_a_client_may_not_send(
    server: TLS13ServerConnection, client: ScriptedClient, message: bytes
) -> None:
    established(server, client)
    record = client.protected_record(ContentType.handshake, message)
    assert_fails(server, record, AlertDescription.unexpected_message, client=client)


def test_a_handshake_message_over_the_size_limit(server: TLS13ServerConnection) -> None:
    header = bytes((HandshakeType.client_hello,)) + (1 << 18).to_bytes(3, "big")
    assert_fails(
        server, plaintext_record(ContentType.handshake, header), AlertDescription.decode_error
    )


# ---------------------------------------------------------- alerts received


@pytest.mark.parametrize(
    "description",
    [AlertDescription.handshake_failure, AlertDescription.bad_certificate, 200],
    ids=["handshake_failure", "bad_certificate", "unknown-200"],
)
def test_a_fatal_alert_before_the_hello(server: TLS13ServerConnection, description: int) -> None:
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(alert_record(description))
    assert failure.value.received_alert == description
    assert failure.value.alert is None
    assert server.pop_pending_wire_data() == b""  # we do not answer an alert with one
    assert_stays_failed(server)


def test_a_plaintext_fatal_alert_after_our_server_hello(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # A client that could not take our ServerHello has no keys to encrypt its alert.
    hello_up_to_server_finished(server, client)
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(alert_record(AlertDescription.bad_certificate))
    assert failure.value.received_alert == AlertDescription.bad_certificate
    assert server.pop_pending_wire_data() == b""
    assert_stays_failed(server)


def test_a_fatal_alert_in_traffic(server: TLS13ServerConnection, client: ScriptedClient) -> None:
    established(server, client)
    record = client.protected_record(
        ContentType.alert, bytes((AlertLevel.fatal, AlertDescription.internal_error))
    )
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(record)
    assert failure.value.received_alert == AlertDescription.internal_error
    assert server.pop_pending_wire_data() == b""
    assert_stays_failed(server)


def test_a_warning_level_alert_is_still_fatal(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # Section 6: TLS 1.3 ignores the level; all but close_notify and user_canceled are errors.
    established(server, client)
    record = client.protected_record(
        ContentType.alert, bytes((AlertLevel.warning, AlertDescription.decrypt_error))
    )
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(record)
    assert failure.value.received_alert == AlertDescription.decrypt_error
    assert_stays_failed(server)


def test_user_canceled_is_not_an_error(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    established(server, client)
    record = client.protected_record(
        ContentType.alert, bytes((AlertLevel.warning, AlertDescription.user_canceled))
    )
    client.receive_from(server, record + client.application_data_record(b"still here"))
    assert server.read_plaintext() == b"still here"
    assert server.is_established


def test_application_data_is_refused_until_the_handshake_is_done(
    server: TLS13ServerConnection,
) -> None:
    with pytest.raises(TLSUsageError):
        server.protect_application_data(b"too early")


def test_client_hello_in_two_records_then_ok(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # The opposite of the spanning rule: a hello may span records, as long as it ends one.
    record = client.hello_record(client.client_hello())
    raw = record[5:]
    split = plaintext_record(ContentType.handshake, raw[:50]) + plaintext_record(
        ContentType.handshake, raw[50:]
    )
    client.receive_from(server, split)
    assert client.server_finished_verified


def test_client_hello_accepts_unknown_extensions(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    hello = client.client_hello(
        extra_extensions=(Extension(0x0A0A, b""), Extension(0xFE0D, os.urandom(200)))
    )
    assert isinstance(hello, ClientHello)
    client.receive_from(server, client.hello_record(hello))
    assert client.server_finished_verified
