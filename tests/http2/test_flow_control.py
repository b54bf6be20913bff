"""Flow control both ways (RFC 9113 section 6.9): windows of 0, 1 and negative, frame sizes."""

from __future__ import annotations

from tls_web_server.http2 import frames as f
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.events import ConnectionFailed
from tls_web_server.http2.limits import Http2Limits

from .peers import FrameClient

WINDOW = f.SettingCode.INITIAL_WINDOW_SIZE
MAX_FRAME = f.SettingCode.MAX_FRAME_SIZE


def data_frames(frames) -> list[tuple[int, int, bool]]:
    return [(x.stream_id, len(x.data), x.end_stream) for x in frames if isinstance(x, f.DataFrame)]


def respond(client: FrameClient, stream_id: int, size: int) -> None:
    client.server.send_response(stream_id, [(":status", "200")])
    client.server.send_data(stream_id, b"x" * size, end_stream=True)


def test_a_zero_window_sends_the_head_and_no_data_until_a_window_update() -> None:
    client = FrameClient(settings=[(WINDOW, 0)])
    client.send(client.headers(1))
    respond(client, 1, 10)
    frames = client.read()
    assert [type(x).__name__ for x in frames] == ["HeadersFrame"]
    client.send(f.WindowUpdateFrame(1, 1))
    assert data_frames(client.read()) == [(1, 1, False)]
    client.send(f.WindowUpdateFrame(1, 1))
    assert data_frames(client.read()) == [(1, 1, False)]
    client.send(f.WindowUpdateFrame(1, 100))
    assert data_frames(client.read()) == [(1, 8, True)]


def test_an_empty_end_of_stream_needs_no_window() -> None:
    client = FrameClient(settings=[(WINDOW, 0)])
    client.send(client.headers(1))
    client.server.send_response(1, [(":status", "200")])
    client.server.send_data(1, b"", end_stream=True)
    assert data_frames(client.read()) == [(1, 0, True)]


def test_a_settings_change_can_make_a_window_negative() -> None:
    client = FrameClient(settings=[(WINDOW, 100)])
    client.send(client.headers(1))
    client.server.send_response(1, [(":status", "200")])
    client.server.send_data(1, b"x" * 60)
    assert data_frames(client.read()) == [(1, 60, False)]
    client.server.send_data(1, b"y" * 100, end_stream=True)
    client.send(f.SettingsFrame(((WINDOW, 10),)))  # 40 - 90: the window is now -50
    assert client.server.streams[1].send_window == -50
    assert data_frames(client.read()) == []
    client.send(f.WindowUpdateFrame(1, 50))
    assert data_frames(client.read()) == []
    client.send(f.WindowUpdateFrame(1, 1))
    assert data_frames(client.read()) == [(1, 1, False)]
    client.send(f.SettingsFrame(((WINDOW, 1000),)))  # +990 on every open stream
    assert data_frames(client.read()) == [(1, 99, True)]


def test_the_connection_window_is_shared_by_every_stream() -> None:
    client = FrameClient()  # the connection window starts at 65,535 for both sides
    client.send(client.headers(1), client.headers(3))
    respond(client, 1, 50_000)
    respond(client, 3, 50_000)
    assert sum(size for _id, size, _end in data_frames(client.read())) == 65_535
    assert data_frames(client.read()) == []
    client.send(f.WindowUpdateFrame(0, 10))
    assert sum(size for _id, size, _end in data_frames(client.read())) == 10


def test_data_frames_follow_the_peers_max_frame_size() -> None:
    client = FrameClient(settings=[(MAX_FRAME, 20_000), (WINDOW, 1_000_000)])
    client.send(f.WindowUpdateFrame(0, 1_000_000), client.headers(1))
    respond(client, 1, 50_000)
    assert data_frames(client.read()) == [(1, 20_000, False), (1, 20_000, False), (1, 10_000, True)]
    client = FrameClient(settings=[(WINDOW, 1_000_000)])
    client.send(f.WindowUpdateFrame(0, 1_000_000), client.headers(1))
    respond(client, 1, 20_000)
    assert data_frames(client.read()) == [(1, 16_384, False), (1, 3_616, True)]


def test_a_large_field_block_is_cut_into_continuation_frames() -> None:
    client = FrameClient()
    client.send(client.headers(1))
    big = [(f"x-{n}", "v" * 1000) for n in range(40)]
    client.server.send_response(1, [(":status", "200"), *big], end_stream=True)
    frames = client.read()
    assert isinstance(frames[0], f.HeadersFrame) and not frames[0].end_headers
    assert all(isinstance(x, f.ContinuationFrame) for x in frames[1:])
    assert frames[-1].end_headers and frames[0].end_stream
    block = b"".join(x.header_block for x in frames)
    assert client.decoder.decode(block)[1:] == big


def test_streams_share_the_connection_round_robin() -> None:
    client = FrameClient(settings=[(WINDOW, 1_000_000)])
    client.send(f.WindowUpdateFrame(0, 1_000_000))
    client.send(client.headers(1), client.headers(3), client.headers(5))
    for stream_id in (1, 3, 5):
        respond(client, stream_id, 16_384 * 3)
    order = [stream_id for stream_id, _size, _end in data_frames(client.read())]
    assert order == [1, 3, 5] * 3


def test_data_to_send_is_bounded_so_files_are_read_in_slices() -> None:
    client = FrameClient(settings=[(WINDOW, 1_000_000)])
    client.send(f.WindowUpdateFrame(0, 1_000_000), client.headers(1))
    respond(client, 1, 100_000)
    assert sum(size for _id, size, _end in data_frames(client.read(max_data=30_000))) <= 30_000
    assert client.server.streams[1].body is not None


# -- what the client sends us ---------------------------------------------------


def test_data_beyond_the_stream_window_is_a_stream_flow_control_error() -> None:
    limits = Http2Limits(initial_window_size=100)
    client = FrameClient(limits)
    client.send(client.headers(1, end_stream=False), f.DataFrame(1, b"x" * 101))
    assert client.resets() == {1: ErrorCode.FLOW_CONTROL_ERROR}


def test_data_beyond_the_connection_window_is_a_connection_error() -> None:
    limits = Http2Limits(connection_window_size=65_535, initial_window_size=65_535)
    client = FrameClient(limits)
    frames = [client.headers(1, end_stream=False), client.headers(3, end_stream=False)]
    frames += [f.DataFrame(1, bytes(16_384))] * 3 + [f.DataFrame(3, bytes(16_384))]
    events = client.send(*frames)
    assert events[-1] == ConnectionFailed(
        ErrorCode.FLOW_CONTROL_ERROR, "16384 bytes of DATA with a connection window of 16383"
    )


def test_our_receive_windows_are_credited_as_data_arrives() -> None:
    client = FrameClient()
    client.send(client.headers(1, end_stream=False))
    for _ in range(40):  # 640 KiB through a 64 KiB stream window
        client.send(f.DataFrame(1, bytes(16_384)))
        credits = [x for x in client.read() if isinstance(x, f.WindowUpdateFrame)]
        for credit in credits:
            assert credit.stream_id in (0, 1)
    assert client.server.streams[1].receive_window > 0
    assert client.server.receive_window > 0


def test_window_overflow_is_a_flow_control_error() -> None:
    client = FrameClient()
    client.send(client.headers(1, end_stream=False))
    client.send(f.WindowUpdateFrame(1, 2**31 - 1))
    assert client.resets() == {1: ErrorCode.FLOW_CONTROL_ERROR}
    events = client.send(f.WindowUpdateFrame(0, 2**31 - 1))
    assert events[-1].error_code == ErrorCode.FLOW_CONTROL_ERROR


def test_an_initial_window_change_that_overflows_an_open_stream_is_a_connection_error() -> None:
    client = FrameClient()
    client.send(client.headers(1, end_stream=True))
    client.send(f.WindowUpdateFrame(1, 2**31 - 1 - 65_535))
    events = client.send(f.SettingsFrame(((WINDOW, 65_536),)))
    assert events[-1].error_code == ErrorCode.FLOW_CONTROL_ERROR
