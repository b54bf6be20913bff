"""Each limit of limits.py, reached: the peer gets the answer the module promises."""

from __future__ import annotations

from tls_web_server.http2 import frames as f
from tls_web_server.http2 import limits
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.events import (
    ConnectionFailed,
    RequestReceived,
    RequestRejected,
    StreamReset,
)
from tls_web_server.http2.limits import Http2Limits

from .peers import REQUEST, FrameClient


def test_the_defaults_are_the_documented_ones() -> None:
    defaults = Http2Limits()
    assert defaults.max_concurrent_streams == limits.MAX_CONCURRENT_STREAMS == 128
    assert defaults.max_field_section_size == 32_768
    assert defaults.max_header_block_bytes == 4 * defaults.max_field_section_size


def test_a_stream_beyond_max_concurrent_streams_is_refused() -> None:
    client = FrameClient(Http2Limits(max_concurrent_streams=2))
    events = client.send(*(client.headers(n, end_stream=False) for n in (1, 3, 5)))
    assert [e.stream_id for e in events if isinstance(e, RequestReceived)] == [1, 3]
    assert client.resets() == {5: ErrorCode.REFUSED_STREAM}
    # Once a stream finishes, a new one is accepted.
    client.server.reset_stream(1)
    assert isinstance(client.send(client.headers(7))[0], RequestReceived)


def test_a_field_section_above_the_limit_is_answered_431_and_hpack_stays_in_step() -> None:
    client = FrameClient(Http2Limits(max_field_section_size=1000))
    big = [*REQUEST, ("cookie", "c" * 2000)]
    events = client.send(client.headers(1, big))
    assert isinstance(events[0], RequestRejected) and events[0].status == 431
    assert 1 in client.server.streams  # open for the 431 the caller sends
    client.server.send_response(1, [(":status", "431")], end_stream=True)
    # The cookie went into the dynamic table on both sides: a reference decodes.
    events = client.send(client.headers(3, big[:4]))
    assert events[0] == RequestReceived(3, tuple(REQUEST), end_stream=True)


def test_the_peer_cannot_make_our_encoder_table_larger_than_the_cap() -> None:
    client = FrameClient(settings=[(f.SettingCode.HEADER_TABLE_SIZE, 1 << 20)])
    assert client.server._encoder.table.max_size == limits.MAX_ENCODER_TABLE_SIZE


def test_a_continuation_flood_by_frame_count_is_enhance_your_calm() -> None:
    client = FrameClient(Http2Limits(max_continuation_frames=10))
    frames = [f.HeadersFrame(1, b"", end_stream=True, end_headers=False)]
    frames += [f.ContinuationFrame(1, b"", end_headers=False)] * 10
    events = client.send(*frames)
    assert isinstance(events[-1], ConnectionFailed)
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM


def test_a_continuation_flood_by_size_is_enhance_your_calm() -> None:
    client = FrameClient()
    frames = [f.HeadersFrame(1, b"\x00" * 16_000, end_stream=True, end_headers=False)]
    frames += [f.ContinuationFrame(1, b"\x00" * 16_000, end_headers=False)] * 8
    events = client.send(*frames)
    assert events[-1] == ConnectionFailed(
        ErrorCode.ENHANCE_YOUR_CALM, "a field block of 144000 bytes in 9 frames"
    )


def test_rapid_reset_is_enhance_your_calm() -> None:
    client = FrameClient(Http2Limits(rapid_reset_allowance=5))
    frames = []
    for stream_id in range(1, 14, 2):
        frames += [client.headers(stream_id, end_stream=True), f.RstStreamFrame(stream_id, 8)]
    events = client.send(*frames)
    assert isinstance(events[-1], ConnectionFailed)
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM
    assert client.goaway_code() == ErrorCode.ENHANCE_YOUR_CALM


def test_served_streams_earn_the_allowance_back() -> None:
    client = FrameClient(Http2Limits(rapid_reset_allowance=5))
    stream_ids = iter(range(1, 1000, 2))
    for _ in range(4):  # four cancels of open streams: one unit left
        stream_id = next(stream_ids)
        client.send(client.headers(stream_id, end_stream=False), f.RstStreamFrame(stream_id, 8))
    for _ in range(20):  # served, then cancelled once closed: earns, costs nothing
        stream_id = next(stream_ids)
        client.send(client.headers(stream_id))
        client.server.send_response(stream_id, [(":status", "204")], end_stream=True)
        client.send(f.RstStreamFrame(stream_id, 8))
    for _ in range(5):  # the allowance is full again (capped at 5): five more cancels pass
        stream_id = next(stream_ids)
        client.send(client.headers(stream_id, end_stream=False), f.RstStreamFrame(stream_id, 8))
    assert client.server.failed is None
    stream_id = next(stream_ids)
    events = client.send(
        client.headers(stream_id, end_stream=False), f.RstStreamFrame(stream_id, 8)
    )
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM


def test_a_ping_flood_without_reading_is_enhance_your_calm() -> None:
    client = FrameClient(Http2Limits(max_queued_control_answers=50))
    events = client.send(*[f.PingFrame(bytes(8))] * 51)
    assert isinstance(events[-1], ConnectionFailed)
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM


def test_pings_that_are_read_are_no_flood() -> None:
    client = FrameClient(Http2Limits(max_queued_control_answers=50))
    for _ in range(10):
        client.send(*[f.PingFrame(bytes(8))] * 40)
        assert len(client.read()) == 40
    assert client.server.failed is None


def test_a_settings_flood_is_enhance_your_calm() -> None:
    client = FrameClient(Http2Limits(max_queued_control_answers=50))
    events = client.send(*[f.SettingsFrame(((f.SettingCode.MAX_FRAME_SIZE, 16_384),))] * 51)
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM


def test_a_flood_of_stream_errors_is_enhance_your_calm() -> None:
    client = FrameClient(Http2Limits(max_queued_control_answers=20))
    bad = [client.headers(n, [*REQUEST, ("connection", "x")]) for n in range(1, 43, 2)]
    events = client.send(*bad)
    assert sum(isinstance(event, StreamReset) for event in events) == 20
    assert events[-1].error_code == ErrorCode.ENHANCE_YOUR_CALM
