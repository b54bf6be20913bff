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
