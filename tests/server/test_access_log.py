"""The access log: log_format's variables over plain, toytls and TLS 1.3, nginx's escaping,
and `combined` written by the hot path's own line exactly as the compiled format writes it."""

from __future__ import annotations

import io
import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.client.fetch import fetch, tls13_client_factory, toytls_client_factory
from tls_web_server.config import Position
from tls_web_server.config.log_format import (
    COMBINED,
    VARIABLES,
    LogFormat,
    Variable,
    split_format,
)
from tls_web_server.http.messages import Request, Response
from tls_web_server.http.router import LocationSettings, SiteSettings
from tls_web_server.server.logs import VARIABLE_VALUES, AccessLog, AccessLogEntry, LogFiles
from tls_web_server.tls.api import ClientCertificateCheck, Negotiated
from tls_web_server.tls.tls13.client_settings import TicketStore

# Every variable as `name=value`, fields separated by '|' (no value below contains one).
ALL_VARIABLES = "|".join(f"{name}=${name}" for name in VARIABLES)
SITE = SiteSettings(("example.test", "www.example.test"), (LocationSettings("/", "/srv", ()),))
NOW = 1_765_000_000.25
ISO8601 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"


def fields(line: str) -> dict[str, str]:
    return dict(field.split("=", 1) for field in line.split("|"))


def request(*headers: tuple[str, str], target: str = "/a?b=1") -> Request:
    return Request("GET", target, "HTTP/1.1", headers, True)


def response(status: int = 200, body: bytes = b"hello") -> Response:
    return Response(status, [("content-length", str(len(body)))], body, True)


def lines_of(log_format: LogFormat, *entries: tuple) -> list[str]:
    stream = io.StringIO()
    log = AccessLog("stdout", log_format, stream)
    for entry in entries:
        log.write(*entry)
    return stream.getvalue().splitlines(keepends=True)


def test_every_config_variable_has_a_value_and_every_value_a_config_name() -> None:
    assert set(VARIABLES) == set(VARIABLE_VALUES)


HOSTILE = (
    ("user-agent", 'evil" \\ \x1b[31m \xff\xfe\x7f end'),  # as the parser decodes bytes: Latin-1
    ("referer", "http://x/\tq"),
)


@pytest.mark.parametrize(
    "entry",
    [
        ("127.0.0.1", NOW, request(("referer", "http://r/"), ("user-agent", "curl/8")), response()),
        ("::1", NOW, request(*HOSTILE, target='/%22"x'), response(404, b"")),
        ("10.0.0.1", NOW, request(), response(304, b"")),
        ("10.0.0.1", NOW, None, response(400, b"bad")),  # a request that could not be parsed
    ],
)
def test_combined_s_own_line_is_byte_identical_to_the_compiled_format(entry: tuple) -> None:
    peer, now, parsed, answer = entry
    stream = io.StringIO()
    log = AccessLog("stdout", COMBINED, stream)
    assert log.is_combined and log.write == log.write_combined  # the hand-written line
    log.write(peer, now, parsed, answer, 50, SITE, None)
    # The general path: the compiled parts, each variable read, escaped and joined.
    compiled = log.render(AccessLogEntry(log, peer, now, parsed, answer, 50, SITE, None, None))
    assert stream.getvalue() == compiled
    # A format of the same text under another name is recognised as combined too.
    assert AccessLog("stdout", LogFormat("mine", COMBINED.parts), io.StringIO()).is_combined


def test_combined_is_the_line_nginx_writes() -> None:
    (line,) = lines_of(COMBINED, ("127.0.0.1", NOW, request(*HOSTILE), response(), 50, SITE, None))
    pattern = (
        r"127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "
        r'"GET /a\?b=1 HTTP/1\.1" 200 5 "http://x/\\x09q" '
        r'"evil\\x22 \\x5C \\x1B\[31m \\xFF\\xFE\\x7F end"' + "\n"
    )
    assert re.fullmatch(pattern, line), line
    (refused,) = lines_of(COMBINED, ("127.0.0.1", NOW, None, response(400), 50, SITE, None))
    assert refused.endswith(' "-" 400 5 "-" "-"\n')


def test_every_variable_is_escaped_and_missing_values_are_a_dash() -> None:
    hostile_site = SiteSettings(('we"ird',), SITE.locations)
    negotiated = Negotiated(
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "X25519MLKEM768",
        alpn="http/1.1",
        server_name="a\\b",
        resumed=True,
    )
    log_format = LogFormat("all", _format(ALL_VARIABLES))
    (line,) = lines_of(
        log_format,
        (
            "192.0.2.1",
            NOW,
            request(*HOSTILE, ("host", "Example.TEST:8443")),
            response(),
            61,
            hostile_site,
            negotiated,
            NOW - 1.5,
        ),
    )
    values = fields(line.rstrip("\n"))
    assert values["http_user_agent"] == "evil\\x22 \\x5C \\x1B[31m \\xFF\\xFE\\x7F end"
    assert values["server_name"] == "we\\x22ird"
    assert values["ssl_server_name"] == "a\\x5Cb"
    assert values["host"] == "example.test"
    assert values["remote_user"] == "-"
    assert values["bytes_sent"] == "66"
    assert values["request_time"] == "1.500"  # seconds, with millisecond resolution
    assert values["ssl_session_reused"] == "r"
    assert values["ssl_curve"] == "X25519MLKEM768"
    assert values["ssl_cipher"] == "TLS_AES_256_GCM_SHA384"
    assert re.fullmatch(ISO8601, values["time_iso8601"])
    (refused,) = lines_of(log_format, ("192.0.2.1", NOW, None, response(400), 61, SITE, None))
    refused_values = fields(refused.rstrip("\n"))
    for name in ("request", "request_method", "request_uri", "http_referer", "server_protocol"):
        assert refused_values[name] == "-"
    for name in VARIABLES:
        if name.startswith("ssl_"):
            assert refused_values[name] == "-"
    assert refused_values["host"] == "example.test"  # no request: the server's name


def _format(text: str) -> tuple[str | Variable, ...]:
    return split_format(text, Position("test", 1, 1))


def test_two_formats_into_one_file_share_its_stream_in_order(tmp_path: Path) -> None:
    logs = LogFiles()
    target = tmp_path / "both.log"
    short = LogFormat("short", _format("$status $request_uri"))
    combined, shortened = logs.access(target, COMBINED), logs.access(target, short)
    assert combined is not None and shortened is not None and combined is not shortened
    assert logs.access(target, short) is shortened
    combined.write("127.0.0.1", NOW, request(), response(), 50, SITE, None)
    shortened.write("127.0.0.1", NOW, request(), response(404), 50, SITE, None)
    logs.flush()
    first, second = target.read_text().splitlines()
    assert first.startswith("127.0.0.1 - - [")
    assert second == "404 /a?b=1"


# --- Over real connections: our client against a test server -------------------------------------


@pytest.fixture
def logged_site(tmp_path: Path, demo_pki) -> Path:
    config = write_site(
        tmp_path,
        demo_pki,
        extra_http=f"log_format every '{ALL_VARIABLES}';",
        listens="listen 127.0.0.1:0; listen 127.0.0.1:0 ssl; listen 127.0.0.1:0 toytls;",
    )
    text = config.read_text().replace(
        f"access_log {tmp_path / 'access.log'};", f"access_log {tmp_path / 'access.log'} every;"
    )
    config.write_text(text)
    return config


def logged_lines(folder: Path) -> list[dict[str, str]]:
    return [fields(line) for line in (folder / "access.log").read_text().splitlines()]


def test_every_variable_over_a_plain_connection(logged_site: Path, tmp_path: Path) -> None:
    with serve_in_thread(logged_site) as running:
        port = running.port("plain")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET /index.html?x=1 HTTP/1.1\r\nHost: LocalHost:"
                + str(port).encode()
                + b'\r\nReferer: http://r/\r\nUser-Agent: test "agent"\r\n'
                b"Connection: close\r\n\r\n"
            )
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    (values,) = logged_lines(tmp_path)
    assert values["remote_addr"] == "127.0.0.1"
    assert values["remote_user"] == "-"
    assert re.fullmatch(r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}", values["time_local"])
    assert re.fullmatch(ISO8601, values["time_iso8601"])
    assert values["request"] == "GET /index.html?x=1 HTTP/1.1"
    assert values["request_method"] == "GET"
    assert values["request_uri"] == "/index.html?x=1"
    assert values["status"] == "200"
    assert values["body_bytes_sent"] == "15"
    assert values["bytes_sent"] == str(len(received))  # head and body, all the client got
    assert values["http_referer"] == "http://r/"
    assert values["http_user_agent"] == "test \\x22agent\\x22"
    assert re.fullmatch(r"\d+\.\d{3}", values["request_time"])
    assert values["server_name"] == "localhost"
    assert values["host"] == "localhost"
    assert values["server_protocol"] == "HTTP/1.1"
    for name in VARIABLES:
        if name.startswith("ssl_"):
            assert values[name] == "-", name


def test_every_variable_over_tls13_and_a_resumed_session(
    logged_site: Path, tmp_path: Path, demo_pki
) -> None:
    new_tls = tls13_client_factory(demo_pki.root_cert, tickets=TicketStore())
    with serve_in_thread(logged_site) as running:
        first = fetch(running.url("ssl", "/index.html"), new_tls=new_tls)
        second = fetch(running.url("ssl", "/"), new_tls=new_tls)
    assert first.negotiated is not None and second.negotiated is not None
    assert second.negotiated.resumed
    full, resumed = logged_lines(tmp_path)
    assert full["ssl_protocol"] == "TLSv1.3"
    assert full["ssl_cipher"] == first.negotiated.cipher_suite
    assert full["ssl_cipher"].startswith("TLS_")
    assert full["ssl_curve"] == first.negotiated.group
    assert full["ssl_curve"] in {"x25519", "X25519MLKEM768", "secp256r1"}
    assert full["ssl_session_reused"] == "."
    assert full["ssl_server_name"] == "localhost"
    assert full["ssl_alpn_protocol"] == "http/1.1"
    assert full["request"] == "GET /index.html HTTP/1.1"
    assert full["http_user_agent"] == "tls-web-server-client"
    assert full["status"] == "200"
    assert full["host"] == "localhost"
    assert resumed["ssl_session_reused"] == "r"
    assert resumed["request_uri"] == "/"


def test_the_tls_variables_over_toytls(logged_site: Path, tmp_path: Path, demo_pki) -> None:
    with serve_in_thread(logged_site) as running:
        result = fetch(
            running.url("toytls", "/index.html"), new_tls=toytls_client_factory(demo_pki.root_cert)
        )
    assert result.negotiated is not None
    (values,) = logged_lines(tmp_path)
    assert values["ssl_protocol"] == "toytls"
    assert values["ssl_cipher"] == result.negotiated.cipher_suite
    assert values["ssl_curve"] == result.negotiated.group
    assert values["ssl_session_reused"] == "."
    assert values["ssl_alpn_protocol"] == "-"


def test_the_default_access_log_is_still_combined_on_the_wire(tmp_path: Path, demo_pki) -> None:
    config = write_site(tmp_path, demo_pki)
    with (
        serve_in_thread(config) as running,
        socket.create_connection(("127.0.0.1", running.port("plain")), timeout=10) as sock,
    ):
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: a\xffb\\\r\n"
            b"Connection: close\r\n\r\n"
        )
        while sock.recv(65536):
            pass
    (line,) = (tmp_path / "access.log").read_text().splitlines()
    assert line.endswith('"GET / HTTP/1.1" 200 15 "-" "a\\xFFb\\x5C"')


def test_the_client_certificate_variables() -> None:
    log_format = LogFormat(
        "mtls",
        _format("$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|$ssl_client_fingerprint"),
    )
    base = Negotiated("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519")
    checked = replace(
        base,
        client_certificate=ClientCertificateCheck(
            "FAILED:chain does not lead to the trusted root",
            'CN=al"ice,O=example',
            "CN=Example CA",
            "0a" * 20,
        ),
    )
    none = replace(base, client_certificate=ClientCertificateCheck("NONE"))
    lines = lines_of(
        log_format,
        *(
            ("192.0.2.1", NOW, request(), response(), 50, SITE, negotiated)
            for negotiated in (checked, none, base, None)
        ),
    )
    assert lines == [
        "FAILED:chain does not lead to the trusted root|CN=al\\x22ice,O=example|CN=Example CA|"
        + "0a" * 20
        + "\n",
        "NONE|-|-|-\n",
        "NONE|-|-|-\n",  # TLS without a certificate request: nginx says NONE too
        "-|-|-|-\n",  # a plain connection
    ]
