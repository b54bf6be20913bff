"""Issue 5: the HTTP codecs (request parser, response head writer and reader, HTTP dates).

Properties, each checked with hypothesis:
- requests built here from methods, targets, header fields and bodies parse
  back to the same `Request`, however the bytes are cut into TCP chunks;
- a valid request with one byte replaced, inserted or deleted, or cut short,
  is either refused with an `HttpError` whose status the parser documents, or
  parses into requests whose canonical encoding parses to the same requests;
  and the answer is the same in one piece or in chunks;
- response heads from the writer parse back with the response reader;
- HTTP-dates written by the writer parse back to the same second, in all
  three formats RFC 9110 section 5.6.7 names.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mutations import mutations as damaged
from tls_web_server.http.messages import REASON_PHRASES, HttpError, Request, Response
from tls_web_server.http.parser import RequestParser
from tls_web_server.http.response_reader import ResponseReader
from tls_web_server.http.writer import encode_head, format_http_date, parse_http_date

# Every status parser.py answers a bad request with: 400 (syntax and framing),
# 413 (body over the limit), 414 (request line), 431 (header section), 501
# (unknown transfer coding) and 505 (HTTP major version).
PARSER_STATUSES = frozenset({400, 413, 414, 431, 501, 505})
FRAMING_FIELDS = frozenset({"host", "connection", "content-length", "transfer-encoding"})

# --- A small request encoder and the Request it must parse to --------------------------------

TOKEN_CHARACTERS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
HOST_CHARACTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]"
)

tokens = st.text(alphabet=TOKEN_CHARACTERS, min_size=1, max_size=12)
methods = st.one_of(st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "DELETE"]), tokens)
# RFC 9112 section 3.2: the request-target is visible ASCII, no spaces.
targets = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30).map(
        lambda path: "/" + path
    ),
    st.just("*"),
    # Absolute form (RFC 9112 section 3.2.2).
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "HTTP"]),
        st.text(alphabet="abc019.-:", min_size=1, max_size=12),
        st.text(alphabet="/az09?=&", max_size=12),
    ),
)
# RFC 9110 section 5.5: field-vchar is VCHAR or obs-text, with SP and HTAB between them.
field_values = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("\t\x80\xa0\xe9\xff"),
    ),
    max_size=30,
).map(lambda value: value.strip(" \t"))
other_fields = st.lists(
    st.tuples(tokens.filter(lambda name: name.lower() not in FRAMING_FIELDS), field_values),
    max_size=6,
)
connection_values = st.sampled_from(
    ["close", "keep-alive", "Keep-Alive", "CLOSE", "upgrade", "keep-alive, Upgrade", "foo ,close"]
)


@dataclass(frozen=True)
class GeneratedRequest:
    method: str
    target: str
    version: str
    fields: tuple[tuple[str, str], ...]  # as sent: original case, framing fields included
    content: bytes  # a Content-Length body, or b""
    chunks: tuple[bytes, ...] | None  # the pieces of a chunked body, or None

    def encode(self, line_end: str = "\r\n") -> bytes:
        head = f"{self.method} {self.target} {self.version}{line_end}"
        head += "".join(f"{name}: {value}{line_end}" for name, value in self.fields)
        body = self.content if self.chunks is None else chunked(self.chunks, line_end.encode())
        return (head + line_end).encode("latin-1") + body

    def expected(self) -> Request:
        """The Request RFC 9112 says this is, worked out independently of parser.py."""
        options = [
            option.strip(" \t").lower()
            for name, value in self.fields
            if name.lower() == "connection"
            for option in value.split(",")
            if option.strip(" \t")
        ]
        if self.version == "HTTP/1.1":
            keep_alive = "close" not in options  # RFC 9112 section 9.3
        else:
            keep_alive = "keep-alive" in options and "close" not in options
        headers = tuple((name.lower(), value) for name, value in self.fields)
        return Request(self.method, self.target, self.version, headers, keep_alive)


def chunked(pieces: tuple[bytes, ...], line_end: bytes = b"\r\n") -> bytes:
    """RFC 9112 section 7.1: each chunk as hex size CRLF data CRLF, then last-chunk CRLF."""
    framed = [b"%x%s%s%s" % (len(piece), line_end, piece, line_end) for piece in pieces]
    return b"".join(framed) + b"0" + line_end + line_end


@st.composite
def generated_requests(draw: st.DrawFn) -> GeneratedRequest:
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    fields = list(draw(other_fields))
    if version == "HTTP/1.1" or draw(st.booleans()):
        host = draw(st.text(alphabet=HOST_CHARACTERS, max_size=20))
        fields.insert(
            draw(st.integers(0, len(fields))), (draw(st.sampled_from(["Host", "host"])), host)
        )
    if draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), ("Connection", draw(connection_values)))
    framing = draw(
        st.sampled_from(
            ["none", "length", "chunked"] if version == "HTTP/1.1" else ["none", "length"]
        )
    )
    content = b""
    chunks = None
    if framing == "length":
        content = draw(st.binary(max_size=40))
        fields.insert(draw(st.integers(0, len(fields))), ("Content-Length", str(len(content))))
    elif framing == "chunked":
        chunks = tuple(draw(st.lists(st.binary(min_size=1, max_size=20), max_size=3)))
        fields.insert(draw(st.integers(0, len(fields))), ("Transfer-Encoding", "chunked"))
    return GeneratedRequest(draw(methods), draw(targets), version, tuple(fields), content, chunks)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in itertools.pairwise(points)]


def outcome(chunks: list[bytes]) -> tuple[list[Request], int | None, str]:
    """(requests parsed, the refusal status or None, the parser state at the end)."""
    parser = RequestParser()
    requests: list[Request] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (request := parser.next_request()) is not None:
                requests.append(request)
    except HttpError as error:
        assert error.status in PARSER_STATUSES, error
        return requests, error.status, "dead"
    return requests, None, parser.state


cut_lists = st.lists(st.integers(0, 600), max_size=8)


@settings(max_examples=150)
@given(st.lists(generated_requests(), min_size=1, max_size=3), cut_lists)
def test_generated_requests_parse_back_the_same_in_any_chunks(
    generated: list[GeneratedRequest], cuts: list[int]
) -> None:
    stream = b"".join(request.encode() for request in generated)
    expected = [request.expected() for request in generated]
    assert outcome([stream]) == (expected, None, "idle")
    assert outcome(split(stream, cuts)) == (expected, None, "idle")


@given(generated_requests())
def test_bare_lf_line_ends_parse_to_the_same_request(generated: GeneratedRequest) -> None:
    # RFC 9112 section 2.2 (and 7.1 for chunk lines): a recipient may accept a
    # bare LF as a line terminator; ours does.
    assert outcome([generated.encode("\n")]) == ([generated.expected()], None, "idle")


def canonical(request: Request) -> bytes:
    """The one way this suite writes a parsed request: CRLF, ": ", and a filler body."""
    head = f"{request.method} {request.target} {request.version}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request.headers)
    body = b""
    if request.header("transfer-encoding") is not None:
        body = b"0\r\n\r\n"
    elif (length := request.header("content-length")) is not None:
        body = b"x" * int(length.split(",")[0].strip(" \t"))
    return (head + "\r\n").encode("latin-1") + body


# Bytes that steer the parser into its rules more often than uniform noise would.
INTERESTING_BYTES = st.one_of(st.integers(0, 255), st.sampled_from(b"\r\n :;,\t0aA\x00\x7f\xb2"))


def mutations(original: bytes) -> st.SearchStrategy[bytes]:
    return damaged(original, INTERESTING_BYTES)


@settings(max_examples=300)
@given(st.lists(generated_requests(), min_size=1, max_size=2), cut_lists, st.data())
def test_mutated_requests_are_refused_or_parse_idempotently_in_any_chunks(
    generated: list[GeneratedRequest], cuts: list[int], data: st.DataObject
) -> None:
    stream = b"".join(request.encode() for request in generated)
    mutated = data.draw(mutations(stream), label="mutated")
    whole = outcome([mutated])
    assert outcome(split(mutated, cuts)) == whole
    requests, _status, _state = whole
    for request in requests:
        # Whatever was accepted means one thing: written canonically, it parses to itself.
        assert outcome([canonical(request)]) == ([request], None, "idle")


# --- Response heads: writer -> response reader ------------------------------------------------

response_statuses = st.one_of(st.sampled_from(sorted(REASON_PHRASES)), st.integers(200, 999))
response_fields = st.lists(
    st.tuples(
        tokens.filter(lambda name: name.lower() not in ("content-length", "transfer-encoding")),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(
            lambda value: value.strip(" ")
        ),
    ),
    max_size=8,
)


@settings(max_examples=200)
@given(
    status=response_statuses.filter(lambda status: status >= 200),
    fields=response_fields,
    body=st.binary(max_size=100),
    framing=st.sampled_from(["length", "chunked", "close"]),
    cuts=cut_lists,
)
def test_response_heads_from_the_writer_read_back_with_the_same_fields(
    status: int, fields: list[tuple[str, str]], body: bytes, framing: str, cuts: list[int]
) -> None:
    headers = list(fields)
    framed_body = body
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        framed_body = chunked(tuple(body[start : start + 30] for start in range(0, len(body), 30)))
    wire = encode_head(Response(status, headers, None, keep_alive=True)) + framed_body
    reader = ResponseReader("GET")
    for chunk in split(wire, cuts):
        reader.feed(chunk)
    if framing == "close":
        reader.feed_eof()  # RFC 9112 section 6.3, rule 8: the close ends the body
    assert reader.complete
    response = reader.response
    assert (response.version, response.status) == ("HTTP/1.1", status)
    assert response.reason == REASON_PHRASES.get(status, "Unknown")
    assert response.headers == headers
    no_body = status in (204, 304)
    assert response.body == (b"" if no_body else body)


@given(status=response_statuses, fields=response_fields)
def test_a_head_response_has_no_body_whatever_it_announces(
    status: int, fields: list[tuple[str, str]]
) -> None:
    headers = [*fields, ("Content-Length", "12345")]
    reader = ResponseReader("HEAD")
    head = encode_head(Response(max(status, 200), headers, None, keep_alive=False))
    reader.feed(head)
    assert reader.complete
    assert reader.response.headers == headers
    assert reader.response.body == b""


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 2\xb200 OK\r\n\r\n",  # a superscript two: str.isdigit() says yes
        b"HTTP/1.1 2000 OK\r\n\r\n",  # status-code is three digits
        b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x10\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n",
    ],
    ids=[
        "superscript-status",
        "four-digit-status",
        "superscript-length",
        "0x",
        "plus",
        "underscore",
    ],
)
def test_numbers_only_in_their_rfc_spelling(wire: bytes) -> None:
    with pytest.raises(HttpError) as caught:
        ResponseReader("GET").feed(wire)
    assert caught.value.status == 502


@settings(max_examples=200)
@given(
    status=response_statuses.filter(lambda status: status >= 200),
    fields=response_fields,
    framing=st.sampled_from(["length", "chunked"]),
    data=st.data(),
)
def test_a_mutated_response_is_read_or_refused_with_502(
    status: int, fields: list[tuple[str, str]], framing: str, data: st.DataObject
) -> None:
    body = b"0123456789abcdef" * 3
    if framing == "length":
        head_fields = [*fields, ("Content-Length", str(len(body)))]
        wire = encode_head(Response(status, head_fields, None, keep_alive=True)) + body
    else:
        head_fields = [*fields, ("Transfer-Encoding", "chunked")]
        framed = chunked((body[:20], body[20:]))
        wire = encode_head(Response(status, head_fields, None, keep_alive=True)) + framed
    reader = ResponseReader("GET")
    try:
        reader.feed(data.draw(mutations(wire)))
        reader.feed_eof()
    except HttpError as error:
        assert error.status == 502  # a client's word for "the server's answer was broken"
    else:
        assert reader.complete


# --- HTTP-date (RFC 9110 section 5.6.7) ------------------------------------------------------

# Year 1970 to 9999: the IMF-fixdate has four digits of year.
seconds = st.integers(0, 253402300799)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@given(seconds)
def test_imf_fixdate_round_trips(second: int) -> None:
    text = format_http_date(second)
    assert len(text) == 29
    assert parse_http_date(text) == second
    assert parse_http_date(f"  {text}\t") == second


@given(st.integers(0, 2524607999))  # 1970 to 2049: the two-digit years RFC 850 can name
def test_the_obsolete_formats_name_the_same_second(second: int) -> None:
    imf = format_http_date(second)  # "Sun, 06 Nov 1994 08:49:37 GMT"
    weekday = next(day for day in WEEKDAYS if day.startswith(imf[:3]))
    day, month, year, clock = imf[5:7], imf[8:11], imf[12:16], imf[17:25]
    assert parse_http_date(f"{weekday}, {day}-{month}-{year[2:]} {clock} GMT") == second
    asctime = f"{imf[:3]} {month} {int(day):2d} {clock} {year}"
    assert parse_http_date(asctime) == second


@given(seconds, st.sampled_from(["61", "70", "99"]))
def test_seconds_past_a_leap_second_are_not_a_date(second: int, field: str) -> None:
    text = format_http_date(second)  # "Sun, 06 Nov 1994 08:49:37 GMT": seconds at 23-25
    assert parse_http_date(text[:23] + field + text[25:]) is None
    assert parse_http_date(text[:23] + "60" + text[25:]) is not None  # a leap second reads as :59
