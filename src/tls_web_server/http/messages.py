"""The shapes HTTP/1.1 requests and responses take inside the server.

What this module owns:
- `Request`, what the parser hands upward: method, target, version, the header
  fields in wire order, and whether the connection may stay open afterwards.
- `Response` and `FileBody`, what static.py hands back to the server: a
  complete list of header fields and a body that is bytes, an open file range
  (sent with sendfile or read in slices, never loaded whole), or nothing.
- `HttpError`, the one exception for "the peer sent something we refuse";
  it carries the status code to answer with.

What it must never do: parse, touch files or sockets, or read the clock.
Those belong to parser.py, static.py and the server's wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO


class HttpError(Exception):
    """The peer sent a request we must refuse; `status` is the answer to give.

    `reason` is a sentence for the log, never sent to the peer (the error
    page only names the status), so it may quote what the peer sent.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


# RFC 9110 section 15: the reason phrases we send.  Clients ignore the phrase
# (RFC 9112 section 4), so these are for people reading a trace.
REASON_PHRASES: dict[int, str] = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def split_absolute_form(target: str) -> tuple[str, str] | None:
    """Split an absolute-form target (RFC 9112 section 3.2.2) into (authority, rest).

    `rest` is the path and query, "" when the target has neither.  Returns None
    when the target is not an http or https URI.  The scheme is compared
    case-insensitively (RFC 3986 section 3.1).
    """
    prefix = target[:8].lower()
    if prefix.startswith("http://"):
        after_scheme = target[7:]
    elif prefix == "https://":
        after_scheme = target[8:]
    else:
        return None
    end = len(after_scheme)
    for delimiter in "/?#":
        position = after_scheme.find(delimiter)
        if 0 <= position < end:
            end = position
    return after_scheme[:end], after_scheme[end:]


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request head; its body (if any) was already read and discarded.

    `headers` holds (name, value) pairs in wire order, names lowercased and
    values stripped of surrounding whitespace.  `version` is "HTTP/1.0" or
    "HTTP/1.1" (a later 1.x minor version is treated as 1.1).
    """

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    keep_alive: bool

    def header(self, name: str) -> str | None:
        """The first value of the header field `name` (give it lowercase), or None."""
        for field_name, value in self.headers:
            if field_name == name:
                return value
        return None

    @property
    def host(self) -> str | None:
        """The host the client asked for, port included when it sent one.

        RFC 9112 section 3.2.2: with an absolute-form target the server must
        ignore the Host header and use the target's authority instead.
        """
        absolute = split_absolute_form(self.target)
        if absolute is not None:
            return absolute[0]
        return self.header("host")


@dataclass(slots=True)
class FileBody:
    """A byte range of an open file, to be sent without reading it into memory.

    static.py opens the file (unbuffered, read-only); whoever sends the body
    closes it, also when the connection dies half-way.
    """

    file: BinaryIO
    offset: int
    length: int


@dataclass(slots=True)
class Response:
    """A response ready to encode: status, every header field in order, and the body.

    `body` is None when no body follows the head (HEAD requests, 304), even
    though Content-Length may announce the size a GET would have had.
    `keep_alive` says whether the connection stays open after this response;
    the headers already say the same to the client.

    `encoded_head` is the head already on its way to bytes: static.py reuses
    the head of a file's plain 200 for every request in the same second, so
    the hot path does not format it again.  It always holds exactly what
    writer.encode_head would make of `status` and `headers`; whoever changes
    `headers` afterwards must set it back to None.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes | FileBody | None
    keep_alive: bool
    encoded_head: bytes | None = None

    def header(self, name: str) -> str | None:
        """The first value of header `name`, compared case-insensitively, or None."""
        wanted = name.lower()
        for field_name, value in self.headers:
            if field_name.lower() == wanted:
                return value
        return None

    @property
    def body_length(self) -> int:
        """The bytes of body that follow the head (0 for none), as the access log counts them."""
        body = self.body
        if body is None:
            return 0
        if isinstance(body, bytes):
            return len(body)
        return body.length
