"""Response heads and HTTP dates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.http.messages import REASON_PHRASES, Response
from tls_web_server.http.writer import encode_head, format_http_date, http_date, parse_http_date


def test_http_date_is_imf_fixdate() -> None:
    # RFC 9110 section 5.6.7's own example.
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(784111777.999) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT"


@pytest.mark.parametrize(
    "text",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_the_three_date_formats_parse(text: str) -> None:
    assert parse_http_date(text) == 784111777


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, ٠٦ Nov 1994 08:49:37 GMT",
    ],
)
def test_invalid_dates_are_none(text: str) -> None:
    assert parse_http_date(text) is None


@given(st.integers(min_value=0, max_value=253402300799))
def test_format_and_parse_round_trip(second: int) -> None:
    assert parse_http_date(format_http_date(second)) == second


@given(st.text(max_size=40))
def test_parse_never_raises(text: str) -> None:
    result = parse_http_date(text)
    assert result is None or isinstance(result, int)


def test_encode_head_exact_bytes() -> None:
    response = Response(
        206,
        [("Content-Length", "5"), ("Content-Range", "bytes 0-4/10"), ("X-Name", "caf\xe9")],
        None,
        True,
    )
    assert encode_head(response) == (
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n"
        b"Content-Range: bytes 0-4/10\r\nX-Name: caf\xe9\r\n\r\n"
    )


def test_every_status_we_send_has_a_reason_phrase() -> None:
    for status in (200, 206, 301, 304, 400, 403, 404, 405, 408, 413, 414, 416, 431, 501, 505):
        assert REASON_PHRASES[status]
    assert encode_head(Response(599, [], None, False)) == b"HTTP/1.1 599 Unknown\r\n\r\n"
