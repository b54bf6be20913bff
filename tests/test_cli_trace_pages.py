"""`serve DIR` turns tls_trace on and prints where the pages are; our client then reads its own."""

from __future__ import annotations

import subprocess
import sys

from tls_web_server.client.fetch import fetch, tls13_client_factory


def test_serve_a_folder_prints_the_trace_page_url_and_serves_it(tmp_path, monkeypatch):
    folder = tmp_path / "public"
    folder.mkdir()
    (folder / "index.html").write_text("<p>public</p>\n")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ports = ["--http-port", "0", "--https-port", "0", "--toytls-port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "tls_web_server", "serve", str(folder), *ports],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        while len([line for line in lines if line.startswith("listening on")]) < 3:
            lines.append(process.stdout.readline().strip())
        lines.append(process.stdout.readline().strip())  # the line after the last listener
        trace_lines = [line for line in lines if line.startswith("tls_trace on:")]
        # The TLS 1.3 and toytls listeners each say where their pages are; plain says nothing.
        assert len(trace_lines) == 2
        assert all("reveal the session secrets" in line for line in trace_lines)
        assert not any(line.startswith("warning: tls_trace") for line in lines)  # loopback only
        https = next(line for line in lines if line.endswith("(TLSv1.3)")).split()[2]
        url = https.replace("127.0.0.1", "localhost") + "/_tls/this"
        assert any(f"{https}/_tls/this" in line for line in trace_lines)
        root = tmp_path / "state" / "tls-web-server" / "ca" / "root_cert.pem"
        result = fetch(url, new_tls=tls13_client_factory(root))
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
    assert result.response.status == 200
    page = result.response.body.decode()
    assert "the server&#x27;s side" in page and "tls13 c hs traffic" in page
