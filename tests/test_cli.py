"""The `tls-web-server` command as a user runs it: serve, get, certs, and their exit statuses."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.cli import main
from tls_web_server.demo import BackgroundServer


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tls_web_server", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_serve_reports_a_config_error_in_one_line_and_exits_2(tmp_path):
    config = tmp_path / "bad.conf"
    config.write_text("http {\n    server {\n        listen 80 bogus;\n    }\n}\n")
    result = run_cli("serve", "-c", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"tls-web-server: {config}:3:")
    assert "bogus" in lines[0]


def test_serve_reports_a_certificate_that_is_not_pem_at_its_directive(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    config.write_text(config.read_text().replace(str(demo_pki.server_cert), str(not_pem)))
    result = run_cli("serve", "-c", str(config))
    assert result.returncode == 2
    line_number = next(
        number
        for number, line in enumerate(config.read_text().splitlines(), start=1)
        if "ssl_certificate " in line
    )
    assert f"{config}:{line_number}:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_prints_one_listening_line_per_listener_and_stops_on_sigterm(tmp_path, demo_pki):
    config = write_site(tmp_path, demo_pki)
    with BackgroundServer(config, listeners=2) as server:
        lines = server.listening_lines
        assert lines[0].startswith("listening on http://127.0.0.1:")
        assert lines[0].endswith("(plain)")
        assert lines[1].startswith("listening on https://127.0.0.1:")
        assert lines[1].endswith("(toytls)")
    assert server.exit_status == 0


def test_get_prints_the_body_or_the_head_with_i(tmp_path, demo_pki, capsysbinary):
    config = write_site(tmp_path, demo_pki)
    with serve_in_thread(config) as running:
        assert main(["get", running.url("plain")]) == 0
        assert capsysbinary.readouterr().out == b"<h1>hello</h1>\n"
        assert main(["get", running.url("plain"), "-i"]) == 0
        out = capsysbinary.readouterr().out
        assert out.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nContent-Length: 15\r\n" in out
        assert out.endswith(b"\r\n\r\n<h1>hello</h1>\n")
        toy_url = running.url("toytls")
        assert main(["get", toy_url, "--toytls", "--cafile", str(demo_pki.root_cert)]) == 0
        assert capsysbinary.readouterr().out == b"<h1>hello</h1>\n"
        # A 404 is printed too, but the exit status says it failed.
        assert main(["get", running.url("plain", "/missing")]) == 1


def test_get_explains_a_tls_failure_and_exits_1(tmp_path, demo_pki, capsys):
    other_root = tmp_path / "other"
    from tls_web_server.tls import pki

    untrusted = pki.generate_pki(other_root, ["localhost"])
    config = write_site(tmp_path, demo_pki)
    with serve_in_thread(config) as running:
        url = running.url("toytls")
        code = main(["get", url, "--toytls", "--cafile", str(untrusted.root_cert)])
    assert code == 1
    assert "chain does not lead to the trusted root" in capsys.readouterr().err


def test_get_fails_cleanly_when_nothing_listens(capsys):
    assert main(["get", "http://127.0.0.1:9/"]) == 1
    assert "cannot connect to 127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048", "ed25519"])
def test_certs_writes_the_chain_with_private_keys_0600(tmp_path, key_type):
    result = run_cli("certs", str(tmp_path), "--name", "example.test", "--key-type", key_type)
    assert result.returncode == 0, result.stderr
    for name in ("root_cert.pem", "intermediate_cert.pem", "server_cert.pem", "server_key.pem"):
        assert (tmp_path / name).exists()
    for key in tmp_path.glob("*_key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert "server_key.pem" in result.stdout


def test_certs_says_who_refuses_ed25519(tmp_path):
    ed25519 = run_cli("certs", str(tmp_path / "ed"), "--key-type", "ed25519")
    assert ed25519.returncode == 0, ed25519.stderr
    assert "browsers and our clients (get) refuse Ed25519 certificates" in ed25519.stdout
    assert "--key-type ecdsa-p256 (the default) works with all" in ed25519.stdout
    ecdsa = run_cli("certs", str(tmp_path / "ec"))
    assert "Ed25519" not in ecdsa.stdout
    usage = run_cli("certs", "--help")
    assert "our clients refuse ed25519" in " ".join(usage.stdout.split())


def test_get_against_an_ed25519_server_says_why_and_what_to_do(tmp_path, capsys):
    from tls_web_server.tls import pki

    ed25519 = pki.generate_pki(tmp_path / "certs", ["localhost"], key_type="ed25519")
    listens = "listen 127.0.0.1:0 ssl;\n        listen 127.0.0.1:0 toytls;"
    config = write_site(tmp_path, ed25519, listens=listens)
    cafile = str(ed25519.root_cert)
    with serve_in_thread(config) as running:
        tls13 = main(["get", running.url("ssl"), "--cafile", cafile])
        tls13_message = capsys.readouterr().err
        toytls = main(["get", running.url("toytls"), "--toytls", "--cafile", cafile])
        toytls_message = capsys.readouterr().err
    # TLS 1.3: our hello offers no ed25519, so the server can only refuse it.
    assert tls13 == 1
    assert "the server sent handshake_failure" in tls13_message
    assert "A server whose certificate holds an Ed25519 key ends here" in tls13_message
    assert "`tls-web-server certs DIR --key-type ecdsa-p256`" in tls13_message
    # toytls has nothing to negotiate: the chain arrives and is refused.
    assert toytls == 1
    assert "holds an Ed25519 key: Ed25519 certificates are refused here" in toytls_message
    assert "as browsers refuse them" in toytls_message
    assert "`tls-web-server certs DIR --key-type ecdsa-p256`" in toytls_message


def test_ticket_key_writes_an_80_byte_key_0600_and_never_overwrites(tmp_path):
    path = tmp_path / "ticket.key"
    result = run_cli("ticket-key", str(path))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    assert len(key) == 80
    assert key.hex() not in result.stdout + result.stderr  # key material is never printed
    again = run_cli("ticket-key", str(path))
    assert again.returncode == 1
    assert "cannot create" in again.stderr
    assert path.read_bytes() == key


def test_console_script_and_module_are_the_same_command():
    scripts = Path(sys.executable).parent
    result = subprocess.run(
        [str(scripts / "tls-web-server"), "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout == run_cli("--version").stdout
    assert result.stdout.startswith("tls-web-server ")


def test_serve_a_folder_with_a_local_ca_that_is_reused(tmp_path, monkeypatch):
    from tls_web_server import quick_serve

    folder = tmp_path / "public"
    folder.mkdir()
    (folder / "index.html").write_text("<p>public</p>\n")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ports = ["--http-port", "0", "--https-port", "0", "--toytls-port", "0"]
    roots = []
    for run in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "tls_web_server", "serve", str(folder), *ports],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            lines = []
            while len([line for line in lines if line.startswith("listening on")]) < 3:
                lines.append(process.stdout.readline().strip())
            root = tmp_path / "state" / "tls-web-server" / "ca" / "root_cert.pem"
            roots.append(root.read_bytes())
            assert ("(new: trust it once)" in "\n".join(lines)) == (run == 0)
            https = next(line for line in lines if line.endswith("(TLSv1.3)")).split()[2]
            url = https.replace("127.0.0.1", "localhost") + "/"
            assert main(["get", "--cafile", str(root), url]) == 0
            toy = next(line for line in lines if line.endswith("(toytls)")).split()[2]
            toy_url = toy.replace("127.0.0.1", "localhost") + "/"
            assert main(["get", "--toytls", "--cafile", str(root), toy_url]) == 0
        finally:
            process.terminate()
            process.wait(timeout=10)
            process.stdout.close()
    assert roots[0] == roots[1]  # the same CA the second time: trust it once
    ca = tmp_path / "state" / "tls-web-server" / "ca"
    for key in ca.glob("*_key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A server certificate close to expiry is renewed, under the same root.
    old_leaf = (ca / "server_cert.pem").read_bytes()
    far_future = time.time() + 390 * 24 * 3600
    _, created = quick_serve.ensure_local_ca(ca, now=far_future)
    assert not created
    assert (ca / "server_cert.pem").read_bytes() != old_leaf
    assert (ca / "root_cert.pem").read_bytes() == roots[0]
