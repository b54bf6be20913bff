"""Static files through the real parser: headers, conditionals, ranges, errors."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tls_web_server.http.messages import FileBody, Request
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import error_response, parse_range, respond
from tls_web_server.http.writer import encode_head, http_date

from .conftest import DATA, FILE_MTIME, NOW, SECRET, Site, ask, open_descriptor_count

LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"


def etag_of(site: Site, name: str) -> str:
    status = os.stat(site.root / name)
    return f'"{status.st_mtime_ns:x}-{status.st_size:x}"'


def test_get_a_file(site: Site) -> None:
    answer = ask(site, "/hello.txt")
    assert answer.response.status == 200
    assert answer.response.headers == [
        ("Server", "tls-web-server"),
        ("Date", http_date(NOW)),
        ("Content-Type", "text/plain"),
        ("Content-Length", "12"),
        ("Last-Modified", LAST_MODIFIED),
        ("ETag", etag_of(site, "hello.txt")),
        ("Accept-Ranges", "bytes"),
    ]
    assert answer.body == b"hello world\n"
    assert answer.response.keep_alive is True
    assert etag_of(site, "hello.txt") == f'"{FILE_MTIME * 10**9:x}-c"'


def test_the_body_is_an_open_file_range_not_bytes(site: Site) -> None:
    request = Request("GET", "/data.bin", "HTTP/1.1", (("host", "localhost"),), True)
    response = respond(request, site.settings, NOW)
    assert isinstance(response.body, FileBody)
    try:
        assert (response.body.offset, response.body.length) == (0, len(DATA))
        assert os.pread(response.body.file.fileno(), 4096, 0) == DATA
    finally:
        response.body.file.close()


def test_head_has_the_get_headers_and_leaves_no_file_open(site: Site) -> None:
    before = open_descriptor_count()
    head = ask(site, "/data.bin", method="HEAD")
    assert open_descriptor_count() == before
    get = ask(site, "/data.bin")
    assert head.response.status == 200
    assert head.response.headers == get.response.headers
    assert head.response.body is None
    assert get.body == DATA


def test_head_of_an_error_has_no_body(site: Site) -> None:
    answer = ask(site, "/missing.txt", method="HEAD")
    assert answer.response.status == 404
    assert answer.response.body is None
    assert int(answer.response.header("Content-Length") or 0) > 0


def test_empty_file(site: Site) -> None:
    answer = ask(site, "/empty.txt")
    assert answer.response.status == 200
    assert answer.response.header("Content-Length") == "0"
    assert answer.body == b""


def test_index_file_and_second_index_name(site: Site) -> None:
    home = ask(site, "/")
    assert home.response.status == 200
    assert home.body == b"<h1>home</h1>\n"
    assert home.response.header("Content-Type") == "text/html"
    blog = ask(site, "/blog/")
    assert blog.body == b"<h1>blog</h1>"


def test_directory_without_slash_redirects(site: Site) -> None:
    answer = ask(site, "/docs")
    assert answer.response.status == 301
    assert answer.response.header("Location") == "/docs/"
    answer = ask(site, "/blog?page=2")
    assert answer.response.header("Location") == "/blog/?page=2"


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "///evil.com", "http://localhost//evil.com", "http://evil.com//evil.com"],
)
def test_a_redirect_never_names_another_host(site: Site, target: str) -> None:
    # With a folder "evil.com" under the root, "//evil.com" once answered
    # "Location: //evil.com/": protocol-relative, an open redirect.  Slashes
    # merge as with nginx's merge_slashes on, and the Location is a path.
    (site.root / "evil.com").mkdir()
    answer = ask(site, target)
    assert answer.response.status == 301
    assert answer.response.header("Location") == "/evil.com/"


def test_slashes_merge_as_nginx_merge_slashes(site: Site) -> None:
    assert ask(site, "//hello.txt").body == b"hello world\n"
    assert ask(site, "/docs//").response.status == ask(site, "/docs/").response.status
    assert ask(site, "//blog///").body == b"<h1>blog</h1>"


def test_directory_without_index_is_403(site: Site) -> None:
    assert ask(site, "/docs/").response.status == 403
    assert ask(site, "/docs/readme.md").response.status == 200


def test_fifo_is_refused_without_blocking(site: Site) -> None:
    assert ask(site, "/pipe").response.status == 403


def test_unreadable_file_is_403(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, whom chmod cannot lock out, so the kernel's
    # refusal is simulated at os.open: the one call that opens files to serve.
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("hello.txt"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    assert ask(site, "/hello.txt").response.status == 403
    assert ask(site, "/hello.txt", method="HEAD").response.status == 403
    assert ask(site, "/data.bin").response.status == 200


@pytest.mark.parametrize("target", ["/missing.txt", "/hello.txt/", "/docs/missing/"])
def test_missing_is_404(site: Site, target: str) -> None:
    answer = ask(site, target)
    assert answer.response.status == 404
    assert answer.response.header("Content-Type") == "text/html; charset=utf-8"
    assert answer.body is not None and b"404 Not Found" in answer.body


def test_symlink_inside_the_root_is_followed(site: Site) -> None:
    answer = ask(site, "/inside-link.txt")
    assert answer.response.status == 200
    assert answer.body == b"hello world\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "get"])
def test_other_methods_are_405_with_allow(site: Site, method: str) -> None:
    answer = ask(site, "/hello.txt", method=method)
    assert answer.response.status == 405
    assert answer.response.header("Allow") == "GET, HEAD"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("/index.html", "text/html"),
        ("/hello.txt", "text/plain"),
        ("/style.css", "text/css"),
        ("/app.js", "application/javascript"),
        ("/logo.png", "image/png"),
        ("/data.bin", "application/octet-stream"),
        ("/docs/readme.md", "text/markdown"),
    ],
)
def test_content_types(site: Site, name: str, content_type: str) -> None:
    assert ask(site, name).response.header("Content-Type") == content_type


def test_compressed_archive_is_not_announced_as_content_encoding(site: Site) -> None:
    (site.root / "backup.tar.gz").write_bytes(b"\x1f\x8b")
    answer = ask(site, "/backup.tar.gz")
    assert answer.response.header("Content-Type") == "application/gzip"
    assert answer.response.header("Content-Encoding") is None


def test_absolute_form_target(site: Site) -> None:
    answer = ask(site, "http://localhost/hello.txt")
    assert answer.body == b"hello world\n"
    assert ask(site, "http://localhost").body == b"<h1>home</h1>\n"
    assert ask(site, "http://localhost?x=1").response.status == 200


def test_query_is_ignored(site: Site) -> None:
    assert ask(site, "/hello.txt?download=1&x=%zz").body == b"hello world\n"


def test_percent_encoded_names_are_decoded(site: Site) -> None:
    (site.root / "two words é.txt").write_bytes(b"spaced")
    assert ask(site, "/two%20words%20%C3%A9.txt").body == b"spaced"


def test_longest_prefix_location_serves_from_its_root(site: Site) -> None:
    answer = ask(site, "/images/cat.png")
    assert answer.response.status == 200
    assert answer.body == b"cat picture"
    assert ask(site, "/images/missing.png").response.status == 404


def test_no_matching_location_is_404(site: Site) -> None:
    only_images = SiteSettings(("x",), (LocationSettings("/images/", str(site.root), ()),))
    request = Request("GET", "/hello.txt", "HTTP/1.1", (("host", "x"),), True)
    assert respond(request, only_images, NOW).status == 404


# -- connection management --------------------------------------------------


def test_http_1_0_keep_alive_is_announced(site: Site) -> None:
    answer = ask(site, "/hello.txt", version="HTTP/1.0", headers=[("Connection", "keep-alive")])
    assert answer.response.keep_alive is True
    assert answer.response.headers[-1] == ("Connection", "keep-alive")


def test_http_1_0_closes_by_default(site: Site) -> None:
    answer = ask(site, "/hello.txt", version="HTTP/1.0", headers=[])
    assert answer.response.keep_alive is False
    assert answer.response.header("Connection") == "close"


def test_connection_close_is_echoed(site: Site) -> None:
    answer = ask(site, "/missing", headers=[("Host", "localhost"), ("Connection", "close")])
    assert answer.response.status == 404
    assert answer.response.keep_alive is False
    assert answer.response.header("Connection") == "close"


def test_error_response_for_the_pipeline() -> None:
    response = error_response(431, NOW)
    assert response.status == 431
    assert response.keep_alive is False
    assert response.header("Connection") == "close"
    assert isinstance(response.body, bytes)
    assert b"431 Request Header Fields Too Large" in response.body
    assert response.header("Content-Length") == str(len(response.body))
    kept = error_response(408, NOW, keep_alive=True, extra_headers=[("Retry-After", "1")])
    assert kept.header("Connection") is None
    assert kept.header("Retry-After") == "1"


def test_encode_head() -> None:
    response = error_response(404, 0.0)
    head = encode_head(response)
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\nServer: tls-web-server\r\n")
    assert b"\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n" in head
    assert head.endswith(b"\r\nConnection: close\r\n\r\n")


# -- conditional requests ---------------------------------------------------


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "W/{etag}",
        '"other", {etag}',
        '"with,comma", W/"x",{etag}',
        "*",
    ],
)
def test_if_none_match_gives_304(site: Site, if_none_match: str) -> None:
    etag = etag_of(site, "hello.txt")
    value = if_none_match.format(etag=etag)
    for method in ("GET", "HEAD"):
        answer = ask(
            site, "/hello.txt", method=method, headers=[("Host", "x"), ("If-None-Match", value)]
        )
        assert answer.response.status == 304
        assert answer.body is None
        assert answer.response.header("ETag") == etag
        assert answer.response.header("Last-Modified") == LAST_MODIFIED
        assert answer.response.header("Content-Length") is None


@pytest.mark.parametrize("if_none_match", ['"other"', 'W/"nope"', "garbage", '"unterminated'])
def test_if_none_match_mismatch_gives_200(site: Site, if_none_match: str) -> None:
    headers = [("Host", "x"), ("If-None-Match", if_none_match)]
    assert ask(site, "/hello.txt", headers=headers).response.status == 200


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (LAST_MODIFIED, 304),
        ("Tue, 14 Nov 2023 22:13:21 GMT", 304),
        ("Tuesday, 14-Nov-23 22:13:20 GMT", 304),
        ("Tue Nov 14 22:13:20 2023", 304),
        ("Tue, 14 Nov 2023 22:13:19 GMT", 200),
        ("not a date", 200),
        ("Tue, 14 Nov 2023 22:13:20 GMT, Wed, 15 Nov 2023 00:00:00 GMT", 200),
        ("Fri, 01 Jan 2100 00:00:00 GMT", 200),  # in the future: ignored
    ],
)
def test_if_modified_since(site: Site, since: str, status: int) -> None:
    answer = ask(site, "/hello.txt", headers=[("Host", "x"), ("If-Modified-Since", since)])
    assert answer.response.status == status


def test_if_none_match_wins_over_if_modified_since(site: Site) -> None:
    headers = [("Host", "x"), ("If-None-Match", '"other"'), ("If-Modified-Since", LAST_MODIFIED)]
    assert ask(site, "/hello.txt", headers=headers).response.status == 200


def test_last_modified_is_never_later_than_date(site: Site) -> None:
    os.utime(site.root / "hello.txt", (NOW + 3600, NOW + 3600))
    answer = ask(site, "/hello.txt")
    assert answer.response.header("Last-Modified") == http_date(NOW)


# -- ranges -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_value", "first", "last"),
    [
        ("bytes=0-4", 0, 4),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-10", 1014, 1023),
        ("bytes=-5000", 0, 1023),
        ("bytes=1020-99999", 1020, 1023),
        ("bytes=0-99999999999999999999999999", 0, 1023),
        ("Bytes = 7-7", 7, 7),
        ("bytes=5-9,", 5, 9),
    ],
)
def test_single_range_is_206(site: Site, range_value: str, first: int, last: int) -> None:
    answer = ask(site, "/data.bin", headers=[("Host", "x"), ("Range", range_value)])
    assert answer.response.status == 206
    assert answer.response.header("Content-Range") == f"bytes {first}-{last}/1024"
    assert answer.response.header("Content-Length") == str(last - first + 1)
    assert answer.body == DATA[first : last + 1]


@pytest.mark.parametrize(
    "range_value", ["bytes=1024-", "bytes=5000-6000", "bytes=-0", "bytes=99999999999999999999999-"]
)
def test_unsatisfiable_range_is_416(site: Site, range_value: str) -> None:
    before = open_descriptor_count()
    answer = ask(site, "/data.bin", headers=[("Host", "x"), ("Range", range_value)])
    assert open_descriptor_count() == before
    assert answer.response.status == 416
    assert answer.response.header("Content-Range") == "bytes */1024"


def test_any_range_of_an_empty_file_is_416(site: Site) -> None:
    answer = ask(site, "/empty.txt", headers=[("Host", "x"), ("Range", "bytes=0-")])
    assert answer.response.status == 416
    assert answer.response.header("Content-Range") == "bytes */0"


@pytest.mark.parametrize(
    "range_value",
    ["bytes=0-1,5-6", "bytes=a-b", "items=0-1", "bytes=5-1", "bytes 0-1", "bytes=", "bytes=--1"],
)
def test_multiple_or_malformed_ranges_are_ignored(site: Site, range_value: str) -> None:
    answer = ask(site, "/data.bin", headers=[("Host", "x"), ("Range", range_value)])
    assert answer.response.status == 200
    assert answer.body == DATA


def test_head_ignores_range(site: Site) -> None:
    answer = ask(site, "/data.bin", method="HEAD", headers=[("Host", "x"), ("Range", "bytes=0-4")])
    assert answer.response.status == 200
    assert answer.response.header("Content-Length") == "1024"


@pytest.mark.parametrize(
    ("if_range", "status"),
    [
        ("{etag}", 206),
        ('"other"', 200),
        ("W/{etag}", 200),  # If-Range needs a strong match
        (LAST_MODIFIED, 206),
        ("Tue, 14 Nov 2023 22:13:21 GMT", 200),
        ("rubbish", 200),
    ],
)
def test_if_range(site: Site, if_range: str, status: int) -> None:
    value = if_range.format(etag=etag_of(site, "data.bin"))
    headers = [("Host", "x"), ("Range", "bytes=0-9"), ("If-Range", value)]
    answer = ask(site, "/data.bin", headers=headers)
    assert answer.response.status == status
    assert answer.body == (DATA[:10] if status == 206 else DATA)


def test_parse_range_directly() -> None:
    assert parse_range("bytes=0-0", 1) == (0, 0)
    assert parse_range("bytes=0-", 0) == (-1, -1)
    assert parse_range("bytes=-1", 3) == (2, 2)
    assert parse_range("bytes=0-1, 2-3", 10) is None


# -- nothing a peer sends produces a 5xx or an exception ---------------------

TARGET_ALPHABET = st.sampled_from(
    [
        "/",
        ".",
        "..",
        "%",
        "%2e",
        "%2f",
        "%5c",
        "%00",
        "%c0%ae",
        "a",
        "hello.txt",
        "etc",
        "?",
        "#",
        "\\",
        ";",
        "http://",
        "localhost",
        "@",
        "~",
        "%zz",
        "docs",
        "outside",
        "escape.txt",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(TARGET_ALPHABET, min_size=1, max_size=12), st.sampled_from(["GET", "HEAD"]))
def test_random_targets_never_fail_or_escape(site: Site, pieces: list[str], method: str) -> None:
    target = "".join(pieces)
    request = Request(method, target, "HTTP/1.1", (("host", "localhost"),), True)
    response = respond(request, site.settings, NOW)
    assert response.status < 500
    body = response.body
    if isinstance(body, FileBody):
        try:
            real = os.path.realpath(f"/proc/self/fd/{body.file.fileno()}")
            assert real.startswith(str(site.root.resolve()) + os.sep)
            assert SECRET not in os.pread(body.file.fileno(), 1 << 16, 0)
        finally:
            body.file.close()
