"""The whole server over real sockets: plain and toytls, keep-alive, pipelining, timeouts."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import read_responses, serve_in_thread, write_site
from tls_web_server.client.fetch import fetch, toytls_client_factory
from tls_web_server.server import http1, transport
from tls_web_server.tcp.connection import HIGH_WATER


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


@pytest.fixture
def site(tmp_path, demo_pki):
    return write_site(tmp_path, demo_pki)


def test_plain_and_toytls_listeners_serve_the_same_page(site, demo_pki):
    with serve_in_thread(site) as running:
        plain = fetch(running.url("plain"))
        toy = fetch(running.url("toytls"), new_tls=toytls_client_factory(demo_pki.root_cert))
    assert plain.response.status == 200
    assert toy.response.status == 200
    assert plain.response.body == toy.response.body == b"<h1>hello</h1>\n"
    assert toy.negotiated is not None and toy.negotiated.protocol == "toytls"
    assert plain.negotiated is None


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is installed by .ci/run")
def test_curl_against_the_plain_listener(site):
    with serve_in_thread(site) as running:
        result = subprocess.run(
            ["curl", "-sS", "-i", running.url("plain")], capture_output=True, timeout=20
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert result.stdout.endswith(b"\r\n\r\n<h1>hello</h1>\n")


def test_pipelined_requests_are_answered_in_order(site, tmp_path):
    (tmp_path / "html" / "a.txt").write_text("first")
    (tmp_path / "html" / "b.txt").write_text("second")
    with serve_in_thread(site) as running, connect(running.port("plain")) as sock:
        sock.sendall(
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        responses = read_responses(sock, 3)
        assert sock.recv(1) == b""  # closed after the third, as asked
    assert [r.body for r in responses] == [b"first", b"second", b"first"]


def test_keep_alive_serves_several_requests_on_one_connection(site):
    with serve_in_thread(site) as running, connect(running.port("plain")) as sock:
        for _ in range(3):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            (response,) = read_responses(sock, 1)
            assert response.status == 200
            assert response.header("connection") is None


def test_http_1_0_closes_unless_keep_alive_is_asked_for(site):
    with serve_in_thread(site) as running:
        with connect(running.port("plain")) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            (response,) = read_responses(sock, 1)
            assert response.status == 200
            assert sock.recv(1) == b""
        with connect(running.port("plain")) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            (response,) = read_responses(sock, 1)
            assert response.header("connection") == "keep-alive"
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            (response,) = read_responses(sock, 1)
            assert response.status == 200


def test_bad_request_gets_400_and_a_close(site):
    with serve_in_thread(site) as running, connect(running.port("plain")) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")  # no Host
        (response,) = read_responses(sock, 1)
        assert response.status == 400
        assert sock.recv(1) == b""


@pytest.mark.parametrize("protocol", ["plain", "toytls"])
def test_large_file_arrives_intact(site, tmp_path, demo_pki, protocol):
    data = bytes(range(256)) * (5 * 4096 + 7)  # a bit over 5 MiB, not a multiple of 16 KiB
    (tmp_path / "html" / "big.bin").write_bytes(data)
    new_tls = toytls_client_factory(demo_pki.root_cert) if protocol == "toytls" else None
    with serve_in_thread(site) as running:
        result = fetch(running.url(protocol, "/big.bin"), new_tls=new_tls)
    assert result.response.status == 200
    assert hashlib.sha256(result.response.body).digest() == hashlib.sha256(data).digest()


def test_slow_header_client_is_closed_while_another_is_served(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="client_header_timeout 1s;")
    with serve_in_thread(config) as running, connect(running.port("plain")) as slow:
        started = time.monotonic()
        slow.sendall(b"GET / HTTP/1.1\r\n")
        closed_after = None
        for byte in b"Host: localhost\r\nX-Slow: " + b"a" * 40:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            # Meanwhile a normal client is served at once.
            if byte == ord("H"):
                assert fetch(running.url("plain")).response.status == 200
            time.sleep(0.1)
            slow.settimeout(0.01)
            try:
                if slow.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
        assert closed_after is not None, "the trickling client was never closed"
        assert 0.9 <= closed_after < 3.5
    assert "client timed out (client_header_timeout)" in (tmp_path / "error.log").read_text()


def test_idle_keep_alive_connection_is_closed_after_keepalive_timeout(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="keepalive_timeout 1;")
    with serve_in_thread(config) as running, connect(running.port("plain")) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        read_responses(sock, 1)
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(1) == b""
        assert 0.8 <= time.monotonic() - started < 3


def test_access_log_uses_the_combined_format(site, tmp_path):
    with serve_in_thread(site) as running, connect(running.port("plain")) as sock:
        sock.sendall(
            b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nReferer: http://x/\r\n"
            b'User-Agent: test "agent"\r\nConnection: close\r\n\r\n'
        )
        read_responses(sock, 1)
    line = (tmp_path / "access.log").read_text().splitlines()[-1]
    pattern = (
        r"127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "
        r'"GET /index\.html HTTP/1\.1" 200 15 "http://x/" "test \\x22agent\\x22"'
    )
    assert re.fullmatch(pattern, line), line


def test_an_exception_on_one_connection_closes_only_that_one(site, tmp_path, monkeypatch):
    real_respond = http1.respond

    def respond_or_explode(request, site_settings, now):
        if request.target == "/boom":
            raise RuntimeError("simulated bug")
        return real_respond(request, site_settings, now)

    monkeypatch.setattr(http1, "respond", respond_or_explode)
    with serve_in_thread(site) as running, connect(running.port("plain")) as bystander:
        with connect(running.port("plain")) as victim:
            victim.sendall(b"GET /boom HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert victim.recv(1) == b""
        bystander.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        (response,) = read_responses(bystander, 1)
        assert response.status == 200
    assert "simulated bug" in (tmp_path / "error.log").read_text()


def test_worker_connections_caps_concurrent_connections(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki)
    config.write_text("events { worker_connections 2; }\n" + config.read_text())
    with serve_in_thread(config) as running:
        first, second = connect(running.port("plain")), connect(running.port("plain"))
        for sock in (first, second):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            read_responses(sock, 1)
        third = connect(running.port("plain"))  # sits in the kernel's backlog
        third.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        third.settimeout(0.5)
        with pytest.raises(TimeoutError):
            third.recv(1)
        first.close()
        third.settimeout(10)
        (response,) = read_responses(third, 1)
        assert response.status == 200
        second.close()
        third.close()


def test_a_client_that_never_reads_only_fills_its_own_buffer(site, tmp_path, demo_pki):
    (tmp_path / "html" / "huge.bin").write_bytes(b"x" * (40 << 20))
    with serve_in_thread(site) as running:
        port = running.port("toytls")
        # A raw toytls client that completes the handshake, asks for 40 MiB and stops reading.
        new_tls = toytls_client_factory(demo_pki.root_cert)
        tls = new_tls("localhost")
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(tls.pop_pending_wire_data())
        while not tls.is_established:
            tls.feed_wire_data(sock.recv(65536))
        sock.sendall(tls.protect_application_data(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n"))
        time.sleep(1.0)
        connections = [c for c in running.server.loop.connections if c.output_size]
        assert connections, "the server should be holding unsent output"
        assert all(c.output_size <= HIGH_WATER + 2 * transport.TLS_BODY_SLICE for c in connections)
        # Meanwhile another client is served at once.
        assert fetch(running.url("plain")).response.status == 200
        sock.close()


def test_sigterm_lets_an_in_flight_response_finish_and_exits_0(tmp_path, demo_pki):
    from tls_web_server.demo import BackgroundServer

    config = write_site(tmp_path, demo_pki)
    # Larger than loopback's socket buffers, so part of it is still on the server.
    data = b"y" * (64 << 20)
    (tmp_path / "html" / "big.bin").write_bytes(data)
    with BackgroundServer(config, listeners=2) as server:
        port = int(server.url("plain").rsplit(":", 1)[1].strip("/"))
        with connect(port) as sock:
            sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            first = sock.recv(1000)
            assert first.startswith(b"HTTP/1.1 200 OK")
            server.process.send_signal(15)
            time.sleep(0.3)
            # New connections are refused once the listeners close...
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            # ...but the response in flight completes.
            received = bytearray(first)
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                received += chunk
        body = bytes(received).split(b"\r\n\r\n", 1)[1]
        assert len(body) == len(data)
        assert body == data
        assert server.stop() == 0


def test_config_paths_are_relative_to_the_config_file(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki)
    # site.conf says `root html;`: relative to tmp_path, not to the current directory.
    assert Path.cwd() != tmp_path
    with serve_in_thread(config) as running:
        assert fetch(running.url("plain")).response.body == b"<h1>hello</h1>\n"


def test_keepalive_requests_limits_requests_per_connection(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="keepalive_requests 2;")
    with serve_in_thread(config) as running, connect(running.port("plain")) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3)
        first, second = read_responses(sock, 2)
        assert first.header("connection") is None
        assert second.header("connection") == "close"
        assert sock.recv(1) == b""  # the third request is never answered


def test_a_body_that_stops_moving_is_closed_by_client_body_timeout(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="client_body_timeout 1s;")
    with serve_in_thread(config) as running, connect(running.port("plain")) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc")
        sock.settimeout(10)
        assert sock.recv(1) == b""
    assert "client timed out (client_body_timeout)" in (tmp_path / "error.log").read_text()


def test_a_client_that_stops_reading_is_dropped_after_send_timeout(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="send_timeout 1s;")
    (tmp_path / "html" / "big.bin").write_bytes(b"s" * (32 << 20))
    with serve_in_thread(config) as running:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", running.port("plain")))
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        deadline = time.monotonic() + 10
        while running.server.loop.connections and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running.server.loop.connections, "the stalled connection was kept"
        sock.close()
