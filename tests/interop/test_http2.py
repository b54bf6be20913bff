"""HTTP/2 over our TLS 1.3 with other people's clients: curl, nghttp, Node, httpx, Chromium.

Each fetches a small file and a large one (larger than every default window,
so flow control runs) as streams of one connection, and the bytes are
compared by SHA-256; the access log must say HTTP/2.0.  On the same port an
HTTP/1.1 client still gets HTTP/1.1 (ALPN order: h2, then http/1.1).
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench import node
from tests.conftest import serve_in_thread, write_site
from tests.interop.chromium_netlog import read_netlog
from tests.interop.harness import CLIENT_TIMEOUT_SECONDS, require_tool
from tests.interop.node_peer import require_node
from tests.interop.test_chromium import dump_dom, fresh_home, trust_root_in_nssdb

LARGE_SIZE = 3 * 1024 * 1024 + 5
NODE_PROGRAM = Path(__file__).with_name("node_http2_get.js")


@dataclass(frozen=True)
class Http2Site:
    port: int
    root_cert: Path
    folder: Path
    marker: str

    def https_url(self, host: str = "localhost", path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def file(self, name: str) -> bytes:
        return (self.folder / "html" / name).read_bytes()

    def access_lines(self) -> list[str]:
        return (self.folder / "access.log").read_text(encoding="utf-8").splitlines()

    def internal_errors(self) -> list[str]:
        log = self.folder / "error.log"
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        return [line for line in text.splitlines() if "internal error" in line]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo_pki) -> Iterator[Http2Site]:
    folder = tmp_path_factory.mktemp("http2-site")
    config = write_site(
        folder, demo_pki, listens="listen 127.0.0.1:0 ssl;", extra_server="http2 on;"
    )
    html = folder / "html"
    marker = os.urandom(8).hex()
    # The page runs a large script: Chromium's DOM then proves the large file arrived whole.
    (html / "index.html").write_text(
        f'<html><body><p id="marker">{marker}</p><p id="large">no</p>'
        '<script src="/large.js"></script></body></html>\n'
    )
    filler = "x" * (2 * 1024 * 1024)
    (html / "large.js").write_text(
        f'var filler = "{filler}";\n'
        'document.getElementById("large").textContent = "large:" + filler.length;\n'
    )
    (html / "small.txt").write_text("a small file\n")
    (html / "large.bin").write_bytes(os.urandom(LARGE_SIZE))
    with serve_in_thread(config) as running:
        yield Http2Site(running.port("ssl"), demo_pki.root_cert, folder, marker)


@pytest.fixture(autouse=True)
def _no_internal_errors(site: Http2Site) -> Iterator[None]:
    yield
    assert site.internal_errors() == []


def run(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        command, capture_output=True, timeout=CLIENT_TIMEOUT_SECONDS * 4, check=False
    )


def test_curl_http2_fetches_small_and_large_on_one_connection(site: Http2Site, tmp_path: Path):
    require_tool("curl")
    small, large = tmp_path / "small", tmp_path / "large"
    result = run(
        [
            "curl",
            "-sS",
            "-v",
            "--http2",
            "--cacert",
            str(site.root_cert),
            "-w",
            "%{http_version} %{response_code}\n",
            "-o",
            str(small),
            site.https_url(path="/small.txt"),
            "-o",
            str(large),
            site.https_url(path="/large.bin"),
        ]
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, stderr
    assert result.stdout.decode().split("\n")[:2] == ["2 200", "2 200"]
    assert "ALPN: server accepted h2" in stderr or "ALPN, server accepted to use h2" in stderr
    assert "Re-using existing connection" in stderr or "Reusing existing connection" in stderr
    assert small.read_bytes() == site.file("small.txt")
    assert sha256(large.read_bytes()) == sha256(site.file("large.bin"))
    assert any('"GET /large.bin HTTP/2.0" 200' in line for line in site.access_lines())


def test_curl_http1_1_still_gets_http1_1_on_the_same_port(site: Http2Site):
    require_tool("curl")
    result = run(
        [
            "curl",
            "-sS",
            "-i",
            "--http1.1",
            "--cacert",
            str(site.root_cert),
            site.https_url(path="/small.txt"),
        ]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert result.stdout.endswith(site.file("small.txt"))


def test_nghttp_fetches_small_and_large_as_concurrent_streams(site: Http2Site):
    require_tool("nghttp")
    # nghttp does not check certificates; what is checked here is HTTP/2 itself.
    urls = [site.https_url(path="/small.txt"), site.https_url(path="/large.bin")]
    frames = run(["nghttp", "-v", "-n", *urls])
    log = frames.stdout
    assert frames.returncode == 0, frames.stderr
    assert b"The negotiated protocol: h2" in log
    # Both requests go out before the answers end: two streams on one connection.
    assert log.count(b"send HEADERS frame") == 2
    assert log.count(b":status: 200") == 2
    bodies = run(["nghttp", *urls])
    assert bodies.returncode == 0, bodies.stderr
    small, large = site.file("small.txt"), site.file("large.bin")
    # Without -v nghttp writes each body whole as its stream ends.
    assert bodies.stdout in (small + large, large + small)


def test_nghttp_answers_a_missing_file_404(site: Http2Site):
    require_tool("nghttp")
    result = run(["nghttp", "-v", "-n", site.https_url(path="/no-such-file")])
    assert b":status: 404" in result.stdout


def node_http2_get(site: Http2Site, paths: list[str]) -> list[dict[str, Any]]:
    require_node()
    options = {"port": site.port, "ca": str(site.root_cert), "paths": paths}
    result = run([str(node.node_binary()), str(NODE_PROGRAM), json.dumps(options)])
    lines = result.stdout.decode().strip().splitlines()
    assert lines, f"node printed nothing (exit {result.returncode}): {result.stderr!r}"
    return [json.loads(line) for line in lines]


def test_node_http2_client_fetches_small_and_large(site: Http2Site):
    answers = {
        answer["path"]: answer for answer in node_http2_get(site, ["/small.txt", "/large.bin"])
    }
    for path, name in (("/small.txt", "small.txt"), ("/large.bin", "large.bin")):
        answer = answers[path]
        assert answer.get("error") is None, answer
        assert answer["alpn"] == "h2"
        assert answer["status"] == 200
        assert answer["length"] == len(site.file(name))
        assert answer["sha256"] == sha256(site.file(name))


def test_httpx_with_h2_fetches_small_and_large(site: Http2Site):
    import httpx  # a dev dependency, with its HTTP/2 extra (python-hyper's h2)

    context = ssl.create_default_context(cafile=str(site.root_cert))
    with httpx.Client(http2=True, verify=context, timeout=CLIENT_TIMEOUT_SECONDS) as client:
        small = client.get(site.https_url(path="/small.txt"))
        large = client.get(site.https_url(path="/large.bin"))
        missing = client.get(site.https_url(path="/nope"))
    assert small.http_version == "HTTP/2"
    assert small.status_code == 200 and small.content == site.file("small.txt")
    assert large.http_version == "HTTP/2"
    assert sha256(large.content) == sha256(site.file("large.bin"))
    assert missing.status_code == 404


def netlog_values(value: Any, key: str) -> Iterator[Any]:
    """Every value of `key` anywhere in a NetLog's events (parameters nest)."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name == key:
                yield inner
            else:
                yield from netlog_values(inner, key)
    elif isinstance(value, list):
        for inner in value:
            yield from netlog_values(inner, key)


def test_chromium_loads_the_page_and_its_large_script_over_h2(site: Http2Site, tmp_path: Path):
    require_tool("chromium")
    home = fresh_home(tmp_path)
    trust_root_in_nssdb(home, site.root_cert)
    netlog_path = tmp_path / "netlog.json"
    result = dump_dom(site, home, tmp_path, f"--log-net-log={netlog_path}")  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    assert site.marker in result.stdout
    assert f"large:{2 * 1024 * 1024}" in result.stdout
    netlog = read_netlog(netlog_path)
    assert "h2" in set(netlog_values(netlog.get("events", []), "next_proto"))
    lines = site.access_lines()
    assert any(
        '"GET /large.js HTTP/2.0" 200' in line and "HeadlessChrome" in line for line in lines
    )
