"""Answer a parsed request from files under a location's root, safely.

What this module owns:
- turning a request target into a filesystem path that is provably inside
  the location's root (percent-decoding once, refusing traversal tricks,
  then checking the real path after symlinks are resolved);
- the response a static file server gives: 200, 206, 301, 304, 403, 404,
  405, 416, with Date, Last-Modified, ETag, Content-Type and Content-Range
  (conditional.py reads the validators and Range the client sent), and the
  head of a file's plain 200, made once per second and reused;
- error pages, also for the pipeline's own refusals (`error_response`).

What it must never do: read a file into memory (bodies are open file ranges),
leave a file open when no body is sent, touch a socket, read the clock
(`now` is a parameter), or answer 500 to anything a peer can send: bad
input is a 4xx.
"""

from __future__ import annotations

import errno
import math
import mimetypes
import os
import re
import stat
from collections.abc import Iterable
from functools import lru_cache

from .conditional import UNSATISFIABLE, if_range_allows, not_modified, parse_range
from .file_cache import CachedFile, OpenFileCache, SharedFile
from .messages import REASON_PHRASES, FileBody, HttpError, Request, Response, split_absolute_form
from .router import LocationSettings, SiteSettings, match_location
from .writer import encode_head, format_http_date, http_date

SERVER_NAME = "tls-web-server"
ALLOWED_METHODS = "GET, HEAD"

# Resolved, checked and opened files (http/file_cache.py), shared by every
# site served by this process.
FILE_CACHE = OpenFileCache()

# Our own MIME table: the standard library's built-in defaults (not the host's
# /etc/mime.types, so answers do not depend on the machine) plus a few types
# it lacks.
_MIME_TYPES = mimetypes.MimeTypes()
for _extension, _mime_type in {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".md": "text/markdown",
    ".mjs": "text/javascript",
    ".webp": "image/webp",
}.items():
    _MIME_TYPES.add_type(_mime_type, _extension)
# mimetypes reports ".tar.gz" as a tar file with gzip encoding; sending that
# as Content-Encoding would make browsers unpack it, so the file is what we
# announce instead.
_ENCODING_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
}
_DEFAULT_TYPE = "application/octet-stream"

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SLASH_RUNS = re.compile(r"/{2,}")
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


# -- request target to safe path -------------------------------------------


def split_target(target: str) -> tuple[str, str]:
    """(still-encoded path, query) of an origin-form or absolute-form target.

    RFC 9112 section 3.2: origin-form is "/path?query"; absolute-form
    "http://host/path?query" is what proxies receive, and servers must accept
    it too (section 3.2.2).  Anything else (asterisk-form "*", authority-form)
    names no file: 400.
    """
    if target.startswith("/"):
        rest = target
    else:
        absolute = split_absolute_form(target)
        if absolute is None:
            raise HttpError(400, f"unsupported request-target form {target[:60]!r}")
        authority, rest = absolute
        # RFC 9110 section 4.2.1: an http URI with an empty host is invalid;
        # section 4.2.4: userinfo ("user@host") is deprecated and a known trick.
        if not authority or "@" in authority:
            raise HttpError(400, f"invalid authority in {target[:60]!r}")
        if not rest.startswith("/"):
            rest = "/" + rest  # "http://host" or "http://host?q": the path is "/"
    # RFC 9112 section 3.2: request-target has no fragment; a "#" is invalid.
    if "#" in rest:
        raise HttpError(400, "fragment in request target")
    path, _, query = rest.partition("?")
    return path, query


def merge_slashes(raw_path: str) -> str:
    """Runs of "/" become one, as nginx's `merge_slashes on` (its default) does.

    "//evil.com" names the folder "/evil.com", and its redirect to the
    trailing-slash form must never start with "//": a browser reads that
    Location as protocol-relative, another host (an open redirect).  An
    encoded slash is refused by decode_path, so merging before decoding is
    merging the decoded path.
    """
    if "//" not in raw_path:
        return raw_path
    return _SLASH_RUNS.sub("/", raw_path)


def decode_path(raw_path: str) -> str:
    """Percent-decode a request path once and refuse anything that could escape.

    Refused with 400: a non-ASCII target, a "%" not followed by two hex
    digits, an encoded "/" or any backslash (they would make one segment look
    like two), control characters and NUL, bytes that are not UTF-8 (overlong
    forms included), and "." or ".." segments after decoding.  Double
    encoding stays harmless: "%252e" decodes once to the literal name "%2e".
    """
    if not raw_path.isascii():
        raise HttpError(400, "non-ASCII request path")
    if "%" in raw_path:
        pieces = raw_path.split("%")
        decoded = bytearray(pieces[0].encode("ascii"))
        for piece in pieces[1:]:
            hex_pair = piece[:2]
            if len(hex_pair) != 2 or not _HEX_DIGITS.issuperset(hex_pair):
                raise HttpError(400, "invalid percent-encoding in path")
            byte = int(hex_pair, 16)
            if byte == 0x2F or byte == 0x5C:
                raise HttpError(400, "encoded slash or backslash in path")
            decoded.append(byte)
            decoded += piece[2:].encode("ascii")
        try:
            path = decoded.decode("utf-8")  # strict: overlong and surrogate forms fail
        except UnicodeDecodeError:
            raise HttpError(400, "path is not UTF-8") from None
    else:
        path = raw_path
    if "\\" in path:
        raise HttpError(400, "backslash in path")
    if _CONTROL_CHARACTER.search(path):
        raise HttpError(400, "control character in path")
    # RFC 3986 section 3.3: "." and ".." are dot-segments; a client resolves
    # them before sending (section 5.2.4), so here they can only be an attack.
    for segment in path.split("/"):
        if segment == ".." or segment == ".":
            raise HttpError(400, "dot-segment in path")
    return path


def _is_inside(root: str, candidate: str) -> bool:
    """Whether real path `candidate` is `root` itself or below it."""
    return candidate == root or candidate.startswith(root.rstrip(os.sep) + os.sep)


def _status_for_os_error(error: OSError) -> int:
    # Permission problems are 403; every other failure to find or open a file
    # (missing, not a directory, name too long, symlink loop, ...) is 404, so
    # no request path, however odd, can produce a 500.
    return 403 if error.errno in (errno.EACCES, errno.EPERM) else 404


# -- responses --------------------------------------------------------------


def _content_type(path: str) -> str:
    mime_type, encoding = _MIME_TYPES.guess_type(path, strict=False)
    if encoding is not None:
        return _ENCODING_TYPES.get(encoding, _DEFAULT_TYPE)
    return mime_type or _DEFAULT_TYPE


def _connection_headers(request: Request, keep_alive: bool) -> list[tuple[str, str]]:
    connection = _connection_value(request, keep_alive)
    return [] if connection is None else [("Connection", connection)]


@lru_cache(maxsize=64)
def _status_page(status: int) -> bytes:
    phrase = REASON_PHRASES.get(status, "Error")
    return (
        f"<!DOCTYPE html>\n<html><head><title>{status} {phrase}</title></head>\n"
        f"<body><h1>{status} {phrase}</h1><hr><p>{SERVER_NAME}</p></body></html>\n"
    ).encode("ascii")


def _page_response(
    status: int, now: float, keep_alive: bool, extra_headers: Iterable[tuple[str, str]]
) -> Response:
    body = _status_page(status)
    headers = [
        ("Server", SERVER_NAME),
        ("Date", http_date(now)),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra_headers,
    ]
    return Response(status, headers, body, keep_alive)


def error_response(
    status: int,
    now: float,
    *,
    keep_alive: bool = False,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A small HTML error page; with `keep_alive` False it says "Connection: close".

    For the pipeline's refusals (an HttpError from the parser, a timeout),
    where no valid request exists to take the HTTP version from.
    """
    connection = [] if keep_alive else [("Connection", "close")]
    return _page_response(status, now, keep_alive, [*extra_headers, *connection])


def _refusal(
    request: Request, status: int, now: float, extra_headers: Iterable[tuple[str, str]] = ()
) -> Response:
    """An error page for a well-framed request: the connection may stay open."""
    keep_alive = request.keep_alive
    response = _page_response(
        status, now, keep_alive, [*extra_headers, *_connection_headers(request, keep_alive)]
    )
    if request.method == "HEAD":
        response.body = None  # RFC 9110 section 9.3.2: same head as GET, no body
    return response


def respond(request: Request, site: SiteSettings, now: float) -> Response:
    """The response for one request to `site`: a file, a redirect, or an error page.

    Every refusal is a 4xx response, never an exception.  A 200 or 206 to GET
    carries a FileBody whose file the caller must close.
    """
    if request.method != "GET" and request.method != "HEAD":
        # RFC 9110 section 15.5.6: a 405 must list the allowed methods.
        return _refusal(request, 405, now, [("Allow", ALLOWED_METHODS)])
    try:
        raw_path, query = split_target(request.target)
        raw_path = merge_slashes(raw_path)
        path = decode_path(raw_path)
        location = match_location(site, path)
        if location is None:
            raise HttpError(404, f"no location matches {path[:60]!r}")
        return _serve_path(request, location, raw_path, query, path, now)
    except HttpError as refusal:
        return _refusal(request, refusal.status, now)


def _serve_path(
    request: Request,
    location: LocationSettings,
    raw_path: str,
    query: str,
    path: str,
    now: float,
) -> Response:
    cached = FILE_CACHE.get(location.root, path, now)
    if cached is not None:
        return _file_response(request, cached, now)
    # nginx's `root`: the full request path is appended to the root directory.
    # Plain concatenation, not os.path.join, which would drop the root for "//x".
    root = os.path.realpath(location.root)
    real_path = os.path.realpath(location.root.rstrip("/") + path)
    # After symlinks are resolved, the file must still be inside the root.
    if not _is_inside(root, real_path):
        raise HttpError(404, f"{path[:60]!r} resolves outside the root")
    try:
        status = os.stat(real_path)
    except OSError as error:
        raise HttpError(_status_for_os_error(error), f"cannot stat {path[:60]!r}") from None
    if stat.S_ISDIR(status.st_mode):
        if not raw_path.endswith("/"):
            # Relative links in the directory's index page need the trailing
            # slash, so redirect (as nginx does) to the same path with one.
            # raw_path starts with exactly one "/" (merge_slashes; a backslash
            # is refused), so the Location is a path on this host, never "//host".
            location_value = raw_path + "/" + (f"?{query}" if query else "")
            return _refusal(request, 301, now, [("Location", location_value)])
        index_path = _find_index(root, real_path, location.index)
        if index_path is None:
            raise HttpError(403, f"directory {path[:60]!r} has no index file")
        real_path, name_for_type = index_path, index_path
    elif path.endswith("/"):
        raise HttpError(404, f"{path[:60]!r} is a file, not a directory")
    else:
        name_for_type = path
    entry = _open_regular_file(real_path, name_for_type, now)
    FILE_CACHE.put(location.root, path, entry)
    return _file_response(request, entry, now)


def _find_index(root: str, directory: str, index_names: tuple[str, ...]) -> str | None:
    """The first index file that exists in `directory` and stays inside `root`."""
    for name in index_names:
        candidate = os.path.realpath(os.path.join(directory, name))
        if not _is_inside(root, candidate):
            continue
        try:
            if stat.S_ISREG(os.stat(candidate).st_mode):
                return candidate
        except OSError:
            continue
    return None


def _open_regular_file(real_path: str, name_for_type: str, now: float) -> CachedFile:
    # O_NONBLOCK: if the path became a FIFO since we looked, opening it must
    # not wait for a writer.  fstat on the open file is the final word.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        descriptor = os.open(real_path, flags)
    except OSError as error:
        raise HttpError(_status_for_os_error(error), "cannot open file") from None
    try:
        file_status = os.fstat(descriptor)
    except OSError as error:
        os.close(descriptor)
        raise HttpError(_status_for_os_error(error), "cannot stat open file") from None
    if not stat.S_ISREG(file_status.st_mode):
        os.close(descriptor)
        raise HttpError(403, "not a regular file")
    return CachedFile(
        real_path=real_path,
        file=SharedFile(descriptor),
        size=file_status.st_size,
        mtime_ns=file_status.st_mtime_ns,
        inode=(file_status.st_dev, file_status.st_ino),
        # As in nginx, the type follows the name the client asked for (or the
        # index file's name), not the name a symlink points to.
        content_type=_content_type(name_for_type),
        checked_at=now,
    )


# The request fields that can turn a file's 200 into a 304, 206 or 416
# (RFC 9110 sections 13.1 and 14.2).  Without any of them the answer is the
# plain 200, whose head is made once per second (see `_plain_file_head`).
_CONDITIONAL_FIELDS = frozenset(("if-none-match", "if-modified-since", "if-range", "range"))

# How many (second, Connection value) heads one file keeps; a few cover every
# client mix in the current second, and older seconds are useless anyway.
_HEADS_PER_FILE = 8


def _connection_value(request: Request, keep_alive: bool) -> str | None:
    """The Connection header value a response to `request` carries, if any."""
    # RFC 9112 section 9.6: "close" tells the client we close after this
    # response; a 1.0 client only keeps the connection when told "keep-alive".
    if not keep_alive:
        return "close"
    if request.version == "HTTP/1.0":
        return "keep-alive"
    return None


def _file_headers(
    entry: CachedFile, now: float, length: int, content_range: str | None, connection: str | None
) -> list[tuple[str, str]]:
    """The header fields of a 200 or 206 for `entry`, in the order we always send them."""
    headers = [
        ("Server", SERVER_NAME),
        ("Date", http_date(now)),
        ("Content-Type", entry.content_type),
        ("Content-Length", str(length)),
        *_validator_headers(entry, now),
        ("Accept-Ranges", "bytes"),
    ]
    if content_range is not None:
        headers.append(("Content-Range", content_range))
    if connection is not None:
        headers.append(("Connection", connection))
    return headers


def _last_modified(entry: CachedFile, now: float) -> int:
    # RFC 9110 section 8.8.2.1: Last-Modified must not be later than Date.
    return min(entry.mtime_ns // 1_000_000_000, math.floor(now))


def _etag(entry: CachedFile) -> str:
    # A strong validator from modification time and size (RFC 9110 section 8.8.3).
    return f'"{entry.mtime_ns:x}-{entry.size:x}"'


def _validator_headers(entry: CachedFile, now: float) -> list[tuple[str, str]]:
    return [
        ("Last-Modified", format_http_date(_last_modified(entry, now))),
        ("ETag", _etag(entry)),
    ]


def _plain_file_head(
    entry: CachedFile, now: float, connection: str | None
) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """The header fields and encoded head of a full 200 for `entry`, made once per second.

    Everything in it depends only on the file (the entry is replaced when the
    file changes), the second of `now` and the Connection value.
    """
    key = (math.floor(now), connection)
    heads = entry.response_heads
    cached = heads.get(key)
    if cached is None:
        if len(heads) >= _HEADS_PER_FILE:
            heads.clear()
        headers = _file_headers(entry, now, entry.size, None, connection)
        cached = (tuple(headers), encode_head(Response(200, headers, None, True)))
        heads[key] = cached
    return cached


def _file_response(request: Request, entry: CachedFile, now: float) -> Response:
    """200, 206, 304 or 416 for a regular file."""
    keep_alive = request.keep_alive
    connection = _connection_value(request, keep_alive)
    for name, _ in request.headers:
        if name in _CONDITIONAL_FIELDS:
            return _conditional_file_response(request, entry, now, connection)
    # The common case: no validators, no Range, so the answer is the plain 200.
    headers, head = _plain_file_head(entry, now, connection)
    size = entry.size
    body: bytes | FileBody | None
    if request.method == "HEAD":
        body = None
    elif size == 0:
        body = b""
    else:
        body = FileBody(entry.file, 0, size)
    return Response(200, list(headers), body, keep_alive, head)


def _conditional_file_response(
    request: Request, entry: CachedFile, now: float, connection: str | None
) -> Response:
    """The answer when the request carries validators or a Range (RFC 9110 13 and 14)."""
    size = entry.size
    last_modified = _last_modified(entry, now)
    etag = _etag(entry)
    keep_alive = request.keep_alive
    connection_fields = [("Connection", connection)] if connection is not None else []

    if not_modified(request, etag, last_modified, now):
        # RFC 9110 section 15.4.5: a 304 repeats the validators, and has no body.
        headers = [
            ("Server", SERVER_NAME),
            ("Date", http_date(now)),
            *_validator_headers(entry, now),
            *connection_fields,
        ]
        return Response(304, headers, None, keep_alive)

    status_code = 200
    offset, length = 0, size
    content_range: str | None = None
    range_header = request.header("range")
    # RFC 9110 section 14.2: Range is defined for GET only; HEAD ignores it.
    if range_header is not None and request.method == "GET":
        byte_range = parse_range(range_header, size)
        if byte_range is not None and if_range_allows(request, etag, last_modified, now):
            if byte_range == UNSATISFIABLE:
                # RFC 9110 section 15.5.17: 416 says the current length.
                return _refusal(request, 416, now, [("Content-Range", f"bytes */{size}")])
            first, last = byte_range
            offset, length = first, last - first + 1
            status_code = 206
            content_range = f"bytes {first}-{last}/{size}"

    headers = _file_headers(entry, now, length, content_range, connection)
    if request.method == "HEAD" or length == 0:
        return Response(status_code, headers, None if request.method == "HEAD" else b"", keep_alive)
    return Response(status_code, headers, FileBody(entry.file, offset, length), keep_alive)
