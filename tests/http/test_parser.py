"""The incremental request parser: same answers however the bytes are cut."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.http.messages import HttpError, Request
from tls_web_server.http.parser import MAX_CHUNK_LINE, HttpLimits, RequestParser

DEFAULT_LIMITS = HttpLimits()


def parse_chunks(chunks: list[bytes], limits: HttpLimits = DEFAULT_LIMITS) -> list[Request]:
    """Feed the chunks one by one, draining complete requests after each."""
    parser = RequestParser(limits)
    requests: list[Request] = []
    for chunk in chunks:
        parser.feed(chunk)
        while (request := parser.next_request()) is not None:
            requests.append(request)
    return requests


def refusal_status(chunks: list[bytes], limits: HttpLimits = DEFAULT_LIMITS) -> int:
    with pytest.raises(HttpError) as caught:
        parse_chunks(chunks, limits)
    return caught.value.status


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[index : index + 1] for index in range(len(data))]


# Valid requests; each must parse to exactly one Request.
CORPUS: dict[str, bytes] = {
    "minimal 1.1": b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "minimal 1.0 without host": b"GET /index.html HTTP/1.0\r\n\r\n",
    "several headers": (
        b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: test/1.0\r\n"
        b"Accept: */*\r\nAccept-Encoding: gzip, br\r\n\r\n"
    ),
    "bare LF line endings": b"GET / HTTP/1.1\nHost: a\nX-Empty:\n\n",
    "mixed line endings": b"GET / HTTP/1.1\r\nHost: a\nAccept: */*\r\n\n",
    "leading empty lines": b"\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "whitespace around values": b"GET / HTTP/1.1\r\nHost:   a  \r\nX-Tab:\tv\t1\t\r\n\r\n",
    "obs-text in a value": b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n",
    "content-length body": (
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello=world"
    ),
    "zero content-length": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    "repeated equal content-length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"
    ),
    "chunked body": (
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    ),
    "chunked with extensions and trailers": (
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b'5;name=value\r\nhello\r\n1A ; a="quoted;string" ;b\r\n'
        + b"z" * 26
        + b"\r\n0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    ),
    "chunked with bare LF": (
        b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"
    ),
    "absolute-form target": b"GET http://Example.com:81/x HTTP/1.1\r\nHost: other\r\n\r\n",
    "later 1.x minor version": b"GET / HTTP/1.9\r\nHost: a\r\n\r\n",
    "options asterisk": b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "unusual but valid method": b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_cut_gives_the_same_request(name: str) -> None:
    data = CORPUS[name]
    whole = parse_chunks([data])
    assert len(whole) == 1
    assert parse_chunks(byte_by_byte(data)) == whole
    for split in range(1, len(data)):
        assert parse_chunks([data[:split], data[split:]]) == whole, f"split at {split}"


def test_fields_of_a_parsed_request() -> None:
    [request] = parse_chunks([CORPUS["several headers"]])
    assert request.method == "GET"
    assert request.target == "/a/b?c=d"
    assert request.version == "HTTP/1.1"
    assert request.headers == (
        ("host", "example.com:8080"),
        ("user-agent", "test/1.0"),
        ("accept", "*/*"),
        ("accept-encoding", "gzip, br"),
    )
    assert request.header("user-agent") == "test/1.0"
    assert request.header("cookie") is None
    assert request.host == "example.com:8080"
    assert request.keep_alive is True


def test_values_are_stripped_and_obs_text_survives() -> None:
    [request] = parse_chunks([CORPUS["whitespace around values"]])
    assert request.headers == (("host", "a"), ("x-tab", "v\t1"))
    [request] = parse_chunks([CORPUS["obs-text in a value"]])
    assert request.header("x-name") == "café"


def test_bare_lf_and_leading_empty_lines() -> None:
    [request] = parse_chunks([CORPUS["bare LF line endings"]])
    assert request.headers == (("host", "a"), ("x-empty", ""))
    [request] = parse_chunks([CORPUS["leading empty lines"]])
    assert request.target == "/"


def test_absolute_form_authority_is_the_host() -> None:
    [request] = parse_chunks([CORPUS["absolute-form target"]])
    assert request.host == "Example.com:81"  # RFC 9112 3.2.2: Host is ignored
    assert request.header("host") == "other"


def test_later_minor_version_is_treated_as_1_1() -> None:
    [request] = parse_chunks([CORPUS["later 1.x minor version"]])
    assert request.version == "HTTP/1.1"


def test_three_pipelined_requests_in_one_chunk() -> None:
    data = (
        b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
        b"GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    parser = RequestParser()
    parser.feed(data)
    first = parser.next_request()
    second = parser.next_request()
    third = parser.next_request()
    assert [request.target for request in (first, second, third) if request] == [
        "/one",
        "/two",
        "/three",
    ]
    assert third is not None and third.keep_alive is False
    assert parser.next_request() is None
    assert parser.state == "idle"


def test_state_reports_head_and_body() -> None:
    parser = RequestParser()
    assert parser.state == "idle"
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\n")
    assert parser.next_request() is None
    assert parser.state == "head"
    parser.feed(b"Content-Length: 10\r\n\r\nhalf")
    assert parser.next_request() is None
    assert parser.state == "body"
    parser.feed(b"-done")
    assert parser.next_request() is None
    parser.feed(b"!GET")
    request = parser.next_request()
    assert request is not None and request.method == "POST"
    assert parser.state == "head"  # "GET" of the next request is buffered


def test_a_large_body_is_discarded_without_being_kept() -> None:
    parser = RequestParser(HttpLimits(max_body_size=0))
    parser.feed(b"PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n")
    chunk = b"x" * 50_000
    for _ in range(99):
        parser.feed(chunk)
        assert parser.next_request() is None
        assert parser.state == "body"
    parser.feed(chunk + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert parser.next_request() is not None
    assert parser.next_request() is not None


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Keep-Alive", True),
        ("HTTP/1.1", "upgrade, CLOSE", False),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
        ("HTTP/1.0", "Keep-Alive, foo", True),
        ("HTTP/1.0", "keep-alive, close", False),
    ],
)
def test_keep_alive_rules(version: str, connection: str | None, keep_alive: bool) -> None:
    head = f"GET / {version}\r\nHost: a\r\n"
    if connection is not None:
        head += f"Connection: {connection}\r\n"
    [request] = parse_chunks([(head + "\r\n").encode()])
    assert request.keep_alive is keep_alive


def test_two_connection_fields_are_combined() -> None:
    data = b"GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\n"
    [request] = parse_chunks([data])
    assert request.keep_alive is True


# Requests the parser must refuse, with the exact status to answer.
REFUSALS: dict[str, tuple[bytes, int]] = {
    "no spaces in request line": (b"GET/HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "double space in request line": (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "trailing space in request line": (b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    "method is not a token": (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "lowercase http name": (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    "version without minor": (b"GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
    "two-digit minor": (b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    "not http": (b"GET / FTP/1.1\r\nHost: a\r\n\r\n", 400),
    "http 0.9 style": (b"GET /\r\n\r\n", 400),
    "http/2.0": (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    "http/3.0": (b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    "http/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    "http/0.9 version": (b"GET / HTTP/0.9\r\n\r\n", 505),
    "NUL in target": (b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "tab in target": (b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "DEL in target": (b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "non-ASCII target": (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "bare CR in request line": (b"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "missing host on 1.1": (b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    "two host fields": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "two host fields on 1.0": (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    "invalid host": (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    "host with space": (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    "whitespace before colon": (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    "tab before colon": (b"GET / HTTP/1.1\r\nHost: a\r\nX-A\t: 1\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", 400),
    "folded first field": (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    "header without colon": (b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
    "empty header name": (b"GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", 400),
    "NUL in header value": (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
    "bare CR in header value": (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
    "non-token header name": (b"GET / HTTP/1.1\r\nHost: a\r\nX[1]: v\r\n\r\n", 400),
    "both length and chunked": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "negative content-length": (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    "hex content-length": (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400),
    "empty content-length": (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
    "superscript digit content-length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \xb2\r\n\r\n",
        400,
    ),
    "conflicting content-length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    ),
    "conflicting content-length list": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd",
        400,
    ),
    "gzip then chunked": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    ),
    "gzip only": (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    "chunked not last": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        400,
    ),
    "chunked twice": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "empty transfer-encoding": (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
    "chunked on 1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "bad chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        400,
    ),
    "empty chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        400,
    ),
    "negative chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n",
        400,
    ),
    "space inside chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n",
        400,
    ),
    "chunk data longer than size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        400,
    ),
    "chunk data end without LF": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX",
        400,
    ),
    "control character in chunk extension": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a\x00\r\nabc\r\n",
        400,
    ),
    "malformed trailer": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
        400,
    ),
    "folded trailer": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\nX: 1\r\n folded\r\n\r\n",
        400,
    ),
    "content-length over the limit": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n",
        413,
    ),
    "absurd content-length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
        413,
    ),
    "chunked over the limit": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"80000\r\n" + b"x" * 0x80000 + b"\r\n80001\r\n",
        413,
    ),
    "absurd chunk size": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\n",
        413,
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusals_have_the_exact_status(name: str) -> None:
    data, status = REFUSALS[name]
    assert refusal_status([data]) == status
    if len(data) < 2000:
        assert refusal_status(byte_by_byte(data)) == status


def test_a_dead_parser_keeps_refusing() -> None:
    parser = RequestParser()
    parser.feed(b"BAD REQUEST LINE HERE\r\n\r\n")
    with pytest.raises(HttpError) as first:
        parser.next_request()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    with pytest.raises(HttpError) as second:
        parser.next_request()
    assert first.value is second.value
    assert first.value.status == 400


def test_request_line_limit_is_414_before_the_line_ends() -> None:
    limits = HttpLimits()
    line = b"GET /" + b"a" * limits.max_request_line
    assert refusal_status([line]) == 414  # no CRLF yet: refused while buffering
    assert refusal_status([line + b" HTTP/1.1\r\nHost: a\r\n\r\n"]) == 414


def test_request_line_exactly_at_the_limit_is_accepted() -> None:
    limits = HttpLimits(max_request_line=64)
    prefix, suffix = b"GET /", b" HTTP/1.1"
    line = prefix + b"a" * (64 - len(prefix) - len(suffix)) + suffix
    assert len(line) == 64
    [request] = parse_chunks(byte_by_byte(line + b"\r\nHost: a\r\n\r\n"), limits)
    assert request.method == "GET"
    assert refusal_status([line.replace(b"/", b"/b") + b"\r\nHost: a\r\n\r\n"], limits) == 414


def test_header_section_limit_is_431() -> None:
    limits = HttpLimits()
    big_value = b"v" * limits.max_header_bytes
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big_value
    assert refusal_status([data]) == 431  # refused before the head ends
    assert refusal_status([data + b"\r\n\r\n"]) == 431


def test_header_section_just_under_the_limit_is_accepted() -> None:
    limits = HttpLimits(max_header_bytes=100)
    fields = b"Host: a\r\nX: " + b"v" * (100 - 9 - 3 - 2 - 2) + b"\r\n\r\n"
    assert len(fields) == 100
    [request] = parse_chunks([b"GET / HTTP/1.1\r\n" + fields], limits)
    assert len(request.header("x") or "") == 84
    assert refusal_status([b"GET / HTTP/1.1\r\n" + b"X" + fields], limits) == 431


def test_header_count_limit_is_431() -> None:
    limits = HttpLimits()
    fields = b"".join(b"X-%d: v\r\n" % number for number in range(limits.max_header_count - 1))
    [request] = parse_chunks([b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n"])
    assert len(request.headers) == limits.max_header_count
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Extra: v\r\n" + fields + b"\r\n"
    assert refusal_status([data]) == 431


def test_body_limit_zero_means_unlimited() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 2_000_000
    [request] = parse_chunks([data], HttpLimits(max_body_size=0))
    assert request.method == "POST"


def test_chunked_body_is_consumed_and_the_next_request_follows() -> None:
    data = CORPUS["chunked with extensions and trailers"] + b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
    requests = parse_chunks(byte_by_byte(data))
    assert [request.target for request in requests] == ["/up", "/next"]


def test_chunked_body_at_the_limit_is_accepted() -> None:
    limits = HttpLimits(max_body_size=10)
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    [request] = parse_chunks([head + b"4\r\nabcd\r\n6\r\nefghij\r\n0\r\n\r\n"], limits)
    assert request.target == "/"
    assert refusal_status([head + b"4\r\nabcd\r\n7\r\n"], limits) == 413


def test_chunk_line_too_long_is_400() -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    extension = b"5;" + b"x" * (MAX_CHUNK_LINE + 10)
    assert refusal_status([head + extension]) == 400


def test_trailer_section_limit_is_431() -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    trailer = b"X-T: " + b"t" * 40_000
    assert refusal_status([head + trailer]) == 431
    many = b"".join(b"X-%d: 1\r\n" % number for number in range(101))
    assert refusal_status([head + many + b"\r\n"]) == 431


# -- any bytes at all: HttpError or a request, nothing else ----------------

FRAGMENTS = [
    b"GET ",
    b"POST ",
    b"/",
    b"/a?b",
    b" HTTP/1.1",
    b" HTTP/1.0",
    b" HTTP/2.0",
    b"\r\n",
    b"\n",
    b"\r",
    b"Host: a",
    b"Content-Length: 5",
    b"Content-Length: 99999999999999999999999",
    b"Transfer-Encoding: chunked",
    b"Connection: close",
    b"0",
    b"5",
    b"fff",
    b";ext=1",
    b":",
    b" ",
    b"\t",
    b"hello",
    b"\x00",
    b"\xff",
]


def parse_or_refuse(chunks: list[bytes]) -> None:
    try:
        requests = parse_chunks(chunks)
    except HttpError as error:
        assert 400 <= error.status <= 505
    else:
        assert all(isinstance(request, Request) for request in requests)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_random_bytes_raise_only_http_error(data: bytes, cuts: list[int]) -> None:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    parse_or_refuse([data[start:end] for start, end in itertools.pairwise(points)])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40), st.integers(min_value=1, max_value=7))
def test_request_like_bytes_raise_only_http_error(fragments: list[bytes], step: int) -> None:
    data = b"".join(fragments)
    parse_or_refuse([data[index : index + step] for index in range(0, len(data), step)])
