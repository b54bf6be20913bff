"""Reloads and graceful worker stops under load lose no request (worker_processes 2).

Four HTTPS clients run at full speed over Python's `ssl` and http.client: two
keep their connection alive (and open a new one when a response says
`Connection: close`, as http.client does), two open a new connection per
request.  Meanwhile the master is told to reload five times and one worker
is stopped with SIGTERM.  Every request sent must be answered: a draining
worker answers what reaches it instead of closing an idle connection under
a request already on its way.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import threading

import pytest

from tests.conftest import serve_in_thread, write_site
from tests.server.test_workers import children, wait_for
from tls_web_server.demo import BackgroundServer

RELOADS = 5
REQUESTS_BETWEEN_STOPS = 80  # answered by all clients together before the next reload
REQUESTS_PER_CLIENT = 5000  # an upper bound: the clients stop once the reloads are over


@pytest.fixture
def loaded_site(tmp_path, demo_pki):
    config = write_site(
        tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;", extra_http="keepalive_timeout 30s;"
    )
    config.write_text(
        f"worker_processes 2;\nerror_log {tmp_path / 'main-error.log'};\n" + config.read_text()
    )
    return config


class Client(threading.Thread):
    """GET / until told to stop; every exception or wrong answer is a failure."""

    def __init__(self, port: int, context: ssl.SSLContext, *, keep_alive: bool, stop):
        super().__init__(daemon=True)
        self.port, self.context, self.keep_alive, self.stop = port, context, keep_alive, stop
        self.answered = 0
        self.failures: list[str] = []

    def new_connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=15)

    def run(self) -> None:
        connection = self.new_connection()
        for _ in range(REQUESTS_PER_CLIENT):
            if self.stop.is_set():
                break
            if not self.keep_alive:
                connection.close()
                connection = self.new_connection()
            try:
                headers = {} if self.keep_alive else {"Connection": "close"}
                connection.request("GET", "/", headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status != 200 or body != b"<h1>hello</h1>\n":
                    self.failures.append(f"{response.status} {body[:40]!r}")
                else:
                    self.answered += 1
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection.close()
                connection = self.new_connection()
        connection.close()


def answered(clients: list[Client]) -> int:
    return sum(client.answered for client in clients)


def wait_for_progress(clients: list[Client]) -> None:
    goal = answered(clients) + REQUESTS_BETWEEN_STOPS
    wait_for(lambda: answered(clients) >= goal, 60, f"{REQUESTS_BETWEEN_STOPS} more answers")


def test_reloads_and_a_graceful_worker_stop_fail_no_request(loaded_site, demo_pki):
    context = ssl.create_default_context(cafile=str(demo_pki.root_cert))
    with BackgroundServer(loaded_site, listeners=1) as server:
        master = server.process.pid
        first_workers = wait_for(lambda: len(children(master)) == 2 and children(master))
        port = int(server.url("TLSv1.3").rsplit(":", 1)[1].strip("/"))
        stop = threading.Event()
        clients = [
            Client(port, context, keep_alive=keep_alive, stop=stop)
            for keep_alive in (True, True, False, False)
        ]
        for client in clients:
            client.start()
        try:
            # Each stop comes once the clients have made progress since the last
            # one (counted, not timed: the test machine may be slow).
            wait_for(lambda: all(client.answered for client in clients), 60, "every client")
            for _ in range(RELOADS):
                wait_for_progress(clients)
                os.kill(master, signal.SIGHUP)
            # A graceful stop of one worker (the master starts another): the same rule.
            wait_for_progress(clients)
            os.kill(sorted(children(master))[-1], signal.SIGTERM)
            wait_for_progress(clients)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=30)
        wait_for(lambda: not (children(master) & first_workers), 30, "the first workers to exit")
    failures = [failure for client in clients for failure in client.failures]
    assert failures == []
    assert all(client.answered for client in clients)


def test_a_stopping_server_answers_the_next_request_on_an_idle_connection(tmp_path, demo_pki):
    # The request is sent after the stop began, on a connection idle at that
    # moment: it is answered (with Connection: close), not thrown away.
    site = write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0;")
    with serve_in_thread(site) as running:
        port = running.port("plain")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
            sock.sendall(request)
            first = read_response(sock)
            assert b"Connection: close" not in first
            running.server.stop()
            wait_for(lambda: refused(port), 30, "the stop to begin (its listener closed)")
            sock.sendall(request)
            second = read_response(sock)
            assert second.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: close" in second
            assert second.endswith(b"<h1>hello</h1>\n")
            assert sock.recv(100) == b""  # then the server closes


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True  # reset: accepted by the kernel just before the listener closed
    return False


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"<h1>hello</h1>\n")):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
