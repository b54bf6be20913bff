"""Every request target in traversal_corpus.txt is refused, and nothing leaks.

The corpus runs through the real parser and the static handler against the
shared site, whose root holds symlinks to /etc and to a secret file just
outside the root.  A refusal is any 4xx: a 400 from the parser or from path
decoding, or a 404 when the path resolves outside the root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tls_web_server.http.messages import HttpError
from tls_web_server.http.parser import RequestParser
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import error_response, respond

from .conftest import NOW, SECRET, Site, ask

CORPUS_FILE = Path(__file__).with_name("traversal_corpus.txt")


def corpus() -> list[str]:
    entries = []
    for line in CORPUS_FILE.read_text(encoding="ascii").splitlines():
        if line and not line.startswith("# ") and line != "#":
            entries.append(line)
    return entries


def test_the_corpus_is_substantial() -> None:
    entries = corpus()
    assert len(entries) >= 80
    assert len(set(entries)) == len(entries), "duplicate entries"


@pytest.mark.parametrize("target", corpus())
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_traversal_is_refused(site: Site, target: str, method: str) -> None:
    answer = ask(site, target, method=method)
    assert 400 <= answer.response.status < 500, answer.response.status
    body = answer.body or b""
    assert SECRET not in body
    assert b"root:" not in body  # /etc/passwd


def test_the_site_really_holds_the_escape_routes(site: Site) -> None:
    # Guard: the corpus would pass vacuously if the symlinks were not there.
    assert (site.root / "etc" / "passwd").read_bytes().startswith(b"root:")
    assert (site.root / "escape.txt").read_bytes() == SECRET
    assert (site.root / "outside" / "secret.txt").read_bytes() == SECRET
    assert ask(site, "/hello.txt").response.status == 200


def test_a_root_given_through_a_symlink_still_serves(site: Site, tmp_path: Path) -> None:
    # The root itself may be a symlink: containment compares real paths.
    alias = tmp_path / "alias"
    alias.symlink_to(site.root)
    settings = SiteSettings(("x",), (LocationSettings("/", str(alias), ("index.html",)),))
    parser = RequestParser()
    parser.feed(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    request = parser.next_request()
    assert request is not None
    response = respond(request, settings, NOW)
    assert response.status == 200
    body = response.body
    assert body is not None and not isinstance(body, bytes)
    body.file.close()


@pytest.mark.parametrize(
    "raw_target",
    [b"/..\xc0\xaf/secret.txt", b"/\xc0\xae\xc0\xae/secret.txt", b"/caf\xc3\xa9", b"/a b"],
)
def test_raw_non_ascii_targets_are_refused_by_the_parser(raw_target: bytes) -> None:
    parser = RequestParser()
    parser.feed(b"GET " + raw_target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(HttpError) as caught:
        parser.next_request()
    assert caught.value.status == 400
    assert error_response(caught.value.status, NOW).status == 400
