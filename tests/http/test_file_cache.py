"""The open-file cache: faster, and never stale, never outside the root, never unbounded."""

from __future__ import annotations

import os

from tls_web_server.http.file_cache import OpenFileCache
from tls_web_server.http.messages import Request
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.http.static import FILE_CACHE, respond

NOW = 1_800_000_000.0


def get(site: SiteSettings, path: str, now: float = NOW) -> tuple[int, bytes]:
    request = Request("GET", path, "HTTP/1.1", (("host", "x"),), True)
    response = respond(request, site, now)
    body = response.body
    if body is None or isinstance(body, bytes):
        return response.status, body or b""
    return response.status, os.pread(body.file.fileno(), body.length, body.offset)


def make_site(tmp_path) -> SiteSettings:
    root = tmp_path / "root"
    root.mkdir()
    return SiteSettings(("x",), (LocationSettings("/", str(root), ("index.html",)),))


def test_a_modified_or_replaced_file_is_never_served_stale(tmp_path):
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    page = tmp_path / "root" / "page.txt"
    page.write_text("first")
    assert get(site, "/page.txt") == (200, b"first")
    page.write_text("second, longer")  # same inode, new size and mtime
    assert get(site, "/page.txt") == (200, b"second, longer")
    replacement = tmp_path / "root" / "new.txt"
    replacement.write_text("third version!")  # same size as before, new inode
    os.replace(replacement, page)
    assert get(site, "/page.txt") == (200, b"third version!")
    page.unlink()
    assert get(site, "/page.txt")[0] == 404


def test_a_symlink_changed_to_leave_the_root_is_refused_once_the_entry_expires(tmp_path):
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    inside = tmp_path / "root" / "real"
    inside.mkdir()
    (inside / "f.txt").write_text("inside")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("SECRET")
    link = tmp_path / "root" / "link"
    link.symlink_to(inside)
    assert get(site, "/link/f.txt") == (200, b"inside")
    link.unlink()
    link.symlink_to(outside)
    # Within the validity period the checked real path is used, never the new link.
    assert get(site, "/link/f.txt", NOW + 0.5) == (200, b"inside")
    # After it, the path is resolved again, and now leaves the root.
    assert get(site, "/link/f.txt", NOW + 2)[0] == 404


def test_the_cache_is_bounded_and_closes_what_it_forgets(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    cache = OpenFileCache(max_entries=3)
    from tls_web_server.http.static import _open_regular_file

    before = len(os.listdir("/proc/self/fd"))
    for number in range(10):
        path = root / f"{number}.txt"
        path.write_text(str(number))
        cache.put(str(root), f"/{number}.txt", _open_regular_file(str(path), path.name, NOW))
    assert len(cache) == 3
    assert len(os.listdir("/proc/self/fd")) == before + 3
    assert cache.get(str(root), "/9.txt", NOW) is not None
    assert cache.get(str(root), "/0.txt", NOW) is None  # evicted first
    cache.clear()
    assert len(os.listdir("/proc/self/fd")) == before


def test_refusals_are_not_cached(tmp_path):
    FILE_CACHE.clear()
    site = make_site(tmp_path)
    for number in range(50):
        assert get(site, f"/missing-{number}")[0] == 404
    assert len(FILE_CACHE) == 0
