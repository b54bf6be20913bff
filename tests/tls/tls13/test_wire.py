"""Reader and Writer: the presentation language's integers and vectors, and their bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.wire import Reader, Writer


def expect_decode_error(action, *args) -> TLSError:
    with pytest.raises(TLSError) as caught:
        action(*args)
    assert caught.value.alert is AlertDescription.decode_error
    return caught.value


def test_integers_are_big_endian() -> None:
    reader = Reader(bytes.fromhex("01 0203 040506 0708090a"))
    assert reader.uint8() == 0x01
    assert reader.uint16() == 0x0203
    assert reader.uint24() == 0x040506
    assert reader.uint32() == 0x0708090A
    assert reader.remaining == 0
    reader.expect_end()


@pytest.mark.parametrize("method", ["uint8", "uint16", "uint24", "uint32"])
def test_reading_an_integer_past_the_end_is_a_decode_error(method: str) -> None:
    width = {"uint8": 1, "uint16": 2, "uint24": 3, "uint32": 4}[method]
    reader = Reader(bytes(width - 1), context="Test")
    error = expect_decode_error(getattr(reader, method))
    assert "Test" in error.reason


def test_read_takes_exactly_the_requested_bytes() -> None:
    reader = Reader(b"abcdef")
    assert reader.read(4) == b"abcd"
    expect_decode_error(reader.read, 3)
    assert reader.read(2) == b"ef"


def test_opaque_reads_a_length_prefixed_vector() -> None:
    reader = Reader(b"\x03abc\x00\x02xy\x00\x00\x01z")
    assert reader.opaque(1) == b"abc"
    assert reader.opaque(2) == b"xy"
    assert reader.opaque(3) == b"z"
    reader.expect_end()


def test_opaque_below_its_floor_or_above_its_ceiling_is_a_decode_error() -> None:
    expect_decode_error(Reader(b"\x00").opaque, 1, 1, 255)
    expect_decode_error(Reader(b"\x03abc").opaque, 1, 0, 2)
    assert Reader(b"\x02ab").opaque(1, 2, 2) == b"ab"


def test_a_length_that_overruns_the_input_is_a_decode_error() -> None:
    error = expect_decode_error(Reader(b"\x05abc", context="Thing").opaque, 1, 0, None)
    assert "announces 5 bytes" in error.reason


def test_a_vector_cannot_read_past_its_own_end_into_its_parent() -> None:
    parent = Reader(b"\x02ab" + b"cdef")
    child = parent.vector(1)
    assert child.read(2) == b"ab"
    expect_decode_error(child.uint8)
    assert parent.read(4) == b"cdef"


def test_a_vector_length_that_overruns_its_parent_vector_is_a_decode_error() -> None:
    # The outer vector holds 3 bytes; the inner one claims 5, which exist in the
    # input but lie outside the outer vector.
    outer = Reader(b"\x03\x05ab" + b"cdefgh").vector(1)
    expect_decode_error(outer.opaque, 1)


def test_expect_end_refuses_leftover_bytes() -> None:
    reader = Reader(b"\x01\x02")
    reader.uint8()
    error = expect_decode_error(reader.expect_end)
    assert "1 unexpected bytes" in error.reason


def test_uint16_list_reads_values_and_refuses_an_odd_length() -> None:
    assert Reader(b"\x00\x04\x13\x01\x13\x02").uint16_list(2, 2, 0xFFFE) == (0x1301, 0x1302)
    expect_decode_error(Reader(b"\x00\x03\x13\x01\x13").uint16_list, 2, 2, 0xFFFE)
    expect_decode_error(Reader(b"\x00\x00").uint16_list, 2, 2, 0xFFFE)


def test_fields_read_from_a_bytearray_are_bytes() -> None:
    reader = Reader(bytearray(b"\x02abcd"))
    assert type(reader.opaque(1)) is bytes
    assert type(reader.read(2)) is bytes


def test_writer_back_fills_nested_vector_lengths() -> None:
    writer = Writer()
    writer.uint8(0x16)
    with writer.vector(3):
        writer.uint16(0x0303)
        with writer.vector(2):
            writer.opaque(1, b"abc")
            writer.uint24(7)
            writer.uint32(9)
    assert writer.getvalue() == bytes.fromhex("16 00000f 0303 000b 03616263 000007 00000009")


def test_writer_refuses_contents_that_outgrow_the_length_prefix() -> None:
    writer = Writer()
    with pytest.raises(OverflowError), writer.vector(1):
        writer.write(bytes(256))
    with pytest.raises(OverflowError):
        Writer().opaque(1, bytes(256))
    with pytest.raises(OverflowError):
        Writer().uint16(0x10000)


Field = tuple[str, int | bytes]
fields = st.one_of(
    st.tuples(st.just("uint8"), st.integers(0, 0xFF)),
    st.tuples(st.just("uint16"), st.integers(0, 0xFFFF)),
    st.tuples(st.just("uint24"), st.integers(0, 0xFFFFFF)),
    st.tuples(st.just("uint32"), st.integers(0, 0xFFFFFFFF)),
    st.tuples(st.sampled_from(["opaque1", "opaque2", "opaque3"]), st.binary(max_size=300)),
)


@given(st.lists(fields, max_size=12))
def test_whatever_the_writer_writes_the_reader_reads_back(items: list[Field]) -> None:
    writer = Writer()
    with writer.vector(2):
        for kind, value in items:
            if kind.startswith("opaque"):
                writer.opaque(int(kind[-1]), value)  # type: ignore[arg-type]
            else:
                getattr(writer, kind)(value)
    reader = Reader(writer.getvalue())
    inner = reader.vector(2)
    for kind, value in items:
        if kind.startswith("opaque"):
            assert inner.opaque(int(kind[-1])) == value
        else:
            assert getattr(inner, kind)() == value
    inner.expect_end()
    reader.expect_end()


operations = st.lists(
    st.sampled_from(
        ["uint8", "uint16", "uint24", "uint32", "read", "opaque1", "opaque2", "opaque3", "list"]
    ),
    max_size=10,
)


@given(st.binary(max_size=64), operations)
def test_random_input_only_ever_raises_tls_error(data: bytes, steps: list[str]) -> None:
    reader = Reader(data)
    try:
        for operation in steps:
            if operation == "read":
                reader.read(3)
            elif operation.startswith("opaque"):
                reader.vector(int(operation[-1]), 1, 40).expect_end()
            elif operation == "list":
                reader.uint16_list(1, 2, 254)
            else:
                getattr(reader, operation)()
        reader.expect_end()
    except TLSError as error:
        assert error.alert is AlertDescription.decode_error


def test_typed_opaques_reads_type_and_data_pairs_to_the_end_of_the_window() -> None:
    data = bytes.fromhex("0000 0000  002b 0003 020304  ff01 0001 00")
    inner = Reader(data, context="Hello")
    assert inner.typed_opaques("extension_data") == [
        (0x0000, b""),
        (0x002B, bytes.fromhex("020304")),
        (0xFF01, b"\x00"),
    ]
    assert inner.remaining == 0
    assert Reader(b"").typed_opaques() == []


@pytest.mark.parametrize(
    ("data", "expected_reason"),
    [
        (bytes.fromhex("00"), "needs 4 bytes, only 1 remain"),
        (bytes.fromhex("002b 00"), "needs 4 bytes, only 3 remain"),
        (bytes.fromhex("002b 0005 0102"), "extension_data announces 5 bytes, only 2 remain"),
        (bytes.fromhex("0000 0000 0010 0001"), "extension_data announces 1 bytes, only 0 remain"),
    ],
)
def test_typed_opaques_refuses_a_pair_that_overruns_the_window(
    data: bytes, expected_reason: str
) -> None:
    outer = Reader(len(data).to_bytes(2, "big") + data, context="ClientHello")
    block = outer.vector(2, name="extensions")
    error = expect_decode_error(block.typed_opaques, "extension_data")
    assert expected_reason in error.reason
    assert error.reason.startswith("ClientHello.extensions: ")


def test_an_error_names_the_nested_vector_it_happened_in() -> None:
    outer = Reader(bytes.fromhex("0002 0100 ff"), context="ClientHello")
    inner = outer.vector(2, name="cipher_suites")
    inner.uint8()
    error = expect_decode_error(inner.uint16)
    assert error.reason.startswith("ClientHello.cipher_suites: uint16 needs 2 bytes, only 1")
    # A nameless sub-reader keeps its parent's name.
    unnamed = Reader(bytes.fromhex("0001 00 ff"), context="Finished").vector(2)
    unnamed.uint8()
    assert expect_decode_error(unnamed.uint8).reason.startswith("Finished: uint8 needs 1 bytes")


@given(st.binary(max_size=80))
def test_typed_opaques_on_random_input_only_ever_raises_tls_error(data: bytes) -> None:
    reader = Reader(data)
    try:
        pairs = reader.typed_opaques("x")
    except TLSError as error:
        assert error.alert is AlertDescription.decode_error
        return
    # What parses re-encodes to the same bytes.
    writer = Writer()
    for item_type, item_data in pairs:
        writer.uint16(item_type)
        writer.opaque(2, item_data)
    assert writer.getvalue() == data
