"""The server side against a client written frame by frame: every error RFC 9113 names."""

from __future__ import annotations

import pytest

from tls_web_server.http2 import frames as f
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.events import (
    ConnectionFailed,
    DataReceived,
    PingReceived,
    RequestReceived,
    StreamReset,
    TrailersReceived,
)
from tls_web_server.http2.server import ServerConnection

from .peers import REQUEST, FrameClient


def failed_with(events) -> int | None:
    for event in events:
        if isinstance(event, ConnectionFailed):
            return event.error_code
    return None


def test_a_wrong_preface_is_a_protocol_error() -> None:
    server = ServerConnection()
    server.initiate()
    events = server.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR
    assert server.is_finished
    assert server.receive_data(f.CLIENT_PREFACE) == []  # nothing is read after a failure


def test_the_preface_may_arrive_byte_by_byte_and_must_be_followed_by_settings() -> None:
    server = ServerConnection()
    for byte in f.CLIENT_PREFACE:
        assert server.receive_data(bytes((byte,))) == []
    events = server.receive_data(f.PingFrame(bytes(8)).encode())
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR


def test_settings_are_acknowledged_and_ping_echoed() -> None:
    client = FrameClient()
    events = client.send(f.PingFrame(b"12345678"))
    assert events == [PingReceived(b"12345678")]
    assert client.read() == [f.PingFrame(b"12345678", ack=True)]
    client.send(f.SettingsFrame(((f.SettingCode.MAX_CONCURRENT_STREAMS, 5),)))
    assert client.read() == [f.SettingsFrame(ack=True)]
    assert client.server.peer_settings[f.SettingCode.MAX_CONCURRENT_STREAMS] == 5


def test_our_settings_say_no_push_and_our_limits() -> None:
    server = ServerConnection()
    server.initiate()
    reader = f.FrameReader()
    reader.feed(server.data_to_send())
    first = reader.next_frame()
    assert first is not None and isinstance(first.frame, f.SettingsFrame)
    settings = dict(first.frame.settings)
    assert settings[f.SettingCode.ENABLE_PUSH] == 0
    assert settings[f.SettingCode.MAX_CONCURRENT_STREAMS] == 128
    assert settings[f.SettingCode.MAX_HEADER_LIST_SIZE] == 32_768


@pytest.mark.parametrize(
    "frame",
    [
        f.DataFrame(1, b"x"),
        f.RstStreamFrame(1, 0),
        f.WindowUpdateFrame(1, 1),
        f.ContinuationFrame(1, b""),
    ],
)
def test_frames_on_idle_streams_are_protocol_errors(frame) -> None:
    client = FrameClient()
    assert failed_with(client.send(frame)) == ErrorCode.PROTOCOL_ERROR
    assert client.goaway_code() == ErrorCode.PROTOCOL_ERROR


def test_priority_on_an_idle_stream_is_ignored_but_not_a_self_dependency() -> None:
    client = FrameClient()
    assert client.send(f.PriorityFrame(9, f.PriorityField(0, False, 16))) == []
    assert client.read() == []
    client.send(f.PriorityFrame(11, f.PriorityField(11, False, 16)))
    assert client.resets() == {11: ErrorCode.PROTOCOL_ERROR}


def test_an_even_stream_id_is_a_protocol_error() -> None:
    client = FrameClient()
    assert failed_with(client.send(client.headers(2))) == ErrorCode.PROTOCOL_ERROR


def test_a_decreasing_stream_id_is_a_protocol_error() -> None:
    client = FrameClient()
    client.send(client.headers(5))
    assert failed_with(client.send(client.headers(3))) == ErrorCode.PROTOCOL_ERROR


def test_headers_on_a_stream_that_ended_is_stream_closed() -> None:
    client = FrameClient()
    client.send(client.headers(1))
    client.server.send_response(1, [(":status", "204")], end_stream=True)
    assert 1 not in client.server.streams
    assert failed_with(client.send(client.headers(1))) == ErrorCode.STREAM_CLOSED


def test_data_on_a_half_closed_stream_is_stream_closed() -> None:
    client = FrameClient()
    client.send(client.headers(1, end_stream=True))
    events = client.send(f.DataFrame(1, b"late"))
    assert (
        StreamReset(
            1, ErrorCode.STREAM_CLOSED, by_peer=False, reason="DATA in state half-closed (remote)"
        )
        in events
    )
    assert client.resets() == {1: ErrorCode.STREAM_CLOSED}
    # The connection lives on.
    assert isinstance(client.send(client.headers(3))[0], RequestReceived)


def test_frames_in_flight_after_our_reset_are_ignored() -> None:
    client = FrameClient()
    client.send(client.headers(1, end_stream=False))
    client.server.reset_stream(1, ErrorCode.CANCEL)
    assert client.resets() == {1: ErrorCode.CANCEL}
    assert client.send(f.DataFrame(1, b"x"), f.WindowUpdateFrame(1, 5)) == []
    assert client.read() == []


def test_continuation_must_follow_headers_on_the_same_stream() -> None:
    client = FrameClient()
    block = client.block(REQUEST)
    events = client.send(
        f.HeadersFrame(1, block[:3], end_stream=True, end_headers=False), f.PingFrame(bytes(8))
    )
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR
    client = FrameClient()
    events = client.send(
        f.HeadersFrame(1, block[:3], end_stream=True, end_headers=False),
        f.ContinuationFrame(3, block[3:]),
    )
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR


def test_a_field_block_in_pieces_is_one_request() -> None:
    client = FrameClient()
    block = client.block(REQUEST)
    events = client.send(
        f.HeadersFrame(1, block[:2], end_stream=True, end_headers=False),
        f.ContinuationFrame(1, block[2:4], end_headers=False),
        f.ContinuationFrame(1, block[4:]),
    )
    assert events[0] == RequestReceived(1, tuple(REQUEST), end_stream=True)


def test_a_broken_field_block_is_a_compression_error() -> None:
    client = FrameClient()
    events = client.send(f.HeadersFrame(1, b"\x80", end_stream=True))
    assert failed_with(events) == ErrorCode.COMPRESSION_ERROR


def test_push_promise_from_a_client_is_a_protocol_error() -> None:
    client = FrameClient()
    events = client.send(client.headers(1), f.PushPromiseFrame(1, 2, b"\x82"))
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR


def test_settings_ack_without_settings_is_a_protocol_error() -> None:
    client = FrameClient()
    assert failed_with(client.send(f.SettingsFrame(ack=True))) == ErrorCode.PROTOCOL_ERROR


def test_unknown_frames_are_ignored_except_inside_a_field_block() -> None:
    client = FrameClient()
    assert client.send(f.UnknownFrame(0x42, 0, 0, b"hi")) == []
    block = client.block(REQUEST)
    events = client.send(
        f.HeadersFrame(1, block, end_stream=True, end_headers=False),
        f.UnknownFrame(0x42, 0, 1, b""),
    )
    assert failed_with(events) == ErrorCode.PROTOCOL_ERROR


MALFORMED = {
    "uppercase name": [*REQUEST, ("User-Agent", "x")],
    "space in name": [*REQUEST, ("user agent", "x")],
    "colon inside name": [*REQUEST, ("a:b", "x")],
    "connection": [*REQUEST, ("connection", "keep-alive")],
    "transfer-encoding": [*REQUEST, ("transfer-encoding", "chunked")],
    "upgrade": [*REQUEST, ("upgrade", "h2c")],
    "keep-alive": [*REQUEST, ("keep-alive", "5")],
    "proxy-connection": [*REQUEST, ("proxy-connection", "close")],
    "te gzip": [*REQUEST, ("te", "gzip")],
    "value with CR LF": [*REQUEST, ("x", "a\r\nb")],
    "value with NUL": [*REQUEST, ("x", "a\0b")],
    "value with leading space": [*REQUEST, ("x", " a")],
    "no :method": [f for f in REQUEST if f[0] != ":method"],
    "no :path": [f for f in REQUEST if f[0] != ":path"],
    "empty :path": [(n, "" if n == ":path" else v) for n, v in REQUEST],
    "no :scheme": [f for f in REQUEST if f[0] != ":scheme"],
    "unknown pseudo-header": [*REQUEST[:2], (":foo", "x"), *REQUEST[2:]],
    ":status in a request": [(":status", "200"), *REQUEST],
    "pseudo-header after a regular field": [*REQUEST[:3], ("x", "y"), REQUEST[3]],
    "repeated :method": [*REQUEST[:1], *REQUEST],
    "CONNECT with :path": [(":method", "CONNECT"), (":authority", "a"), (":path", "/")],
    "bad content-length": [*REQUEST, ("content-length", "1x")],
    "content-length without DATA": [*REQUEST, ("content-length", "5")],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_requests_are_stream_errors(name: str) -> None:
    client = FrameClient()
    events = client.send(client.headers(1, MALFORMED[name]))
    assert not any(isinstance(event, RequestReceived) for event in events)
    assert client.resets() == {1: ErrorCode.PROTOCOL_ERROR}
    # The same connection serves the next request.
    assert isinstance(client.send(client.headers(3))[0], RequestReceived)


def test_te_trailers_and_connect_are_well_formed() -> None:
    client = FrameClient()
    events = client.send(
        client.headers(1, [*REQUEST, ("te", "trailers")]),
        client.headers(3, [(":method", "CONNECT"), (":authority", "a:443")]),
    )
    assert [type(event).__name__ for event in events[::2]] == ["RequestReceived"] * 2


def test_body_trailers_and_content_length() -> None:
    client = FrameClient()
    events = client.send(
        client.headers(1, [*REQUEST, ("content-length", "5")], end_stream=False),
        f.DataFrame(1, b"hel"),
        f.DataFrame(1, b"lo", padding_length=4),
        client.headers(1, [("x-checksum", "1")], end_stream=True),
    )
    assert [type(event).__name__ for event in events] == [
        "RequestReceived",
        "DataReceived",
        "DataReceived",
        "TrailersReceived",
        "StreamEnded",
    ]
    assert events[2] == DataReceived(1, b"lo", 6, end_stream=False)
    assert events[3] == TrailersReceived(1, (("x-checksum", "1"),))


@pytest.mark.parametrize(
    "frames",
    [
        [f.DataFrame(1, b"toolong", end_stream=True)],
        [f.DataFrame(1, b"shrt", end_stream=True)],
    ],
)
def test_data_that_contradicts_content_length_is_malformed(frames) -> None:
    client = FrameClient()
    client.send(client.headers(1, [*REQUEST, ("content-length", "5")], end_stream=False), *frames)
    assert client.resets() == {1: ErrorCode.PROTOCOL_ERROR}


def test_trailers_with_pseudo_headers_or_without_end_stream_are_malformed() -> None:
    client = FrameClient()
    client.send(
        client.headers(1, end_stream=False), client.headers(1, [(":path", "/")], end_stream=True)
    )
    assert client.resets() == {1: ErrorCode.PROTOCOL_ERROR}
    client.send(
        client.headers(3, end_stream=False), client.headers(3, [("x", "y")], end_stream=False)
    )
    assert client.resets() == {3: ErrorCode.PROTOCOL_ERROR}


def test_goaway_is_graceful_in_flight_streams_finish() -> None:
    client = FrameClient()
    client.send(client.headers(1), client.headers(3))
    client.server.close()
    (goaway,) = client.read()
    assert goaway == f.GoAwayFrame(3, ErrorCode.NO_ERROR)
    # A stream opened after our GOAWAY is ignored, body included; the two before it are answered.
    assert client.send(client.headers(5, end_stream=False), f.DataFrame(5, b"x")) == []
    assert not client.server.is_finished
    for stream_id in (1, 3):
        client.server.send_response(stream_id, [(":status", "200")])
        client.server.send_data(stream_id, b"body", end_stream=True)
    frames = client.read()
    assert [(type(x).__name__, x.stream_id) for x in frames] == [
        ("HeadersFrame", 1),
        ("HeadersFrame", 3),
        ("DataFrame", 1),
        ("DataFrame", 3),
    ]
    assert client.server.is_finished


def test_a_goaway_from_the_client_is_reported() -> None:
    client = FrameClient()
    events = client.send(f.GoAwayFrame(0, ErrorCode.NO_ERROR, b"bye"))
    assert client.server.goaway_received == events[0]
    assert client.server.is_finished


def test_trailers_follow_the_queued_body_or_the_head() -> None:
    client = FrameClient()
    client.send(client.headers(1), client.headers(3))
    client.server.send_response(1, [(":status", "200")])
    client.server.send_data(1, b"abc")
    client.server.send_trailers(1, [("x-done", "1")])
    client.server.send_response(3, [(":status", "200")])
    client.server.send_trailers(3, [("x-done", "3")])
    frames = client.read()
    summary = [(type(x).__name__, x.stream_id, getattr(x, "end_stream", None)) for x in frames]
    assert summary == [
        ("HeadersFrame", 1, False),
        ("HeadersFrame", 3, False),
        ("HeadersFrame", 3, True),
        ("DataFrame", 1, False),
        ("HeadersFrame", 1, True),
    ]
    blocks = [
        client.decoder.decode(x.header_block) for x in frames if isinstance(x, f.HeadersFrame)
    ]
    assert blocks[2] == [("x-done", "3")] and blocks[3] == [("x-done", "1")]
    assert not client.server.streams
