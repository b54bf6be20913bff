"""The life of one HTTP/2 stream: RFC 9113 section 5.1's state machine as data, and its windows.

What this module owns:
- `StreamState` and `StreamEvent`, named as section 5.1's figure names them
  ("send H", "recv ES", ...), and `STREAM_TRANSITIONS`, the figure's arrows
  as rows (tests/http2/test_stream_states.py compares them with the figure,
  and every transition a connection makes is looked up here);
- `Stream`: one stream's state, its two flow-control windows, what is left
  to send (a body source, trailers) and what was received (content-length
  accounting for section 8.1.1).

What it must never do: decide which frame is an error in which state (the
connection does, with the error codes section 5.1 names), or send anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .scheduler import BodySource


class StreamState(Enum):
    IDLE = "idle"
    RESERVED_LOCAL = "reserved (local)"
    RESERVED_REMOTE = "reserved (remote)"
    OPEN = "open"
    HALF_CLOSED_LOCAL = "half-closed (local)"
    HALF_CLOSED_REMOTE = "half-closed (remote)"
    CLOSED = "closed"

    # Members are singletons: identity hashing spares Enum's Python-level
    # __hash__ on the hot path (NEXT_STATE is looked up on every stream event).
    __hash__ = object.__hash__


class StreamEvent(Enum):
    """The figure's labels: H is HEADERS, PP PUSH_PROMISE, ES END_STREAM, R RST_STREAM."""

    SEND_PUSH_PROMISE = "send PP"
    RECV_PUSH_PROMISE = "recv PP"
    SEND_HEADERS = "send H"
    RECV_HEADERS = "recv H"
    SEND_END_STREAM = "send ES"
    RECV_END_STREAM = "recv ES"
    SEND_RST_STREAM = "send R"
    RECV_RST_STREAM = "recv R"

    __hash__ = object.__hash__  # as StreamState's


@dataclass(frozen=True, slots=True)
class StreamTransition:
    state: StreamState
    event: StreamEvent
    next_state: StreamState


def _rows(
    state: StreamState, events: tuple[StreamEvent, ...], next_state: StreamState
) -> tuple[StreamTransition, ...]:
    return tuple(StreamTransition(state, event, next_state) for event in events)


_S, _E = StreamState, StreamEvent
RESET = (_E.SEND_RST_STREAM, _E.RECV_RST_STREAM)

# RFC 9113 section 5.1, Figure 2, arrow by arrow.
STREAM_TRANSITIONS: tuple[StreamTransition, ...] = (
    *_rows(_S.IDLE, (_E.SEND_PUSH_PROMISE,), _S.RESERVED_LOCAL),
    *_rows(_S.IDLE, (_E.RECV_PUSH_PROMISE,), _S.RESERVED_REMOTE),
    *_rows(_S.IDLE, (_E.SEND_HEADERS, _E.RECV_HEADERS), _S.OPEN),
    *_rows(_S.RESERVED_LOCAL, (_E.SEND_HEADERS,), _S.HALF_CLOSED_REMOTE),
    *_rows(_S.RESERVED_LOCAL, RESET, _S.CLOSED),
    *_rows(_S.RESERVED_REMOTE, (_E.RECV_HEADERS,), _S.HALF_CLOSED_LOCAL),
    *_rows(_S.RESERVED_REMOTE, RESET, _S.CLOSED),
    *_rows(_S.OPEN, (_E.SEND_END_STREAM,), _S.HALF_CLOSED_LOCAL),
    *_rows(_S.OPEN, (_E.RECV_END_STREAM,), _S.HALF_CLOSED_REMOTE),
    *_rows(_S.OPEN, RESET, _S.CLOSED),
    *_rows(_S.HALF_CLOSED_REMOTE, (_E.SEND_END_STREAM,), _S.CLOSED),
    *_rows(_S.HALF_CLOSED_REMOTE, RESET, _S.CLOSED),
    *_rows(_S.HALF_CLOSED_LOCAL, (_E.RECV_END_STREAM,), _S.CLOSED),
    *_rows(_S.HALF_CLOSED_LOCAL, RESET, _S.CLOSED),
)
NEXT_STATE: dict[tuple[StreamState, StreamEvent], StreamState] = {
    (row.state, row.event): row.next_state for row in STREAM_TRANSITIONS
}

# Section 5.1: the states in which each side may still send DATA.
PEER_MAY_SEND = frozenset({StreamState.OPEN, StreamState.HALF_CLOSED_LOCAL})
WE_MAY_SEND = frozenset({StreamState.OPEN, StreamState.HALF_CLOSED_REMOTE})


class InvalidTransition(ValueError):
    """Our own caller asked for something the state forbids (a programming error)."""


class Stream:
    """One stream; ids are odd when the client opened it (section 5.1.1)."""

    __slots__ = (
        "body",
        "content_length",
        "data_received",
        "receive_window",
        "received_final_head",
        "response_started",
        "send_window",
        "state",
        "stream_id",
        "trailers",
    )

    def __init__(self, stream_id: int, send_window: int, receive_window: int) -> None:
        self.stream_id = stream_id
        self.state = StreamState.IDLE
        self.send_window = send_window  # may go negative (section 6.9.2)
        self.receive_window = receive_window
        self.body: BodySource | None = None
        self.trailers: tuple[tuple[str, str], ...] | None = None
        self.content_length: int | None = None  # what the peer announced
        self.data_received = 0
        self.response_started = False
        self.received_final_head = False

    def apply(self, event: StreamEvent) -> StreamState:
        next_state = NEXT_STATE.get((self.state, event))
        if next_state is None:
            raise InvalidTransition(f"stream {self.stream_id}: {event.value} in {self.state.value}")
        self.state = next_state
        return next_state
