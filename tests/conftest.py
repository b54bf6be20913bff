"""Fixtures shared by the whole suite: a certificate chain made once, and servers run in threads."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tls_web_server.config import load_config
from tls_web_server.http.response_reader import HttpResponse, ResponseReader
from tls_web_server.server.server import BoundListener, Server
from tls_web_server.tls import pki

# Property tests assert what is decoded, never how fast: hypothesis's per-example
# deadline would turn a busy machine (two test workers on two cores) into a failure.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.GeneratedPki:
    """root -> intermediate -> server (ECDSA P-256, names localhost and 127.0.0.1)."""
    return pki.generate_pki(tmp_path_factory.mktemp("pki"), ["localhost"])


class RunningServer:
    def __init__(self, server: Server, bound: list[BoundListener]) -> None:
        self.server = server
        self.bound = bound

    def port(self, protocol: str) -> int:
        return next(b.port for b in self.bound if b.spec.protocol == protocol)

    def url(self, protocol: str, path: str = "/", host: str = "localhost") -> str:
        scheme = "http" if protocol == "plain" else "https"
        return f"{scheme}://{host}:{self.port(protocol)}{path}"


@contextlib.contextmanager
def serve_in_thread(config_path: Path, **server_options) -> Iterator[RunningServer]:
    """Run the server from `config_path` in a thread; stop it gracefully afterwards."""
    server = Server(load_config(config_path), **server_options)
    bound = server.bind()
    thread = threading.Thread(
        target=server.run, kwargs={"install_signal_handlers": False}, daemon=True
    )
    thread.start()
    try:
        yield RunningServer(server, bound)
    finally:
        server.stop()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the server did not stop"


def write_site(
    folder: Path,
    pki_files: pki.GeneratedPki,
    *,
    extra_http: str = "",
    extra_server: str = "",
    listens: str = "listen 127.0.0.1:0;\n        listen 127.0.0.1:0 toytls;",
) -> Path:
    """A site folder with html/index.html and site.conf; returns the config path."""
    html = folder / "html"
    html.mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text("<h1>hello</h1>\n")
    config = folder / "site.conf"
    config.write_text(
        f"""
http {{
    access_log {folder / "access.log"};
    error_log {folder / "error.log"};
    {extra_http}
    server {{
        {listens}
        server_name localhost;
        ssl_certificate {pki_files.server_cert};
        ssl_certificate_key {pki_files.server_key};
        ssl_certificate_chain {pki_files.intermediate_cert};
        {extra_server}
        location / {{ root html; }}
    }}
}}
"""
    )
    return config


def read_responses(sock: socket.socket, count: int, method: str = "GET") -> list[HttpResponse]:
    """Read `count` responses from one connection, in order."""
    responses = []
    pending = b""
    while len(responses) < count:
        reader = ResponseReader(method)
        if pending:
            reader.feed(pending)
            pending = b""
        while not reader.complete:
            data = sock.recv(65536)
            if not data:
                reader.feed_eof()
                break
            reader.feed(data)
        # Bytes after this response belong to the next one.
        pending = bytes(reader._buffer)
        responses.append(reader.response)
    return responses
