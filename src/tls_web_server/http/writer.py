"""Response heads as bytes, and HTTP dates in both directions.

What this module owns: the status line and header block on the wire
(RFC 9112 sections 4 and 5), and the HTTP-date format (RFC 9110 section
5.6.7) used by Date, Last-Modified, If-Modified-Since and If-Range.

What it must never do: read the clock (callers pass `now`, epoch seconds),
write to a socket, or send a body; the pipeline sends bodies itself so that
file bodies can go out with sendfile.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from functools import lru_cache

from .messages import REASON_PHRASES, Response

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}


@lru_cache(maxsize=1024)
def format_http_date(second: int) -> str:
    """IMF-fixdate for a whole epoch second: "Sun, 06 Nov 1994 08:49:37 GMT".

    Cached: the Date header changes once a second and Last-Modified values
    repeat for every request of the same file.
    """
    parts = time.gmtime(second)
    return (
        f"{_WEEKDAY_NAMES[parts.tm_wday]}, {parts.tm_mday:02d} {_MONTH_NAMES[parts.tm_mon - 1]} "
        f"{parts.tm_year:04d} {parts.tm_hour:02d}:{parts.tm_min:02d}:{parts.tm_sec:02d} GMT"
    )


def http_date(now: float) -> str:
    """The Date header value for `now` (epoch seconds), cached per whole second."""
    return format_http_date(math.floor(now))


# RFC 9110 section 5.6.7: a recipient must accept all three formats; only the
# first may be generated.  The obsolete ones come from 1990s software.
_SHORT_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "([A-Z][a-z]{2})"
_TIME_OF_DAY = "([0-9]{2}):([0-9]{2}):([0-9]{2})"
# Sun, 06 Nov 1994 08:49:37 GMT
_IMF_FIXDATE = re.compile(f"{_SHORT_DAY}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME_OF_DAY} GMT")
# Sunday, 06-Nov-94 08:49:37 GMT
_RFC850_DATE = re.compile(f"{_LONG_DAY}, ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME_OF_DAY} GMT")
# Sun Nov  6 08:49:37 1994
_ASCTIME_DATE = re.compile(f"{_SHORT_DAY} {_MONTH} ([ 0-9][0-9]) {_TIME_OF_DAY} ([0-9]{{4}})")


def parse_http_date(text: str) -> int | None:
    """Epoch seconds for an HTTP-date in any of the three RFC 9110 formats, else None."""
    text = text.strip(" \t")
    if match := _IMF_FIXDATE.fullmatch(text):
        day, month_name, year, hour, minute, second = match.groups()
    elif match := _RFC850_DATE.fullmatch(text):
        day, month_name, short_year, hour, minute, second = match.groups()
        # RFC 9110 section 5.6.7 wants "more than 50 years in the future" rolled
        # back a century; a fixed pivot gives the same answer until 2050.
        year = str(2000 + int(short_year) if int(short_year) < 50 else 1900 + int(short_year))
    elif match := _ASCTIME_DATE.fullmatch(text):
        month_name, day, hour, minute, second, year = match.groups()
    else:
        return None
    month = _MONTH_NUMBERS.get(month_name)
    if month is None or int(second) > 60:  # RFC 9110: second = 2DIGIT, 60 only for a leap second
        return None
    try:
        # datetime checks the calendar (no 31 Feb); a leap second reads as :59.
        moment = datetime(
            int(year),
            month,
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return int(moment.timestamp())


def encode_head(response: Response) -> bytes:
    """The status line, the header fields and the empty line that ends the head.

    RFC 9112 section 4: status-line = HTTP-version SP status-code SP [reason-phrase].
    We always answer as HTTP/1.1, also to 1.0 clients (RFC 9110 section 6.2:
    a server sends its own highest conformant version).
    """
    if response.encoded_head is not None:
        return response.encoded_head  # static.py's per-file, per-second head (messages.py)
    reason = REASON_PHRASES.get(response.status, "Unknown")
    fields = "".join([f"{name}: {value}\r\n" for name, value in response.headers])
    # Latin-1 keeps any obs-text byte as it is; everything we generate is ASCII.
    return f"HTTP/1.1 {response.status} {reason}\r\n{fields}\r\n".encode("latin-1")
