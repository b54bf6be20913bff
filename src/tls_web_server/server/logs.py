"""The access log (nginx "combined" format) and the error log.

Rules this module keeps:
- Nothing secret is ever written here: no keys, no plaintext bodies, no
  ticket contents (SSLKEYLOGFILE, opt-in, lives in tls/keylog.py).
- Writes are buffered and flushed once per event-loop iteration, so a busy
  server does not pay one system call per request.
- Peer-controlled text (request line, Referer, User-Agent) is escaped the way
  nginx escapes it, so a client cannot forge log lines.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _escape(text: str) -> str:
    """nginx escapes `"`, `\\` and bytes outside printable ASCII as \\xHH."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    out = []
    for char in text.encode("utf-8", "surrogateescape"):
        if char in (0x22, 0x5C) or char < 0x20 or char > 0x7E:
            out.append(f"\\x{char:02X}")
        else:
            out.append(chr(char))
    return "".join(out)


def _open(target: Path | str) -> TextIO:
    if target == "stdout":
        return sys.stdout
    if target == "stderr":
        return sys.stderr
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", encoding="utf-8", buffering=64 * 1024)


class AccessLog:
    """One line per response, nginx's `combined` format."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self._stream = _open(target)
        self._time_second = -1
        self._time_text = ""

    def _local_time(self, now: float) -> str:
        second = int(now)
        if second != self._time_second:
            tm = time.localtime(second)
            offset = tm.tm_gmtoff // 60
            sign = "+" if offset >= 0 else "-"
            self._time_text = (
                f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} "
                f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
            )
            self._time_second = second
        return self._time_text

    def write(
        self,
        *,
        remote_address: str,
        now: float,
        request_line: str,
        status: int,
        body_bytes: int,
        referer: str | None,
        user_agent: str | None,
    ) -> None:
        self._stream.write(
            f'{remote_address} - - [{self._local_time(now)}] "{_escape(request_line)}" '
            f'{status} {body_bytes} "{_escape(referer or "-")}" "{_escape(user_agent or "-")}"\n'
        )

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


class ErrorLog:
    """nginx-style: `2026/11/25 23:55:58 [error] 1234#0: message, client: 127.0.0.1`."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self._stream = _open(target)

    def write(self, level: str, message: str, *, peer: str | None = None) -> None:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        client = f", client: {peer}" if peer else ""
        self._stream.write(f"{stamp} [{level}] {os.getpid()}#0: {_escape(message)}{client}\n")

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


class LogFiles:
    """Opens each log target once, however many server blocks name it."""

    def __init__(self) -> None:
        self._access: dict[str, AccessLog] = {}
        self._error: dict[str, ErrorLog] = {}

    def access(self, target: Path | str | None) -> AccessLog | None:
        if target is None:
            return None
        key = str(target)
        if key not in self._access:
            self._access[key] = AccessLog(target)
        return self._access[key]

    def error(self, target: Path | str) -> ErrorLog:
        key = str(target)
        if key not in self._error:
            self._error[key] = ErrorLog(target)
        return self._error[key]

    def flush(self) -> None:
        for log in self._access.values():
            log.flush()
        for log in self._error.values():
            log.flush()
