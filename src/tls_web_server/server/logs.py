"""The access log (nginx's `log_format` / `access_log`) and the error log.

Rules this module keeps:
- Nothing secret is ever written here: no keys, no plaintext bodies, no
  ticket contents (SSLKEYLOGFILE, opt-in, lives in tls/keylog.py).
- Writes are buffered and flushed once per event-loop iteration, so a busy
  server does not pay one system call per request.
- Every variable's value is escaped the way nginx escapes it (escape=default),
  so a client cannot forge log lines with its request line or User-Agent.
- A format is compiled once, when the listener is built, into a list of parts
  (literal text, or the function that reads one variable); nginx's `combined`
  keeps its own hand-written line, the plain HTTP hot path's.
- The TLS variables come from `Negotiated` (tls/api.py), which the session
  hands over from its transport without knowing which TLS, if any, is below.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

from tls_web_server.config.log_format import COMBINED, LogFormat, Variable
from tls_web_server.http.messages import Request, Response
from tls_web_server.http.router import SiteSettings
from tls_web_server.tls.api import ClientCertificateCheck, Negotiated

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local_time_and_offset(second: int) -> tuple[time.struct_time, str, int, int]:
    """Local time at `second`, with its UTC offset as sign, hours and minutes."""
    tm = time.localtime(second)
    offset = tm.tm_gmtoff // 60
    return tm, "+" if offset >= 0 else "-", abs(offset) // 60, abs(offset) % 60


def _escape(text: str, encoding: str = "utf-8") -> str:
    """nginx escapes `"`, `\\` and bytes outside printable ASCII as \\xHH.

    The bytes are the text in `encoding`; text it cannot encode falls back to
    UTF-8 (with surrogateescape, for file names the OS gave as bytes).
    """
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogateescape")
    out = []
    for char in data:
        if char in (0x22, 0x5C) or char < 0x20 or char > 0x7E:
            out.append(f"\\x{char:02X}")
        else:
            out.append(chr(char))
    return "".join(out)


# Values from the wire are escaped as the client's bytes: the HTTP parser decodes
# header bytes as Latin-1, one character per byte, so encoding back gives them
# exactly (nginx logs a User-Agent byte 0xFF as \\xFF, not as its UTF-8 form).
WIRE = "latin-1"


def _open(target: Path | str) -> TextIO:
    if target == "stdout":
        return sys.stdout
    if target == "stderr":
        return sys.stderr
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", encoding="utf-8", buffering=64 * 1024)


class AccessLogEntry:
    """What one logged response knows: the facts the variables are read from."""

    __slots__ = (
        "head_length",
        "log",
        "negotiated",
        "now",
        "peer",
        "request",
        "response",
        "site",
        "started",
    )

    def __init__(
        self,
        log: AccessLog,
        peer: str,
        now: float,
        request: Request | None,
        response: Response,
        head_length: int,
        site: SiteSettings,
        negotiated: Negotiated | None,
        started: float | None,
    ) -> None:
        self.log = log
        self.peer = peer
        self.now = now
        self.request = request  # None: the request could not be parsed
        self.response = response
        self.head_length = head_length
        self.site = site
        self.negotiated = negotiated  # None on a plain connection
        self.started = started  # when the request's first bytes arrived, if measured


def _request_line(entry: AccessLogEntry) -> str | None:
    request = entry.request
    return None if request is None else f"{request.method} {request.target} {request.version}"


def _header(name: str) -> Callable[[AccessLogEntry], str | None]:
    def value(entry: AccessLogEntry) -> str | None:
        return None if entry.request is None else entry.request.header(name)

    return value


def _host(entry: AccessLogEntry) -> str | None:
    # nginx's $host: the request's host, lowercase and without the port, else the server name.
    host = entry.request.host if entry.request is not None else None
    if host:
        if host.startswith("["):
            return host[: host.find("]") + 1].lower() or host.lower()
        return host.partition(":")[0].lower()
    return _server_name(entry)


def _server_name(entry: AccessLogEntry) -> str:
    names = entry.site.server_names
    return names[0] if names else ""


def _request_time(entry: AccessLogEntry) -> str:
    started = entry.now if entry.started is None else entry.started
    return f"{max(0.0, entry.now - started):.3f}"


def _negotiated(read: Callable[[Negotiated], str | None]) -> Callable[[AccessLogEntry], str | None]:
    def value(entry: AccessLogEntry) -> str | None:
        return None if entry.negotiated is None else read(entry.negotiated)

    return value


_NO_CLIENT_CERTIFICATE = ClientCertificateCheck("NONE")


def _client_certificate(
    read: Callable[[ClientCertificateCheck], str | None],
) -> Callable[[AccessLogEntry], str | None]:
    def value(entry: AccessLogEntry) -> str | None:
        negotiated = entry.negotiated
        if negotiated is None or negotiated.client_certificate is None:
            return None
        return read(negotiated.client_certificate)

    return value


# Variable name -> its value for one entry (None is written "-", as nginx writes an
# unset variable).  config/log_format.py's VARIABLES names the same set: a test checks it.
VARIABLE_VALUES: Mapping[str, Callable[[AccessLogEntry], str | None]] = MappingProxyType(
    {
        "remote_addr": lambda entry: entry.peer,
        "remote_user": lambda entry: None,  # no HTTP authentication here
        "time_local": lambda entry: entry.log.local_time(entry.now),
        "time_iso8601": lambda entry: entry.log.iso8601_time(entry.now),
        "request": _request_line,
        "request_method": lambda entry: entry.request and entry.request.method,
        "request_uri": lambda entry: entry.request and entry.request.target,
        "status": lambda entry: str(entry.response.status),
        "body_bytes_sent": lambda entry: str(entry.response.body_length),
        "bytes_sent": lambda entry: str(entry.head_length + entry.response.body_length),
        "http_referer": _header("referer"),
        "http_user_agent": _header("user-agent"),
        "request_time": _request_time,
        "server_name": _server_name,
        "host": _host,
        "server_protocol": lambda entry: entry.request and entry.request.version,
        "ssl_protocol": _negotiated(lambda negotiated: negotiated.protocol),
        "ssl_cipher": _negotiated(lambda negotiated: negotiated.cipher_suite),
        "ssl_curve": _negotiated(lambda negotiated: negotiated.group),
        # nginx: "r" if the session was reused, "." otherwise.
        "ssl_session_reused": _negotiated(lambda negotiated: "r" if negotiated.resumed else "."),
        "ssl_server_name": _negotiated(lambda negotiated: negotiated.server_name),
        "ssl_alpn_protocol": _negotiated(lambda negotiated: negotiated.alpn),
        # Mutual TLS (ssl_verify_client): NONE when no certificate was asked for or sent.
        "ssl_client_verify": _negotiated(
            lambda negotiated: (negotiated.client_certificate or _NO_CLIENT_CERTIFICATE).verify
        ),
        "ssl_client_s_dn": _client_certificate(lambda check: check.subject),
        "ssl_client_i_dn": _client_certificate(lambda check: check.issuer),
        "ssl_client_fingerprint": _client_certificate(lambda check: check.fingerprint),
    }
)

# One compiled part: literal text, or the reader of one variable.
Part = str | Callable[[AccessLogEntry], "str | None"]


def compile_format(log_format: LogFormat) -> tuple[Part, ...]:
    """The format's parts with each variable replaced by the function that reads it."""
    return tuple(
        VARIABLE_VALUES[part.name] if isinstance(part, Variable) else part
        for part in log_format.parts
    )


class AccessLog:
    """One line per response, in the format `access_log` names (`combined` by default)."""

    def __init__(
        self, target: Path | str, log_format: LogFormat = COMBINED, stream: TextIO | None = None
    ) -> None:
        self.target = target
        self.log_format = log_format
        self._stream = _open(target) if stream is None else stream
        self._parts = compile_format(log_format)
        # nginx's combined is the common case: its line is one f-string (write_combined).
        # `write` is chosen once, so a logged response costs one call either way.
        self.is_combined = log_format.parts == COMBINED.parts
        self.write: Callable[..., None] = (
            self.write_combined if self.is_combined else self.write_compiled
        )
        self._time_second = -1
        self._time_text = ""
        self._iso_second = -1
        self._iso_text = ""
        # Whether a line needs to know when its request began (the session then notes it).
        self.times_requests = any(
            isinstance(part, Variable) and part.name == "request_time" for part in log_format.parts
        )

    def local_time(self, now: float) -> str:
        """$time_local, `07/Dec/2026:09:25:08 +0000` (made once a second)."""
        second = int(now)
        if second != self._time_second:
            tm, sign, hours, minutes = _local_time_and_offset(second)
            self._time_text = (
                f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {sign}{hours:02d}{minutes:02d}"
            )
            self._time_second = second
        return self._time_text

    def iso8601_time(self, now: float) -> str:
        """$time_iso8601, `2026-12-07T09:25:08+00:00` (made once a second)."""
        second = int(now)
        if second != self._iso_second:
            tm, sign, hours, minutes = _local_time_and_offset(second)
            self._iso_text = (
                f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{sign}{hours:02d}:{minutes:02d}"
            )
            self._iso_second = second
        return self._iso_text

    # write(peer, now, request, response, head_length, site, negotiated, started=None):
    # log one response; `request` is None when the request could not be parsed,
    # `negotiated` None without TLS, `started` None unless $request_time is used.

    def write_compiled(
        self,
        peer: str,
        now: float,
        request: Request | None,
        response: Response,
        head_length: int,
        site: SiteSettings,
        negotiated: Negotiated | None,
        started: float | None = None,
    ) -> None:
        entry = AccessLogEntry(
            self, peer, now, request, response, head_length, site, negotiated, started
        )
        self._stream.write(self.render(entry))

    def write_combined(
        self,
        peer: str,
        now: float,
        request: Request | None,
        response: Response,
        head_length: int,
        site: SiteSettings,
        negotiated: Negotiated | None,
        started: float | None = None,
    ) -> None:
        """nginx's combined line, written out by hand: the hot path's (render gives the same)."""
        if request is None:
            request_line = referer = user_agent = "-"
        else:
            request_line = _escape(f"{request.method} {request.target} {request.version}", WIRE)
            referer = _escape(request.header("referer") or "-", WIRE)
            user_agent = _escape(request.header("user-agent") or "-", WIRE)
        self._stream.write(
            f'{peer} - - [{self.local_time(now)}] "{request_line}" '
            f'{response.status} {response.body_length} "{referer}" "{user_agent}"\n'
        )

    def render(self, entry: AccessLogEntry) -> str:
        """The line of the compiled format for one entry, every value escaped."""
        pieces = []
        for part in self._parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                value = part(entry)
                pieces.append("-" if value is None else _escape(value, WIRE))
        pieces.append("\n")
        return "".join(pieces)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


class ErrorLog:
    """nginx-style: `2026/11/25 23:55:58 [error] 1234#0: message, client: 127.0.0.1`."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.stream = _open(target)

    def write(self, level: str, message: str, *, peer: str | None = None) -> None:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        client = f", client: {peer}" if peer else ""
        self.stream.write(f"{stamp} [{level}] {os.getpid()}#0: {_escape(message)}{client}\n")

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass


class LogFiles:
    """Opens each log target once, however many server blocks (and formats) name it."""

    def __init__(self) -> None:
        self._access: dict[tuple[str, LogFormat], AccessLog] = {}
        self._access_streams: dict[str, TextIO] = {}
        self._error: dict[str, ErrorLog] = {}
        # Every stream opened above, each once: flush() runs after every loop iteration.
        self._streams: list[TextIO] = []

    def access(
        self, target: Path | str | None, log_format: LogFormat = COMBINED
    ) -> AccessLog | None:
        if target is None:
            return None
        key = str(target)
        if (key, log_format) not in self._access:
            # Two formats into one file share its stream, so their lines keep their order.
            if key not in self._access_streams:
                self._access_streams[key] = _open(target)
                self._streams.append(self._access_streams[key])
            stream = self._access_streams[key]
            self._access[key, log_format] = AccessLog(target, log_format, stream)
        return self._access[key, log_format]

    def error(self, target: Path | str) -> ErrorLog:
        key = str(target)
        if key not in self._error:
            log = self._error[key] = ErrorLog(target)
            self._streams.append(log.stream)
        return self._error[key]

    def flush(self) -> None:
        # The streams, not the logs: two formats into one file (or an access
        # and an error log on stderr) share a stream, flushed once.
        for stream in self._streams:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
