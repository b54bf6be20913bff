"""tls/toy/wire.py: record framing and the three handshake messages, byte by byte."""

from __future__ import annotations

import struct

import pytest

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.toy.wire import (
    MAX_RECORD_LENGTH,
    MAX_RECORD_LENGTH_FROM_SERVER,
    ClientHello,
    RecordBuffer,
    ServerAuth,
    ServerHello,
    Tag,
    decode_fields,
    encode_fields,
    frame_record,
    received_record,
)

KEY = bytes(range(32))


def field(tag: int, value: bytes) -> bytes:
    return struct.pack(">HI", tag, len(value)) + value


# --------------------------------------------------------------------------
# Handshake messages.
# --------------------------------------------------------------------------


def test_client_hello_is_one_tag_length_value_field() -> None:
    encoded = ClientHello(KEY).encode()
    assert encoded == b"\x00\x10" + b"\x00\x00\x00\x20" + KEY  # tag uint16, length uint32
    assert ClientHello.decode(encoded) == ClientHello(KEY)


def test_server_hello_has_the_same_shape() -> None:
    encoded = ServerHello(KEY).encode()
    assert encoded == b"\x00\x10\x00\x00\x00\x20" + KEY
    assert ServerHello.decode(encoded) == ServerHello(KEY)


def test_server_auth_lists_certificates_then_the_signature() -> None:
    message = ServerAuth(certificates=(b"leaf-der", b"intermediate-der"), signature=b"sig")
    encoded = message.encode()
    assert encoded == (
        b"\x00\x20\x00\x00\x00\x08leaf-der"
        + b"\x00\x20\x00\x00\x00\x10intermediate-der"
        + b"\x00\x21\x00\x00\x00\x03sig"
    )
    assert ServerAuth.decode(encoded) == message


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "exactly one X25519_PUBLIC_KEY field, not no fields"),
        (field(0x0010, KEY) * 2, "not X25519_PUBLIC_KEY, X25519_PUBLIC_KEY"),
        (field(0x0020, KEY), "not CERTIFICATE"),
        (field(0x0011, KEY), "unknown field tag 0x0011"),
        (field(0x0010, KEY[:31]), "is 32 bytes, not 31"),
        (field(0x0010, KEY + b"!"), "is 32 bytes, not 33"),
        (field(0x0010, KEY) + b"\x00", "1 stray bytes after the last field"),
        (field(0x0010, KEY) + b"\x00\x10\x00", "3 stray bytes"),
        (field(0x0010, KEY) + b"\x00\x10\x00\x00\x00", "5 stray bytes"),
        (b"\x00\x10\x00\x00\x00\x21" + KEY, "announces 33 bytes, only 32 remain"),
        (b"\x00\x10\xff\xff\xff\xff" + KEY, "announces 4294967295 bytes, only 32 remain"),
    ],
)
def test_malformed_client_hello_is_a_tls_error(payload: bytes, reason: str) -> None:
    with pytest.raises(TLSError) as caught:
        ClientHello.decode(payload)
    assert reason in caught.value.reason
    assert caught.value.reason.startswith("ClientHello")
    assert caught.value.alert is None  # toytls has no alerts


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "must end with its SIGNATURE field"),
        (field(0x0020, b"cert"), "must end with its SIGNATURE field"),
        (field(0x0021, b"sig"), "holds no certificate"),
        (field(0x0021, b"sig") + field(0x0020, b"cert"), "must end with its SIGNATURE field"),
        (
            field(0x0020, b"cert") + field(0x0021, b"s") + field(0x0021, b"s"),
            "a SIGNATURE field where certificates belong",
        ),
        (
            field(0x0010, KEY) + field(0x0020, b"cert") + field(0x0021, b"s"),
            "a X25519_PUBLIC_KEY field where certificates belong",
        ),
        (field(0x0020, b"cert") + field(0x0021, b"s") + b"\xff", "1 stray bytes"),
    ],
)
def test_malformed_server_auth_is_a_tls_error(payload: bytes, reason: str) -> None:
    with pytest.raises(TLSError, match=reason):
        ServerAuth.decode(payload)


def test_fields_round_trip_in_order() -> None:
    fields = [(Tag.CERTIFICATE, b"a"), (Tag.CERTIFICATE, b""), (Tag.SIGNATURE, b"z" * 300)]
    assert decode_fields(encode_fields(fields), "test") == fields


class Huge(bytes):
    """Claims 4 GiB without holding it: only its length is ever read."""

    def __len__(self) -> int:
        return 2**32


def test_a_field_longer_than_its_uint32_length_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="at most 4294967295 bytes"):
        encode_fields([(Tag.CERTIFICATE, Huge())])


def test_a_field_longer_than_the_old_uint16_length_round_trips() -> None:
    value = bytes(range(256)) * 300  # 76800 bytes: needs the uint32 length
    encoded = encode_fields([(Tag.CERTIFICATE, value)])
    assert encoded[:6] == b"\x00\x20\x00\x01\x2c\x00"
    assert decode_fields(encoded, "test") == [(Tag.CERTIFICATE, value)]


# --------------------------------------------------------------------------
# Records.
# --------------------------------------------------------------------------


def test_frame_record_prefixes_a_big_endian_uint32_length() -> None:
    assert frame_record(b"abc") == b"\x00\x00\x00\x03abc"
    with pytest.raises(ValueError, match="at most 65536 bytes"):
        frame_record(bytes(MAX_RECORD_LENGTH + 1))


def test_a_received_record_is_shown_whole_whatever_its_size() -> None:
    # For observers: a client may receive records far above what we send.
    payload = bytes(MAX_RECORD_LENGTH + 1)
    assert received_record(payload) == b"\x00\x01\x00\x01" + payload
    assert received_record(b"abc") == frame_record(b"abc")


def test_record_buffer_reassembles_a_record_fed_one_byte_at_a_time() -> None:
    buffer = RecordBuffer()
    wire = frame_record(b"hello") + frame_record(b"") + frame_record(b"world!")
    payloads = []
    for index in range(len(wire)):
        buffer.feed(wire[index : index + 1])
        while (payload := buffer.next_record()) is not None:
            payloads.append(payload)
    assert payloads == [b"hello", b"", b"world!"]
    assert buffer.buffered == 0


def test_record_buffer_hands_out_many_records_from_one_chunk() -> None:
    buffer = RecordBuffer()
    buffer.feed(b"".join(frame_record(bytes([n]) * n) for n in range(1, 50)) + b"\x00\x00")
    payloads = []
    while (payload := buffer.next_record()) is not None:
        payloads.append(payload)
    assert payloads == [bytes([n]) * n for n in range(1, 50)]
    assert buffer.buffered == 2  # half of the next header stays, waiting


def test_oversized_record_is_refused_from_its_header_alone() -> None:
    buffer = RecordBuffer()
    buffer.feed(struct.pack(">I", MAX_RECORD_LENGTH + 1))
    with pytest.raises(TLSError, match="announces 65537 bytes, more than the 65536-byte limit"):
        buffer.next_record()


def test_a_record_of_exactly_the_limit_is_accepted() -> None:
    buffer = RecordBuffer()
    buffer.feed(struct.pack(">I", MAX_RECORD_LENGTH))
    assert buffer.next_record() is None
    buffer.feed(bytes(MAX_RECORD_LENGTH))
    assert buffer.next_record() == bytes(MAX_RECORD_LENGTH)


def test_a_buffer_for_a_client_takes_records_up_to_16_mib() -> None:
    assert MAX_RECORD_LENGTH_FROM_SERVER == 16 * 1024 * 1024
    buffer = RecordBuffer(MAX_RECORD_LENGTH_FROM_SERVER)
    buffer.feed(b"\x01\x00\x00\x00")  # exactly 16 MiB announced: wait for it
    assert buffer.next_record() is None
    refusing = RecordBuffer(MAX_RECORD_LENGTH_FROM_SERVER)
    refusing.feed(b"\x01\x00\x00\x01")
    with pytest.raises(TLSError, match="announces 16777217 bytes, more than the 16777216-byte"):
        refusing.next_record()
