"""Answer a parsed request from files under a location's root, safely.

What this module owns:
- turning a request target into a filesystem path that is provably inside
  the location's root (percent-decoding once, refusing traversal tricks,
  then checking the real path after symlinks are resolved);
- the response a static file server gives: 200, 206, 301, 304, 403, 404,
  405, 416, with Date, Last-Modified, ETag, Content-Type and Content-Range;
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

from .file_cache import CachedFile, OpenFileCache, SharedFile
from .messages import REASON_PHRASES, FileBody, HttpError, Request, Response, split_absolute_form
from .router import LocationSettings, SiteSettings, match_location
from .writer import format_http_date, http_date, parse_http_date

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
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
# Positions longer than this exceed any file; clamping avoids int() on huge peer input.
_MAX_POSITION_DIGITS = 18
_HUGE_POSITION = 10**19


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


# -- validators and ranges --------------------------------------------------


def _entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque-tag) pairs of an entity-tag list, or None when malformed.

    RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, and
    etagc may include commas, so the list is scanned quote by quote.
    """
    tags: list[tuple[bool, str]] = []
    position = 0
    length = len(value)
    while position < length:
        if value[position] in " \t,":
            position += 1
            continue
        weak = value.startswith("W/", position)
        if weak:
            position += 2
        if position >= length or value[position] != '"':
            return None
        closing = value.find('"', position + 1)
        if closing < 0:
            return None
        tags.append((weak, value[position : closing + 1]))
        position = closing + 1
    return tags


def _none_match(header: str, etag: str) -> bool:
    """Whether If-None-Match names our representation (weak comparison, RFC 9110 13.1.2)."""
    if header.strip(" \t") == "*":
        return True
    tags = _entity_tags(header)
    return tags is not None and any(opaque == etag for _, opaque in tags)


def _not_modified(request: Request, etag: str, last_modified: int, now: float) -> bool:
    """RFC 9110 section 13.2.2, steps 3 and 4, for GET and HEAD."""
    if_none_match = request.header("if-none-match")
    if if_none_match is not None:
        return _none_match(if_none_match, etag)
    # If-Modified-Since counts only without If-None-Match (RFC 9110 section
    # 13.1.3), and an invalid date or one in the future is ignored.
    if_modified_since = request.header("if-modified-since")
    if if_modified_since is None:
        return False
    since = parse_http_date(if_modified_since)
    return since is not None and since <= now and last_modified <= since


def _if_range_allows(request: Request, etag: str, last_modified: int, now: float) -> bool:
    """RFC 9110 section 13.1.5: honour Range only if the client's copy is current."""
    if_range = request.header("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip(" \t")
    if if_range.startswith(('"', "W/")):
        # An entity-tag: strong comparison, so a weak tag never matches.
        tags = _entity_tags(if_range)
        return tags is not None and len(tags) == 1 and tags[0] == (False, etag)
    # A date matches only if it equals Last-Modified and that is a strong
    # validator: at least a second older than our Date (RFC 9110 8.8.2.2).
    date = parse_http_date(if_range)
    return date is not None and date == last_modified and last_modified < math.floor(now)


def _position(digits: str) -> int | None:
    if not digits.isascii() or not digits.isdigit():
        return None
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_POSITION_DIGITS else _HUGE_POSITION


_UNSATISFIABLE = (-1, -1)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions one Range asks for, clamped to the file.

    Returns None when the header is to be ignored (malformed, another unit,
    or several ranges: we serve single ranges only, RFC 9110 section 14.2
    lets a server ignore Range), and `_UNSATISFIABLE` when no byte of the
    file is in the range (416).
    """
    # RFC 9110 section 14.1.2: ranges-specifier = range-unit "=" range-set;
    # the unit is compared case-insensitively.
    unit, equals, range_set = value.partition("=")
    if not equals or unit.strip(" \t").lower() != "bytes":
        return None
    specs = [spec.strip(" \t") for spec in range_set.split(",")]
    specs = [spec for spec in specs if spec]
    if len(specs) != 1:
        return None
    first_text, dash, last_text = specs[0].partition("-")
    if not dash:
        return None
    if not first_text:
        # suffix-range = "-" suffix-length: the last N bytes (section 14.1.1).
        suffix_length = _position(last_text)
        if suffix_length is None:
            return None
        if suffix_length == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - suffix_length), size - 1
    # int-range = first-pos "-" [ last-pos ]; last-pos below first-pos is invalid.
    first = _position(first_text)
    last = _position(last_text) if last_text else size - 1
    if first is None or last is None or (last_text and last < first):
        return None
    if first >= size:
        return _UNSATISFIABLE
    return first, min(last, size - 1)


# -- responses --------------------------------------------------------------


def _content_type(path: str) -> str:
    mime_type, encoding = _MIME_TYPES.guess_type(path, strict=False)
    if encoding is not None:
        return _ENCODING_TYPES.get(encoding, _DEFAULT_TYPE)
    return mime_type or _DEFAULT_TYPE


def _connection_headers(request: Request, keep_alive: bool) -> list[tuple[str, str]]:
    # RFC 9112 section 9.6: "close" tells the client we close after this
    # response; a 1.0 client only keeps the connection when told "keep-alive".
    if not keep_alive:
        return [("Connection", "close")]
    if request.version == "HTTP/1.0":
        return [("Connection", "keep-alive")]
    return []


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


def _file_response(request: Request, entry: CachedFile, now: float) -> Response:
    """200, 206, 304 or 416 for a regular file."""
    size = entry.size
    body = FileBody(entry.file, 0, size)
    # RFC 9110 section 8.8.2.1: Last-Modified must not be later than Date.
    last_modified = min(entry.mtime_ns // 1_000_000_000, math.floor(now))
    # A strong validator from modification time and size (RFC 9110 section 8.8.3).
    etag = f'"{entry.mtime_ns:x}-{size:x}"'
    keep_alive = request.keep_alive
    connection = _connection_headers(request, keep_alive)
    validators = [("Last-Modified", format_http_date(last_modified)), ("ETag", etag)]

    if _not_modified(request, etag, last_modified, now):
        # RFC 9110 section 15.4.5: a 304 repeats the validators, and has no body.
        headers = [("Server", SERVER_NAME), ("Date", http_date(now)), *validators, *connection]
        return Response(304, headers, None, keep_alive)

    status_code = 200
    content_range: list[tuple[str, str]] = []
    range_header = request.header("range")
    # RFC 9110 section 14.2: Range is defined for GET only; HEAD ignores it.
    if range_header is not None and request.method == "GET":
        byte_range = parse_range(range_header, size)
        if byte_range is not None and _if_range_allows(request, etag, last_modified, now):
            if byte_range == _UNSATISFIABLE:
                # RFC 9110 section 15.5.17: 416 says the current length.
                return _refusal(request, 416, now, [("Content-Range", f"bytes */{size}")])
            first, last = byte_range
            body.offset, body.length = first, last - first + 1
            status_code = 206
            content_range = [("Content-Range", f"bytes {first}-{last}/{size}")]

    headers = [
        ("Server", SERVER_NAME),
        ("Date", http_date(now)),
        ("Content-Type", entry.content_type),
        ("Content-Length", str(body.length)),
        *validators,
        ("Accept-Ranges", "bytes"),
        *content_range,
        *connection,
    ]
    if request.method == "HEAD" or body.length == 0:
        return Response(status_code, headers, None if request.method == "HEAD" else b"", keep_alive)
    return Response(status_code, headers, body, keep_alive)
