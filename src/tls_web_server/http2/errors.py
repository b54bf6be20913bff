"""HTTP/2 error codes (RFC 9113 section 7) and the two kinds of error a peer can cause.

What this module owns: `ErrorCode`, and the exceptions the codec and the
connection raise internally: `ConnectionFailure` (RFC 9113 section 5.4.1,
answered with GOAWAY, then the connection closes) and `StreamFailure`
(section 5.4.2, answered with RST_STREAM; the connection lives on).

What it must never do: decide what to send; connection.py turns these into
frames.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """RFC 9113 section 7: the 32-bit codes carried by RST_STREAM and GOAWAY."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class HTTP2Error(Exception):
    """The peer broke HTTP/2; `code` is what we tell it, `reason` is for our log only."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(f"{code.name}: {reason}")
        self.code = code
        self.reason = reason


class ConnectionFailure(HTTP2Error):
    """A connection error (RFC 9113 section 5.4.1): GOAWAY with `code`, then close."""


class StreamFailure(HTTP2Error):
    """A stream error (RFC 9113 section 5.4.2): RST_STREAM with `code` on `stream_id`."""

    def __init__(self, stream_id: int, code: ErrorCode, reason: str) -> None:
        super().__init__(code, reason)
        self.stream_id = stream_id
