"""Handshake messages: every one printed in RFC 8448, every bound, round trips, framing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tls.tls13.rfc8448 import step, trace
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    HELLO_RETRY_REQUEST_RANDOM,
    LEGACY_VERSION,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeBuffer,
    HandshakeMessage,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
    decode_handshake_message,
    handshake_header,
)

DECODE_ERROR = AlertDescription.decode_error
ILLEGAL_PARAMETER = AlertDescription.illegal_parameter
PEER_ALERTS = (DECODE_ERROR, ILLEGAL_PARAMETER, AlertDescription.unexpected_message)


def rfc_messages() -> list[tuple[str, bytes]]:
    """Every handshake message printed in RFC 8448 sections 3 to 7, as (name, whole message).

    Section 4 prints its ClientHello before the binder is filled in (a prefix,
    not a message); the whole one is the payload of the record that follows.
    """
    messages: list[tuple[str, bytes]] = []
    for section in (3, 4, 5, 6, 7):
        for number, rfc_step in enumerate(trace(section)):
            if not rfc_step.title.startswith("construct a "):
                continue
            name = rfc_step.title.split()[2]
            if section == 4 and name == "ClientHello":
                continue
            messages.append((f"{section}-{number}-{rfc_step.actor}-{name}", rfc_step[name]))
    resumed = step(4, "client", "send handshake record")["payload"]
    messages.append(("4-record-client-ClientHello", resumed))
    return messages


RFC_MESSAGES = rfc_messages()


def decode_whole(message: bytes) -> HandshakeMessage:
    assert int.from_bytes(message[1:4], "big") == len(message) - 4
    return decode_handshake_message(message[0], message[4:])


def rfc_message(section: int, actor: str, name: str, occurrence: int = 0) -> bytes:
    return step(section, actor, f"construct a {name} handshake message", occurrence)[name]


@pytest.mark.parametrize(("name", "message"), RFC_MESSAGES, ids=[name for name, _ in RFC_MESSAGES])
def test_every_rfc8448_message_decodes_and_re_encodes_byte_for_byte(
    name: str, message: bytes
) -> None:
    decoded = decode_whole(message)
    assert type(decoded).__name__ == name.split("-")[3]
    assert decoded.encode() == message


def test_the_list_of_rfc_messages_is_complete() -> None:
    names = {name.split("-")[3] for name, _ in RFC_MESSAGES}
    assert names == {
        "ClientHello",
        "ServerHello",
        "EncryptedExtensions",
        "CertificateRequest",
        "Certificate",
        "CertificateVerify",
        "Finished",
        "NewSessionTicket",
        "EndOfEarlyData",
    }
    assert len(RFC_MESSAGES) == 40  # 8 + 5 + 9 + 10 + 7, and the resumed hello


def test_rfc8448_simple_client_hello_fields() -> None:
    hello = decode_whole(rfc_message(3, "client", "ClientHello"))
    assert isinstance(hello, ClientHello)
    assert hello.legacy_version == LEGACY_VERSION
    assert hello.random.hex().startswith("6660261ff947cea4")
    assert hello.legacy_session_id == b""
    assert hello.cipher_suites == (
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
    )
    assert hello.legacy_compression_methods == b"\x00"
    assert [e.type for e in hello.extensions] == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    assert ext.decode_server_name(hello.extension(ExtensionType.server_name) or b"") == "server"
    assert hello.extension(ExtensionType.application_layer_protocol_negotiation) is None


def test_rfc8448_simple_server_flight_fields() -> None:
    server_hello = decode_whole(rfc_message(3, "server", "ServerHello"))
    assert isinstance(server_hello, ServerHello)
    assert not server_hello.is_hello_retry_request
    assert server_hello.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert server_hello.legacy_session_id_echo == b""
    assert server_hello.legacy_compression_method == 0

    encrypted = decode_whole(rfc_message(3, "server", "EncryptedExtensions"))
    assert isinstance(encrypted, EncryptedExtensions)
    assert [e.type for e in encrypted.extensions] == [10, 28, 0]

    certificate = decode_whole(rfc_message(3, "server", "Certificate"))
    assert isinstance(certificate, Certificate)
    assert certificate.certificate_request_context == b""
    assert len(certificate.entries) == 1
    (entry,) = certificate.entries
    assert entry.cert_data[:2] == b"\x30\x82"  # a DER SEQUENCE with a two-byte length
    assert len(entry.cert_data) == 4 + int.from_bytes(entry.cert_data[2:4], "big")
    assert entry.extensions == ()

    verify = decode_whole(rfc_message(3, "server", "CertificateVerify"))
    assert isinstance(verify, CertificateVerify)
    assert verify.algorithm == SignatureScheme.rsa_pss_rsae_sha256
    assert len(verify.signature) == 128

    finished = decode_whole(rfc_message(3, "server", "Finished"))
    assert isinstance(finished, Finished)
    assert (
        finished.verify_data == step(3, "server", 'calculate finished "tls13 finished"')["finished"]
    )

    ticket = decode_whole(rfc_message(3, "server", "NewSessionTicket"))
    assert isinstance(ticket, NewSessionTicket)
    assert ticket.ticket_lifetime == 30
    assert ticket.ticket_nonce == b"\x00\x00"
    assert len(ticket.ticket) == 178
    assert [e.type for e in ticket.extensions] == [ExtensionType.early_data]


def test_rfc8448_hello_retry_request_and_second_client_hello() -> None:
    first = decode_whole(rfc_message(5, "client", "ClientHello"))
    retry = decode_whole(rfc_message(5, "server", "ServerHello"))
    second = decode_whole(rfc_message(5, "client", "ClientHello", 1))
    final = decode_whole(rfc_message(5, "server", "ServerHello", 1))
    assert isinstance(first, ClientHello)
    assert isinstance(retry, ServerHello)
    assert isinstance(second, ClientHello)
    assert isinstance(final, ServerHello)
    assert retry.is_hello_retry_request
    assert retry.random == HELLO_RETRY_REQUEST_RANDOM
    assert not final.is_hello_retry_request
    assert [e.type for e in retry.extensions] == [51, 44, 43]
    selected = ext.decode_hello_retry_key_share(retry.extension(ExtensionType.key_share) or b"")
    assert selected == NamedGroup.secp256r1
    assert second.extension(ExtensionType.cookie) == retry.extension(ExtensionType.cookie)
    assert first.extension(ExtensionType.cookie) is None
    assert second.random == first.random
    assert second.extensions[-1].type == ExtensionType.padding


def test_rfc8448_client_authentication_certificate_request() -> None:
    request = decode_whole(rfc_message(6, "server", "CertificateRequest"))
    assert isinstance(request, CertificateRequest)
    assert request.certificate_request_context == b""
    assert [e.type for e in request.extensions] == [ExtensionType.signature_algorithms]


def test_rfc8448_end_of_early_data() -> None:
    assert decode_whole(rfc_message(4, "client", "EndOfEarlyData")) == EndOfEarlyData()


def test_with_psk_binders_replaces_only_the_binders() -> None:
    raw = step(4, "client", "send handshake record")["payload"]
    hello = ClientHello.decode(raw[4:])
    offered = ext.decode_offered_psks(hello.extension(ExtensionType.pre_shared_key) or b"")
    placeholder = hello.with_psk_binders([bytes(32)])
    placeholder_raw = placeholder.encode()
    assert len(placeholder_raw) == len(raw)
    # The prefix a binder is computed over does not depend on the binders.
    prefix = step(4, "client", "calculate PSK binder")["ClientHello prefix"]
    assert placeholder_raw[: -offered.binders_length] == prefix
    assert placeholder.with_psk_binders(offered.binders).encode() == raw
    with pytest.raises(ValueError):
        decode_whole(rfc_message(3, "client", "ClientHello")).with_psk_binders([bytes(32)])  # type: ignore[union-attr]


def test_a_client_hello_without_extensions_decodes_for_a_protocol_version_answer() -> None:
    # RFC 8446 section 4.1.2: pre-extension clients send nothing after the compression methods.
    body = bytes.fromhex("0301") + bytes(32) + bytes.fromhex("00 0002 002f 01 00")
    hello = ClientHello.decode(body)
    assert hello.extensions == ()
    assert hello.cipher_suites == (0x002F,)
    assert hello.encode()[4:] == body


# --- Every bound, violated once ------------------------------------------------------------

SOME_EXTENSIONS = (Extension(ExtensionType.supported_versions, b"\x02\x03\x04"), Extension(10, b""))


def client_hello(**changes: object) -> ClientHello:
    fields: dict[str, object] = {
        "legacy_version": LEGACY_VERSION,
        "random": bytes(range(32)),
        "legacy_session_id": b"",
        "cipher_suites": (0x1301,),
        "legacy_compression_methods": b"\x00",
        "extensions": SOME_EXTENSIONS,
    }
    fields.update(changes)
    return ClientHello(**fields)  # type: ignore[arg-type]


def body_of(message: HandshakeMessage) -> bytes:
    return message.encode()[4:]


def hand_made_client_hello(suites: bytes) -> bytes:
    return bytes.fromhex("0303") + bytes(32) + b"\x00" + suites + b"\x01\x00" + b"\x00\x00"


PSK = Extension(ExtensionType.pre_shared_key, b"\x00" * 4)

VIOLATIONS: list[tuple[str, int, bytes, AlertDescription]] = [
    ("session id of 33 bytes", 1, body_of(client_hello(legacy_session_id=bytes(33))), DECODE_ERROR),
    ("odd cipher suite list", 1, hand_made_client_hello(b"\x00\x03\x13\x01\x13"), DECODE_ERROR),
    ("empty cipher suite list", 1, hand_made_client_hello(b"\x00\x00"), DECODE_ERROR),
    (
        "zero-length compression list",
        1,
        body_of(client_hello(legacy_compression_methods=b"")),
        DECODE_ERROR,
    ),
    (
        "duplicated extension",
        1,
        body_of(client_hello(extensions=(*SOME_EXTENSIONS, Extension(10, b"x")))),
        ILLEGAL_PARAMETER,
    ),
    (
        "pre_shared_key not last",
        1,
        body_of(client_hello(extensions=(PSK, *SOME_EXTENSIONS))),
        ILLEGAL_PARAMETER,
    ),
    (
        "pre_shared_key in the middle",
        1,
        body_of(client_hello(extensions=(SOME_EXTENSIONS[0], PSK, SOME_EXTENSIONS[1]))),
        ILLEGAL_PARAMETER,
    ),
    (
        "extension block below 8 bytes",
        1,
        body_of(client_hello(extensions=(Extension(43, b"\x02\x03"),))),
        DECODE_ERROR,
    ),
    ("random of 31 bytes", 1, bytes.fromhex("0303") + bytes(31), DECODE_ERROR),
    ("client hello trailing byte", 1, body_of(client_hello()) + b"\x00", DECODE_ERROR),
    (
        "server hello session id of 33 bytes",
        2,
        bytes.fromhex("0303") + bytes(32) + b"\x21" + bytes(33) + bytes.fromhex("1301 00 0006"),
        DECODE_ERROR,
    ),
    (
        "server hello extensions below 6 bytes",
        2,
        bytes.fromhex("0303") + bytes(32) + bytes.fromhex("00 1301 00 0004 002b 0000"),
        DECODE_ERROR,
    ),
    (
        "server hello duplicated extension",
        2,
        bytes.fromhex("0303")
        + bytes(32)
        + bytes.fromhex("00 1301 00 000c 002b 0002 0304 002b 0002 0304"),
        ILLEGAL_PARAMETER,
    ),
    (
        "cert_data overruns certificate_list",
        11,
        # The list holds 6 bytes; the entry inside claims 16 bytes of cert_data,
        # which exist in the message but lie outside the list.
        bytes.fromhex("00 000006 000010 aabbcc") + bytes(20),
        DECODE_ERROR,
    ),
    ("empty cert_data", 11, bytes.fromhex("00 000005 000000 0000"), DECODE_ERROR),
    (
        "certificate entry without extensions",
        11,
        bytes.fromhex("00 000004 000001 aa"),
        DECODE_ERROR,
    ),
    ("certificate request without extensions", 13, bytes.fromhex("00 0000"), DECODE_ERROR),
    ("signature overruns", 15, bytes.fromhex("0804 0080") + bytes(127), DECODE_ERROR),
    ("empty ticket", 4, bytes(8) + bytes.fromhex("00 0000 0000"), DECODE_ERROR),
    (
        "ticket extensions of 2^16-1 bytes",
        4,
        bytes(8) + bytes.fromhex("00 0001 aa ffff") + bytes(0xFFFF),
        DECODE_ERROR,
    ),
    ("encrypted extensions truncated", 8, bytes.fromhex("0008 000a 0004 001d"), DECODE_ERROR),
    ("key update of 2", 24, b"\x02", ILLEGAL_PARAMETER),
    ("key update empty", 24, b"", DECODE_ERROR),
    ("key update of 2 bytes", 24, b"\x01\x00", DECODE_ERROR),
    ("end of early data with a body", 5, b"\x00", DECODE_ERROR),
    ("unknown message type", 99, b"", AlertDescription.unexpected_message),
    ("message_hash is never on the wire", 254, bytes(32), AlertDescription.unexpected_message),
    ("hello_request (TLS 1.2 only)", 0, b"", AlertDescription.unexpected_message),
]


@pytest.mark.parametrize(
    ("msg_type", "body", "alert"),
    [case[1:] for case in VIOLATIONS],
    ids=[case[0] for case in VIOLATIONS],
)
def test_each_bound_violated_raises_the_named_alert(
    msg_type: int, body: bytes, alert: AlertDescription
) -> None:
    with pytest.raises(TLSError) as caught:
        decode_handshake_message(msg_type, body)
    assert caught.value.alert is alert


@pytest.mark.parametrize(("name", "message"), RFC_MESSAGES, ids=[name for name, _ in RFC_MESSAGES])
def test_every_truncation_of_an_rfc_message_is_a_decode_error(name: str, message: bytes) -> None:
    msg_type, body = message[0], message[4:]
    if msg_type == HandshakeType.finished:
        return  # any length of verify_data parses; the caller checks it against the hash
    legacy_cut = -1
    if msg_type == HandshakeType.client_hello:
        # Cut right after the compression methods, a hello is a pre-extension
        # one (RFC 8446 section 4.1.2), which parses.
        hello = ClientHello.decode(body)
        legacy_cut = len(body) - 2 - sum(4 + len(e.data) for e in hello.extensions)
    for cut in range(len(body)):
        if cut == legacy_cut:
            continue
        with pytest.raises(TLSError) as caught:
            decode_handshake_message(msg_type, body[:cut])
        assert caught.value.alert is DECODE_ERROR, f"cut at {cut}"


# --- Hypothesis: round trips ----------------------------------------------------------------

uint16s = st.integers(0, 0xFFFF)
uint32s = st.integers(0, 2**32 - 1)
randoms = st.binary(min_size=32, max_size=32)
session_ids = st.binary(max_size=32)
extension_lists = st.lists(
    st.builds(
        Extension,
        uint16s.filter(lambda t: t != ExtensionType.pre_shared_key),
        st.binary(max_size=40),
    ),
    max_size=6,
    unique_by=lambda e: e.type,
).map(tuple)
at_least_two_extensions = extension_lists.filter(lambda extensions: len(extensions) >= 2)
# Each extension takes at least 4 bytes: two make the 8 (ClientHello) and 6 (ServerHello) floors.

client_hellos = st.builds(
    ClientHello,
    uint16s,
    randoms,
    session_ids,
    st.lists(uint16s, min_size=1, max_size=30).map(tuple),
    st.binary(min_size=1, max_size=5),
    st.one_of(st.just(()), at_least_two_extensions),
)
server_hellos = st.builds(
    ServerHello,
    uint16s,
    st.one_of(randoms, st.just(HELLO_RETRY_REQUEST_RANDOM)),
    session_ids,
    uint16s,
    st.integers(0, 255),
    at_least_two_extensions,
)
certificates = st.builds(
    Certificate,
    st.binary(max_size=10),
    st.lists(
        st.builds(CertificateEntry, st.binary(min_size=1, max_size=200), extension_lists),
        max_size=4,
    ).map(tuple),
)
any_message = st.one_of(
    client_hellos,
    server_hellos,
    st.builds(EncryptedExtensions, extension_lists),
    st.builds(
        CertificateRequest,
        st.binary(max_size=255),
        extension_lists.filter(lambda extensions: len(extensions) >= 1),
    ),
    certificates,
    st.builds(CertificateVerify, uint16s, st.binary(max_size=300)),
    st.builds(Finished, st.binary(min_size=32, max_size=48)),
    st.just(EndOfEarlyData()),
    st.builds(
        NewSessionTicket,
        uint32s,
        uint32s,
        st.binary(max_size=255),
        st.binary(min_size=1, max_size=300),
        extension_lists,
    ),
    st.builds(KeyUpdate, st.sampled_from(KeyUpdateRequest)),
)


@given(any_message)
def test_every_message_round_trips(message: HandshakeMessage) -> None:
    raw = message.encode()
    assert raw[0] == message.msg_type
    assert int.from_bytes(raw[1:4], "big") == len(raw) - 4
    assert decode_handshake_message(raw[0], raw[4:]) == message


# --- Hypothesis: hostile input --------------------------------------------------------------

MESSAGE_TYPES = [int(t) for t in HandshakeType] + [0, 3, 99, 255]


@given(st.sampled_from(MESSAGE_TYPES), st.binary(max_size=120))
def test_random_bodies_raise_only_tls_error(msg_type: int, body: bytes) -> None:
    try:
        decode_handshake_message(msg_type, body)
    except TLSError as error:
        assert error.alert in PEER_ALERTS


@given(st.data())
def test_single_byte_mutations_of_rfc_messages_raise_only_tls_error(data: st.DataObject) -> None:
    _, message = data.draw(st.sampled_from(RFC_MESSAGES))
    body = bytearray(message[4:])
    if not body:
        return
    position = data.draw(st.integers(0, len(body) - 1))
    body[position] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_handshake_message(message[0], bytes(body))
    except TLSError as error:
        assert error.alert in PEER_ALERTS
    else:
        # Whatever still parses must re-encode to exactly what was parsed.
        assert decoded.encode()[4:] == bytes(body)


# --- HandshakeBuffer ------------------------------------------------------------------------


def server_flight() -> tuple[bytes, list[bytes]]:
    """The server's encrypted flight of section 3 (EE, Certificate, CV, Finished) and its parts."""
    parts = [
        rfc_message(3, "server", name)
        for name in ("EncryptedExtensions", "Certificate", "CertificateVerify", "Finished")
    ]
    joined = step(3, "server", "send handshake record", 1)["payload"]
    assert joined == b"".join(parts)
    return joined, parts


def drain(buffer: HandshakeBuffer) -> list[tuple[int, bytes, bytes]]:
    messages = []
    while (message := buffer.next_message()) is not None:
        messages.append(message)
    return messages


@given(st.lists(st.integers(1, 5), min_size=1, max_size=50))
def test_buffer_reassembles_messages_fed_in_small_slices(slice_sizes: list[int]) -> None:
    joined, parts = server_flight()
    buffer = HandshakeBuffer(max_message_size=1 << 16)
    received: list[tuple[int, bytes, bytes]] = []
    offset = 0
    index = 0
    while offset < len(joined):
        size = slice_sizes[index % len(slice_sizes)]
        buffer.feed(joined[offset : offset + size])
        offset += size
        index += 1
        received += drain(buffer)
    assert [raw for _, _, raw in received] == parts
    assert [msg_type for msg_type, _, _ in received] == [8, 11, 15, 20]
    assert all(body == raw[4:] for _, body, raw in received)
    assert not buffer.has_partial_message()
    assert not buffer.has_buffered_data()


def test_buffer_reports_partial_and_buffered_data() -> None:
    _, parts = server_flight()
    buffer = HandshakeBuffer(max_message_size=1 << 16)
    assert not buffer.has_partial_message()
    buffer.feed(parts[0] + parts[3][:3])  # a whole message, then less than a header
    assert buffer.has_buffered_data()
    assert not buffer.has_partial_message()  # the next message is complete
    assert buffer.next_message() == (8, parts[0][4:], parts[0])
    assert buffer.has_partial_message()
    assert buffer.next_message() is None
    buffer.feed(parts[3][3:10])  # the header is complete, the body is not
    assert buffer.has_partial_message()
    buffer.feed(parts[3][10:])
    assert buffer.next_message() == (20, parts[3][4:], parts[3])
    assert not buffer.has_buffered_data()


def test_buffer_keeps_a_complete_message_behind_a_key_change_visible() -> None:
    # RFC 8446 section 5.1: a message before a key change must end its record.
    # ServerHello followed by EncryptedExtensions in one plaintext record must be
    # detectable once ServerHello is taken out.
    server_hello = rfc_message(3, "server", "ServerHello")
    encrypted = rfc_message(3, "server", "EncryptedExtensions")
    buffer = HandshakeBuffer(max_message_size=1 << 16)
    buffer.feed(server_hello + encrypted)
    assert buffer.next_message() == (2, server_hello[4:], server_hello)
    assert buffer.has_buffered_data()
    assert not buffer.has_partial_message()


def test_buffer_refuses_an_oversized_message_as_soon_as_its_header_arrives() -> None:
    buffer = HandshakeBuffer(max_message_size=1000)
    buffer.feed(b"\x0b\x00")
    with pytest.raises(TLSError) as caught:
        buffer.feed(b"\x03\xe9")  # 1001
    assert caught.value.alert is DECODE_ERROR


def test_buffer_accepts_a_message_of_exactly_the_limit_and_empty_messages() -> None:
    buffer = HandshakeBuffer(max_message_size=4)
    buffer.feed(b"\x05\x00\x00\x00" + b"\x14\x00\x00\x04abcd")
    assert drain(buffer) == [(5, b"", b"\x05\x00\x00\x00"), (20, b"abcd", b"\x14\x00\x00\x04abcd")]


def test_buffer_checks_the_limit_of_a_message_queued_behind_another() -> None:
    buffer = HandshakeBuffer(max_message_size=10)
    buffer.feed(b"\x14\x00\x00\x01a" + b"\x0b\x00\x01\x00")
    assert buffer.next_message() == (20, b"a", b"\x14\x00\x00\x01a")
    with pytest.raises(TLSError) as caught:
        buffer.next_message()
    assert caught.value.alert is DECODE_ERROR


def test_buffer_stays_correct_across_compaction() -> None:
    message = b"\x0b\x00\x10\x00" + bytes(range(256)) * 16  # a 4 KiB body
    buffer = HandshakeBuffer(max_message_size=1 << 16)
    for _ in range(3):
        buffer.feed(message * 5 + message[:7])
        assert [raw for _, _, raw in drain(buffer)] == [message] * 5
        assert buffer.has_partial_message()
        buffer.feed(message[7:])
        assert drain(buffer) == [(11, message[4:], message)]
    assert not buffer.has_buffered_data()


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_random_record_payloads_raise_only_tls_error(payloads: list[bytes]) -> None:
    buffer = HandshakeBuffer(max_message_size=64)
    try:
        for data in payloads:
            buffer.feed(data)
            for msg_type, body, raw in drain(buffer):
                assert raw[0] == msg_type and raw[4:] == body
                decode_handshake_message(msg_type, body)
    except TLSError as error:
        assert error.alert in PEER_ALERTS


def test_the_handshake_header_is_type_and_uint24_length() -> None:
    assert handshake_header(HandshakeType.certificate, 0x010203) == bytes.fromhex("0b 010203")
    assert handshake_header(HandshakeType.finished, 0) == bytes.fromhex("14 000000")
    with pytest.raises(OverflowError):
        handshake_header(HandshakeType.certificate, 1 << 24)


def test_a_client_hello_with_pre_shared_key_last_decodes() -> None:
    hello = client_hello(extensions=(*SOME_EXTENSIONS, PSK))
    assert ClientHello.decode(body_of(hello)).extensions[-1] == PSK
