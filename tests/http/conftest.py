"""A small site on disk, shared by the static-file and traversal tests.

Layout (under pytest's tmp_path):

    secret.txt                  outside the root: must never be served
    site/                       the root of location "/"
        index.html  hello.txt  data.bin  empty.txt  style.css  app.js  logo.png
        docs/readme.md          a directory without an index file
        blog/index.htm          found through the second index name
        pipe                    a FIFO: not a regular file
        inside-link.txt         symlink to hello.txt (stays inside: allowed)
        etc -> /etc  escape.txt -> ../secret.txt  outside -> ..   (all lead out)
    media/images/cat.png        the root of location "/images/"
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tls_web_server.http.messages import FileBody, HttpError, Response
from tls_web_server.http.parser import RequestParser
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import FILE_CACHE, error_response, respond

FILE_MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
NOW = 1_700_000_500.25
SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"
DATA = bytes(range(256)) * 4  # 1024 bytes, every offset distinguishable


@dataclass
class Site:
    root: Path
    outside: Path
    settings: SiteSettings


@dataclass
class Answer:
    response: Response
    body: bytes | None  # what the client would receive after the head


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (FILE_MTIME, FILE_MTIME))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    _write(tmp_path / "secret.txt", SECRET)
    _write(root / "index.html", b"<h1>home</h1>\n")
    _write(root / "hello.txt", b"hello world\n")
    _write(root / "data.bin", DATA)
    _write(root / "empty.txt", b"")
    _write(root / "style.css", b"body{}")
    _write(root / "app.js", b"let a;")
    _write(root / "logo.png", b"\x89PNG")
    _write(root / "docs" / "readme.md", b"# docs")
    _write(root / "blog" / "index.htm", b"<h1>blog</h1>")
    _write(tmp_path / "media" / "images" / "cat.png", b"cat picture")
    os.mkfifo(root / "pipe")
    (root / "inside-link.txt").symlink_to("hello.txt")
    (root / "etc").symlink_to("/etc")
    (root / "escape.txt").symlink_to("../secret.txt")
    (root / "outside").symlink_to("..")
    settings = SiteSettings(
        server_names=("localhost",),
        locations=(
            LocationSettings("/", str(root), ("index.html", "index.htm")),
            LocationSettings("/images/", str(tmp_path / "media"), ("index.html",)),
        ),
    )
    return Site(root, tmp_path, settings)


def read_body(response: Response) -> bytes | None:
    """The body bytes, reading (and closing) a FileBody the way the pipeline would."""
    body = response.body
    if isinstance(body, FileBody):
        try:
            return os.pread(body.file.fileno(), body.length, body.offset)
        finally:
            body.file.close()
    return body


def ask(
    site: Site,
    target: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (("Host", "localhost"),),
    version: str = "HTTP/1.1",
    now: float = NOW,
) -> Answer:
    """Send one request through the real parser and static handler."""
    head = f"{method} {target} {version}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    parser = RequestParser()
    parser.feed((head + "\r\n").encode("latin-1"))
    try:
        request = parser.next_request()
    except HttpError as error:
        response = error_response(error.status, now)
        return Answer(response, read_body(response))
    if request is None:
        raise AssertionError(f"the parser wants more bytes for {head!r}")
    response = respond(request, site.settings, now)
    return Answer(response, read_body(response))


def open_descriptor_count() -> int:
    """Descriptors open in this process, not counting files the open-file cache keeps.

    The cache is emptied first: whatever stays open after that is a leak.
    """
    FILE_CACHE.clear()
    return len(os.listdir("/proc/self/fd"))
