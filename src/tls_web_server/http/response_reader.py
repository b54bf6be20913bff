"""Reading an HTTP/1.1 response, for our own clients (`tls-web-server get`, the demo, tests).

Sans-IO like parser.py: feed bytes, ask whether the response is complete.
It understands what a static server sends and what real servers send to a
simple client: Content-Length, chunked bodies, bodies delimited by the close
of the connection (RFC 9112 section 6.3, rule 8), interim 1xx responses, and
responses that never have a body (HEAD, 1xx, 204, 304).

It keeps its own limits (a response head over 64 KiB or a body over
`max_body_size` is refused) because a client must not trust servers either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tls_web_server.http.messages import HttpError

MAX_HEAD_BYTES = 64 * 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"


def _is_decimal(text: str) -> bool:
    # str.isdigit() alone also accepts "²" and other non-ASCII digits, which int() refuses.
    return text.isascii() and text.isdigit()


def _is_status_code(text: str) -> bool:
    return len(text) == 3 and _is_decimal(text)  # status-code = 3DIGIT (RFC 9112 section 4)


@dataclass
class HttpResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for field_name, value in self.headers:
            if field_name.lower() == name:
                return value
        return None

    def head_text(self) -> str:
        lines = [f"{self.version} {self.status} {self.reason}".rstrip()]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return "\r\n".join(lines) + "\r\n\r\n"


class ResponseReader:
    """Reads one response to a request made with `request_method`."""

    def __init__(self, request_method: str = "GET", max_body_size: int = 1 << 30) -> None:
        self._request_method = request_method.upper()
        self._max_body_size = max_body_size
        self._buffer = bytearray()
        self._response: HttpResponse | None = None
        self._body = bytearray()
        self._mode = (
            "head"  # head, length, chunk-size, chunk-data, chunk-crlf, trailers, until-close, done
        )
        self._remaining = 0

    @property
    def complete(self) -> bool:
        return self._mode == "done"

    @property
    def response(self) -> HttpResponse:
        if self._response is None or self._mode != "done":
            raise HttpError(502, "the response is not complete")
        self._response.body = bytes(self._body)
        return self._response

    def feed(self, data: bytes) -> None:
        self._buffer += data
        self._advance()

    def feed_eof(self) -> None:
        """The server closed the connection: that ends a body without a length."""
        if self._mode == "until-close":
            self._mode = "done"
        elif self._mode != "done":
            raise HttpError(502, "the connection closed before the response was complete")

    def _advance(self) -> None:
        while self._mode != "done":
            before = (self._mode, len(self._buffer))
            if self._mode == "head":
                self._read_head()
            elif self._mode == "length":
                take = min(self._remaining, len(self._buffer))
                self._take_body(take)
                self._remaining -= take
                if not self._remaining:
                    self._mode = "done"
            elif self._mode == "chunk-size":
                self._read_chunk_size()
            elif self._mode == "chunk-data":
                take = min(self._remaining, len(self._buffer))
                self._take_body(take)
                self._remaining -= take
                if not self._remaining:
                    self._mode = "chunk-crlf"
            elif self._mode == "chunk-crlf":
                if len(self._buffer) >= 2:
                    if self._buffer[:2] != b"\r\n":
                        raise HttpError(502, "chunk not followed by CRLF")
                    del self._buffer[:2]
                    self._mode = "chunk-size"
            elif self._mode == "trailers":
                end = self._buffer.find(b"\r\n")
                if end == 0:
                    del self._buffer[:2]
                    self._mode = "done"
                elif end > 0:
                    del self._buffer[: end + 2]
            elif self._mode == "until-close":
                self._take_body(len(self._buffer))
            if (self._mode, len(self._buffer)) == before:
                return

    def _take_body(self, count: int) -> None:
        if len(self._body) + count > self._max_body_size:
            raise HttpError(502, "response body larger than this client accepts")
        self._body += self._buffer[:count]
        del self._buffer[:count]

    def _read_head(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise HttpError(502, "response head too large")
            return
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        status_line, *field_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _is_status_code(parts[1]):
            raise HttpError(502, f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(parts[1])
        headers = []
        for line in field_lines:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise HttpError(502, f"malformed response header line: {line[:80]!r}")
            headers.append((name, value.strip()))
        if 100 <= status < 200:
            return  # an interim response; the real one follows (RFC 9110 section 15.2)
        self._response = HttpResponse(parts[0], status, parts[2] if len(parts) > 2 else "", headers)
        self._choose_body_mode()

    def _choose_body_mode(self) -> None:
        response = self._response
        assert response is not None
        if self._request_method == "HEAD" or response.status in (204, 304):
            self._mode = "done"
            return
        transfer_encoding = response.header("transfer-encoding")
        content_length = response.header("content-length")
        if transfer_encoding is not None:
            if transfer_encoding.lower().split(",")[-1].strip() != "chunked":
                raise HttpError(502, f"unsupported transfer coding {transfer_encoding!r}")
            self._mode = "chunk-size"
        elif content_length is not None:
            if not _is_decimal(content_length):
                raise HttpError(502, f"bad Content-Length {content_length!r}")
            self._remaining = int(content_length)
            if self._remaining > self._max_body_size:
                raise HttpError(502, "response body larger than this client accepts")
            self._mode = "length" if self._remaining else "done"
        else:
            self._mode = "until-close"

    def _read_chunk_size(self) -> None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > 1024:
                raise HttpError(502, "chunk size line too long")
            return
        line = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
        del self._buffer[: end + 2]
        # chunk-size = 1*HEXDIG (RFC 9112 section 7.1); int() alone would also take
        # "0x10", "+5" and "1_0".
        if not line or line.strip(_HEX_DIGITS):
            raise HttpError(502, f"bad chunk size {line[:20]!r}")
        size = int(line, 16)
        if size == 0:
            self._mode = "trailers"
        else:
            self._remaining = size
            self._mode = "chunk-data"
