"""`tls_trace on;`: the served trace pages /_tls/ and /_tls/this, over real sockets.

A client opens /_tls/this and gets the page of its own connection, drawn from
the server's side: its ClientHello, the key schedule with the server's
ephemeral private key, and snippets that recompute every value (they are run
here).  /_tls/ lists the kept connections (bounded by tls_trace_connections);
each has an NSS key log equal to the one the client itself wrote; the plain
listener has no /_tls/; nothing secret reaches the logs; a kept trace stops
keeping application records after its budget and the page says so.
"""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tests.tls.test_trace_snippets import run_all_snippets
from tls_web_server.client.fetch import fetch, toytls_client_factory
from tls_web_server.config import ConfigError, parse_config
from tls_web_server.http.messages import Request
from tls_web_server.server.settings import ListenerSpec
from tls_web_server.server.trace_pages import APPLICATION_BYTES_KEPT, KeptConnection, TraceStore

LISTENS = """listen 127.0.0.1:0;
        listen 127.0.0.1:0 ssl;
        listen 127.0.0.1:0 toytls;"""


@pytest.fixture
def traced_site(tmp_path, demo_pki) -> Path:
    return write_site(
        tmp_path,
        demo_pki,
        listens=LISTENS,
        extra_server="tls_trace on;\n        tls_trace_connections 3;",
    )


def get_over_ssl(
    port: int, path: str, root: Path, keylog: Path | None = None, agent: str = "learner/1.0"
) -> bytes:
    context = ssl.create_default_context(cafile=str(root))
    context.set_alpn_protocols(["http/1.1"])
    if keylog is not None:
        context.keylog_filename = str(keylog)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        request = (
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: {agent}\r\n"
            "Connection: close\r\n\r\n"
        )
        tls.sendall(request.encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def body_of(response: bytes) -> str:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert b"Cache-Control: no-store" in head
    return body.decode("utf-8")


def test_this_page_explains_the_asking_connection(traced_site, demo_pki, tmp_path):
    keylog = tmp_path / "client.keys"
    with serve_in_thread(traced_site) as running:
        port = running.port("ssl")
        page = body_of(get_over_ssl(port, "/_tls/this", demo_pki.root_cert, keylog))
        listing = body_of(get_over_ssl(port, "/_tls/", demo_pki.root_cert, agent="second/2.0"))
        number = re.search(r'href="/_tls/(\d+)">#\1</a></td>', listing)
        assert number is not None
        served_keylog = get_over_ssl(port, f"/_tls/{number[1]}.keylog", demo_pki.root_cert)
    assert "the server&#x27;s side" in page or "the server's side" in page
    assert "ClientHello" in page and "ServerHello" in page
    assert "tls13 c hs traffic" in page and "X25519PrivateKey.from_private_bytes" in page
    assert "✘" not in page
    run_all_snippets(page)  # every value on the served page is what its snippet prints
    # The listing: both connections, with their User-Agent, protocol and how it went.
    assert "learner/1.0" in listing and "second/2.0 (this one)" not in listing
    assert "(this one)" in listing and "TLSv1.3" in listing and "TLS_AES_128_GCM_SHA256" in listing
    # The key log of the first connection is the one the client wrote (NSS format).
    client_lines = {
        line for line in keylog.read_text().splitlines() if line and not line.startswith("#")
    }
    served_lines = set(body_of(served_keylog).splitlines())
    assert len(client_lines) == 5 and served_lines == client_lines


def test_the_plain_listener_has_no_trace_pages(traced_site):
    with serve_in_thread(traced_site) as running:
        result = fetch(running.url("plain", "/_tls/"))
        this = fetch(running.url("plain", "/_tls/this"))
    assert result.response.status == 404 and this.response.status == 404


def test_toytls_connections_are_kept_too(traced_site, demo_pki):
    with serve_in_thread(traced_site) as running:
        new_tls = toytls_client_factory(demo_pki.root_cert)
        result = fetch(running.url("toytls", "/_tls/this"), new_tls=new_tls)
    assert result.response.status == 200
    page = result.response.body.decode()
    assert "toytls connection #" in page and "ServerAuth" in page


def test_only_the_last_n_connections_are_kept_and_unknown_pages_are_404(traced_site, demo_pki):
    with serve_in_thread(traced_site) as running:
        port = running.port("ssl")
        for _ in range(5):
            get_over_ssl(port, "/index.html", demo_pki.root_cert)
        listing = body_of(get_over_ssl(port, "/_tls/", demo_pki.root_cert))
        gone = get_over_ssl(port, "/_tls/1", demo_pki.root_cert)
        unknown = get_over_ssl(port, "/_tls/nothing", demo_pki.root_cert)
    assert listing.count("<tr><td>") == 3  # tls_trace_connections 3
    assert gone.startswith(b"HTTP/1.1 404") and unknown.startswith(b"HTTP/1.1 404")


def test_no_secret_reaches_the_logs(traced_site, demo_pki, tmp_path):
    keylog = tmp_path / "client.keys"
    with serve_in_thread(traced_site) as running:
        get_over_ssl(running.port("ssl"), "/_tls/this", demo_pki.root_cert, keylog)
    secrets = [line.split()[2] for line in keylog.read_text().splitlines() if line.count(" ") == 2]
    logs = (tmp_path / "access.log").read_text() + (tmp_path / "error.log").read_text()
    assert secrets and not any(secret in logs for secret in secrets)
    assert "GET /_tls/this" in logs


def test_a_kept_trace_stops_keeping_application_records_and_says_so():
    kept = TraceStore(keep=2).keep_connection("127.0.0.1:5000", 0.0)
    record = {"kind": "record", "content_type": "application_data", "raw": bytes(1000)}
    for _ in range(100):
        kept(dict(record, direction="received"))
    kept_records = [event for event in kept.events if event.get("kind") == "record"]
    assert len(kept_records) == APPLICATION_BYTES_KEPT // 1000
    assert kept.dropped_records == 100 - len(kept_records)
    assert isinstance(kept, KeptConnection)


def test_a_store_drops_the_oldest_connection():
    store = TraceStore(keep=2)
    first = store.keep_connection("a", 0.0)
    store.keep_connection("b", 1.0)
    store.keep_connection("c", 2.0)
    assert store.find(first.number) is None
    assert [kept.peer for kept in store.connections] == ["b", "c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls_trace yes;", "expected 'on' or 'off'"),
        ("tls_trace_connections 0;", "a positive whole number up to 1000"),
        ("tls_trace_connections 1001;", "a positive whole number up to 1000"),
    ],
)
def test_bad_trace_directives_are_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(f"http {{ {text} server {{ listen 8080; }} }}", tmp_path / "x.conf")


def test_the_directives_default_to_off_and_fifty(tmp_path):
    config = parse_config("http { server { listen 8080; } }", tmp_path / "x.conf")
    assert config.servers[0].tls_trace is False
    assert config.servers[0].tls_trace_connections == 50


def test_startup_lines_say_what_is_revealed_and_warn_off_loopback(traced_site):
    with serve_in_thread(traced_site) as running:
        by_protocol = {bound.spec.protocol: bound for bound in running.bound}
        tls_lines = by_protocol["ssl"].trace_pages_lines()
        plain_lines = by_protocol["plain"].trace_pages_lines()
        spec: ListenerSpec = by_protocol["ssl"].spec
        exposed = type(by_protocol["ssl"])(spec, "0.0.0.0", 8443, by_protocol["ssl"].sock)
        exposed_lines = exposed.trace_pages_lines()
    assert plain_lines == []
    assert len(tls_lines) == 1 and "/_tls/this" in tls_lines[0]
    assert "reveal the session secrets" in tls_lines[0]
    assert any(line.startswith("warning: tls_trace is on for 0.0.0.0") for line in exposed_lines)


def test_compare_puts_the_newest_toytls_and_tls13_connections_side_by_side(traced_site, demo_pki):
    with serve_in_thread(traced_site) as running:
        toy = fetch(
            running.url("toytls", "/index.html"), new_tls=toytls_client_factory(demo_pki.root_cert)
        )
        tls13_page = get_over_ssl(running.port("ssl"), "/index.html", demo_pki.root_cert)
        compare = body_of(get_over_ssl(running.port("ssl"), "/_tls/compare", demo_pki.root_cert))
    assert toy.response.status == 200 and tls13_page.startswith(b"HTTP/1.1 200")
    rows = re.findall(r'<tr id="([a-z-]+)">', compare)
    assert rows == ["key-exchange", "authentication", "key-derivation", "confirmation", "records"]
    confirmation = compare.split('<tr id="confirmation">')[1].split("</tr>")[0]
    # TLS 1.3 confirms with Finished; toytls has no such step, and the page says what that allows.
    assert "<b>Finished</b>" in confirmation and "no such step" in confirmation
    authentication = compare.split('<tr id="authentication">')[1].split("</tr>")[0]
    assert "<b>ServerAuth</b>" in authentication and "<b>CertificateVerify</b>" in authentication
    assert "unknown key-share" in authentication
    assert "(no toytls connection kept)" not in compare
    records = compare.split('<tr id="records">')[1].split("</tr>")[0]
    # The TLS 1.3 column is the /index.html connection (request and response), not this one.
    assert records.count("2 application records") == 2


def test_only_get_and_head_reach_the_pages():
    store = TraceStore(keep=1)
    kept = store.keep_connection("127.0.0.1", 0.0)
    post = Request("POST", "/_tls/this", "HTTP/1.1", (("host", "localhost"),), True)
    head = Request("HEAD", "/_tls/this", "HTTP/1.1", (("host", "localhost"),), True)
    refused = store.respond(post, kept, 0.0)
    assert refused.status == 405 and refused.header("allow") == "GET, HEAD"
    answered = store.respond(head, kept, 0.0)
    assert answered.status == 200 and answered.body is None
    assert int(answered.header("content-length")) > 1000
