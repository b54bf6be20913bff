"""http2/annotate.py: the trace's account of HTTP/2 frames, checked against what was sent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.http2 import frames as f
from tls_web_server.http2.annotate import Http2Annotator
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.hpack import Encoder
from tls_web_server.http2.server import ServerConnection

REQUEST = [
    (":method", "GET"),
    (":scheme", "https"),
    (":authority", "localhost"),
    (":path", "/"),
    ("user-agent", "learner/1"),
]


def conversation() -> tuple[bytes, bytes, bytes, bytes, int]:
    """Client preface + request twice (the second reuses the dynamic table), server answers."""
    client, server = ClientConnection(), ServerConnection()
    client.initiate()
    server.initiate()
    server_preface = server.data_to_send()
    first = client.send_request(REQUEST)
    second = client.send_request(REQUEST)
    client_bytes = client.data_to_send()
    server.receive_data(client_bytes)
    client.receive_data(server_preface)
    server.send_response(first, [(":status", "200"), ("content-type", "text/plain")])
    server.send_data(first, b"hello", end_stream=True)
    server.send_response(second, [(":status", "404")], end_stream=True)
    return client_bytes, server_preface, server.data_to_send(), client.data_to_send(), second


def test_frames_fields_and_where_each_field_came_from():
    client_bytes, server_preface, answers, _, second = conversation()
    annotator = Http2Annotator()
    server_lines = annotator.describe("server", server_preface)
    assert server_lines is not None
    assert server_lines[0].startswith("SETTINGS: SETTINGS_HEADER_TABLE_SIZE=4096")
    assert "SETTINGS_ENABLE_PUSH=0" in server_lines[0]
    assert "WINDOW_UPDATE stream 0: +983041 (the connection's window, now 1048576)" in server_lines
    # The client's bytes split mid-frame, as records may split them.
    lines = annotator.describe("client", client_bytes[:40])
    lines += annotator.describe("client", client_bytes[40:])
    text = "\n".join(lines)
    assert lines[0] == "connection preface: PRI * HTTP/2.0 (RFC 9113 section 3.4)"
    assert "HEADERS stream 1 [END_STREAM END_HEADERS]" in text
    assert f"HEADERS stream {second} [END_STREAM END_HEADERS]" in text
    method_lines = [line for line in lines if line.strip().startswith(":method: GET")]
    assert all(line.endswith("static table 2") for line in method_lines)
    agent_lines = [line for line in lines if line.strip().startswith("user-agent: learner/1")]
    assert "literal, name from static table 58, added to the dynamic table" in agent_lines[0]
    # The second request finds the same field in the dynamic table (index 62: the newest).
    assert agent_lines[1].endswith("dynamic table 62")
    assert "  dynamic table: 2 entries, 102 of 4096 bytes" in lines
    answer_text = "\n".join(annotator.describe("server", answers))
    assert "SETTINGS [ACK]" in answer_text
    # The client granted 65,535 per stream and (after its WINDOW_UPDATE) 1 MiB in all.
    assert (
        "DATA stream 1 [END_STREAM]: 5 bytes; windows left: stream 65530, connection 1048571"
        in answer_text
    )
    assert ":status: 404" in answer_text


def test_http_1_1_is_left_to_the_summary():
    annotator = Http2Annotator()
    assert annotator.describe("client", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is None
    assert annotator.describe("server", b"HTTP/1.1 200 OK\r\n\r\n") is None


def test_continuation_goaway_rst_and_ping_are_named():
    encoder = Encoder()
    block = encoder.encode([(":status", "200"), ("x-long", "v" * 50)])
    wire = (
        f.SettingsFrame(((f.SettingCode.MAX_FRAME_SIZE, 16384),)).encode()
        + f.HeadersFrame(1, block[:5], end_headers=False).encode()
        + f.ContinuationFrame(1, block[5:]).encode()
        + f.RstStreamFrame(3, 8).encode()
        + f.PingFrame(b"12345678").encode()
        + f.GoAwayFrame(3, 0, b"bye").encode()
    )
    text = "\n".join(Http2Annotator().describe("server", wire))
    assert "HEADERS stream 1: 5-byte field block, continued in CONTINUATION" in text
    assert "CONTINUATION stream 1 [END_HEADERS]" in text
    assert "x-long: " + "v" * 50 in text
    assert "RST_STREAM stream 3: CANCEL" in text
    assert "PING: 3132333435363738" in text
    assert "GOAWAY: last stream 3, NO_ERROR, b'bye'" in text


def test_bad_bytes_end_the_description_without_raising():
    annotator = Http2Annotator()
    # A first SETTINGS, then one whose length is not a multiple of 6 (section 6.5).
    settings_with_bad_length = bytes([0, 0, 5, 4, 0, 0, 0, 0, 0]) + bytes(5)
    lines = annotator.describe("server", f.SettingsFrame(()).encode() + settings_with_bad_length)
    assert lines is not None and lines[-1].startswith("!! not valid HTTP/2 here")
    assert annotator.describe("server", b"more") == ["4 more bytes (HTTP/2 no longer decoded)"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(max_size=64), max_size=8),
    st.sampled_from(["client", "server"]),
)
def test_any_bytes_are_described_without_raising(pieces, sender):
    annotator = Http2Annotator()
    # Start like HTTP/2 so that the bytes after it reach the frame and HPACK decoders.
    first = f.CLIENT_PREFACE if sender == "client" else f.SettingsFrame(()).encode()
    lines = annotator.describe(sender, first)
    assert lines is not None
    for piece in pieces:
        described = annotator.describe(sender, piece)
        assert described is None or all(isinstance(line, str) for line in described)


def test_headers_with_random_hpack_blocks_are_described_without_raising():
    import random

    generator = random.Random(7)  # a fixed seed: the same blocks every run
    for _ in range(300):
        annotator = Http2Annotator()
        annotator.describe("server", f.SettingsFrame(()).encode())
        block = bytes(generator.getrandbits(8) for _ in range(generator.randrange(1, 40)))
        lines = annotator.describe("server", f.HeadersFrame(1, block).encode())
        assert lines and lines[0].startswith("HEADERS stream 1")
