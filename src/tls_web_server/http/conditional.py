"""Conditional requests and byte ranges for a file: RFC 9110 sections 13 and 14.

What this module owns: reading the validators a client sends (If-None-Match,
If-Modified-Since, If-Range) against a file's ETag and Last-Modified, and
reading a Range header into the one byte range we serve.

What it must never do: touch a file, read the clock (`now` is a parameter),
or build a response; static.py decides what to answer from what these
functions say.  A malformed header from a peer is never an error here: RFC
9110 says to ignore it, and these functions do.
"""

from __future__ import annotations

import math

from .messages import Request
from .writer import parse_http_date

# Positions longer than this exceed any file; clamping avoids int() on huge peer input.
_MAX_POSITION_DIGITS = 18
_HUGE_POSITION = 10**19


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


def not_modified(request: Request, etag: str, last_modified: int, now: float) -> bool:
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


def if_range_allows(request: Request, etag: str, last_modified: int, now: float) -> bool:
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


UNSATISFIABLE = (-1, -1)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions one Range asks for, clamped to the file.

    Returns None when the header is to be ignored (malformed, another unit,
    or several ranges: we serve single ranges only, RFC 9110 section 14.2
    lets a server ignore Range), and `UNSATISFIABLE` when no byte of the
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
            return UNSATISFIABLE
        return max(0, size - suffix_length), size - 1
    # int-range = first-pos "-" [ last-pos ]; last-pos below first-pos is invalid.
    first = _position(first_text)
    last = _position(last_text) if last_text else size - 1
    if first is None or last is None or (last_text and last < first):
        return None
    if first >= size:
        return UNSATISFIABLE
    return first, min(last, size - 1)
