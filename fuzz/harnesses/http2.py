"""Fuzz the HTTP/2 frame codec, the HPACK decoder and the server connection that uses both.

The input is what a client sends on an HTTP/2 connection (the seeds start
with the connection preface).  Three things must hold:

- frame codec: fed whole or in TCP chunks, FrameReader gives the same frames
  or the same ConnectionFailure/StreamFailure, and every frame it decodes
  encodes to a frame that decodes to itself;
- HPACK: the input read as one field block decodes, or fails with
  COMPRESSION_ERROR or FieldSectionTooLarge; what decodes re-encodes (our
  Encoder) to a block that decodes to the same fields;
- server: ServerConnection.receive_data, whole and in chunks, returns events
  and never raises; a ConnectionFailed is the last event and is followed by
  nothing; every reset names a stream; data_to_send always works.
"""

from __future__ import annotations

from tls_web_server.http2 import frames
from tls_web_server.http2.errors import ConnectionFailure, ErrorCode, HTTP2Error, StreamFailure
from tls_web_server.http2.events import ConnectionFailed, StreamReset
from tls_web_server.http2.hpack import Decoder, Encoder, FieldSectionTooLarge
from tls_web_server.http2.limits import Http2Limits
from tls_web_server.http2.server import ServerConnection

from ..support import fail, tcp_chunks

# Small limits, so that floods and oversized sections are within a mutation's reach.
SMALL_LIMITS = Http2Limits(
    max_concurrent_streams=4,
    max_field_section_size=512,
    max_header_block_bytes=2048,
    max_continuation_frames=4,
    rapid_reset_allowance=3,
    max_queued_control_answers=8,
)


def test_one_input(data: bytes) -> None:
    _check_frame_codec(data)
    _check_hpack(data)
    _check_server(data)


def _read_frames(chunks: list[bytes]) -> tuple[list[frames.Frame], str | None]:
    reader = frames.FrameReader()
    decoded: list[frames.Frame] = []
    try:
        for chunk in chunks:
            reader.feed(chunk)
            while True:
                try:
                    received = reader.next_frame()
                except StreamFailure as failure:
                    decoded.append(frames.UnknownFrame(-1, failure.code, failure.stream_id, b""))
                    continue
                if received is None:
                    break
                decoded.append(received.frame)
    except ConnectionFailure as failure:
        return decoded, failure.code.name
    return decoded, None


def _check_frame_codec(data: bytes) -> None:
    body = data.removeprefix(frames.CLIENT_PREFACE)
    whole = _read_frames([body])
    if whole != _read_frames(tcp_chunks(body)):
        raise fail("frames differ when fed in chunks")
    for frame in whole[0]:
        if isinstance(frame, frames.UnknownFrame) and frame.frame_type == -1:
            continue
        again, error = _read_frames([frame.encode()])
        if error is not None or again != [frame]:
            raise fail(f"{frame!r} re-encoded decodes to {again!r} ({error})")


def _check_hpack(data: bytes) -> None:
    try:
        fields = Decoder(max_field_section_size=4096).decode(data)
    except ConnectionFailure as failure:
        if failure.code != ErrorCode.COMPRESSION_ERROR:
            raise fail(f"HPACK failed with {failure.code.name}") from None
        return
    except FieldSectionTooLarge:
        return
    if Decoder(max_field_section_size=1 << 20).decode(Encoder().encode(fields)) != fields:
        raise fail(f"fields {fields!r} do not survive a round trip")


def _check_server(data: bytes) -> None:
    for chunks in ([data], tcp_chunks(data)):
        server = ServerConnection(SMALL_LIMITS)
        server.initiate()
        for chunk in chunks:
            try:
                events = server.receive_data(chunk)
            except HTTP2Error as error:
                raise fail(f"receive_data raised {error!r}") from None
            for index, event in enumerate(events):
                if isinstance(event, ConnectionFailed) and index != len(events) - 1:
                    raise fail("events after ConnectionFailed")
                if isinstance(event, StreamReset) and event.stream_id == 0:
                    raise fail("a reset of stream 0")
            server.data_to_send(64 * 1024)
        if server.failed is not None and server.receive_data(data[:64]):
            raise fail("a failed connection went on reading")
