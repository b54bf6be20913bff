"""The client side against a server written frame by frame."""

from __future__ import annotations

import os

import pytest

from tls_web_server.http2 import frames as f
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.events import (
    ConnectionFailed,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from tls_web_server.http2.hpack import Encoder
from tls_web_server.http2.scheduler import FileRangeBody
from tls_web_server.http2.streams import InvalidTransition

from .peers import REQUEST, FrameClient


class FrameServer:
    def __init__(self, settings=()) -> None:
        self.client = ClientConnection()
        self.client.initiate()
        self.encoder = Encoder()
        self.sent = self.client.data_to_send()
        self.events = self.send(f.SettingsFrame(tuple(settings)), f.SettingsFrame(ack=True))

    def send(self, *frames: f.Frame):
        return self.client.receive_data(b"".join(frame.encode() for frame in frames))

    def headers(self, stream_id: int, fields, end_stream: bool = False) -> f.HeadersFrame:
        return f.HeadersFrame(stream_id, self.encoder.encode(fields), end_stream=end_stream)

    def resets(self) -> dict[int, int]:
        reader = f.FrameReader()
        reader.feed(self.client.data_to_send())
        out = {}
        while (received := reader.next_frame()) is not None:
            if isinstance(received.frame, f.RstStreamFrame):
                out[received.frame.stream_id] = received.frame.error_code
        return out


def last_failure(events) -> int | None:
    return events[-1].error_code if events and isinstance(events[-1], ConnectionFailed) else None


def test_the_client_preface_disables_push() -> None:
    server = FrameServer()
    assert server.sent.startswith(f.CLIENT_PREFACE)
    reader = f.FrameReader()
    reader.feed(server.sent[len(f.CLIENT_PREFACE) :])
    first = reader.next_frame()
    assert first is not None and isinstance(first.frame, f.SettingsFrame)
    assert dict(first.frame.settings)[f.SettingCode.ENABLE_PUSH] == 0


def test_streams_are_odd_and_increasing() -> None:
    server = FrameServer()
    assert [server.client.send_request(REQUEST) for _ in range(3)] == [1, 3, 5]


def test_push_is_refused() -> None:
    server = FrameServer()
    server.client.send_request(REQUEST)
    assert last_failure(server.send(f.PushPromiseFrame(1, 2, b"\x82"))) == ErrorCode.PROTOCOL_ERROR
    server = FrameServer()
    assert last_failure(server.send(f.SettingsFrame(((f.SettingCode.ENABLE_PUSH, 1),)))) == (
        ErrorCode.PROTOCOL_ERROR
    )
    server = FrameServer()
    assert last_failure(server.send(server.headers(2, [(":status", "200")]))) == (
        ErrorCode.PROTOCOL_ERROR
    )


def test_informational_then_final_response() -> None:
    server = FrameServer()
    server.client.send_request(REQUEST)
    events = server.send(
        server.headers(1, [(":status", "103"), ("link", "</a.css>")]),
        server.headers(1, [(":status", "200")], end_stream=True),
    )
    assert events == [
        ResponseReceived(1, ((":status", "103"), ("link", "</a.css>")), False, informational=True),
        ResponseReceived(1, ((":status", "200"),), True),
        StreamEnded(1),
    ]


@pytest.mark.parametrize(
    "frames",
    [
        [f.DataFrame(1, b"before the head")],
        [("head", [("content-type", "text/plain")])],
        [("head", [(":status", "2000")])],
        [("head", [(":status", "200"), (":path", "/")])],
        [("head", [(":status", "100")], True)],
    ],
)
def test_malformed_responses_reset_the_stream(frames) -> None:
    server = FrameServer()
    server.client.send_request(REQUEST)
    built = [
        frame if isinstance(frame, f.DataFrame) else server.headers(1, *frame[1:])
        for frame in frames
    ]
    events = server.send(*built)
    assert StreamReset in {type(event) for event in events}
    assert server.resets() == {1: ErrorCode.PROTOCOL_ERROR}


def test_trailers_end_the_response_and_must_match_its_content_length() -> None:
    server = FrameServer()
    server.client.send_request(REQUEST)
    events = server.send(
        server.headers(1, [(":status", "200"), ("content-length", "5")]),
        f.DataFrame(1, b"hello"),
        server.headers(1, [("x-checksum", "1")], end_stream=True),
    )
    assert [type(event).__name__ for event in events] == [
        "ResponseReceived",
        "DataReceived",
        "TrailersReceived",
        "StreamEnded",
    ]
    # Five bytes announced, three sent, then trailers: malformed (RFC 9113 section 8.1.1).
    server = FrameServer()
    server.client.send_request(REQUEST)
    events = server.send(
        server.headers(1, [(":status", "200"), ("content-length", "5")]),
        f.DataFrame(1, b"hel"),
        server.headers(1, [("x-checksum", "1")], end_stream=True),
    )
    assert "TrailersReceived" not in [type(event).__name__ for event in events]
    assert server.resets() == {1: ErrorCode.PROTOCOL_ERROR}


def test_goaway_refuses_the_streams_it_did_not_process() -> None:
    server = FrameServer()
    for _ in range(3):
        server.client.send_request(REQUEST)
    events = server.send(f.GoAwayFrame(1, ErrorCode.NO_ERROR))
    assert [(e.stream_id, e.error_code) for e in events if isinstance(e, StreamReset)] == [
        (3, ErrorCode.REFUSED_STREAM),
        (5, ErrorCode.REFUSED_STREAM),
    ]
    assert not server.client.can_open_stream
    with pytest.raises(InvalidTransition):
        server.client.send_request(REQUEST)
    server.send(server.headers(1, [(":status", "204")], end_stream=True))
    assert not server.client.is_finished  # our requests are still queued for the socket
    server.client.data_to_send()
    assert server.client.is_finished


def test_the_servers_concurrency_limit_is_respected() -> None:
    server = FrameServer(settings=[(f.SettingCode.MAX_CONCURRENT_STREAMS, 1)])
    server.client.send_request(REQUEST)
    assert not server.client.can_open_stream
    server.send(server.headers(1, [(":status", "204")], end_stream=True))
    assert server.client.can_open_stream


def test_a_file_range_body_is_read_in_slices_and_a_short_file_resets_the_stream(tmp_path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(200)))
    with open(path, "rb") as file:
        body = FileRangeBody(file, 50, 100)
        assert body.read(30) == (bytes(range(50, 80)), False)
        assert body.read(1000) == (bytes(range(80, 150)), True)
        assert file.tell() == 0  # never seeked: the descriptor may be shared
    client = FrameClient()
    client.send(client.headers(1))
    with open(path, "rb") as file:
        client.server.send_response(1, [(":status", "200")])
        client.server.send_body(1, FileRangeBody(file, 150, 100))  # 50 bytes short
        frames = client.read()
    assert [type(x).__name__ for x in frames] == ["HeadersFrame", "DataFrame", "RstStreamFrame"]
    assert frames[1].data == bytes(range(150, 200)) and not frames[1].end_stream
    assert frames[2].error_code == ErrorCode.INTERNAL_ERROR
    assert os.path.getsize(path) == 200
