"""The per-request shortcuts give exactly the answers of the general code they skip.

parser.py matches a common-shape head with one regex, and static.py reuses a
file's encoded 200 head within a second.  Each shortcut is checked here
against the general path it stands in for.
"""

from __future__ import annotations

import os
import re
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.http import parser as parser_module
from tls_web_server.http.messages import FileBody, HttpError, Request, Response
from tls_web_server.http.parser import HttpLimits, RequestParser
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import FILE_CACHE, respond
from tls_web_server.http.writer import encode_head, http_date

# -- parser: the common-shape regex against the general path ----------------

NEVER_MATCHES = re.compile(r"(?!)")


def mostly(usual: list[str], odd: list[str]) -> st.SearchStrategy[str]:
    """Usually a valid piece, sometimes an odd one, so both paths get exercised."""
    return st.one_of(*[st.sampled_from(usual)] * 4, st.sampled_from(odd))


METHODS = mostly(["GET", "HEAD", "POST", "M-SEARCH"], ["get", "G@T", "", "GET\t"])
TARGETS = mostly(["/", "/a.html", "/x?y=1&z", "http://h:8/p"], ["/a b", "/\x7f", "/\xe9", "*", ""])
VERSIONS = mostly(["HTTP/1.1", "HTTP/1.0"], ["HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 "])
NAMES = mostly(
    ["Accept", "User-Agent", "X-A_b~1", "Connection", "Content-Length"],
    ["Host", "Transfer-Encoding", "Bad Name", "", "X\x80", " Folded", "\tFolded"],
)
SEPARATORS = mostly([":", ": ", ":\t", ":  "], [" :", ""])
VALUE_CHARACTERS = "ab09:;,=/ \t\x00\x01\x0b\x7f\x80\xe9\xff\r"
VALUES = st.one_of(
    *[st.sampled_from(["text/html, */*", "close", "keep-alive", "0", "curl/8 ", "\ta\xe9b"])] * 3,
    st.text(alphabet=VALUE_CHARACTERS, max_size=12),
)
HOST_LINES = mostly(["Host: example.com", "host:localhost:8080 "], ["Host: a b", "Hos: x", ""])
FIELD = st.tuples(NAMES, SEPARATORS, VALUES)
LINE_END = mostly(["\r\n"], ["\n"])


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    request_line = " ".join([draw(METHODS), draw(TARGETS), draw(VERSIONS)])
    lines = [request_line]
    host_line = draw(HOST_LINES)
    if host_line:
        lines.append(host_line)
    for name, separator, value in draw(st.lists(FIELD, max_size=6)):
        lines.append(f"{name}{separator}{value}")
    text = "".join(line + draw(LINE_END) for line in lines) + draw(LINE_END)
    return text.encode("latin-1")


def outcome(data: bytes, limits: HttpLimits) -> tuple[list[Request], int | None, str | None]:
    """The requests parsed from `data`, and the refusal (status, reason) if one came."""
    parser = RequestParser(limits)
    parser.feed(data)
    requests: list[Request] = []
    try:
        while (request := parser.next_request()) is not None:
            requests.append(request)
    except HttpError as error:
        return requests, error.status, error.reason
    return requests, None, None


LIMITS = [HttpLimits(), HttpLimits(max_header_count=2)]


@settings(max_examples=400, deadline=None)
@given(heads(), st.sampled_from(LIMITS))
def test_the_common_head_regex_agrees_with_the_general_path(head: bytes, limits: HttpLimits):
    fast = outcome(head, limits)
    with mock.patch.object(parser_module, "COMMON_HEAD", NEVER_MATCHES):
        general = outcome(head, limits)
    assert fast == general


def test_common_heads_take_the_regex_and_odd_ones_do_not() -> None:
    common = b"GET /a HTTP/1.1\r\nHost: x\r\nAccept:  */* \t\r\n\r\n"
    assert parser_module.COMMON_HEAD.fullmatch(common.decode("latin-1")) is not None
    (request,) = outcome(common, HttpLimits())[0]
    assert request.headers == (("host", "x"), ("accept", "*/*"))
    for odd in (
        b"GET /a HTTP/1.1\nHost: x\n\n",  # bare LF
        b"GET /a HTTP/1.2\r\nHost: x\r\n\r\n",  # a later minor version
        b"GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  # obs-fold
    ):
        assert parser_module.COMMON_HEAD.fullmatch(odd.decode("latin-1")) is None


def test_a_hostile_head_is_matched_in_linear_time() -> None:
    # Long runs of OWS before a forbidden byte are where a backtracking
    # pattern would go quadratic; the possessive one gives up at once.
    line = "X: " + " \t" * 12000 + "\x01"
    head = f"GET / HTTP/1.1\r\nHost: x\r\n{line}\r\n\r\n".encode("latin-1")
    limits = HttpLimits(max_header_bytes=1 << 20)
    requests, status, _ = outcome(head, limits)
    assert (requests, status) == ([], 400)


# -- static: the reused head of a plain 200 ---------------------------------

NOW = 1_800_000_000.25


def make_site(tmp_path) -> SiteSettings:
    root = tmp_path / "root"
    root.mkdir()
    (root / "page.html").write_bytes(b"<p>hello</p>")
    return SiteSettings(("x",), (LocationSettings("/", str(root), ("index.html",)),))


def get(
    site: SiteSettings,
    *,
    method: str = "GET",
    version: str = "HTTP/1.1",
    keep_alive: bool = True,
    headers: tuple[tuple[str, str], ...] = (("host", "x"),),
    now: float = NOW,
) -> Response:
    return respond(Request(method, "/page.html", version, headers, keep_alive), site, now)


def freshly_encoded(response: Response) -> bytes:
    return encode_head(Response(response.status, response.headers, None, response.keep_alive))


def test_the_reused_head_is_the_encoding_of_the_headers(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    first, second = get(site), get(site, now=NOW + 0.5)
    assert first.encoded_head is not None
    assert second.encoded_head is first.encoded_head  # same second: made once
    assert encode_head(first) == freshly_encoded(first)
    assert ("Date", http_date(NOW)) in first.headers
    assert ("Content-Length", "12") in first.headers
    assert isinstance(first.body, FileBody)
    first.headers.append(("X-Mine", "1"))  # each response has its own list
    assert ("X-Mine", "1") not in get(site).headers


def test_a_new_second_gets_a_new_date(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    later = get(site, now=NOW + 1)
    assert ("Date", http_date(NOW + 1)) in later.headers
    assert encode_head(later) == freshly_encoded(later)
    assert b"Date: " + http_date(NOW + 1).encode() in encode_head(later)


def test_a_changed_file_gets_a_new_head(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    before = get(site)
    page = tmp_path / "root" / "page.html"
    page.write_bytes(b"<p>a longer hello</p>")
    os.utime(page, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    after = get(site)
    assert ("Content-Length", "21") in after.headers
    assert after.header("etag") != before.header("etag")
    assert encode_head(after) == freshly_encoded(after)


def test_the_connection_field_follows_each_request(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    plain = get(site)
    old_keep_alive = get(site, version="HTTP/1.0")
    closing = get(site, keep_alive=False)
    assert plain.header("connection") is None
    assert old_keep_alive.header("connection") == "keep-alive"
    assert closing.header("connection") == "close" and not closing.keep_alive
    for response in (plain, old_keep_alive, closing):
        assert encode_head(response) == freshly_encoded(response)


def test_head_reuses_the_get_head_without_a_body(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    head, body = get(site, method="HEAD"), get(site)
    assert head.body is None
    assert encode_head(head) == encode_head(body)


def test_validators_and_ranges_bypass_the_reused_head(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    etag = get(site).header("etag")
    assert etag is not None
    not_modified = get(site, headers=(("host", "x"), ("if-none-match", etag)))
    partial = get(site, headers=(("host", "x"), ("range", "bytes=0-2")))
    assert (not_modified.status, not_modified.encoded_head) == (304, None)
    assert (partial.status, partial.encoded_head) == (206, None)
    assert partial.header("content-range") == "bytes 0-2/12"


def test_changing_headers_means_dropping_the_encoded_head(tmp_path) -> None:
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    response = get(site)
    response.headers.append(("Connection", "close"))
    response.encoded_head = None
    assert encode_head(response).endswith(b"Connection: close\r\n\r\n")
