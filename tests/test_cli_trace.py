"""The illustrated handshake from the command line: get --trace, --trace-html, serve --trace."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.cli import main
from tls_web_server.client.fetch import fetch, tls13_client_factory, toytls_client_factory
from tls_web_server.demo import BackgroundServer

ALL_LISTENERS = (
    "listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;\n        listen 127.0.0.1:0 toytls;"
)

# The arrows of a full TLS 1.3 handshake, in the order the diagram must draw them.
TLS13_FLIGHTS = (
    "── ClientHello ",
    " ServerHello ──",
    " EncryptedExtensions [encrypted] ──",
    " CompressedCertificate [encrypted] ──",  # our client asks for it (RFC 8879)
    " CertificateVerify [encrypted] ──",
    " Finished [encrypted] ──",
    "── Finished [encrypted] ",
)


def assert_in_order(text: str, pieces: tuple[str, ...]) -> None:
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        assert found >= 0, f"{piece!r} missing (or out of order) after offset {position}"
        position = found + len(piece)


@pytest.fixture
def site(tmp_path, demo_pki):
    return write_site(tmp_path, demo_pki, listens=ALL_LISTENERS)


def test_get_trace_draws_the_whole_tls13_connection_then_the_body(site, demo_pki, capsys):
    with serve_in_thread(site) as running:
        code = main(["get", running.url("ssl"), "--cafile", str(demo_pki.root_cert), "--trace"])
    assert code == 0
    captured = capsys.readouterr()
    # The body alone on stdout (`get URL > file` keeps it clean), the diagram on stderr.
    assert captured.out == "<h1>hello</h1>\n"
    diagram = captured.err
    assert diagram.startswith("TLSv1.3, as the client saw it\n")
    assert_in_order(diagram, TLS13_FLIGHTS)
    assert_in_order(
        diagram,
        ("derive handshake_secret", "derive client_application_traffic_secret_0"),
    )
    assert "SNI: localhost" in diagram
    assert "CN=localhost" in diagram
    assert f"{running.url('ssl')} -> 200 OK" in diagram
    assert "\x1b[" not in diagram  # captured output is not a terminal: no colour


def test_get_trace_of_the_learning_protocol(site, demo_pki, capsys):
    with serve_in_thread(site) as running:
        url = running.url("toytls")
        code = main(["get", url, "--toytls", "--cafile", str(demo_pki.root_cert), "--trace"])
    assert code == 0
    diagram = capsys.readouterr().err
    assert diagram.startswith("toytls, as the client saw it\n")
    assert_in_order(diagram, ("ClientHello", "ServerHello", "ServerAuth", "derive shared_secret"))


class _PageOutline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.tags: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def test_get_trace_html_writes_one_page_per_url(site, demo_pki, tmp_path, capsys):
    page = tmp_path / "handshake.html"
    with serve_in_thread(site) as running:
        first, second = running.url("ssl"), running.url("ssl", "/index.html")
        code = main(
            ["get", first, second, "--cafile", str(demo_pki.root_cert), "--trace-html", str(page)]
        )
    assert code == 0
    err = capsys.readouterr().err
    second_page = tmp_path / "handshake-2.html"
    assert f"trace written to {page}" in err
    assert f"trace written to {second_page}" in err
    for path, url in ((page, first), (second_page, second)):
        outline = _PageOutline()
        outline.feed(path.read_text(encoding="utf-8"))
        assert outline.title == f"TLS connection to {url}"
        assert "script" in outline.tags  # click to expand
        assert "link" not in outline.tags  # self-contained: no external stylesheet


def test_get_trace_on_plain_http_draws_nothing(site, capsys):
    with serve_in_thread(site) as running:
        assert main(["get", running.url("plain"), "--trace"]) == 0
    assert capsys.readouterr().out == "<h1>hello</h1>\n"


def test_the_server_traces_every_tls_connection_when_asked(site, demo_pki):
    diagrams: list[str] = []
    with serve_in_thread(site, trace_output=diagrams.append) as running:
        new_tls = tls13_client_factory(demo_pki.root_cert)
        assert fetch(running.url("ssl"), new_tls=new_tls).response.status == 200
        assert fetch(running.url("ssl", "/nope"), new_tls=new_tls).response.status == 404
        assert fetch(running.url("plain")).response.status == 200
    # One diagram per TLS connection, drawn when it closed; plain HTTP is not traced.
    assert len(diagrams) == 2
    for diagram, note in zip(diagrams, ("GET / -> 200", "GET /nope -> 404"), strict=True):
        assert diagram.startswith("TLSv1.3, as the server saw it\n")
        assert_in_order(
            diagram, ("connection from 127.0.0.1", *TLS13_FLIGHTS, note, "connection closed")
        )


def test_the_server_traces_nothing_by_default(site, demo_pki):
    with serve_in_thread(site) as running:
        spec = next(b.spec for b in running.bound if b.spec.protocol == "ssl")
        assert spec.trace_output is None
        new_tls = tls13_client_factory(demo_pki.root_cert)
        assert fetch(running.url("ssl"), new_tls=new_tls).response.status == 200


def test_serve_trace_prints_a_diagram_for_each_connection(site, demo_pki):
    with BackgroundServer(site, listeners=3, serve_options=("--trace",)) as server:
        tls13_url = server.url("TLSv1.3").replace("127.0.0.1", "localhost")
        toy_url = server.url("toytls").replace("127.0.0.1", "localhost")
        new_tls13 = tls13_client_factory(demo_pki.root_cert)
        assert fetch(tls13_url, new_tls=new_tls13).response.status == 200
        new_toy = toytls_client_factory(demo_pki.root_cert)
        assert fetch(toy_url, new_tls=new_toy).response.status == 200
    assert server.exit_status == 0
    out = server.stdout_text
    assert out.count("TLSv1.3, as the server saw it\n") == 1
    assert out.count("toytls, as the server saw it\n") == 1
    tls13_part, toy_part = out.split("toytls, as the server saw it\n")
    assert_in_order(tls13_part, (*TLS13_FLIGHTS, "GET / -> 200"))
    assert_in_order(toy_part, ("ClientHello", "ServerHello", "ServerAuth", "GET / -> 200"))


def test_compare_writes_both_protocols_side_by_side_in_a_private_page(
    site, demo_pki, tmp_path, capsys
):
    page_path = tmp_path / "compare.html"
    with serve_in_thread(site) as running:
        code = main(
            [
                "compare",
                running.url("ssl"),
                running.url("toytls"),
                "--cafile",
                str(demo_pki.root_cert),
                "-o",
                str(page_path),
            ]
        )
    assert code == 0
    assert f"comparison written to {page_path}" in capsys.readouterr().err
    assert page_path.stat().st_mode & 0o777 == 0o600  # the page shows both connections' secrets
    page = page_path.read_text()
    rows = re.findall(r'<tr id="([a-z-]+)">', page)
    assert rows[:4] == ["key-exchange", "authentication", "key-derivation", "confirmation"]
    confirmation = page.split('<tr id="confirmation">')[1].split("</tr>")[0]
    # TLS 1.3 confirms the handshake with Finished; the learning protocol has nothing there.
    assert "Finished" in confirmation
    assert "nothing: this protocol has no such step" in confirmation


def test_compare_names_the_url_that_failed(site, demo_pki, tmp_path, capsys):
    with serve_in_thread(site) as running:
        # Both URLs at the TLS 1.3 port: the toytls client meets TLS 1.3 and must say so.
        code = main(
            [
                "compare",
                running.url("ssl"),
                running.url("ssl"),
                "--cafile",
                str(demo_pki.root_cert),
                "-o",
                str(tmp_path / "compare.html"),
            ]
        )
    assert code == 1
    assert f"{running.url('ssl')}: " in capsys.readouterr().err
    assert not (tmp_path / "compare.html").exists()
