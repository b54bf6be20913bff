"""HTTP/2 requests to the http/ layer's Request, and its Response back to HTTP/2 fields and DATA.

What this module owns: the translation that lets an HTTP/2 stream be served
by the same static-file code as HTTP/1.1 (http/static.py: GET, HEAD, Range,
conditional requests, 404/403/405/416), with the same access-log fields:
- `request_from_fields`: :method, :path and :authority become the method,
  target and Host of a Request whose version is "HTTP/2.0" (so static.py
  adds no Connection field); cookie crumbs are joined (RFC 9113 section
  8.2.3);
- `response_fields`: ":status" first, names lowercased (uppercase is
  malformed in HTTP/2, section 8.2.1), HTTP/1.1's connection-specific
  fields dropped (section 8.2.2);
- `response_body`: bytes or an open file range as a scheduler.BodySource, the
  file read a slice at a time;
- `send_http_response`, which queues a Response on a stream;
- `request_line`, the access log's $request, and SERVER_PROTOCOL.

What it must never do: change http/ (it is HTTP/1.1's too), read files
whole, or touch the connection's state (the session sends what this makes).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..http.messages import FileBody, Request, Response
from .fields import CONNECTION_SPECIFIC_FIELDS
from .scheduler import BodySource, BufferedBody, FileRangeBody
from .server import ServerConnection

SERVER_PROTOCOL = "HTTP/2.0"


def request_from_fields(fields: Sequence[tuple[str, str]]) -> Request:
    """The Request for a head server.py already checked (fields.check_request)."""
    method = target = authority = ""
    headers: list[tuple[str, str]] = []
    cookies: list[str] = []
    for name, value in fields:
        if name == ":method":
            method = value
        elif name == ":path":
            target = value
        elif name == ":authority":
            authority = value
        elif name == "cookie":
            cookies.append(value)
        elif not name.startswith(":"):
            headers.append((name, value))
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    # Section 8.3.1: :authority takes the place of Host; a Host field without it stays.
    if authority:
        headers = [("host", authority), *((n, v) for n, v in headers if n != "host")]
    return Request(method, target or "/", SERVER_PROTOCOL, tuple(headers), keep_alive=True)


def request_line(request: Request) -> str:
    """The access log's $request: "GET /path HTTP/2.0"."""
    return f"{request.method} {request.target} {request.version}"


def response_fields(response: Response) -> list[tuple[str, str]]:
    fields = [(":status", str(response.status))]
    for name, value in response.headers:
        lowered = name.lower()
        if lowered not in CONNECTION_SPECIFIC_FIELDS:
            fields.append((lowered, value))
    return fields


def response_body(response: Response) -> BodySource | None:
    """What follows the head as DATA; None when the head ends the stream (HEAD, 304, empty)."""
    body = response.body
    if body is None or (isinstance(body, bytes | bytearray) and not body):
        return None
    if isinstance(body, FileBody):
        if body.length == 0:
            return None
        return FileRangeBody(body.file, body.offset, body.length)
    return BufferedBody(bytes(body), finished=True)


def send_http_response(connection: ServerConnection, stream_id: int, response: Response) -> None:
    """Queue `response` on the stream: its head, then its body as DATA as the windows allow."""
    body = response_body(response)
    connection.send_response(stream_id, response_fields(response), end_stream=body is None)
    if body is not None:
        connection.send_body(stream_id, body)
