"""A small keep-alive load generator, for protocols wrk cannot speak (toytls) and as wrk's fallback.

It drives N connections from one process with `selectors`, one request in
flight per connection, and counts whole responses.  Any TLS client object of
the tls/api.py contract can sit under it, so the same code measures plain
HTTP, the learning protocol and TLS 1.3.  Handshakes happen before the clock
starts: this measures requests, not handshakes.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from tls_web_server.tls.api import TLSConnection

READ_SIZE = 256 * 1024


@dataclass
class LoadResult:
    requests: int
    body_bytes: int
    seconds: float
    errors: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        return self.body_bytes / self.seconds / 1e6


class _ResponseCounter:
    """Finds where each response ends, from Content-Length; keeps no body bytes."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.body_left = -1  # -1: reading a head
        self.body_length = 0

    def feed(self, data: bytes) -> tuple[int, int]:
        """Returns (responses completed, body bytes completed)."""
        completed = body_total = 0
        self.buffer += data
        while True:
            if self.body_left < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return completed, body_total
                head = bytes(self.buffer[:end]).lower()
                del self.buffer[: end + 4]
                start = head.find(b"content-length:") + len(b"content-length:")
                line_end = head.find(b"\r\n", start)
                self.body_length = int(head[start : line_end if line_end >= 0 else len(head)])
                self.body_left = self.body_length
            take = min(self.body_left, len(self.buffer))
            del self.buffer[:take]
            self.body_left -= take
            if self.body_left:
                return completed, body_total
            completed += 1
            body_total += self.body_length
            self.body_left = -1


class _Client:
    def __init__(self, sock: socket.socket, tls: TLSConnection | None, request: bytes) -> None:
        self.sock = sock
        self.tls = tls
        self.request = request
        self.counter = _ResponseCounter()

    def send_request(self) -> None:
        data = self.request
        if self.tls is not None:
            data = self.tls.protect_application_data(data)
        self.sock.sendall(data)

    def receive(self) -> tuple[int, int, bool]:
        data = self.sock.recv(READ_SIZE)
        if not data:
            return 0, 0, True
        if self.tls is not None:
            self.tls.feed_wire_data(data)
            pending = self.tls.pop_pending_wire_data()
            if pending:
                self.sock.sendall(pending)
            data = self.tls.read_plaintext()
        completed, body = self.counter.feed(data)
        return completed, body, False


def _handshake(sock: socket.socket, tls: TLSConnection) -> None:
    sock.sendall(tls.pop_pending_wire_data())
    while not tls.is_established:
        data = sock.recv(READ_SIZE)
        if not data:
            raise ConnectionError("server closed during the handshake")
        tls.feed_wire_data(data)
        pending = tls.pop_pending_wire_data()
        if pending:
            sock.sendall(pending)


def keepalive_load(
    host: str,
    port: int,
    path: str,
    *,
    connections: int,
    seconds: float,
    new_tls: Callable[[str, int], TLSConnection] | None = None,
    server_name: str = "localhost",
) -> LoadResult:
    """Requests/s and body MB/s over `connections` keep-alive connections for `seconds`."""
    request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    clients = []
    for _ in range(connections):
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = new_tls(server_name, port) if new_tls is not None else None
        if tls is not None:
            _handshake(sock, tls)
        sock.setblocking(False)
        client = _Client(sock, tls, request)
        clients.append(client)
        selector.register(sock, selectors.EVENT_READ, client)

    requests = body_bytes = errors = 0
    started = time.perf_counter()
    deadline = started + seconds
    for client in clients:
        client.send_request()
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        for key, _ in selector.select(deadline - now):
            client = key.data
            try:
                completed, body, closed = client.receive()
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                closed, completed, body = True, 0, 0
            requests += completed
            body_bytes += body
            if closed:
                errors += 1
                selector.unregister(client.sock)
                client.sock.close()
            elif completed:
                client.send_request()
        if not selector.get_map():
            break
    elapsed = time.perf_counter() - started
    for client in clients:
        client.sock.close()
    return LoadResult(requests, body_bytes, elapsed, errors)
