"""Extension blocks and payload codecs, checked against RFC 8448 and against every bound."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tls.tls13.rfc8448 import step
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extension_block
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    TLS13_VERSION,
    ExtensionType,
    NamedGroup,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry, OfferedPsks, PskIdentity
from tls_web_server.tls.tls13.messages import (
    ClientHello,
    EncryptedExtensions,
    NewSessionTicket,
    ServerHello,
)
from tls_web_server.tls.tls13.wire import Reader, Writer

DECODE_ERROR = AlertDescription.decode_error
ILLEGAL_PARAMETER = AlertDescription.illegal_parameter


def message_body(section: int, actor: str, title: str, label: str, occurrence: int = 0) -> bytes:
    return step(section, actor, title, occurrence)[label][4:]


def rfc_client_hello(section: int = 3, occurrence: int = 0) -> ClientHello:
    return ClientHello.decode(
        message_body(
            section,
            "client",
            "construct a ClientHello handshake message",
            "ClientHello",
            occurrence,
        )
    )


def rfc_server_hello(section: int = 3, occurrence: int = 0) -> ServerHello:
    return ServerHello.decode(
        message_body(
            section,
            "server",
            "construct a ServerHello handshake message",
            "ServerHello",
            occurrence,
        )
    )


def resumed_client_hello() -> ClientHello:
    """Section 4's ClientHello with its binder, as it went into the record."""
    return ClientHello.decode(message_body(4, "client", "send handshake record", "payload"))


def payload(hello: ClientHello | ServerHello, extension_type: ExtensionType) -> bytes:
    data = hello.extension(extension_type)
    assert data is not None, f"{extension_type.name} missing"
    return data


# --- The generic block ---------------------------------------------------------------------


def block(*extensions: tuple[int, bytes]) -> bytes:
    writer = Writer()
    extension_block.encode_extensions(writer, [Extension(t, d) for t, d in extensions])
    return writer.getvalue()


def test_extension_block_keeps_wire_order_and_unknown_types() -> None:
    data = block((0xFAFA, b"grease"), (ExtensionType.server_name, b""), (43, b"\x02\x03\x04"))
    decoded = extension_block.decode_extensions(Reader(data), message="Test")
    assert [e.type for e in decoded] == [0xFAFA, 0, 43]
    assert decoded[0] == Extension(0xFAFA, b"grease")
    assert type(decoded[0].type) is int


def test_a_duplicated_extension_is_an_illegal_parameter() -> None:
    data = block((ExtensionType.key_share, b"a"), (10, b""), (ExtensionType.key_share, b"b"))
    with pytest.raises(TLSError) as caught:
        extension_block.decode_extensions(Reader(data), message="ClientHello")
    assert caught.value.alert is ILLEGAL_PARAMETER
    assert "key_share" in caught.value.reason


def test_extension_data_that_overruns_the_block_is_a_decode_error() -> None:
    # The block holds 6 bytes, the extension inside claims 5 bytes of data but only 2 follow.
    data = bytes.fromhex("0006 000a 0005 abcd") + b"outside"
    with pytest.raises(TLSError) as caught:
        extension_block.decode_extensions(Reader(data), message="Test")
    assert caught.value.alert is DECODE_ERROR


def test_a_block_shorter_than_its_floor_is_a_decode_error() -> None:
    with pytest.raises(TLSError) as caught:
        extension_block.decode_extensions(
            Reader(block((1, b""))), message="ServerHello", min_length=6
        )
    assert caught.value.alert is DECODE_ERROR


# --- Payloads from RFC 8448 ----------------------------------------------------------------


def test_rfc8448_client_hello_payloads() -> None:
    hello = rfc_client_hello()
    assert ext.decode_server_name(payload(hello, ExtensionType.server_name)) == "server"
    groups = ext.decode_supported_groups(payload(hello, ExtensionType.supported_groups))
    assert groups == (0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104)
    # secp521r1 and the FFDHE groups are not in our enum; they stay plain ints.
    assert all(type(group) is int for group in groups)
    shares = ext.decode_client_key_shares(payload(hello, ExtensionType.key_share))
    client_public = step(3, "client", "create an ephemeral x25519 key pair")["public key"]
    assert shares == (KeyShareEntry(NamedGroup.x25519, client_public),)
    versions = ext.decode_client_supported_versions(
        payload(hello, ExtensionType.supported_versions)
    )
    assert versions == (TLS13_VERSION,)
    schemes = ext.decode_signature_algorithms(payload(hello, ExtensionType.signature_algorithms))
    assert len(schemes) == 15
    assert schemes[0] == SignatureScheme.ecdsa_secp256r1_sha256
    assert 0x0402 in schemes  # dsa_sha256: unknown to us, kept as an int
    modes = ext.decode_psk_key_exchange_modes(payload(hello, ExtensionType.psk_key_exchange_modes))
    assert modes == (PskKeyExchangeMode.psk_dhe_ke,)
    limit = ext.decode_record_size_limit(payload(hello, ExtensionType.record_size_limit))
    assert limit == 0x4001
    assert hello.extension(ExtensionType.application_layer_protocol_negotiation) is None

    # Re-encoding each payload gives the RFC's bytes back.
    assert ext.encode_server_name("server") == payload(hello, ExtensionType.server_name)
    assert ext.encode_supported_groups(groups) == payload(hello, ExtensionType.supported_groups)
    assert ext.encode_client_key_shares(shares) == payload(hello, ExtensionType.key_share)
    assert ext.encode_client_supported_versions(versions) == payload(
        hello, ExtensionType.supported_versions
    )
    assert ext.encode_signature_algorithms(schemes) == payload(
        hello, ExtensionType.signature_algorithms
    )
    assert ext.encode_psk_key_exchange_modes(modes) == payload(
        hello, ExtensionType.psk_key_exchange_modes
    )
    assert ext.encode_record_size_limit(limit) == payload(hello, ExtensionType.record_size_limit)


def test_rfc8448_server_hello_and_encrypted_extensions_payloads() -> None:
    hello = rfc_server_hello()
    share = ext.decode_server_key_share(payload(hello, ExtensionType.key_share))
    server_public = step(3, "server", "create an ephemeral x25519 key pair")["public key"]
    assert share == KeyShareEntry(NamedGroup.x25519, server_public)
    assert ext.encode_server_key_share(share) == payload(hello, ExtensionType.key_share)
    version = ext.decode_selected_version(payload(hello, ExtensionType.supported_versions))
    assert version == TLS13_VERSION
    assert ext.encode_selected_version(version) == payload(hello, ExtensionType.supported_versions)

    encrypted = EncryptedExtensions.decode(
        message_body(
            3, "server", "construct a EncryptedExtensions handshake message", "EncryptedExtensions"
        )
    )
    acknowledgement = encrypted.extension(ExtensionType.server_name)
    assert acknowledgement == ext.encode_empty()
    ext.decode_empty(acknowledgement, ExtensionType.server_name)


def test_rfc8448_hello_retry_request_cookie_and_selected_group() -> None:
    retry = rfc_server_hello(section=5)
    assert retry.is_hello_retry_request
    selected = ext.decode_hello_retry_key_share(payload(retry, ExtensionType.key_share))
    assert selected == NamedGroup.secp256r1
    assert ext.encode_hello_retry_key_share(selected) == payload(retry, ExtensionType.key_share)
    cookie = ext.decode_cookie(payload(retry, ExtensionType.cookie))
    assert len(cookie) == 114
    assert ext.encode_cookie(cookie) == payload(retry, ExtensionType.cookie)

    second = rfc_client_hello(section=5, occurrence=1)
    assert ext.decode_cookie(payload(second, ExtensionType.cookie)) == cookie
    shares = ext.decode_client_key_shares(payload(second, ExtensionType.key_share))
    p256_public = step(5, "client", "create an ephemeral P-256 key pair")["public key"]
    assert shares == (KeyShareEntry(NamedGroup.secp256r1, p256_public),)


def test_rfc8448_pre_shared_key_offer_and_binder_prefix() -> None:
    hello = resumed_client_hello()
    raw = hello.encode()
    offered = ext.decode_offered_psks(payload(hello, ExtensionType.pre_shared_key))
    ticket = NewSessionTicket.decode(
        message_body(
            3, "server", "construct a NewSessionTicket handshake message", "NewSessionTicket"
        )
    )
    assert [identity.identity for identity in offered.identities] == [ticket.ticket]
    binder_step = step(4, "client", "calculate PSK binder")
    assert offered.binders == (binder_step["finished"],)
    # One 32-byte binder: 2 (vector length) + 1 (binder length) + 32.
    assert offered.binders_length == 35
    assert raw[: -offered.binders_length] == binder_step["ClientHello prefix"]
    assert ext.encode_offered_psks(offered) == payload(hello, ExtensionType.pre_shared_key)
    ext.decode_empty(payload(hello, ExtensionType.early_data), ExtensionType.early_data)

    server_hello = rfc_server_hello(section=4)
    selected = ext.decode_selected_identity(payload(server_hello, ExtensionType.pre_shared_key))
    assert selected == 0
    assert ext.encode_selected_identity(0) == payload(server_hello, ExtensionType.pre_shared_key)


def test_rfc8448_new_session_ticket_max_early_data_size() -> None:
    ticket = NewSessionTicket.decode(
        message_body(
            3, "server", "construct a NewSessionTicket handshake message", "NewSessionTicket"
        )
    )
    data = ticket.extension(ExtensionType.early_data)
    assert data is not None
    assert ext.decode_max_early_data_size(data) == 1024
    assert ext.encode_max_early_data_size(1024) == data


def test_application_protocols_keep_order_and_the_server_must_pick_one() -> None:
    data = ext.encode_application_protocols([b"h2", b"http/1.1"])
    assert data == b"\x00\x0c\x02h2\x08http/1.1"
    assert ext.decode_application_protocols(data) == (b"h2", b"http/1.1")
    assert ext.decode_selected_application_protocol(b"\x00\x09\x08http/1.1") == b"http/1.1"
    with pytest.raises(TLSError) as caught:
        ext.decode_selected_application_protocol(data)
    assert caught.value.alert is DECODE_ERROR


def test_server_name_skips_unknown_name_types() -> None:
    data = bytes.fromhex("000e 07 0003 616263 00 0005") + b"hello"
    assert ext.decode_server_name(data) == "hello"
    assert ext.decode_server_name(bytes.fromhex("0006 07 0003 616263")) is None


# --- Every bound, violated once ------------------------------------------------------------

Decoder = Callable[[bytes], object]

VIOLATIONS: list[tuple[str, Decoder, bytes, AlertDescription]] = [
    ("server_name list empty", ext.decode_server_name, bytes.fromhex("0000"), DECODE_ERROR),
    ("host_name empty", ext.decode_server_name, bytes.fromhex("0003 00 0000"), DECODE_ERROR),
    (
        "host_name not ASCII",
        ext.decode_server_name,
        bytes.fromhex("0005 00 0002 c3a9"),
        DECODE_ERROR,
    ),
    (
        "two host_names",
        ext.decode_server_name,
        bytes.fromhex("0008 00 0001 61 00 0001 62"),
        ILLEGAL_PARAMETER,
    ),
    (
        "server_name trailing",
        ext.decode_server_name,
        bytes.fromhex("0004 00 0001 61 ff"),
        DECODE_ERROR,
    ),
    (
        "server_name truncated",
        ext.decode_server_name,
        bytes.fromhex("0009 00 0006 7365"),
        DECODE_ERROR,
    ),
    ("groups empty", ext.decode_supported_groups, bytes.fromhex("0000"), DECODE_ERROR),
    ("groups odd", ext.decode_supported_groups, bytes.fromhex("0003 001d00"), DECODE_ERROR),
    ("groups trailing", ext.decode_supported_groups, bytes.fromhex("0002 001d 00"), DECODE_ERROR),
    ("groups overrun", ext.decode_supported_groups, bytes.fromhex("0004 001d"), DECODE_ERROR),
    ("schemes empty", ext.decode_signature_algorithms, bytes.fromhex("0000"), DECODE_ERROR),
    (
        "schemes above 2^16-2",
        ext.decode_signature_algorithms,
        b"\xff\xff" + bytes(0xFFFF),
        DECODE_ERROR,
    ),
    ("versions below 2", ext.decode_client_supported_versions, b"\x00", DECODE_ERROR),
    ("versions odd", ext.decode_client_supported_versions, b"\x03\x03\x04\x03", DECODE_ERROR),
    (
        "versions above 254",
        ext.decode_client_supported_versions,
        b"\xff" + bytes(255),
        DECODE_ERROR,
    ),
    ("selected version short", ext.decode_selected_version, b"\x03", DECODE_ERROR),
    ("selected version long", ext.decode_selected_version, b"\x03\x04\x00", DECODE_ERROR),
    (
        "key_exchange empty",
        ext.decode_client_key_shares,
        bytes.fromhex("0004 001d 0000"),
        DECODE_ERROR,
    ),
    (
        "two shares for one group",
        ext.decode_client_key_shares,
        bytes.fromhex("000a 001d 0001 aa 001d 0001 bb"),
        ILLEGAL_PARAMETER,
    ),
    (
        "share overruns client_shares",
        ext.decode_client_key_shares,
        bytes.fromhex("0005 001d 0002 aa bb"),
        DECODE_ERROR,
    ),
    (
        "server share trailing",
        ext.decode_server_key_share,
        bytes.fromhex("001d 0001 aa bb"),
        DECODE_ERROR,
    ),
    ("retry group short", ext.decode_hello_retry_key_share, b"\x00", DECODE_ERROR),
    ("ke_modes empty", ext.decode_psk_key_exchange_modes, b"\x00", DECODE_ERROR),
    ("ke_modes truncated", ext.decode_psk_key_exchange_modes, b"\x02\x01", DECODE_ERROR),
    (
        "identities below 7",
        ext.decode_offered_psks,
        bytes.fromhex("0006 0000 00000000") + bytes.fromhex("0021 20") + bytes(32),
        DECODE_ERROR,
    ),
    (
        "identity empty",
        ext.decode_offered_psks,
        bytes.fromhex("0007 0000 00000000 00") + bytes.fromhex("0021 20") + bytes(32),
        DECODE_ERROR,
    ),
    (
        "binder below 32",
        ext.decode_offered_psks,
        bytes.fromhex("0007 0001 aa 00000000") + bytes.fromhex("0021 1f") + bytes(32),
        DECODE_ERROR,
    ),
    (
        "binders below 33",
        ext.decode_offered_psks,
        bytes.fromhex("0007 0001 aa 00000000") + bytes.fromhex("0020 1f") + bytes(31),
        DECODE_ERROR,
    ),
    (
        "two identities, one binder",
        ext.decode_offered_psks,
        bytes.fromhex("000e 0001 aa 00000000 0001 bb 00000000")
        + bytes.fromhex("0021 20")
        + bytes(32),
        ILLEGAL_PARAMETER,
    ),
    (
        "binders missing",
        ext.decode_offered_psks,
        bytes.fromhex("0007 0001 aa 00000000"),
        DECODE_ERROR,
    ),
    ("selected identity long", ext.decode_selected_identity, b"\x00\x00\x00", DECODE_ERROR),
    ("max early data short", ext.decode_max_early_data_size, b"\x00\x00\x04", DECODE_ERROR),
    ("cookie empty", ext.decode_cookie, b"\x00\x00", DECODE_ERROR),
    ("cookie trailing", ext.decode_cookie, b"\x00\x01ab", DECODE_ERROR),
    ("alpn list empty", ext.decode_application_protocols, b"\x00\x00", DECODE_ERROR),
    ("alpn name empty", ext.decode_application_protocols, b"\x00\x02\x00\x00", DECODE_ERROR),
    ("alpn list below 2", ext.decode_application_protocols, b"\x00\x01\x00", DECODE_ERROR),
    ("record size limit 63", ext.decode_record_size_limit, b"\x00\x3f", ILLEGAL_PARAMETER),
    ("record size limit short", ext.decode_record_size_limit, b"\x40", DECODE_ERROR),
    (
        "early_data indication with data",
        lambda data: ext.decode_empty(data, ExtensionType.early_data),
        b"\x00",
        DECODE_ERROR,
    ),
]


@pytest.mark.parametrize(
    ("decoder", "data", "alert"),
    [case[1:] for case in VIOLATIONS],
    ids=[case[0] for case in VIOLATIONS],
)
def test_each_bound_violated_raises_the_named_alert(
    decoder: Decoder, data: bytes, alert: AlertDescription
) -> None:
    with pytest.raises(TLSError) as caught:
        decoder(data)
    assert caught.value.alert is alert


def test_record_size_limit_accepts_the_minimum() -> None:
    assert ext.decode_record_size_limit(b"\x00\x40") == 64


# --- Hypothesis: round trips and hostile input ----------------------------------------------

uint16s = st.integers(0, 0xFFFF)
host_names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60
)
key_share_entries = st.builds(KeyShareEntry, uint16s, st.binary(min_size=1, max_size=100))
psk_offers = st.integers(1, 4).flatmap(
    lambda count: st.builds(
        OfferedPsks,
        st.lists(
            st.builds(PskIdentity, st.binary(min_size=1, max_size=50), st.integers(0, 2**32 - 1)),
            min_size=count,
            max_size=count,
        ).map(tuple),
        st.lists(st.binary(min_size=32, max_size=48), min_size=count, max_size=count).map(tuple),
    )
)


@given(host_names)
def test_server_name_round_trips(host_name: str) -> None:
    assert ext.decode_server_name(ext.encode_server_name(host_name)) == host_name


@given(st.lists(uint16s, min_size=1, max_size=40).map(tuple))
def test_uint16_list_codecs_round_trip(values: tuple[int, ...]) -> None:
    assert ext.decode_supported_groups(ext.encode_supported_groups(values)) == values
    assert ext.decode_signature_algorithms(ext.encode_signature_algorithms(values)) == values
    assert (
        ext.decode_client_supported_versions(ext.encode_client_supported_versions(values)) == values
    )


@given(uint16s)
def test_single_uint16_codecs_round_trip(value: int) -> None:
    assert ext.decode_selected_version(ext.encode_selected_version(value)) == value
    assert ext.decode_hello_retry_key_share(ext.encode_hello_retry_key_share(value)) == value
    assert ext.decode_selected_identity(ext.encode_selected_identity(value)) == value
    if value >= ext.MIN_RECORD_SIZE_LIMIT:
        assert ext.decode_record_size_limit(ext.encode_record_size_limit(value)) == value


@given(st.lists(key_share_entries, max_size=5, unique_by=lambda entry: entry.group).map(tuple))
def test_client_key_shares_round_trip(entries: tuple[KeyShareEntry, ...]) -> None:
    assert ext.decode_client_key_shares(ext.encode_client_key_shares(entries)) == entries


@given(key_share_entries)
def test_server_key_share_round_trips(entry: KeyShareEntry) -> None:
    assert ext.decode_server_key_share(ext.encode_server_key_share(entry)) == entry


@given(st.binary(min_size=1, max_size=255).map(tuple))
def test_psk_key_exchange_modes_round_trip(modes: tuple[int, ...]) -> None:
    assert ext.decode_psk_key_exchange_modes(ext.encode_psk_key_exchange_modes(modes)) == modes


@given(psk_offers)
def test_offered_psks_round_trip_and_binders_length_is_the_encoded_tail(
    offered: OfferedPsks,
) -> None:
    data = ext.encode_offered_psks(offered)
    assert ext.decode_offered_psks(data) == offered
    tail = data[len(data) - offered.binders_length :]
    assert Reader(tail).vector(2).remaining == offered.binders_length - 2


@given(st.integers(0, 2**32 - 1))
def test_max_early_data_size_round_trips(size: int) -> None:
    assert ext.decode_max_early_data_size(ext.encode_max_early_data_size(size)) == size


@given(st.binary(min_size=1, max_size=300))
def test_cookie_round_trips(cookie: bytes) -> None:
    assert ext.decode_cookie(ext.encode_cookie(cookie)) == cookie


@given(st.lists(st.binary(min_size=1, max_size=255), min_size=1, max_size=8).map(tuple))
def test_application_protocols_round_trip(names: tuple[bytes, ...]) -> None:
    assert ext.decode_application_protocols(ext.encode_application_protocols(names)) == names


@given(st.lists(st.tuples(uint16s, st.binary(max_size=30)), max_size=8, unique_by=lambda t: t[0]))
def test_extension_blocks_round_trip(pairs: list[tuple[int, bytes]]) -> None:
    extensions = tuple(Extension(t, d) for t, d in pairs)
    reader = Reader(block(*pairs))
    assert extension_block.decode_extensions(reader, message="Test") == extensions
    reader.expect_end()


ALL_DECODERS: list[Decoder] = [
    ext.decode_server_name,
    ext.decode_supported_groups,
    ext.decode_signature_algorithms,
    ext.decode_client_supported_versions,
    ext.decode_selected_version,
    ext.decode_client_key_shares,
    ext.decode_server_key_share,
    ext.decode_hello_retry_key_share,
    ext.decode_psk_key_exchange_modes,
    ext.decode_offered_psks,
    ext.decode_selected_identity,
    ext.decode_max_early_data_size,
    ext.decode_cookie,
    ext.decode_application_protocols,
    ext.decode_selected_application_protocol,
    ext.decode_record_size_limit,
    lambda data: ext.decode_empty(data, ExtensionType.early_data),
    lambda data: extension_block.decode_extensions(Reader(data), message="Test"),
]


@given(st.binary(max_size=80))
def test_random_bytes_raise_only_tls_error(data: bytes) -> None:
    for decoder in ALL_DECODERS:
        try:
            decoder(data)
        except TLSError as error:
            assert error.alert in (DECODE_ERROR, ILLEGAL_PARAMETER)


def rfc_payloads() -> list[bytes]:
    hellos: list[ClientHello | ServerHello] = [
        rfc_client_hello(),
        rfc_client_hello(5, 1),
        resumed_client_hello(),
        rfc_server_hello(),
        rfc_server_hello(5),
    ]
    return [extension.data for hello in hellos for extension in hello.extensions if extension.data]


@given(st.data())
def test_single_byte_mutations_of_rfc_payloads_raise_only_tls_error(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(rfc_payloads()))
    position = data.draw(st.integers(0, len(original) - 1))
    mutated = bytearray(original)
    mutated[position] = data.draw(st.integers(0, 255))
    truncated = bytes(mutated[: data.draw(st.integers(0, len(mutated)))])
    for candidate in (bytes(mutated), truncated):
        for decoder in ALL_DECODERS:
            try:
                decoder(candidate)
            except TLSError as error:
                assert error.alert in (DECODE_ERROR, ILLEGAL_PARAMETER)
