"""The README's first command: the demo must end with every request answered `HTTP/1.1 200 OK`."""

from __future__ import annotations

from tls_web_server.demo import run_demo


def test_the_demo_succeeds_and_narrates_every_protocol(tmp_path):
    lines: list[str] = []
    assert run_demo(tmp_path / "demo-site", say=lines.append) == 0
    text = "\n".join(lines)
    assert text.count("\n   HTTP/1.1 200 OK") == 3
    assert "All three requests got HTTP/1.1 200 OK." in text
    assert "(plain)" in text and "(toytls)" in text and "(TLSv1.3)" in text
    assert "handshake: toytls" in text
    assert "server exit status: 0" in text
    assert "https://localhost:8443/" in text  # how to open it in a browser
