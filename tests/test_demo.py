"""The README's first command: the demo must end with every request answered `HTTP/1.1 200 OK`."""

from __future__ import annotations

from tls_web_server.demo import run_demo


def test_the_demo_succeeds_and_narrates_every_protocol(tmp_path):
    lines: list[str] = []
    folder = tmp_path / "demo-site"
    assert run_demo(folder, say=lines.append) == 0
    text = "\n".join(lines)
    # our client prints the status line of plain, toytls and TLS 1.3; curl prints its own
    assert text.count("\n   HTTP/1.1 200 OK") == 4
    assert "All four requests got HTTP/1.1 200 OK." in text
    assert "(plain)" in text and "(toytls)" in text and "(TLSv1.3)" in text
    assert "handshake: toytls" in text
    assert "handshake: TLSv1.3" in text
    assert "server exit status: 0" in text
    assert "https://localhost:8443/" in text  # how to open it in a browser


def test_the_demo_draws_our_tls13_connection_and_writes_both_html_traces(tmp_path):
    lines: list[str] = []
    folder = tmp_path / "demo-site"
    assert run_demo(folder, say=lines.append) == 0
    text = "\n".join(lines)
    step5 = text[text.index("Step 5") : text.index("Step 6")]
    assert "TLSv1.3, as the client saw it" in step5
    for message in ("ClientHello", "ServerHello", "CertificateVerify", "Finished"):
        assert message in step5
    for name in ("tls13.html", "toytls.html"):
        page = folder / "traces" / name
        assert f"   {page}" in text  # the demo says where it wrote the page
        page_text = page.read_text(encoding="utf-8")
        assert "<title>TLS connection to https://localhost:" in page_text
        assert page.stat().st_size > 10_000  # every byte of the connection, annotated
