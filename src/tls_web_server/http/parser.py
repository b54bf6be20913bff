"""An incremental, sans-IO HTTP/1.1 request parser (RFC 9112).

What this module owns: turning a stream of plaintext bytes, cut anywhere,
into `Request` objects, one per request, in order (the grammar pieces it
applies live in syntax.py).  It enforces the message
syntax and the size limits, and reads request bodies only to throw them away
(a static file server has no use for them, but must still find where the
next pipelined request starts).

What it must never do: touch a socket, a file or the clock, know whether TLS
is below it, or decide how to answer a valid request.  Anything the peer
gets wrong surfaces as `HttpError` carrying the status to answer; after one,
the parser is dead and the caller answers and closes.

Usage:

    parser.feed(chunk)
    while (request := parser.next_request()) is not None:
        ...answer it...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from .messages import HttpError, Request
from .syntax import (
    COMMON_FIELD_LINE,
    COMMON_HEAD,
    check_host,
    comma_list,
    is_field_value,
    is_token,
    merge_content_length,
    parse_version,
    split_field_line,
)


@dataclass(frozen=True)
class HttpLimits:
    """Size limits on what a peer may send, each refused with its own status.

    The defaults follow common practice: 8 KiB request lines and 32 KiB of
    header fields (nginx's large_client_header_buffers is 4 x 8k), 100 fields
    (Apache's LimitRequestFields), 1 MiB bodies (nginx's client_max_body_size).
    """

    max_request_line: int = 8192  # longer: 414 URI Too Long
    max_header_bytes: int = 32768  # whole header section; more: 431
    max_header_count: int = 100  # more fields: 431
    max_body_size: int = 1 << 20  # larger body: 413 Content Too Large; 0 means unlimited


# A chunk-size line is a hex number plus optional extensions; nothing legitimate
# comes near 4 KiB, and without a cap a peer could make us buffer forever.
MAX_CHUNK_LINE = 4096

# A chunk size longer than this is larger than any body we would accept, and
# converting it would only invite int() to work hard on peer input.
_MAX_HEX_DIGITS = 15
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# Once this much consumed data sits at the front of the buffer, drop it.
_COMPACT_THRESHOLD = 65536

# Fields that change how the request is framed or whether the connection stays.
_FRAMING_FIELDS = frozenset(("host", "connection", "content-length", "transfer-encoding"))


class _Phase(Enum):
    """What the bytes at the front of the buffer are."""

    HEAD = "head"  # a request line and header fields (or the empty lines before them)
    LENGTH_BODY = "length body"  # a body framed by Content-Length
    CHUNK_SIZE = "chunk size"  # a chunk-size line with optional extensions
    CHUNK_DATA = "chunk data"  # the data of one chunk
    CHUNK_DATA_END = "chunk data end"  # the CRLF after a chunk's data
    TRAILERS = "trailers"  # trailer fields after the last chunk, up to an empty line


class RequestParser:
    """Feed it bytes as they arrive; take complete requests out with `next_request`.

    The receive buffer is a bytearray with an offset of what is consumed, and
    every search remembers where it stopped, so a request trickled in one
    byte at a time costs linear time, not quadratic.
    """

    def __init__(self, limits: HttpLimits = HttpLimits()) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._start = 0  # bytes before this index are consumed
        # Where the search for the end of the head resumes: bytes before it
        # were already searched and cannot start the terminator.
        self._head_scan_from = 0
        # Where the search for the next LF resumes (request line, chunk lines, trailers).
        self._line_scan_from = 0
        self._phase = _Phase.HEAD
        self._pending: Request | None = None  # parsed head whose body is being discarded
        self._body_remaining = 0  # of a Content-Length body or of the current chunk
        self._body_total = 0  # chunk sizes so far, for the body size limit
        self._trailer_bytes = 0
        self._trailer_count = 0
        self._error: HttpError | None = None

    @property
    def state(self) -> str:
        """Where the parser is: "idle" (nothing buffered), "head" (part of a head) or "body"."""
        if self._phase is not _Phase.HEAD:
            return "body"
        return "head" if len(self._buffer) > self._start else "idle"

    def feed(self, data: bytes) -> None:
        """Append received bytes; nothing is parsed until `next_request`."""
        if self._error is None:
            self._buffer.extend(data)

    def next_request(self) -> Request | None:
        """The next complete request, or None when more bytes are needed.

        Raises HttpError when the peer broke the protocol or a limit; every
        later call raises the same error again.
        """
        if self._error is not None:
            raise self._error
        if self._start == len(self._buffer) and self._phase is _Phase.HEAD:
            return None  # nothing buffered: the usual answer once a batch is served
        try:
            request = self._advance()
        except HttpError as error:
            self._error = error
            self._buffer.clear()
            self._start = 0
            self._phase = _Phase.HEAD
            raise
        self._compact()
        return request

    # -- the phases ---------------------------------------------------------

    def _advance(self) -> Request | None:
        while True:
            phase = self._phase
            if phase is _Phase.HEAD:
                request = self._parse_head()
                if request is None or self._phase is _Phase.HEAD:
                    return request  # need more bytes, or a request without a body
                self._pending = request
            elif phase is _Phase.LENGTH_BODY or phase is _Phase.CHUNK_DATA:
                if not self._discard_body_bytes():
                    return None
                if phase is _Phase.LENGTH_BODY:
                    return self._finish_body()
                self._phase = _Phase.CHUNK_DATA_END
            elif phase is _Phase.CHUNK_SIZE:
                line = self._take_line(MAX_CHUNK_LINE, 400, "chunk-size line too long")
                if line is None:
                    return None
                self._start_chunk(line)
            elif phase is _Phase.CHUNK_DATA_END:
                if not self._take_chunk_data_end():
                    return None
                self._phase = _Phase.CHUNK_SIZE
            else:
                budget = self._limits.max_header_bytes - self._trailer_bytes
                line = self._take_line(budget, 431, "trailer section too large")
                if line is None:
                    return None
                if not line:
                    return self._finish_body()
                self._take_trailer_field(line)

    def _parse_head(self) -> Request | None:
        buffer = self._buffer
        start = self._start
        if start == len(buffer):
            return None  # nothing buffered (the common case after each request)
        if buffer[start] == 0x0A or buffer[start] == 0x0D:
            self._skip_empty_lines()
            start = self._start
        head_end = self._find_head_end()
        if head_end < 0:
            self._check_incomplete_head()
            return None
        # The request line ends at the first LF (its CR, if any, is stripped below).
        request_line_end = buffer.find(b"\n", start, head_end)
        if request_line_end - start - (buffer[request_line_end - 1] == 0x0D) > (
            self._limits.max_request_line
        ):
            raise HttpError(414, "request line too long")
        if head_end - request_line_end - 1 > self._limits.max_header_bytes:
            raise HttpError(431, "header section too large")
        # Latin-1 maps every byte to one character, so decoding cannot fail and
        # obs-text in field values survives; the request line is checked to be ASCII.
        text = buffer[start:head_end].decode("latin-1")
        self._start = head_end
        self._head_scan_from = head_end
        self._line_scan_from = head_end
        return self._build_request(text)

    def _skip_empty_lines(self) -> None:
        # RFC 9112 section 2.2: a server should ignore at least one empty line
        # (CRLF) received before the request line.  Old clients send one after
        # a POST body.  A CR not followed by LF is left for the request-line check.
        buffer = self._buffer
        start = self._start
        end = len(buffer)
        while start < end:
            byte = buffer[start]
            if byte == 0x0A:
                start += 1
            elif byte == 0x0D and start + 1 < end and buffer[start + 1] == 0x0A:
                start += 2
            else:
                break
        self._start = start

    def _find_head_end(self) -> int:
        """Index just past the empty line that ends the head, or -1 if not buffered yet."""
        buffer = self._buffer
        search_from = max(self._start, self._head_scan_from)
        # RFC 9112 section 2.2 lets a recipient accept a bare LF as a line
        # terminator, so the head ends at LF [CR] LF.  "\r\n\r\n" contains
        # "\n\r\n", the usual case; a bare-LF "\n\n" can only win if it comes first.
        crlf_end = buffer.find(b"\n\r\n", search_from)
        bare_end = buffer.find(b"\n\n", search_from, crlf_end + 1 if crlf_end >= 0 else len(buffer))
        if bare_end >= 0:
            return bare_end + 2
        if crlf_end >= 0:
            return crlf_end + 3
        # A terminator may straddle this chunk and the next: keep the last two bytes.
        self._head_scan_from = max(self._start, len(buffer) - 2)
        return -1

    def _check_incomplete_head(self) -> None:
        """Refuse a head that is already over a limit before its end arrives."""
        buffer = self._buffer
        start = self._start
        limits = self._limits
        line_end = buffer.find(b"\n", max(start, self._line_scan_from))
        if line_end < 0:
            self._line_scan_from = len(buffer)
            # +1: a CR before the LF still to come is not part of the line.
            if len(buffer) - start > limits.max_request_line + 1:
                raise HttpError(414, "request line too long")
            return
        self._line_scan_from = line_end  # found: the next search finds it at once
        if line_end - start - (buffer[line_end - 1] == 0x0D) > limits.max_request_line:
            raise HttpError(414, "request line too long")
        if len(buffer) - line_end - 1 > limits.max_header_bytes:
            raise HttpError(431, "header section too large")

    def _build_request(self, text: str) -> Request:
        common = COMMON_HEAD.fullmatch(text)
        if common is not None:
            method, target, minor_version, field_block = common.groups()
            fields = COMMON_FIELD_LINE.findall(field_block)
            if len(fields) > self._limits.max_header_count:
                raise HttpError(431, "too many header fields")
            version = "HTTP/1.1" if minor_version == "1" else "HTTP/1.0"
            # RFC 9112 section 5.1: OWS around the value is not part of it.
            return self._finish_head(
                method,
                target,
                version,
                [(name.lower(), value.rstrip(" \t")) for name, value in fields],
            )

        if text.count("\n") == text.count("\r\n"):
            lines = text[:-4].split("\r\n")  # CRLF everywhere
        else:
            lines = [line.removesuffix("\r") for line in text.split("\n")[:-2]]
        if len(lines) - 1 > self._limits.max_header_count:
            raise HttpError(431, "too many header fields")

        # RFC 9112 section 3: request-line = method SP request-target SP HTTP-version.
        # We split on single spaces only (no lenient whitespace parsing), which
        # also keeps spaces out of the target.
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise HttpError(400, f"malformed request line {lines[0][:80]!r}")
        method, target, version = parts
        if version != "HTTP/1.1" and version != "HTTP/1.0":
            version = parse_version(version)
        # RFC 9112 section 3.1: method = token.
        if not is_token(method):
            raise HttpError(400, f"invalid method {method[:40]!r}")
        # RFC 9112 section 3.2: the request-target is URI syntax, so ASCII and
        # without control characters (NUL included); section 3.2 also warns
        # against "fixing" an invalid one, which could bypass security filters.
        if not target or not target.isascii() or not target.isprintable():
            raise HttpError(400, "invalid characters in request target")
        # A generator: each line is checked just before its framing meaning is
        # read, so the first problem in wire order is the one reported.
        return self._finish_head(
            method, target, version, (split_field_line(line) for line in lines[1:])
        )

    def _finish_head(
        self, method: str, target: str, version: str, fields: Iterable[tuple[str, str]]
    ) -> Request:
        """The Request from checked parts; reads the framing fields and starts the body."""
        headers: list[tuple[str, str]] = []
        content_length: int | None = None
        transfer_codings: list[str] | None = None
        hosts: list[str] = []
        connection_options: list[str] = []
        for name, value in fields:
            headers.append((name, value))
            if name not in _FRAMING_FIELDS:
                continue
            if name == "host":
                hosts.append(value)
            elif name == "connection":
                connection_options += [option.lower() for option in comma_list(value)]
            elif name == "content-length":
                content_length = merge_content_length(content_length, value)
            elif name == "transfer-encoding":
                codings = [coding.lower() for coding in comma_list(value)]
                transfer_codings = (transfer_codings or []) + codings

        check_host(version, hosts)
        if version == "HTTP/1.1":
            # RFC 9112 section 9.3: HTTP/1.1 connections persist unless "close" is sent.
            keep_alive = "close" not in connection_options
        else:
            # RFC 9112 section 9.3 and appendix C.2.2: a 1.0 client asks to keep
            # the connection with "Connection: keep-alive".
            keep_alive = "keep-alive" in connection_options and "close" not in connection_options
        request = Request(method, target, version, tuple(headers), keep_alive)

        if transfer_codings is not None:
            self._start_chunked_body(version, transfer_codings, content_length)
        elif content_length:
            limit = self._limits.max_body_size
            if limit and content_length > limit:
                raise HttpError(413, f"Content-Length {content_length} over the limit {limit}")
            self._body_remaining = content_length
            self._phase = _Phase.LENGTH_BODY
        return request

    def _start_chunked_body(
        self, version: str, codings: list[str], content_length: int | None
    ) -> None:
        # RFC 9112 section 6.1: Transfer-Encoding in a 1.0 request means faulty
        # framing; section 6.3 (and 11.2, request smuggling): with Content-Length
        # as well, the framing is ambiguous.  Both are refused outright.
        if version == "HTTP/1.0":
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if content_length is not None:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        # RFC 9112 section 6.3: if chunked is not the final coding of a request,
        # its length cannot be determined, and the server must answer 400.
        if not codings or codings[-1] != "chunked":
            raise HttpError(400, "chunked is not the final transfer coding")
        # RFC 9112 section 7: chunked must not be applied more than once.
        if "chunked" in codings[:-1]:
            raise HttpError(400, "chunked transfer coding applied twice")
        # RFC 9112 section 6.1: a transfer coding we do not understand is 501.
        if len(codings) > 1:
            raise HttpError(501, f"unsupported transfer coding {codings[0][:40]!r}")
        self._body_total = 0
        self._trailer_bytes = 0
        self._trailer_count = 0
        self._phase = _Phase.CHUNK_SIZE

    # -- bodies -------------------------------------------------------------

    def _discard_body_bytes(self) -> bool:
        """Drop buffered body bytes; True once the current body or chunk is done."""
        available = len(self._buffer) - self._start
        taken = min(available, self._body_remaining)
        self._start += taken
        self._body_remaining -= taken
        return self._body_remaining == 0

    def _finish_body(self) -> Request:
        request = self._pending
        if request is None:  # pragma: no cover - the phases make this impossible
            raise RuntimeError("a body ended without a request head")
        self._pending = None
        self._phase = _Phase.HEAD
        self._head_scan_from = self._start
        self._line_scan_from = self._start
        return request

    def _take_line(self, limit: int, status: int, reason: str) -> bytes | None:
        """The next line without its CRLF (or bare LF), or None until it is complete."""
        buffer = self._buffer
        start = self._start
        line_end = buffer.find(b"\n", max(start, self._line_scan_from))
        if line_end < 0:
            self._line_scan_from = len(buffer)
            if len(buffer) - start > limit + 1:
                raise HttpError(status, reason)
            return None
        line = bytes(buffer[start:line_end])
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > limit:
            raise HttpError(status, reason)
        self._start = line_end + 1
        self._line_scan_from = self._start
        return line

    def _start_chunk(self, line: bytes) -> None:
        # RFC 9112 section 7.1:
        #   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
        #   chunk-size = 1*HEXDIG
        #   chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
        # Section 7.1.1: unrecognised extensions are ignored, and we recognise
        # none; we only make sure they hide no control characters.
        text = line.decode("latin-1")
        size_text, semicolon, extensions = text.partition(";")
        if semicolon:
            size_text = size_text.rstrip(" \t")  # the BWS before ";"
            if not is_field_value(extensions):
                raise HttpError(400, "control character in chunk extension")
        if not size_text or not _HEX_DIGITS.issuperset(size_text):
            raise HttpError(400, f"invalid chunk size {size_text[:20]!r}")
        significant = size_text.lstrip("0")
        limit = self._limits.max_body_size
        if len(significant) > _MAX_HEX_DIGITS:
            raise HttpError(413 if limit else 400, "absurd chunk size")
        size = int(significant or "0", 16)
        self._body_total += size
        if limit and self._body_total > limit:
            raise HttpError(413, f"chunked body over the limit {limit}")
        if size == 0:
            # RFC 9112 section 7.1: last-chunk, then trailer-section and CRLF.
            self._phase = _Phase.TRAILERS
        else:
            self._body_remaining = size
            self._phase = _Phase.CHUNK_DATA

    def _take_chunk_data_end(self) -> bool:
        """Consume the CRLF (or bare LF) after chunk data; False until it is buffered."""
        buffer = self._buffer
        start = self._start
        available = len(buffer) - start
        if available == 0:
            return False
        if buffer[start] == 0x0A:
            self._start = start + 1
            return True
        if buffer[start] != 0x0D:
            raise HttpError(400, "chunk data longer than its chunk size")
        if available == 1:
            return False
        if buffer[start + 1] != 0x0A:
            raise HttpError(400, "chunk data not followed by CRLF")
        self._start = start + 2
        return True

    def _take_trailer_field(self, line: bytes) -> None:
        # RFC 9112 section 7.1.2: trailer fields have the header field syntax.
        # We have no use for them (section 7.1.2 allows discarding), so they
        # are checked and dropped, within the header limits.
        split_field_line(line.decode("latin-1"))
        self._trailer_bytes += len(line) + 2
        self._trailer_count += 1
        if self._trailer_count > self._limits.max_header_count:
            raise HttpError(431, "too many trailer fields")

    def _compact(self) -> None:
        """Forget consumed bytes: at once when all are consumed, else in large steps."""
        start = self._start
        if start == 0:
            return
        buffer = self._buffer
        if start == len(buffer):
            # Everything consumed (after nearly every request): start afresh.
            buffer.clear()
            self._start = self._head_scan_from = self._line_scan_from = 0
            return
        if start >= _COMPACT_THRESHOLD and start * 2 >= len(buffer):
            # Moving the remainder costs less than what was consumed: amortised linear.
            del buffer[:start]
        else:
            return
        self._start = 0
        self._head_scan_from = max(0, self._head_scan_from - start)
        self._line_scan_from = max(0, self._line_scan_from - start)
