"""streams.py's table against RFC 9113 section 5.1's figure, and real streams against the table."""

from __future__ import annotations

import pytest

from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.server import ServerConnection
from tls_web_server.http2.streams import (
    NEXT_STATE,
    STREAM_TRANSITIONS,
    InvalidTransition,
    Stream,
    StreamEvent,
    StreamState,
    StreamTransition,
)

# RFC 9113 section 5.1, Figure 2 ("Stream States"), as drawn:
#
#                              +--------+
#                      send PP |        | recv PP
#                     ,--------+  idle  +--------.
#                    /         |        |         \
#                   v          +--------+          v
#            +----------+          |           +----------+
#            |          |          | send H /  |          |
#     ,------+ reserved |          | recv H    | reserved +------.
#     |      | (local)  |          |           | (remote) |      |
#     |      +---+------+          v           +------+---+      |
#     |          |             +--------+             |          |
#     |          |     recv ES |        | send ES     |          |
#     |   send H |     ,-------+  open  +-------.     | recv H   |
#     |          |    /        |        |        \    |          |
#     |          v   v         +---+----+         v   v          |
#     |      +----------+          |           +----------+      |
#     |      |   half-  |          |           |   half-  |      |
#     |      |  closed  |          | send R /  |  closed  |      |
#     |      | (remote) |          | recv R    | (local)  |      |
#     |      +----+-----+          |           +-----+----+      |
#     |           |                |                 |           |
#     |           | send ES /      |       recv ES / |           |
#     |           | send R /       v        send R / |           |
#     |           | recv R     +--------+   recv R   |           |
#     | send R /  `----------->|        |<-----------'  send R / |
#     | recv R                 | closed |               recv R   |
#     `----------------------->|        |<-----------------------'
#                              +--------+
#
# Its arrows, one line each, read off the drawing:
FIGURE_ARROWS = """
idle -> reserved (local): send PP
idle -> reserved (remote): recv PP
idle -> open: send H / recv H
reserved (local) -> half-closed (remote): send H
reserved (local) -> closed: send R / recv R
reserved (remote) -> half-closed (local): recv H
reserved (remote) -> closed: send R / recv R
open -> half-closed (remote): recv ES
open -> half-closed (local): send ES
open -> closed: send R / recv R
half-closed (remote) -> closed: send ES / send R / recv R
half-closed (local) -> closed: recv ES / send R / recv R
"""


def figure_transitions() -> set[tuple[str, str, str]]:
    arrows = set()
    for line in FIGURE_ARROWS.strip().splitlines():
        states, labels = line.split(": ")
        source, target = states.split(" -> ")
        for label in labels.split(" / "):
            arrows.add((source, label, target))
    return arrows


def test_the_table_is_the_figure() -> None:
    table = {(row.state.value, row.event.value, row.next_state.value) for row in STREAM_TRANSITIONS}
    assert table == figure_transitions()
    assert len(STREAM_TRANSITIONS) == len(table) == 20


def test_every_state_and_event_appears_in_the_figure() -> None:
    arrows = figure_transitions()
    assert {state.value for state in StreamState} == {a[0] for a in arrows} | {a[2] for a in arrows}
    assert {event.value for event in StreamEvent} == {a[1] for a in arrows}


def test_no_arrow_leaves_closed() -> None:
    for event in StreamEvent:
        assert (StreamState.CLOSED, event) not in NEXT_STATE
        stream = Stream(1, 0, 0)
        stream.state = StreamState.CLOSED
        with pytest.raises(InvalidTransition):
            stream.apply(event)


REQUEST = [(":method", "GET"), (":scheme", "https"), (":authority", "a"), (":path", "/")]


def test_real_streams_move_along_the_table() -> None:
    seen: dict[str, list[StreamTransition]] = {"client": [], "server": []}
    client = ClientConnection(on_transition=lambda _id, t: seen["client"].append(t))
    server = ServerConnection(on_transition=lambda _id, t: seen["server"].append(t))
    client.initiate()
    server.initiate()
    client.send_request(REQUEST)  # ends with the head
    server.receive_data(client.data_to_send())
    server.send_response(1, [(":status", "200")])
    server.send_data(1, b"hello", end_stream=True)
    client.receive_data(server.data_to_send())
    # A second stream the client cancels: open -> closed by RST_STREAM.
    stream_id = client.send_request(REQUEST, end_stream=False)
    server.receive_data(client.data_to_send())
    client.reset_stream(stream_id)
    server.receive_data(client.data_to_send())
    rows = set(STREAM_TRANSITIONS)
    assert all(t in rows for t in seen["client"] + seen["server"])
    s, e = StreamState, StreamEvent
    assert [(t.state, t.event) for t in seen["server"]] == [
        (s.IDLE, e.RECV_HEADERS),
        (s.OPEN, e.RECV_END_STREAM),
        (s.HALF_CLOSED_REMOTE, e.SEND_END_STREAM),
        (s.IDLE, e.RECV_HEADERS),
        (s.OPEN, e.RECV_RST_STREAM),
    ]
    assert [(t.state, t.event) for t in seen["client"]] == [
        (s.IDLE, e.SEND_HEADERS),
        (s.OPEN, e.SEND_END_STREAM),
        (s.HALF_CLOSED_LOCAL, e.RECV_END_STREAM),
        (s.IDLE, e.SEND_HEADERS),
        (s.OPEN, e.SEND_RST_STREAM),
    ]
