"""The plain-HTTP hot path over real sockets: one send per small response, exact bytes."""

from __future__ import annotations

import os
import socket

import pytest

from tests.conftest import read_responses, serve_in_thread, write_site
from tls_web_server.server.http1 import SMALL_FILE_BODY
from tls_web_server.tcp import connection as connection_module


@pytest.fixture
def sizes_site(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki)
    files = {}
    for size in (1, 1024, SMALL_FILE_BODY, SMALL_FILE_BODY + 1, 300_000):
        content = os.urandom(size)
        (tmp_path / "html" / f"{size}.bin").write_bytes(content)
        files[f"/{size}.bin"] = content
    return config, files


def test_bodies_on_both_sides_of_the_small_file_limit_arrive_intact(sizes_site):
    config, files = sizes_site
    # Pipelined, twice over: the second round is served from the reused heads.
    requests = [f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n" for path in files] * 2
    with (
        serve_in_thread(config) as running,
        socket.create_connection(("127.0.0.1", running.port("plain")), timeout=10) as sock,
    ):
        sock.sendall("".join(requests).encode())
        responses = read_responses(sock, len(requests))
    for response, path in zip(responses, list(files) * 2, strict=True):
        assert response.status == 200
        assert response.header("content-length") == str(len(files[path]))
        assert response.body == files[path]


def test_a_small_response_leaves_in_one_send(sizes_site, monkeypatch):
    config, _ = sizes_site
    sends: list[int] = []  # bytes offered to each send / sendfile call
    sendfiles: list[int] = []
    real_send = socket.socket.send
    real_sendfile = os.sendfile

    class CountingSocket(socket.socket):
        def send(self, data, flags=0):
            # Counted before sending: once sent, the client may check at once.
            sends.append(len(data))
            return real_send(self, data, flags)

    def counting_sendfile(out_fd, in_fd, offset, count):
        sendfiles.append(count)
        return real_sendfile(out_fd, in_fd, offset, count)

    def counting_on_accept(original):
        def on_accept(loop, sock, peer):
            counted = CountingSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
            counted.setblocking(False)
            original(loop, counted, peer)

        return on_accept

    monkeypatch.setattr(connection_module.os, "sendfile", counting_sendfile)
    with serve_in_thread(config) as running:
        for listener in running.server.loop.listeners:
            listener.on_accept = counting_on_accept(listener.on_accept)
        with socket.create_connection(("127.0.0.1", running.port("plain")), timeout=10) as sock:
            sock.sendall(b"GET /1024.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            (small,) = read_responses(sock, 1)
            assert len(sends) == 1 and not sendfiles
            assert sends[0] > 1024  # head and body together
            sock.sendall(b"GET /300000.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            (large,) = read_responses(sock, 1)
            assert sendfiles  # large bodies still go out with sendfile
    assert small.status == large.status == 200
