"""worker_processes: a master and its workers, restarts, SIGHUP reloads, shared ticket key."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import write_site
from tls_web_server.client.fetch import fetch, tls13_client_factory
from tls_web_server.demo import BackgroundServer
from tls_web_server.tls.tls13.client import TicketStore


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()}


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_site(tmp_path, demo_pki):
    config = write_site(
        tmp_path,
        demo_pki,
        listens="listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;",
    )
    config.write_text(
        f"worker_processes 2;\nerror_log {tmp_path / 'main-error.log'};\n" + config.read_text()
    )
    return config


def page(server: BackgroundServer, path: str = "/") -> bytes:
    return fetch(server.url("plain", path)).response.body


def test_two_workers_serve_and_a_dead_worker_is_replaced(worker_site, tmp_path):
    with BackgroundServer(worker_site, listeners=2) as server:
        master = server.process.pid
        workers = wait_for(
            lambda: len(children(master)) == 2 and children(master), what="2 workers"
        )
        assert page(server) == b"<h1>hello</h1>\n"
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(
            lambda: (c := children(master)) and victim not in c and len(c) == 2 and c,
            what="a replacement worker",
        )
        assert len(replaced - workers) == 1
        for _ in range(5):
            assert page(server) == b"<h1>hello</h1>\n"
    assert server.exit_status == 0
    log = (tmp_path / "main-error.log").read_text()
    assert f"worker process {victim} was killed by signal 9; starting a new one" in log


def test_sighup_reloads_without_dropping_a_response_in_flight(worker_site, tmp_path):
    big = b"b" * (64 << 20)
    (tmp_path / "html" / "big.bin").write_bytes(big)
    (tmp_path / "html2").mkdir()
    (tmp_path / "html2" / "index.html").write_text("<h1>reloaded</h1>\n")
    with BackgroundServer(worker_site, listeners=2) as server:
        master = server.process.pid
        old_workers = wait_for(lambda: len(children(master)) == 2 and children(master))
        port = int(server.url("plain").rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=20) as download:
            download.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            received = bytearray(download.recv(65536))
            worker_site.write_text(worker_site.read_text().replace("root html;", "root html2;"))
            os.kill(master, signal.SIGHUP)
            wait_for(lambda: page(server) == b"<h1>reloaded</h1>\n", what="the new root")
            # The master forks the new workers one after another: the first may answer
            # the page above before the second exists.
            new_workers = wait_for(
                lambda: len(c := children(master) - old_workers) >= 2 and c, what="2 new workers"
            )
            assert len(new_workers) == 2
            while len(received) < len(big) + 100:
                chunk = download.recv(1 << 20)
                if not chunk:
                    break
                received += chunk
        assert bytes(received).split(b"\r\n\r\n", 1)[1] == big
        # The old workers exit once their responses are done.
        wait_for(lambda: not (children(master) & old_workers), what="old workers to exit")

        # A config that no longer loads: logged, and the running one keeps serving.
        worker_site.write_text("http {\n")
        os.kill(master, signal.SIGHUP)
        wait_for(
            lambda: "reload failed" in (tmp_path / "main-error.log").read_text(),
            what="the reload error",
        )
        assert page(server) == b"<h1>reloaded</h1>\n"
    assert server.exit_status == 0
    assert "keeping the running configuration" in (tmp_path / "main-error.log").read_text()


def test_a_ticket_from_one_worker_resumes_on_another(worker_site, demo_pki):
    tickets = TicketStore()
    new_tls = tls13_client_factory(demo_pki.root_cert, tickets=tickets)
    with BackgroundServer(worker_site, listeners=2) as server:
        master = server.process.pid
        wait_for(lambda: len(children(master)) == 2)
        url = server.url("TLSv1.3").replace("127.0.0.1", "localhost")
        first = fetch(url, new_tls=new_tls)
        assert not first.negotiated.resumed
        # Kill every worker that exists now: the ticket's issuer is gone for sure.
        before = children(master)
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: (c := children(master)) and not (c & before) and len(c) == 2)
        second = fetch(url, new_tls=new_tls)
        assert second.negotiated.resumed
        assert second.response.status == 200


def test_a_ticket_resumes_after_a_reload(worker_site, demo_pki):
    # The master keeps its ticket secret across SIGHUP: the new workers derive the same keys.
    tickets = TicketStore()
    new_tls = tls13_client_factory(demo_pki.root_cert, tickets=tickets)
    with BackgroundServer(worker_site, listeners=2) as server:
        master = server.process.pid
        old_workers = wait_for(lambda: len(children(master)) == 2 and children(master))
        url = server.url("TLSv1.3").replace("127.0.0.1", "localhost")
        assert not fetch(url, new_tls=new_tls).negotiated.resumed
        os.kill(master, signal.SIGHUP)
        wait_for(lambda: not (children(master) & old_workers), 30, "the old workers to exit")
        resumed = fetch(url, new_tls=new_tls)
        assert resumed.negotiated.resumed
        assert resumed.response.status == 200
