"""The pieces of HTTP/1.1 message syntax the request parser is built from (RFC 9110, RFC 9112).

What this module owns: the character classes and small grammars of a
request head (token, field value, field line, lists, HTTP-version, Host,
Content-Length) and the one-regex shape of a common head, each with the
RFC section it implements.  parser.py owns the state machine that walks a
byte stream with them.

What it must never do: keep state, touch a socket, a file or the clock.
Anything the peer gets wrong is an `HttpError` carrying the status to answer.
"""

from __future__ import annotations

import re

from .messages import HttpError

# Numbers longer than this are larger than any body we would accept, and
# converting them would only invite int() to work hard on peer input.
_MAX_DECIMAL_DIGITS = 18

# RFC 9110 section 5.6.2:
#   token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
_TOKEN_CHARACTERS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

# RFC 9110 section 5.5:
#   field-value = *field-content; field-vchar = VCHAR / obs-text
# so inside a value only HTAB, SP, visible ASCII and bytes 0x80-0xFF may appear;
# the other control characters (CR, LF and NUL among them) may not.
_FORBIDDEN_IN_FIELD_VALUE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")

# RFC 9110 section 7.2 with RFC 3986 section 3.2.2: Host = uri-host [ ":" port ],
# where uri-host is an IP-literal in brackets, an IPv4 address or a reg-name
# (unreserved / pct-encoded / sub-delims).
_HOST_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]"
)


# The common shape of a request head, matched in one regex call (the
# per-request hot path): CRLF line ends, a token method, a target of visible
# ASCII, HTTP/1.0 or 1.1, and field lines `field-name ":" OWS field-value`
# (RFC 9112 sections 3 and 5) whose values hold no forbidden control character.
# It accepts only heads the general path (parser.py) accepts with the same result;
# anything else (bare LF, obs-fold, other versions, every error) takes the
# general path, which gives the precise answer.  The quantifiers are
# possessive (`++`, `*+`): they never backtrack, so a hostile head costs
# linear time.
_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_FIELD_VALUE_CHARACTER = r"[^\x00-\x08\x0a-\x1f\x7f]"
COMMON_HEAD = re.compile(
    rf"({_TCHAR}++) ([\x21-\x7e]++) HTTP/1\.([01])\r\n"
    rf"((?:{_TCHAR}++:[ \t]*+{_FIELD_VALUE_CHARACTER}*+\r\n)*+)\r\n"
)
# One field line of a head that matched `COMMON_HEAD`; trailing OWS is
# stripped after the match.
COMMON_FIELD_LINE = re.compile(rf"({_TCHAR}++):[ \t]*+({_FIELD_VALUE_CHARACTER}*+)\r\n")


def is_token(text: str) -> bool:
    # Most names are letters, digits and dashes: test those with str methods
    # before falling back to the character set.
    if text.isascii() and text.replace("-", "").isalnum():
        return True
    return bool(text) and _TOKEN_CHARACTERS.issuperset(text)


def is_field_value(text: str) -> bool:
    # isprintable() is a fast yes for plain ASCII values; the regex decides the rest
    # (HTAB and obs-text are allowed but not "printable").
    return text.isprintable() or _FORBIDDEN_IN_FIELD_VALUE.search(text) is None


def split_field_line(line: str) -> tuple[str, str]:
    """One `field-name ":" OWS field-value OWS` line as (lowercase name, value)."""
    # RFC 9112 section 5.2: obs-fold (a line starting with SP or HTAB that
    # continues the previous one) is obsolete; a server may reject it with 400.
    if line[:1] in (" ", "\t"):
        raise HttpError(400, "obsolete line folding in header section")
    name, colon, value = line.partition(":")
    if not colon:
        raise HttpError(400, f"header line without a colon: {line[:60]!r}")
    # RFC 9112 section 5.1: no whitespace is allowed between the field name and
    # the colon, and a server must reject such a message with 400.  The token
    # check covers it, since whitespace is not a tchar.
    if not is_token(name):
        raise HttpError(400, f"invalid header field name: {name[:60]!r}")
    # RFC 9112 section 5.1: OWS around the value is not part of it.
    value = value.strip(" \t")
    if not is_field_value(value):
        raise HttpError(400, f"control character in header field {name!r}")
    return name.lower(), value


def comma_list(value: str) -> list[str]:
    """RFC 9110 section 5.6.1: `#element` lists; empty elements are ignored."""
    return [item for item in (element.strip(" \t") for element in value.split(",")) if item]


def parse_version(version: str) -> str:
    """Map the request's HTTP-version to "HTTP/1.0" or "HTTP/1.1", or refuse it."""
    # RFC 9112 section 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT,
    # with HTTP-name = %s"HTTP" (case-sensitive).
    if (
        len(version) != 8
        or not version.startswith("HTTP/")
        or version[6] != "."
        or version[5] not in "0123456789"
        or version[7] not in "0123456789"
    ):
        raise HttpError(400, f"malformed HTTP version {version[:20]!r}")
    if version[5] != "1":
        # RFC 9110 section 15.6.6: 505 refuses the major version.  This is what
        # an HTTP/2 client's connection preface (PRI * HTTP/2.0) receives.
        raise HttpError(505, f"unsupported HTTP version {version}")
    # RFC 9110 section 6.2: a later minor version of 1.x is understood as the
    # highest minor version we implement.
    return "HTTP/1.0" if version[7] == "0" else "HTTP/1.1"


def merge_content_length(previous: int | None, value: str) -> int:
    """RFC 9110 section 8.6: Content-Length = 1*DIGIT.

    A list of identical values (from repeated fields, or "42, 42") may be
    taken as that value; anything else is invalid framing (RFC 9112
    section 6.3, item 5) and must be refused with 400.
    """
    lengths = {previous} if previous is not None else set()
    for element in value.split(","):
        element = element.strip(" \t")
        if not element or not element.isascii() or not element.isdigit():
            raise HttpError(400, f"invalid Content-Length {value[:40]!r}")
        significant = element.lstrip("0")
        # Longer than any body we could accept; 10**18 still trips the 413 check.
        lengths.add(int(significant or "0") if len(significant) <= _MAX_DECIMAL_DIGITS else 10**18)
    if len(lengths) != 1:
        raise HttpError(400, "conflicting Content-Length values")
    return lengths.pop()


def check_host(version: str, hosts: list[str]) -> None:
    # RFC 9112 section 3.2: a server must answer 400 to an HTTP/1.1 request
    # without Host, and to any request with more than one Host field or an
    # invalid Host value.
    if len(hosts) > 1:
        raise HttpError(400, "more than one Host header field")
    if not hosts:
        if version == "HTTP/1.1":
            raise HttpError(400, "HTTP/1.1 request without Host")
        return
    if not _HOST_CHARACTERS.issuperset(hosts[0]):
        raise HttpError(400, f"invalid Host {hosts[0][:60]!r}")
