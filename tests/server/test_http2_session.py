"""server/http2_session.py over real sockets: ALPN chooses it, static files come back through it.

The client here is independent of ours: Python's `ssl` for TLS 1.3 and
python-hyper's `h2` for HTTP/2 (tests only).
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.cli import main
from tls_web_server.client.fetch import tls13_client_factory
from tls_web_server.client.http2_fetch import fetch_http2
from tls_web_server.config import ConfigError, load_config
from tls_web_server.http2.client import ClientConnection
from tls_web_server.http2.events import DataReceived, GoAwayReceived, StreamEnded
from tls_web_server.server.accept import SESSIONS, offered_protocols
from tls_web_server.server.http2_session import Http2Session

LARGE = 3 * 1024 * 1024 + 17  # larger than every window: flow control must run


def tls_context(root: Path, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(root))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(alpn)
    return context


class H2Client:
    """python-hyper's h2 over a blocking TLS socket: requests, then every answer read."""

    def __init__(self, port: int, root: Path, window: int | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock = tls_context(root, ["h2", "http/1.1"]).wrap_socket(
            raw, server_hostname="localhost"
        )
        self.alpn = self.sock.selected_alpn_protocol()
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        if window is not None:
            self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.sock.sendall(self.h2.data_to_send())
        self.responses: dict[int, dict] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.remote_settings: dict[int, int] = {}

    def request(self, path: str, method: str = "GET", extra=(), body: bytes = b"") -> int:
        stream_id = self.h2.get_next_available_stream_id()
        headers = [
            (":method", method),
            (":scheme", "https"),
            (":authority", "localhost"),
            (":path", path),
            *extra,
        ]
        self.h2.send_headers(stream_id, headers, end_stream=not body)
        if body:
            self.h2.send_data(stream_id, body, end_stream=True)
        self.sock.sendall(self.h2.data_to_send())
        self.responses[stream_id] = {"headers": None, "body": bytearray(), "ended": False}
        return stream_id

    def read_until(self, done) -> None:
        while not done():
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            for event in self.h2.receive_data(data):
                self._on(event)
            self.sock.sendall(self.h2.data_to_send())

    def read_all(self) -> None:
        self.read_until(lambda: all(r["ended"] for r in self.responses.values()))

    def _on(self, event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            self.responses[event.stream_id]["headers"] = dict(
                (name.decode(), value.decode()) for name, value in event.headers
            )
        elif isinstance(event, h2.events.DataReceived):
            self.responses[event.stream_id]["body"] += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
            self.responses[event.stream_id]["ended"] = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[int(code)] = change.new_value

    def close(self) -> None:
        self.sock.close()


def h2_config(tmp_path, demo_pki, extra_server: str):
    """A site with one TLS 1.3 listener and `extra_server` in its server block."""
    return write_site(
        tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;", extra_server=extra_server
    )


@pytest.fixture
def h2_site(tmp_path, demo_pki):
    config = h2_config(
        tmp_path, demo_pki, "http2 on; http2_max_concurrent_streams 16; keepalive_timeout 2s;"
    )
    html = tmp_path / "html"
    (html / "large.bin").write_bytes(os.urandom(LARGE))
    (html / "small.txt").write_text("small file\n")
    return config


def test_h2_comes_first_in_the_table_and_only_where_http2_is_on():
    assert SESSIONS["h2"] is Http2Session
    assert offered_protocols(True) == ("h2", "http/1.1")
    assert offered_protocols(False) == ("http/1.1",)


def test_small_and_large_files_over_http2_share_one_connection(h2_site, demo_pki, tmp_path):
    large = (tmp_path / "html" / "large.bin").read_bytes()
    with serve_in_thread(h2_site) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        assert client.alpn == "h2"
        small = client.request("/small.txt")
        big = client.request("/large.bin")
        missing = client.request("/nope")
        head = client.request("/small.txt", method="HEAD")
        ranged = client.request("/small.txt", extra=[("range", "bytes=0-4")])
        client.read_all()
        client.close()
    responses = client.responses
    assert responses[small]["headers"][":status"] == "200"
    assert bytes(responses[small]["body"]) == b"small file\n"
    assert responses[big]["headers"][":status"] == "200"
    assert responses[big]["headers"]["content-length"] == str(LARGE)
    assert hashlib.sha256(responses[big]["body"]).digest() == hashlib.sha256(large).digest()
    assert responses[missing]["headers"][":status"] == "404"
    assert responses[head]["headers"][":status"] == "200"
    assert responses[head]["body"] == b""
    assert responses[ranged]["headers"][":status"] == "206"
    assert bytes(responses[ranged]["body"]) == b"small"
    # SETTINGS_MAX_CONCURRENT_STREAMS (3) from http2_max_concurrent_streams.
    assert client.remote_settings[3] == 16
    log = (tmp_path / "access.log").read_text()
    assert '"GET /small.txt HTTP/2.0" 200 11' in log
    assert '"GET /nope HTTP/2.0" 404' in log


def test_a_client_offering_only_http_1_1_gets_it_on_the_same_port(h2_site, demo_pki):
    with serve_in_thread(h2_site) as running:
        context = tls_context(demo_pki.root_cert, ["http/1.1"])
        raw = socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10)
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.selected_alpn_protocol() == "http/1.1"
            sock.sendall(b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b"small file\n")


def test_http2_is_off_unless_configured(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;")
    with serve_in_thread(config) as running:
        context = tls_context(demo_pki.root_cert, ["h2", "http/1.1"])
        raw = socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10)
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.selected_alpn_protocol() == "http/1.1"


def test_the_old_listen_http2_parameter_turns_it_on(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl http2 default_server;")
    assert load_config(config).servers[0].listens[0].http2
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        assert client.alpn == "h2"
        stream = client.request("/")
        client.read_all()
        client.close()
    assert bytes(client.responses[stream]["body"]) == b"<h1>hello</h1>\n"


def test_keepalive_requests_counts_streams_then_goaway(tmp_path, demo_pki):
    config = h2_config(tmp_path, demo_pki, "http2 on; keepalive_requests 2;")
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        first = client.request("/")
        second = client.request("/")
        client.read_all()
        client.read_until(lambda: client.goaway is not None)
        client.close()
    assert client.responses[first]["headers"][":status"] == "200"
    assert client.responses[second]["headers"][":status"] == "200"
    assert client.goaway.error_code == 0
    assert client.goaway.last_stream_id == second


def test_an_idle_connection_gets_goaway_then_close(h2_site, demo_pki):
    with serve_in_thread(h2_site) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        stream = client.request("/small.txt")
        client.read_all()
        # keepalive_timeout 2s: then GOAWAY(NO_ERROR) and the end of the connection.
        with pytest.raises(ConnectionError):
            client.read_until(lambda: False)
        client.close()
    assert client.responses[stream]["headers"][":status"] == "200"
    assert client.goaway is not None and client.goaway.error_code == 0


def test_a_zero_window_stall_is_bounded_by_send_timeout(tmp_path, demo_pki):
    config = h2_config(tmp_path, demo_pki, "http2 on; send_timeout 1s;")
    (tmp_path / "html" / "large.bin").write_bytes(os.urandom(200_000))
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert, window=0)
        client.request("/large.bin")
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            # Never acknowledging: the stream window stays 0 and nothing can move.
            while True:
                data = client.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                for event in client.h2.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        client.goaway = event
                assert time.monotonic() - started < 30, "the stalled connection was kept"
        client.close()
    assert client.goaway is not None
    assert "send_timeout" in (tmp_path / "error.log").read_text()


def test_a_too_large_header_section_is_answered_431(tmp_path, demo_pki):
    config = h2_config(tmp_path, demo_pki, "http2 on; large_client_header_buffers 2 1k;")
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        big = client.request("/", extra=[("x-filler", "a" * 3000)])
        fine = client.request("/")
        client.read_all()
        client.close()
    assert client.remote_settings[6] == 2048  # SETTINGS_MAX_HEADER_LIST_SIZE
    assert client.responses[big]["headers"][":status"] == "431"
    assert client.responses[fine]["headers"][":status"] == "200"


def test_one_header_field_larger_than_a_buffer_is_answered_431(tmp_path, demo_pki):
    # nginx: each field must fit one large_client_header_buffers buffer (here 1k), even
    # when the whole section (2 x 1k) would fit.
    config = h2_config(tmp_path, demo_pki, "http2 on; large_client_header_buffers 2 1k;")
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        one_big_field = client.request("/", extra=[("x-filler", "a" * 1100)])
        two_fields_that_fit = client.request(
            "/", extra=[("x-first", "a" * 700), ("x-second", "b" * 700)]
        )
        client.read_all()
        client.close()
    assert client.responses[one_big_field]["headers"][":status"] == "431"
    assert client.responses[two_fields_that_fit]["headers"][":status"] == "200"


def test_a_body_over_client_max_body_size_is_answered_413_as_over_http1(tmp_path, demo_pki):
    config = h2_config(tmp_path, demo_pki, "http2 on; client_max_body_size 1k;")
    with serve_in_thread(config) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        counted = client.request("/", "POST", body=b"x" * 2000)  # no Content-Length: DATA counted
        announced = client.request(
            "/", "POST", extra=[("content-length", "2000")], body=b"x" * 2000
        )
        small = client.request("/", "POST", body=b"x" * 500)
        client.read_all()
        client.close()
    assert client.responses[counted]["headers"][":status"] == "413"
    assert client.responses[announced]["headers"][":status"] == "413"
    assert client.responses[small]["headers"][":status"] == "405"  # within the limit: the method


def test_graceful_stop_lets_the_stream_in_flight_finish(h2_site, demo_pki, tmp_path):
    # Our own client half here: python-hyper's h2 drops DATA after a GOAWAY.
    large = (tmp_path / "html" / "large.bin").read_bytes()
    with serve_in_thread(h2_site) as running:
        raw = socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=15)
        context = tls_context(demo_pki.root_cert, ["h2"])
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            client = ClientConnection()
            client.initiate()
            stream = client.send_request(
                [
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":authority", "localhost"),
                    (":path", "/large.bin"),
                ]
            )
            sock.sendall(client.data_to_send())
            body = bytearray()
            goaway = None
            ended = stopped = False
            while not ended:
                data = sock.recv(65536)
                assert data, "closed before the stream ended"
                for event in client.receive_data(data):
                    if isinstance(event, DataReceived):
                        body += event.data
                    elif isinstance(event, GoAwayReceived):
                        goaway = event
                    elif isinstance(event, StreamEnded):
                        ended = True
                sock.sendall(client.data_to_send())
                if body and not stopped:
                    running.server.stop()  # GOAWAY; the response in flight keeps flowing
                    stopped = True
    assert goaway is not None and goaway.error_code == 0 and goaway.last_stream_id == stream
    assert bytes(body) == large


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("http2 maybe;", "expected 'on' or 'off'"),
        ("http2_max_concurrent_streams 0;", "positive whole number"),
        ("large_client_header_buffers 0 8k;", "positive number of buffers"),
        ("large_client_header_buffers 4 10;", "1k to 1m"),
    ],
)
def test_bad_http2_directives_are_config_errors(tmp_path, demo_pki, directive, message):
    config = write_site(
        tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;", extra_server=directive
    )
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_our_client_fetches_several_urls_as_streams_of_one_connection(h2_site, demo_pki, tmp_path):
    made = []
    factory = tls13_client_factory(demo_pki.root_cert, application_protocols=("h2", "http/1.1"))

    def counting_factory(*args, **kwargs):
        made.append(args)
        return factory(*args, **kwargs)

    large = (tmp_path / "html" / "large.bin").read_bytes()
    with serve_in_thread(h2_site) as running:
        base = running.url("ssl").rstrip("/")
        urls = [f"{base}/small.txt", f"{base}/large.bin", f"{base}/nope", f"{base}/"]
        results = fetch_http2(urls, new_tls=counting_factory)
    assert len(made) == 1
    assert [result.response.status for result in results] == [200, 200, 404, 200]
    assert results[0].response.body == b"small file\n"
    assert results[1].response.body == large
    assert results[1].response.header("content-length") == str(LARGE)
    assert results[0].negotiated.alpn == "h2"
    assert "alpn=h2" in results[0].negotiated.summary()
    assert results[0].response.head_text().startswith("HTTP/2 200\r\n")


def test_our_client_falls_back_to_http_1_1_when_the_server_has_no_http2(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;")
    factory = tls13_client_factory(demo_pki.root_cert, application_protocols=("h2", "http/1.1"))
    with serve_in_thread(config) as running:
        base = running.url("ssl").rstrip("/")
        results = fetch_http2([f"{base}/", f"{base}/"], new_tls=factory)
    assert [result.response.status for result in results] == [200, 200]
    assert results[0].response.body == b"<h1>hello</h1>\n"
    assert results[0].response.version == "HTTP/1.1"


def test_get_http2_prints_alpn_h2_and_every_body(h2_site, demo_pki, capsysbinary):
    with serve_in_thread(h2_site) as running:
        base = running.url("ssl").rstrip("/")
        status = main(
            [
                "get",
                "--http2",
                "-v",
                "-i",
                "--cafile",
                str(demo_pki.root_cert),
                f"{base}/small.txt",
                f"{base}/",
            ]
        )
    captured = capsysbinary.readouterr()
    assert status == 0
    assert b"alpn=h2" in captured.err
    assert captured.err.count(b"alpn=h2") == 1  # one connection for the origin
    assert captured.out.startswith(b"HTTP/2 200\r\n")
    assert b"small file\n" in captured.out
    assert captured.out.endswith(b"<h1>hello</h1>\n")


def test_get_http2_trace_decodes_frames_inside_the_records(h2_site, demo_pki, capsys, tmp_path):
    page = tmp_path / "trace.html"
    with serve_in_thread(h2_site) as running:
        status = main(
            [
                "get",
                "--http2",
                "--trace",
                "--trace-html",
                str(page),
                "--cafile",
                str(demo_pki.root_cert),
                running.url("ssl", "/small.txt"),
            ]
        )
    assert status == 0
    captured = capsys.readouterr()
    assert captured.out == "small file\n"  # the body alone on stdout; the diagram on stderr
    text = captured.err
    assert "connection preface: PRI * HTTP/2.0" in text
    assert "SETTINGS_MAX_CONCURRENT_STREAMS=16" in text
    assert "HEADERS stream 1 [END_STREAM END_HEADERS]" in text
    assert ":status: 200" in text and "static table 8" in text
    assert "DATA stream 1 [END_STREAM]: 11 bytes" in text
    html = page.read_text()
    assert "HEADERS stream 1 [END_STREAM END_HEADERS]" in html
    assert "WINDOW_UPDATE stream 0" in html


def test_a_large_file_flows_when_the_windows_are_larger_than_the_file(h2_site, demo_pki, tmp_path):
    # With windows that never stop it, the session alone decides how much to
    # write at a time; the kernel may take each piece whole, and the rest must follow.
    large = (tmp_path / "html" / "large.bin").read_bytes()
    with serve_in_thread(h2_site) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert, window=(1 << 31) - 1)
        client.h2.increment_flow_control_window(1 << 30)
        client.sock.sendall(client.h2.data_to_send())
        stream = client.request("/large.bin")
        client.read_all()
        client.close()
    assert bytes(client.responses[stream]["body"]) == large


def test_serve_trace_shows_the_clients_http2_frames(h2_site, demo_pki):
    diagrams: list[str] = []
    with serve_in_thread(h2_site, trace_output=diagrams.append) as running:
        client = H2Client(running.port("ssl"), demo_pki.root_cert)
        stream = client.request("/small.txt")
        client.read_all()
        client.close()
        deadline = time.monotonic() + 10
        while not diagrams and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for the connection's end, bounded by the deadline
    assert client.responses[stream]["headers"][":status"] == "200"
    text = "\n".join(diagrams)
    assert "connection preface: PRI * HTTP/2.0" in text
    assert "HEADERS stream 1 [END_STREAM END_HEADERS]" in text
    assert ":path: /small.txt" in text
    assert "stream 1: GET /small.txt -> 200" in text


def test_a_client_that_speaks_http_1_1_after_choosing_h2_gets_goaway_and_a_close(
    h2_site, demo_pki, tmp_path
):
    with serve_in_thread(h2_site) as running:
        context = tls_context(demo_pki.root_cert, ["h2"])
        raw = socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10)
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.selected_alpn_protocol() == "h2"
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    # Our SETTINGS, then GOAWAY (type 7) with PROTOCOL_ERROR (1), then the end.
    assert received[3] == 4
    goaway = received.rindex(b"\x07\x00\x00\x00\x00\x00")
    assert int.from_bytes(received[goaway + 10 : goaway + 14], "big") == 1
    assert "not the HTTP/2 connection preface" in (tmp_path / "error.log").read_text()
    assert "internal error" not in (tmp_path / "error.log").read_text()


def test_the_served_trace_page_of_an_http2_connection_decodes_its_frames(tmp_path, demo_pki):
    config = h2_config(tmp_path, demo_pki, "http2 on; tls_trace on;")
    (tmp_path / "html" / "small.txt").write_text("small file\n")
    factory = tls13_client_factory(demo_pki.root_cert, application_protocols=("h2", "http/1.1"))
    with serve_in_thread(config) as running:
        base = running.url("ssl").rstrip("/")
        # Two streams on one connection: a file, then the page of this very connection.
        small, page = fetch_http2([f"{base}/small.txt", f"{base}/_tls/this"], new_tls=factory)
        listing = fetch_http2([f"{base}/_tls/"], new_tls=factory)[0]
    assert small.response.body == b"small file\n"
    assert page.response.status == 200 and page.negotiated.alpn == "h2"
    html = page.response.body.decode()
    # The page decodes HTTP/2 inside the decrypted records, as `get --http2 --trace-html` does.
    assert "connection preface: PRI * HTTP/2.0" in html
    assert "HEADERS stream 1" in html and ":path: /small.txt" in html
    assert listing.response.status == 200
    assert "tls-web-server-client" in listing.response.body.decode()  # its first request's UA
