"""Flow control as a property: whatever the windows and frame sizes, every body arrives whole
and no DATA frame exceeds what the receiver allowed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.http2 import events as ev
from tls_web_server.http2 import frames as f
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.limits import Http2Limits
from tls_web_server.http2.scheduler import BufferedBody
from tls_web_server.http2.server import ServerConnection

REQUEST = [(":method", "GET"), (":scheme", "https"), (":authority", "a"), (":path", "/")]


@st.composite
def windows_and_bodies(draw) -> tuple[int, list[int]]:
    """A stream window, and bodies that need at most ~50 window round trips each."""
    stream_window = draw(st.integers(1, 70_000))
    largest = min(150_000, 50 * stream_window)
    return stream_window, draw(st.lists(st.integers(0, largest), min_size=1, max_size=5))


@settings(max_examples=40)
@given(
    window_and_bodies=windows_and_bodies(),
    connection_window=st.integers(65_535, 200_000),
    max_frame_size=st.integers(16_384, 40_000),
    max_data=st.integers(1_000, 300_000),
)
def test_bodies_arrive_whole_within_every_window(
    window_and_bodies: tuple[int, list[int]],
    connection_window: int,
    max_frame_size: int,
    max_data: int,
) -> None:
    stream_window, body_sizes = window_and_bodies
    limits = Http2Limits(
        initial_window_size=stream_window,
        connection_window_size=connection_window,
        max_frame_size=max_frame_size,
    )
    client, server = ClientConnection(limits), ServerConnection()
    client.initiate()
    server.initiate()
    bodies = {}
    for index, size in enumerate(body_sizes):
        bodies[client.send_request(REQUEST)] = bytes([index]) * size
    received = {stream_id: bytearray() for stream_id in bodies}
    ended: set[int] = set()
    tap = f.FrameReader(max_frame_size)
    for _ in range(1_000):
        for event in server.receive_data(client.data_to_send()):
            if isinstance(event, ev.RequestReceived):
                server.send_response(event.stream_id, [(":status", "200")])
                server.send_body(event.stream_id, BufferedBody(bodies[event.stream_id], True))
        wire = server.data_to_send(max_data)
        tap.feed(wire)
        while (one := tap.next_frame()) is not None:
            if isinstance(one.frame, f.DataFrame):
                # Never more than the receiver's windows allow (checked by the client, too).
                assert len(one.frame.data) <= max_frame_size
        for event in client.receive_data(wire):
            assert not isinstance(event, ev.ConnectionFailed | ev.StreamReset), event
            if isinstance(event, ev.DataReceived):
                received[event.stream_id] += event.data
            elif isinstance(event, ev.StreamEnded):
                ended.add(event.stream_id)
        if ended == set(bodies):
            break
    assert ended == set(bodies)
    assert {k: bytes(v) for k, v in received.items()} == bodies
