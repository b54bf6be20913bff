"""What an HTTP/2 connection tells its caller after reading bytes: one dataclass per happening.

What this module owns: the event types `receive_data` returns, in the
order the frames that caused them arrived.  Fields are (name, value) pairs of
str with one character per byte (hpack.py).

What it must never do: carry behaviour; the connection decides, the caller acts.
"""

from __future__ import annotations

from dataclasses import dataclass

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A complete, valid request head on a new stream (server side)."""

    stream_id: int
    fields: Fields
    end_stream: bool


@dataclass(frozen=True, slots=True)
class RequestRejected:
    """A request the server answers with `status` itself (431: its fields are too large).

    The stream stays open for that response; no RequestReceived follows.
    """

    stream_id: int
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response head (client side); `informational` for a 1xx that a final one follows."""

    stream_id: int
    fields: Fields
    end_stream: bool
    informational: bool = False


@dataclass(frozen=True, slots=True)
class TrailersReceived:
    stream_id: int
    fields: Fields


@dataclass(frozen=True, slots=True)
class DataReceived:
    """Body bytes; `flow_controlled_length` includes padding (the window is already credited)."""

    stream_id: int
    data: bytes
    flow_controlled_length: int
    end_stream: bool


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The peer sent END_STREAM: nothing more arrives on this stream."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The stream ended abruptly: by the peer's RST_STREAM (`by_peer`), or by ours after a
    stream error it caused (RFC 9113 section 5.4.2), `reason` saying which."""

    stream_id: int
    error_code: int
    by_peer: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SettingsReceived:
    """The peer's SETTINGS, already applied and acknowledged; `changed` maps code to value."""

    changed: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class SettingsAcknowledged:
    """The peer acknowledged our SETTINGS: from now on it obeys them."""


@dataclass(frozen=True, slots=True)
class PingReceived:
    """A PING; its ACK is already queued."""

    opaque_data: bytes


@dataclass(frozen=True, slots=True)
class PingAcknowledged:
    opaque_data: bytes


@dataclass(frozen=True, slots=True)
class WindowUpdated:
    """The peer gave `increment` more bytes of window on a stream (0: the connection)."""

    stream_id: int
    increment: int


@dataclass(frozen=True, slots=True)
class GoAwayReceived:
    """The peer stops: streams above `last_stream_id` were not processed (and are reset here)."""

    last_stream_id: int
    error_code: int
    debug_data: bytes


@dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """We found a connection error (RFC 9113 section 5.4.1): GOAWAY is queued; close after it."""

    error_code: int
    reason: str


Event = (
    RequestReceived
    | RequestRejected
    | ResponseReceived
    | TrailersReceived
    | DataReceived
    | StreamEnded
    | StreamReset
    | SettingsReceived
    | SettingsAcknowledged
    | PingReceived
    | PingAcknowledged
    | WindowUpdated
    | GoAwayReceived
    | ConnectionFailed
)
