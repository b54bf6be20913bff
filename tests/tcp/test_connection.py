"""tcp/ on its own: the loop and a connection with a protocol that knows nothing of TLS or HTTP.

The protocol here echoes what it reads, so these tests see the socket layer's
contract directly: bytes in order, half-close, deadlines with the reason
they were set for, and the graceful stop reaching `stop_gracefully`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from enum import Enum

from tls_web_server.tcp.connection import Connection
from tls_web_server.tcp.loop import EventLoop


class Why(Enum):
    IDLE = "idle"


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, level: str, message: str, *, peer: str | None = None) -> None:
        self.lines.append(f"[{level}] {message}")


class EchoProtocol:
    """Echoes bytes; closes on EOF, on a timeout, or when the server stops."""

    def __init__(self, connection: Connection, events: list[str], idle_seconds: float) -> None:
        self.connection = connection
        self.events = events
        self.idle_seconds = idle_seconds
        connection.set_timeout(idle_seconds, Why.IDLE)

    def data_received(self, data: bytes) -> None:
        self.events.append("data")
        self.connection.write(data)
        self.connection.set_timeout(self.idle_seconds, Why.IDLE)

    def eof_received(self) -> None:
        self.events.append("eof")
        self.connection.close()

    def output_drained(self) -> None:
        self.events.append("drained")

    def timed_out(self, reason: Enum) -> None:
        self.events.append(f"timed out: {reason.value}")
        self.connection.write(b"bye\n")
        self.connection.close()

    def stop_gracefully(self) -> None:
        self.events.append("stop")
        self.connection.write(b"stopping\n")
        self.connection.close()

    def connection_lost(self) -> None:
        self.events.append("lost")


@contextlib.contextmanager
def echo_server(idle_seconds: float = 30.0) -> Iterator[tuple[int, list[str], EventLoop]]:
    events: list[str] = []
    loop = EventLoop(error_log=RecordingLog())

    def on_accept(loop: EventLoop, sock: socket.socket, peer: str) -> None:
        connection = loop.new_connection(sock, peer)
        connection.start(EchoProtocol(connection, events, idle_seconds))

    listening = socket.create_server(("127.0.0.1", 0))
    loop.add_listener(listening, on_accept)
    port = listening.getsockname()[1]
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        yield port, events, loop
    finally:
        loop.request_stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the loop did not stop"


def read_until_closed(sock: socket.socket) -> bytes:
    received = bytearray()
    while chunk := sock.recv(65536):
        received += chunk
    return bytes(received)


def test_bytes_come_back_in_order_and_a_half_close_is_answered_with_a_close():
    with (
        echo_server() as (port, events, _),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        sock.sendall(b"one ")
        assert sock.recv(100) == b"one "
        sock.sendall(b"two")
        assert sock.recv(100) == b"two"
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock) == b""
    assert events[:3] == ["data", "data", "eof"]


def test_a_deadline_reaches_the_protocol_with_its_reason():
    with (
        echo_server(idle_seconds=0.2) as (port, events, _),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        assert read_until_closed(sock) == b"bye\n"
    assert events[0] == "timed out: idle"


def test_the_graceful_stop_asks_each_protocol_to_stop():
    with (
        echo_server() as (port, events, loop),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        sock.sendall(b"hello")
        assert sock.recv(100) == b"hello"
        loop.request_stop()
        assert read_until_closed(sock) == b"stopping\n"
    assert "stop" in events
    assert events[-1] == "lost"
