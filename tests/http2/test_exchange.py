"""HTTP/2 requests served by http/static.py, the same code as HTTP/1.1, through exchange.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tls_web_server.http.messages import Response
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import respond
from tls_web_server.http2 import frames as f
from tls_web_server.http2.events import RequestReceived
from tls_web_server.http2.exchange import (
    SERVER_PROTOCOL,
    request_from_fields,
    request_line,
    response_fields,
    send_http_response,
)

from .peers import FrameClient

NOW = 1_765_000_000.0
CONTENT = bytes(range(256)) * 400  # 102,400 bytes: several DATA frames and a window update


@pytest.fixture
def site(tmp_path: Path) -> SiteSettings:
    (tmp_path / "big.bin").write_bytes(CONTENT)
    (tmp_path / "index.html").write_text("<p>hello</p>\n")
    (tmp_path / "sub").mkdir()
    return SiteSettings(("example",), (LocationSettings("/", str(tmp_path), ("index.html",)),))


def fetch(site: SiteSettings, method: str, path: str, extra=()) -> tuple[dict[str, str], bytes]:
    """One request through our server connection, answered by static.respond."""
    client = FrameClient(settings=[(f.SettingCode.INITIAL_WINDOW_SIZE, 1 << 20)])
    client.send(f.WindowUpdateFrame(0, 1 << 20))
    fields = [(":method", method), (":scheme", "https"), (":authority", "example"), (":path", path)]
    (event, *_rest) = client.send(client.headers(1, [*fields, *extra]))
    assert isinstance(event, RequestReceived)
    request = request_from_fields(event.fields)
    send_http_response(client.server, 1, respond(request, site, NOW))
    head: list[tuple[str, str]] = []
    body = bytearray()
    for frame in client.read():
        if isinstance(frame, f.HeadersFrame):
            head = client.decoder.decode(frame.header_block)
        elif isinstance(frame, f.DataFrame):
            body += frame.data
    assert 1 not in client.server.streams  # the stream ended
    return dict(head), bytes(body)


def test_get_streams_a_file(site) -> None:
    head, body = fetch(site, "GET", "/big.bin")
    assert head[":status"] == "200" and body == CONTENT
    assert head["content-length"] == str(len(CONTENT))
    assert all(name == name.lower() for name in head)
    assert "connection" not in head


def test_head_has_no_body(site) -> None:
    head, body = fetch(site, "HEAD", "/big.bin")
    assert head[":status"] == "200" and body == b""
    assert head["content-length"] == str(len(CONTENT))


def test_index_and_mime_type(site) -> None:
    head, body = fetch(site, "GET", "/")
    assert head["content-type"].startswith("text/html") and body == b"<p>hello</p>\n"


def test_range_and_conditional(site) -> None:
    head, body = fetch(site, "GET", "/big.bin", [("range", "bytes=10-19")])
    assert head[":status"] == "206" and body == CONTENT[10:20]
    assert head["content-range"] == f"bytes 10-19/{len(CONTENT)}"
    etag = fetch(site, "GET", "/big.bin")[0]["etag"]
    head, body = fetch(site, "GET", "/big.bin", [("if-none-match", etag)])
    assert head[":status"] == "304" and body == b""
    head, _ = fetch(site, "GET", "/big.bin", [("range", "bytes=999999-")])
    assert head[":status"] == "416"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/missing", "404"), ("POST", "/big.bin", "405"), ("GET", "/%2e%2e/etc/passwd", "400")],
)
def test_refusals(site, method: str, path: str, status: str) -> None:
    head, body = fetch(site, method, path)
    assert head[":status"] == status
    assert body.startswith(b"<!DOCTYPE html>")


def test_request_translation() -> None:
    request = request_from_fields(
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example:8443"),
            (":path", "/a?b"),
            ("host", "other"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
        ]
    )
    assert (request.method, request.target, request.version) == ("GET", "/a?b", SERVER_PROTOCOL)
    assert request.host == "example:8443"
    assert request.header("cookie") == "a=1; b=2"
    assert request_line(request) == "GET /a?b HTTP/2.0"


def test_response_translation_drops_connection_fields() -> None:
    response = Response(
        200,
        [("Content-Type", "text/plain"), ("Connection", "close"), ("Keep-Alive", "5")],
        b"",
        True,
    )
    assert response_fields(response) == [(":status", "200"), ("content-type", "text/plain")]
