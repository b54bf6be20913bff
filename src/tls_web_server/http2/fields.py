"""Which HTTP/2 field sections are well-formed (RFC 9113 section 8), for requests and responses.

What this module owns: the rules that make a request or response
"malformed" (section 8.1.1), each a stream error PROTOCOL_ERROR raised as
StreamFailure: field names with uppercase or other forbidden characters
(8.2.1), values with NUL, CR or LF or surrounding whitespace, connection-
specific fields and TE other than "trailers" (8.2.2), pseudo-header fields
that are missing, unknown, repeated, in trailers or after a regular field
(8.3); and the content-length a stream announces (8.1.1).

What it must never do: decide what to answer (server.py resets the
stream), or judge what HTTP semantics do with a valid request (static.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import ErrorCode, StreamFailure

# Section 8.2.2: these mean something only to one HTTP/1.1 hop.
CONNECTION_SPECIFIC_FIELDS = frozenset(
    {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"}
)
REQUEST_PSEUDO_FIELDS = frozenset({":method", ":scheme", ":authority", ":path"})
RESPONSE_PSEUDO_FIELDS = frozenset({":status"})

# Section 8.2.1: no control characters, space, uppercase, DEL or non-ASCII, no colon.
_FORBIDDEN_IN_NAME = re.compile("[\x00-\x20A-Z\x7f-\xff:]")
_FORBIDDEN_IN_VALUE = re.compile("[\x00\r\n]")
_DIGITS = re.compile("[0-9]{1,18}")


def _malformed(stream_id: int, reason: str) -> StreamFailure:
    return StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, f"malformed: {reason}")


def _check_regular_field(stream_id: int, name: str, value: str) -> None:
    if not name or _FORBIDDEN_IN_NAME.search(name):
        raise _malformed(stream_id, f"field name {name[:40]!r}")
    if _FORBIDDEN_IN_VALUE.search(value) or value[:1] in " \t" or value[-1:] in " \t":
        raise _malformed(stream_id, f"value of {name}")
    if name in CONNECTION_SPECIFIC_FIELDS:
        raise _malformed(stream_id, f"connection-specific field {name}")
    if name == "te" and value != "trailers":
        raise _malformed(stream_id, f"te: {value[:40]!r}")


def _split_pseudo(
    stream_id: int, fields: Sequence[tuple[str, str]], allowed: frozenset[str]
) -> dict[str, str]:
    """The pseudo-header fields, checked; every regular field checked too."""
    pseudo: dict[str, str] = {}
    regular_seen = False
    for name, value in fields:
        if name.startswith(":"):
            if regular_seen:
                raise _malformed(stream_id, f"{name} after a regular field")
            if name not in allowed:
                raise _malformed(stream_id, f"pseudo-header field {name[:40]!r}")
            if name in pseudo:
                raise _malformed(stream_id, f"{name} twice")
            if _FORBIDDEN_IN_VALUE.search(value):
                raise _malformed(stream_id, f"value of {name}")
            pseudo[name] = value
        else:
            regular_seen = True
            _check_regular_field(stream_id, name, value)
    return pseudo


def check_request(stream_id: int, fields: Sequence[tuple[str, str]]) -> None:
    """Section 8.3.1: a request head; raises StreamFailure PROTOCOL_ERROR when malformed."""
    pseudo = _split_pseudo(stream_id, fields, REQUEST_PSEUDO_FIELDS)
    method = pseudo.get(":method")
    if not method:
        raise _malformed(stream_id, "no :method")
    if method == "CONNECT":
        # Section 8.5: only :method and :authority.
        if ":scheme" in pseudo or ":path" in pseudo or not pseudo.get(":authority"):
            raise _malformed(stream_id, "CONNECT with :scheme or :path, or without :authority")
        return
    if not pseudo.get(":scheme"):
        raise _malformed(stream_id, "no :scheme")
    if not pseudo.get(":path"):
        raise _malformed(stream_id, "no :path, or an empty one")


def check_response(stream_id: int, fields: Sequence[tuple[str, str]]) -> int:
    """Section 8.3.2: a response head; returns its status."""
    pseudo = _split_pseudo(stream_id, fields, RESPONSE_PSEUDO_FIELDS)
    status = pseudo.get(":status", "")
    if len(status) != 3 or not status.isascii() or not status.isdigit():
        raise _malformed(stream_id, f":status {status[:10]!r}")
    return int(status)


def check_trailers(stream_id: int, fields: Sequence[tuple[str, str]]) -> None:
    """Section 8.1: trailers carry no pseudo-header fields."""
    _split_pseudo(stream_id, fields, frozenset())


def content_length(stream_id: int, fields: Sequence[tuple[str, str]]) -> int | None:
    """The content-length a head announces (section 8.1.1), None without one."""
    values = {value for name, value in fields if name == "content-length"}
    if not values:
        return None
    if len(values) > 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise _malformed(stream_id, "content-length")
    return int(next(iter(values)))
