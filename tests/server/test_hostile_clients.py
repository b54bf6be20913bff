"""Hostile and broken clients, by the thousand: the server holds, and a normal client is served.

The server runs as a child process (as in production), so its memory can be
read from /proc and nothing in this test process slows it down.
"""

from __future__ import annotations

import resource
import socket
import ssl
import struct
from pathlib import Path

import pytest

from tests.conftest import write_site
from tls_web_server.client.fetch import fetch, tls13_client_factory
from tls_web_server.demo import BackgroundServer


@pytest.fixture(autouse=True, scope="module")
def _enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 24000) if hard != resource.RLIM_INFINITY else 24000
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 12000:
        pytest.fail("this machine allows fewer than 12,000 open files; raise `ulimit -Hn`")
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def hostile_site(tmp_path, demo_pki, extra: str = "") -> BackgroundServer:
    config = write_site(
        tmp_path,
        demo_pki,
        listens="listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;",
        extra_server=extra,
    )
    config.write_text("events { worker_connections 12000; }\n" + config.read_text())
    return BackgroundServer(config, listeners=2)


def port_of(server: BackgroundServer, protocol: str) -> int:
    return int(server.url(protocol).rsplit(":", 1)[1].strip("/"))


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_many(port: int, count: int, first_bytes: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """True if the server closes the connection within `wait` seconds (after any last words,
    such as a TLS alert)."""
    sock.settimeout(wait)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def normal_client_is_served(server: BackgroundServer, demo_pki) -> None:
    assert fetch(server.url("plain")).response.status == 200
    new_tls = tls13_client_factory(demo_pki.root_cert)
    url = server.url("TLSv1.3").replace("127.0.0.1", "localhost")
    assert fetch(url, new_tls=new_tls).response.status == 200


def test_a_thousand_slow_header_clients(tmp_path, demo_pki):
    with hostile_site(tmp_path, demo_pki, "client_header_timeout 3s;") as server:
        slow = open_many(port_of(server, "plain"), 1000, b"GET / HTTP/1.1\r\nHost: x\r\n")
        normal_client_is_served(server, demo_pki)
        for sock in slow[:200]:
            sock.sendall(b"X-Trickle: 1\r\n")  # progress does not extend the deadline
        assert all(closed_by_server(sock, 10) for sock in slow[::50])
        normal_client_is_served(server, demo_pki)
        for sock in slow:
            sock.close()
    assert server.exit_status == 0


def test_a_thousand_clients_that_stop_mid_handshake(tmp_path, demo_pki):
    # The first bytes of a real ClientHello: a record header announcing more
    # than ever arrives.
    partial_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x11" * 40
    with hostile_site(tmp_path, demo_pki, "ssl_handshake_timeout 3s;") as server:
        stuck = open_many(port_of(server, "TLSv1.3"), 1000, partial_hello)
        normal_client_is_served(server, demo_pki)
        assert all(closed_by_server(sock, 10) for sock in stuck[::50])
        for sock in stuck:
            sock.close()
    assert "client timed out (ssl_handshake_timeout)" in (tmp_path / "error.log").read_text()


def test_clients_that_reset_mid_response(tmp_path, demo_pki):
    site = hostile_site(tmp_path, demo_pki)
    (tmp_path / "html" / "big.bin").write_bytes(b"r" * (16 << 20))
    with site as server:
        for protocol in ("plain", "TLSv1.3"):
            for _ in range(30):
                sock = socket.create_connection(("127.0.0.1", port_of(server, protocol)))
                if protocol == "TLSv1.3":
                    context = ssl.create_default_context(cafile=str(demo_pki.root_cert))
                    sock = context.wrap_socket(sock, server_hostname="localhost")
                sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
                sock.recv(10000)
                # SO_LINGER 0: close() sends a TCP reset, not a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            normal_client_is_served(server, demo_pki)
    assert server.exit_status == 0
    assert "internal error" not in (tmp_path / "error.log").read_text()


def test_ten_thousand_idle_keep_alive_connections_stay_small(tmp_path, demo_pki):
    with hostile_site(tmp_path, demo_pki) as server:
        pid = server.process.pid
        port = port_of(server, "plain")
        before = resident_kib(pid)
        idle = []
        for _ in range(10_000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            idle.append(sock)
        for sock in idle:  # every one got its response and stays open
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
        held = resident_kib(pid)
        normal_client_is_served(server, demo_pki)
        assert all(not closed_by_server(sock, 0.001) for sock in idle[::500])
        for sock in idle:
            sock.close()
    assert held < 300 * 1024, f"{held} KiB for 10,000 idle connections"
    per_connection = (held - before) * 1024 / 10_000
    assert per_connection < 20 * 1024, f"{per_connection:.0f} bytes per idle connection"


def test_idle_tls_connections_stay_small_too(tmp_path, demo_pki):
    context = ssl.create_default_context(cafile=str(demo_pki.root_cert))
    with hostile_site(tmp_path, demo_pki) as server:
        pid = server.process.pid
        port = port_of(server, "TLSv1.3")
        warm = context.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname="localhost"
        )
        before = resident_kib(pid)
        idle = []
        for _ in range(1500):
            sock = context.wrap_socket(
                socket.create_connection(("127.0.0.1", port), timeout=10),
                server_hostname="localhost",
            )
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
            idle.append(sock)
        held = resident_kib(pid)
        normal_client_is_served(server, demo_pki)
        for sock in [*idle, warm]:
            sock.close()
    per_connection = (held - before) * 1024 / 1500
    # 10,000 of them must fit in 300 MB with room for the rest of the server.
    assert per_connection * 10_000 < 250 * 1024 * 1024, f"{per_connection:.0f} bytes each"
