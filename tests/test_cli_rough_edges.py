"""The rough edges found when the commands were tried as a new user would: one test each."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server import quick_serve
from tls_web_server.cli import main, startup_warnings
from tls_web_server.config import ConfigError, load_config, parse_config

ALL_LISTENERS = (
    "listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;\n        listen 127.0.0.1:0 toytls;"
)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tls_web_server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_a_port_in_use_is_named_at_its_listen_line_and_exits_2(tmp_path, demo_pki):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = write_site(tmp_path, demo_pki, listens=f"listen 127.0.0.1:{port};")
        result = run_cli("serve", "-c", str(config))
    assert result.returncode == 2
    line = config.read_text().splitlines().index(f"        listen 127.0.0.1:{port};") + 1
    assert result.stderr.strip() == (
        f"tls-web-server: {config}:{line}: cannot listen on 127.0.0.1:{port}:"
        " address already in use"
    )


def test_serve_refuses_a_folder_and_a_config_together(tmp_path, capsys):
    assert main(["serve", str(tmp_path), "-c", str(tmp_path / "site.conf")]) == 2
    error = capsys.readouterr().err
    assert "both -c" in error
    assert str(tmp_path) in error


def test_a_missing_semicolon_is_named_by_its_line():
    text = "http {\n    server {\n        listen 8080\n        server_name localhost;\n    }\n}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "site.conf")
    assert caught.value.message.startswith("missing ';' at the end of line 3?")


def test_a_missing_semicolon_before_a_closing_brace_is_named_by_its_line():
    text = "http {\n    server {\n        listen 8080;\n        root html\n    }\n}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "site.conf")
    assert caught.value.message.startswith("missing ';' at the end of line 4?")


def test_arguments_over_two_lines_are_not_blamed_for_a_later_error():
    text = (
        "http {\n    server {\n        listen 8080;\n        server_name a.example\n"
        "            b.example;\n        bogus 1;\n    }\n}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "site.conf")
    assert caught.value.message == "unknown directive 'bogus'"


def test_certs_help_documents_outdir_and_the_key_type(capsys):
    with pytest.raises(SystemExit):
        main(["certs", "--help"])
    help_text = capsys.readouterr().out
    assert "OUTDIR" in help_text and "root_cert.pem" in help_text
    assert "the key algorithm" in help_text


def test_get_v_with_toytls_shows_only_what_toytls_agrees(tmp_path, demo_pki, capsys):
    config = write_site(tmp_path, demo_pki, listens=ALL_LISTENERS)
    with serve_in_thread(config) as running:
        url = running.url("toytls")
        assert main(["get", url, "--toytls", "-v", "--cafile", str(demo_pki.root_cert)]) == 0
    summary = capsys.readouterr().err.strip()
    assert summary.startswith("toytls ")
    assert "hrr=" not in summary and "resumed=" not in summary and "alpn=" not in summary


def test_toytls_with_resume_is_refused_with_a_reason(capsys):
    assert main(["get", "--toytls", "--resume", "https://localhost:8444/"]) == 2
    assert "toytls has no resumption" in capsys.readouterr().err


def test_trace_goes_to_stderr_at_the_terminal_width(tmp_path, demo_pki, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    config = write_site(tmp_path, demo_pki, listens=ALL_LISTENERS)
    with serve_in_thread(config) as running:
        url = running.url("ssl")
        assert main(["get", url, "--cafile", str(demo_pki.root_cert), "--trace"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "<h1>hello</h1>\n"
    lines = captured.err.splitlines()
    assert "ClientHello" in captured.err
    assert max(len(line) for line in lines) <= 72


def test_trace_html_pages_are_written_0600(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, listens=ALL_LISTENERS)
    page = tmp_path / "hs.html"
    page.write_text("an older page")
    page.chmod(0o644)
    with serve_in_thread(config) as running:
        url = running.url("ssl")
        assert (
            main(["get", url, "--cafile", str(demo_pki.root_cert), "--trace-html", str(page)]) == 0
        )
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert "ClientHello" in page.read_text()


def test_startup_warns_of_sslkeylogfile_and_of_a_missing_root(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki, extra_server="location /gone/ { root missing; }")
    warnings = startup_warnings(load_config(config), {"SSLKEYLOGFILE": "/tmp/keys.log"})
    assert any("SSLKEYLOGFILE is set" in warning for warning in warnings)
    assert any(f"root {tmp_path / 'missing'} does not exist" in w for w in warnings)
    assert startup_warnings(load_config(write_site(tmp_path / "ok", demo_pki)), {}) == []


def test_the_port_probe_binds_as_the_server_does_through_time_wait():
    # A server that closed first leaves its side of the connection in TIME_WAIT
    # on the listening port; the server's own bind (SO_REUSEADDR) still works.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: TIME_WAIT is on the server's port
    client.recv(1)
    client.close()
    listener.close()
    assert quick_serve.port_is_free(port)
    with socket.create_server(("127.0.0.1", port)):
        assert not quick_serve.port_is_free(port)


def test_serve_dir_says_which_port_it_took_when_8443_is_taken(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(quick_serve, "port_is_free", lambda port: port != 8443)
    from tls_web_server import cli

    site = tmp_path / "site"
    site.mkdir()
    args = cli._argument_parser().parse_args(["serve", str(site)])
    config = cli._quick_config(args)
    out = capsys.readouterr().out
    taken_line = next(line for line in out.splitlines() if line.startswith("8443 is taken"))
    chosen = int(taken_line.rsplit(" ", 1)[1])
    assert any(listen.port == chosen for listen in config.servers[0].listens)
    assert chosen != 8443


@pytest.mark.parametrize(
    "command", [("tls_web_server", "demo"), ("tls_web_server.demo",)], ids=["command", "module"]
)
def test_the_demo_runs_as_a_command_and_as_a_module(tmp_path, command):
    # Those who installed with pip have no scripts/demo.py and no Makefile.
    result = subprocess.run(
        [sys.executable, "-m", *command, str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All four requests got HTTP/1.1 200 OK." in result.stdout
    assert (tmp_path / "demo" / "traces" / "tls13.html").exists()


def test_key_log_files_are_0600(tmp_path):
    from tls_web_server.tls.keylog import KeyLogFile

    path = tmp_path / "keys.log"
    KeyLogFile(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
