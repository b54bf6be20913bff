"""The server's hot-path shortcuts give exactly what the plain codecs give.

The first flight skips some layers for speed: extension payloads are read by
index instead of through a Reader, the ClientHello keeps the dict it checked
duplicates with, and ServerHello, CertificateVerify and Finished encode by
joining bytes instead of through a Writer.  Each test here compares a
shortcut with the slow, obvious form (a Reader, or a Writer), kept here as
the oracle, on valid and on broken input: same value, or the same TLSError
alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13 import extension_block, prepared
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import UINT16_MAX, Extension, OfferedPsks, PskIdentity
from tls_web_server.tls.tls13.messages import CertificateVerify, ClientHello, Finished, ServerHello
from tls_web_server.tls.tls13.wire import Reader, Writer

from ..conftest import DemoPki
from .scripted_client import ScriptedClient, new_server

# --- reference decoders: the Reader-based form the fast decoders replaced -------------------


def reference_uint16_list(
    data: bytes, length_size: int, min_length: int, max_length: int
) -> tuple[int, ...]:
    reader = Reader(data, "reference")
    values = reader.uint16_list(length_size, min_length, max_length)
    reader.expect_end()
    return values


def reference_server_name(data: bytes) -> str | None:
    reader = Reader(data, "reference")
    names = reader.vector(2, 1, UINT16_MAX)
    host_name = None
    while names.remaining:
        name_type = names.uint8()
        name = names.opaque(2, 1, UINT16_MAX)
        if name_type != 0:
            continue
        if host_name is not None:
            raise ext.illegal_parameter("two host names")
        if not name.isascii():
            raise ext.decode_error("not ASCII")
        host_name = name.decode("ascii")
    reader.expect_end()
    return host_name


def reference_application_protocols(data: bytes) -> tuple[bytes, ...]:
    reader = Reader(data, "reference")
    name_list = reader.vector(2, 2, UINT16_MAX)
    names = []
    while name_list.remaining:
        names.append(name_list.opaque(1, 1, 255))
    reader.expect_end()
    return tuple(names)


def reference_psk_modes(data: bytes) -> tuple[int, ...]:
    reader = Reader(data, "reference")
    modes = reader.opaque(1, 1, 255)
    reader.expect_end()
    return tuple(modes)


def reference_key_shares(data: bytes) -> tuple[tuple[int, bytes], ...]:
    reader = Reader(data, "reference")
    shares = reader.vector(2, 0, UINT16_MAX)
    reader.expect_end()
    entries = []
    while shares.remaining:
        group = shares.uint16()
        entries.append((group, shares.opaque(2, 1, UINT16_MAX)))
    if len({group for group, _ in entries}) != len(entries):
        raise ext.illegal_parameter("two shares for one group")
    return tuple(entries)


def outcome(decode: Callable[[bytes], Any], data: bytes) -> tuple[str, Any]:
    """("value", result) or ("error", alert): what a decoder makes of `data`."""
    try:
        return "value", decode(data)
    except TLSError as error:
        return "error", error.alert


PAIRS: list[tuple[Callable[[bytes], Any], Callable[[bytes], Any]]] = [
    (ext.decode_supported_groups, lambda data: reference_uint16_list(data, 2, 2, UINT16_MAX)),
    (
        ext.decode_signature_algorithms,
        lambda data: reference_uint16_list(data, 2, 2, UINT16_MAX - 1),
    ),
    (ext.decode_client_supported_versions, lambda data: reference_uint16_list(data, 1, 2, 254)),
    (ext.decode_server_name, reference_server_name),
    (ext.decode_application_protocols, reference_application_protocols),
    (ext.decode_psk_key_exchange_modes, reference_psk_modes),
    (
        lambda data: tuple((e.group, e.key_exchange) for e in ext.decode_client_key_shares(data)),
        reference_key_shares,
    ),
]

VALID_PAYLOADS = [
    ext.encode_supported_groups([NamedGroup.x25519, NamedGroup.secp256r1, 0x11EC]),
    ext.encode_signature_algorithms([0x0403, 0x0804, 0x0807]),
    ext.encode_client_supported_versions([0x0304, 0x0303]),
    ext.encode_server_name("www.example.com"),
    ext.encode_application_protocols([b"h2", b"http/1.1"]),
    ext.encode_psk_key_exchange_modes([1]),
    ext.encode_client_key_shares(
        [ext.KeyShareEntry(0x2A2A, b"\x00"), ext.KeyShareEntry(NamedGroup.x25519, bytes(32))]
    ),
]


@given(st.binary(max_size=40))
def test_fast_extension_decoders_agree_with_a_reader_on_random_bytes(data: bytes) -> None:
    for fast, reference in PAIRS:
        assert outcome(fast, data) == outcome(reference, data)


@given(st.data())
def test_fast_extension_decoders_agree_with_a_reader_on_mutated_payloads(
    data: st.DataObject,
) -> None:
    for (fast, reference), payload in zip(PAIRS, VALID_PAYLOADS, strict=True):
        assert outcome(fast, payload)[0] == "value"
        mutated = bytearray(payload)
        choice = data.draw(st.sampled_from(["flip", "cut", "extend"]))
        if choice == "flip":
            position = data.draw(st.integers(0, len(mutated) - 1))
            mutated[position] = data.draw(st.integers(0, 255))
        elif choice == "cut":
            del mutated[data.draw(st.integers(0, len(mutated) - 1)) :]
        else:
            mutated += data.draw(st.binary(min_size=1, max_size=4))
        assert outcome(fast, bytes(mutated)) == outcome(reference, bytes(mutated))


# --- ClientHello: the extension dict it keeps ----------------------------------------------


def sample_hello(extensions: tuple[Extension, ...]) -> ClientHello:
    return ClientHello(0x0303, bytes(32), b"", (0x1301,), b"\x00", extensions)


def test_a_decoded_hello_looks_extensions_up_as_its_extension_list_says() -> None:
    extensions = (
        Extension(ExtensionType.server_name, ext.encode_server_name("a.example")),
        Extension(0x1A1A, b""),
        Extension(ExtensionType.supported_versions, ext.encode_client_supported_versions([772])),
    )
    decoded = ClientHello.decode(sample_hello(extensions).encode()[4:])
    assert decoded.extensions == extensions
    assert decoded.extensions_by_type() == dict(extensions)
    assert decoded == sample_hello(extensions)  # the cache is not part of the value
    assert sample_hello(extensions).extensions_by_type() == dict(extensions)  # built on demand


def test_replacing_psk_binders_does_not_keep_the_old_lookups() -> None:
    offer = OfferedPsks((PskIdentity(b"ticket", 7),), (bytes(32),))
    psk = Extension(ExtensionType.pre_shared_key, ext.encode_offered_psks(offer))
    hello = ClientHello.decode(sample_hello((Extension(0x1A1A, b""), psk)).encode()[4:])
    assert hello.extensions_by_type()[ExtensionType.pre_shared_key] == psk.data

    rebound = hello.with_psk_binders([b"\x01" * 32])
    data = rebound.extensions_by_type()[ExtensionType.pre_shared_key]
    assert ext.decode_offered_psks(data).binders == (b"\x01" * 32,)


# --- the server's flight: joined encoders against the Writer form ----------------------------


def reference_encoding(msg_type: int, write_body: Callable[[Writer], None]) -> bytes:
    """A message written field by field through a Writer, as every other message is."""
    writer = Writer()
    write_body(writer)
    return bytes((msg_type,)) + writer.length.to_bytes(3, "big") + writer.getvalue()


def reference_server_hello(hello: ServerHello) -> bytes:
    def body(writer: Writer) -> None:
        writer.uint16(hello.legacy_version)
        writer.write(hello.random)
        writer.opaque(1, hello.legacy_session_id_echo)
        writer.uint16(hello.cipher_suite)
        writer.uint8(hello.legacy_compression_method)
        extension_block.encode_extensions(writer, hello.extensions)

    return reference_encoding(HandshakeType.server_hello, body)


@given(
    server_random=st.binary(min_size=32, max_size=32),
    session_id=st.binary(max_size=32),
    suite=st.sampled_from(list(CipherSuite)),
    group=st.sampled_from(list(NamedGroup)),
    public_key=st.binary(min_size=1, max_size=133),
    selected_identity=st.none() | st.integers(0, UINT16_MAX),
)
def test_the_joined_server_hello_is_the_written_one(
    server_random: bytes,
    session_id: bytes,
    suite: CipherSuite,
    group: NamedGroup,
    public_key: bytes,
    selected_identity: int | None,
) -> None:
    encoded = prepared.server_hello_bytes(
        server_random, session_id, suite, group, public_key, selected_identity
    )
    hello = ServerHello.decode(encoded[4:])
    assert encoded == reference_server_hello(hello)
    assert hello.encode() == encoded
    assert hello.cipher_suite == suite and hello.random == server_random
    assert hello.legacy_session_id_echo == session_id
    selected = hello.extension(ExtensionType.pre_shared_key)
    if selected_identity is None:
        assert selected is None
    else:
        assert selected == selected_identity.to_bytes(2, "big")
    share = ext.decode_server_key_share(hello.extension(ExtensionType.key_share) or b"")
    assert (share.group, share.key_exchange) == (group, public_key)


@given(
    scheme=st.sampled_from(list(SignatureScheme)),
    signature=st.binary(max_size=600),
    verify_data=st.binary(min_size=32, max_size=48),
)
def test_the_joined_certificate_verify_and_finished_are_the_written_ones(
    scheme: SignatureScheme, signature: bytes, verify_data: bytes
) -> None:
    def certificate_verify_body(writer: Writer) -> None:
        writer.uint16(scheme)
        writer.opaque(2, signature)

    certificate_verify = CertificateVerify(scheme, signature).encode()
    assert certificate_verify == reference_encoding(
        HandshakeType.certificate_verify, certificate_verify_body
    )
    assert CertificateVerify.decode(certificate_verify[4:]) == CertificateVerify(scheme, signature)
    finished = Finished(verify_data).encode()
    assert finished == reference_encoding(HandshakeType.finished, lambda w: w.write(verify_data))


def test_every_message_the_server_sends_is_its_fields_encoded(any_pki: DemoPki) -> None:
    sent: list[dict[str, Any]] = []

    def observer(event: dict[str, Any]) -> None:
        if event["kind"] == "message" and event["direction"] == "sent":
            sent.append(event)

    server = new_server(any_pki.credentials, observer=observer)
    client = ScriptedClient(roots=any_pki.roots, now=any_pki.now)
    client.handshake(server)
    assert server.is_established
    names = [event["name"] for event in sent]
    assert names[:5] == [
        "ServerHello",
        "EncryptedExtensions",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ]
    for event in sent:
        fields = getattr(event["fields"], "message", event["fields"])
        assert fields.encode() == event["raw"], event["name"]
