"""The frame codec: every frame type round trips; every malformed frame fails with its code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.http2 import frames as f
from tls_web_server.http2.errors import ConnectionFailure, ErrorCode, StreamFailure

stream_ids = st.integers(1, 2**31 - 1)
payloads = st.binary(max_size=64)
paddings = st.integers(0, 40)
priorities = st.builds(
    f.PriorityField, st.integers(0, 2**31 - 1), st.booleans(), st.integers(1, 256)
)
any_frame = st.one_of(
    st.builds(f.DataFrame, stream_ids, payloads, st.booleans(), paddings),
    st.builds(
        f.HeadersFrame,
        stream_ids,
        payloads,
        st.booleans(),
        st.booleans(),
        st.none() | priorities,
        paddings,
    ),
    st.builds(f.PriorityFrame, stream_ids, priorities),
    st.builds(f.RstStreamFrame, stream_ids, st.integers(0, 2**32 - 1)),
    st.builds(
        f.SettingsFrame,
        st.lists(st.tuples(st.sampled_from([1, 3, 6, 0x99]), st.integers(0, 2**31 - 1))).map(tuple),
    ),
    st.just(f.SettingsFrame(ack=True)),
    st.builds(f.PushPromiseFrame, stream_ids, stream_ids, payloads, st.booleans(), paddings),
    st.builds(f.PingFrame, st.binary(min_size=8, max_size=8), st.booleans()),
    st.builds(f.GoAwayFrame, st.integers(0, 2**31 - 1), st.integers(0, 2**32 - 1), payloads),
    st.builds(f.WindowUpdateFrame, st.integers(0, 2**31 - 1), st.integers(1, 2**31 - 1)),
    st.builds(f.ContinuationFrame, stream_ids, payloads, st.booleans()),
    st.builds(f.UnknownFrame, st.integers(10, 255), st.integers(0, 255), stream_ids, payloads),
)


def read_all(data: bytes, max_frame_size: int = f.DEFAULT_MAX_FRAME_SIZE) -> list[f.ReceivedFrame]:
    reader = f.FrameReader(max_frame_size)
    reader.feed(data)
    out = []
    while (received := reader.next_frame()) is not None:
        out.append(received)
    assert reader.buffered == 0
    return out


@given(st.lists(any_frame, min_size=1, max_size=5), st.integers(1, 20))
def test_frames_round_trip_fed_in_any_pieces(frames: list[f.Frame], piece: int) -> None:
    wire = b"".join(frame.encode() for frame in frames)
    reader = f.FrameReader()
    received: list[f.ReceivedFrame] = []
    for start in range(0, len(wire), piece):
        reader.feed(wire[start : start + piece])
        while (one := reader.next_frame()) is not None:
            received.append(one)
    assert [one.frame for one in received] == frames
    # Offsets point at each frame's bytes in the stream.
    for one in received:
        assert wire[one.offset : one.offset + one.length] == one.frame.encode()


def test_frame_header_layout() -> None:
    wire = f.RstStreamFrame(5, ErrorCode.CANCEL).encode()
    fields = {name: wire[start:end] for name, start, end in f.FRAME_HEADER_FIELDS}
    assert fields == {
        "length": b"\x00\x00\x04",
        "type": b"\x03",
        "flags": b"\x00",
        "stream_id": b"\x00\x00\x00\x05",
    }


def raw(frame_type: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(3, "big")
        + bytes((frame_type, flags))
        + stream_id.to_bytes(4, "big")
        + payload
    )


T = f.FrameType
MALFORMED_CONNECTION_ERRORS = {
    "DATA on stream 0": (raw(T.DATA, 0, 0, b"x"), ErrorCode.PROTOCOL_ERROR),
    "DATA padding too long": (raw(T.DATA, f.FLAG_PADDED, 1, b"\x05abcd"), ErrorCode.PROTOCOL_ERROR),
    "DATA padded, empty": (raw(T.DATA, f.FLAG_PADDED, 1, b""), ErrorCode.FRAME_SIZE_ERROR),
    "HEADERS on stream 0": (raw(T.HEADERS, 4, 0, b"\x82"), ErrorCode.PROTOCOL_ERROR),
    "HEADERS padding too long": (
        raw(T.HEADERS, 4 | f.FLAG_PADDED, 1, b"\x02\x82"),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "HEADERS priority cut": (
        raw(T.HEADERS, 4 | f.FLAG_PRIORITY, 1, b"\0\0\0"),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
    "PRIORITY on stream 0": (raw(T.PRIORITY, 0, 0, bytes(5)), ErrorCode.PROTOCOL_ERROR),
    "RST_STREAM on stream 0": (raw(T.RST_STREAM, 0, 0, bytes(4)), ErrorCode.PROTOCOL_ERROR),
    "RST_STREAM of 3 bytes": (raw(T.RST_STREAM, 0, 1, bytes(3)), ErrorCode.FRAME_SIZE_ERROR),
    "RST_STREAM of 5 bytes": (raw(T.RST_STREAM, 0, 1, bytes(5)), ErrorCode.FRAME_SIZE_ERROR),
    "SETTINGS on a stream": (raw(T.SETTINGS, 0, 1, b""), ErrorCode.PROTOCOL_ERROR),
    "SETTINGS of 5 bytes": (raw(T.SETTINGS, 0, 0, bytes(5)), ErrorCode.FRAME_SIZE_ERROR),
    "SETTINGS ACK with payload": (raw(T.SETTINGS, 1, 0, bytes(6)), ErrorCode.FRAME_SIZE_ERROR),
    "ENABLE_PUSH 2": (raw(T.SETTINGS, 0, 0, b"\0\x02\0\0\0\x02"), ErrorCode.PROTOCOL_ERROR),
    "INITIAL_WINDOW_SIZE 2^31": (
        raw(T.SETTINGS, 0, 0, b"\0\x04\x80\0\0\0"),
        ErrorCode.FLOW_CONTROL_ERROR,
    ),
    "MAX_FRAME_SIZE 16383": (
        raw(T.SETTINGS, 0, 0, b"\0\x05\0\0\x3f\xff"),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "MAX_FRAME_SIZE 2^24": (raw(T.SETTINGS, 0, 0, b"\0\x05\x01\0\0\0"), ErrorCode.PROTOCOL_ERROR),
    "PUSH_PROMISE on stream 0": (raw(T.PUSH_PROMISE, 4, 0, bytes(4)), ErrorCode.PROTOCOL_ERROR),
    "PUSH_PROMISE cut": (raw(T.PUSH_PROMISE, 4, 1, bytes(3)), ErrorCode.FRAME_SIZE_ERROR),
    "PING on a stream": (raw(T.PING, 0, 1, bytes(8)), ErrorCode.PROTOCOL_ERROR),
    "PING of 7 bytes": (raw(T.PING, 0, 0, bytes(7)), ErrorCode.FRAME_SIZE_ERROR),
    "PING of 9 bytes": (raw(T.PING, 0, 0, bytes(9)), ErrorCode.FRAME_SIZE_ERROR),
    "GOAWAY on a stream": (raw(T.GOAWAY, 0, 1, bytes(8)), ErrorCode.PROTOCOL_ERROR),
    "GOAWAY of 7 bytes": (raw(T.GOAWAY, 0, 0, bytes(7)), ErrorCode.FRAME_SIZE_ERROR),
    "WINDOW_UPDATE of 3 bytes": (raw(T.WINDOW_UPDATE, 0, 0, bytes(3)), ErrorCode.FRAME_SIZE_ERROR),
    "WINDOW_UPDATE of 0 on the connection": (
        raw(T.WINDOW_UPDATE, 0, 0, bytes(4)),
        ErrorCode.PROTOCOL_ERROR,
    ),
    "CONTINUATION on stream 0": (raw(T.CONTINUATION, 4, 0, b""), ErrorCode.PROTOCOL_ERROR),
    "frame above SETTINGS_MAX_FRAME_SIZE": (
        raw(T.DATA, 0, 1, bytes(16_385)),
        ErrorCode.FRAME_SIZE_ERROR,
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CONNECTION_ERRORS))
def test_malformed_frames_are_connection_errors(name: str) -> None:
    wire, code = MALFORMED_CONNECTION_ERRORS[name]
    with pytest.raises(ConnectionFailure) as caught:
        read_all(wire)
    assert caught.value.code == code


def test_an_oversized_frame_is_refused_from_its_header_alone() -> None:
    reader = f.FrameReader()
    reader.feed(raw(T.DATA, 0, 1, b"")[:3].replace(b"\0\0\0", b"\xff\xff\xff") + bytes(6))
    with pytest.raises(ConnectionFailure) as caught:
        reader.next_frame()
    assert caught.value.code == ErrorCode.FRAME_SIZE_ERROR


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (raw(T.PRIORITY, 0, 3, bytes(4)), ErrorCode.FRAME_SIZE_ERROR),
        (raw(T.PRIORITY, 0, 3, bytes(6)), ErrorCode.FRAME_SIZE_ERROR),
        (raw(T.WINDOW_UPDATE, 0, 3, bytes(4)), ErrorCode.PROTOCOL_ERROR),
    ],
)
def test_stream_scoped_errors_name_their_stream(wire: bytes, code: ErrorCode) -> None:
    reader = f.FrameReader()
    reader.feed(wire + f.PingFrame(bytes(8)).encode())
    with pytest.raises(StreamFailure) as caught:
        reader.next_frame()
    assert (caught.value.stream_id, caught.value.code) == (3, code)
    # The reader went past the bad frame: the connection goes on.
    following = reader.next_frame()
    assert following is not None and following.frame == f.PingFrame(bytes(8))


def test_the_reserved_bit_of_stream_ids_is_ignored() -> None:
    (received,) = read_all(raw(T.RST_STREAM, 0, 0x8000_0001, bytes(4)))
    assert received.frame == f.RstStreamFrame(1, 0)


def test_padding_counts_for_flow_control() -> None:
    frame = f.DataFrame(1, b"abc", padding_length=10)
    (received,) = read_all(frame.encode())
    assert received.frame.flow_controlled_length == 13
    assert received.length == 9 + 13


def test_unknown_settings_and_frame_types_decode() -> None:
    wire = raw(T.SETTINGS, 0, 0, b"\x00\x99\0\0\0\x07") + raw(0x42, 0xFF, 7, b"hello")
    settings, unknown = (one.frame for one in read_all(wire))
    assert settings == f.SettingsFrame(((0x99, 7),))
    assert unknown == f.UnknownFrame(0x42, 0xFF, 7, b"hello")
    assert f.setting_name(4) == "SETTINGS_INITIAL_WINDOW_SIZE"
    assert f.setting_name(0x99) == "unknown setting 0x99"
