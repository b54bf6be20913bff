"""Headless Chromium renders a page served by our TLS 1.3, trusting our root only through NSS.

Chromium on Linux takes locally added roots from the user's NSS database,
$HOME/.pki/nssdb.  Each test gets a throwaway HOME, so the trust it grants
(or withholds) is exactly what the test set up, and a second test proves
the path is real: without that database, the same server is refused.

Only the ECDSA and RSA chains are rendered: Chromium does not offer Ed25519
signatures (its handshake ends with ERR_SSL_VERSION_OR_CIPHER_MISMATCH), and
Debian 12's certutil cannot even import an Ed25519 root.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.interop.harness import InteropServer, ServerPool, assert_server_healthy, require_tool

CHROMIUM_TIMEOUT_SECONDS = 60.0

# Flags from the issue: no sandbox (CI runs as root), no GPU, no QUIC (we
# speak TCP only), and nothing that would phone home while the test runs.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every name but localhost fails to resolve: the browser reaches nothing else.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
)

CHROMIUM_USER_AGENT = "HeadlessChrome/"


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    require_tool("chromium")


def fresh_home(folder: Path) -> Path:
    home = folder / "home"
    home.mkdir()
    return home


def trust_root_in_nssdb(home: Path, root_cert: Path) -> None:
    """Create $HOME/.pki/nssdb with `root_cert` trusted to issue server certificates."""
    certutil = require_tool("certutil")
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    for command in (
        [certutil, "-N", "-d", f"sql:{database}", "--empty-password"],
        # "C,,": a trusted CA for TLS servers, nothing for e-mail or code signing.
        [
            certutil,
            "-A",
            "-d",
            f"sql:{database}",
            "-t",
            "C,,",
            "-n",
            "test-root",
            "-i",
            str(root_cert),
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=CHROMIUM_TIMEOUT_SECONDS)


def dump_dom(
    server: InteropServer, home: Path, folder: Path, *extra_flags: str
) -> subprocess.CompletedProcess[str]:
    """chromium --dump-dom https://localhost:PORT/ with HOME (so the NSS database) at `home`."""
    environment = {
        **os.environ,
        "HOME": str(home),
        # Keep caches and config in the throwaway home as well.
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    return subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            *extra_flags,
            f"--user-data-dir={folder / 'profile'}",
            "--dump-dom",
            server.https_url("localhost"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_SECONDS,
        check=False,
    )


def chromium_requests(server: InteropServer) -> list[str]:
    return [line for line in server.ssl_access_lines() if CHROMIUM_USER_AGENT in line]


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048"])
def test_chromium_renders_the_page_when_the_root_is_trusted(
    servers: ServerPool, tmp_path: Path, key_type: str
):
    server = servers.get(key_type)
    home = fresh_home(tmp_path)
    trust_root_in_nssdb(home, server.root_cert)

    result = dump_dom(server, home, tmp_path)

    assert result.returncode == 0, result.stderr
    assert f'<p id="marker">{server.marker}</p>' in result.stdout, result.stderr
    # The request came through the ssl listener (its server block's own log).
    line = server.wait_for_ssl_access(
        lambda line: CHROMIUM_USER_AGENT in line and '"GET / HTTP/1.1" 200 ' in line
    )
    assert line.startswith("127.0.0.1 - - [")
    assert_server_healthy(server)


def test_chromium_refuses_the_page_when_the_root_is_not_trusted(
    servers: ServerPool, tmp_path: Path
):
    server = servers.get("ecdsa-p256")
    requests_before = len(chromium_requests(server))
    home = fresh_home(tmp_path)  # no .pki/nssdb: our root is unknown

    result = dump_dom(server, home, tmp_path)

    assert server.marker not in result.stdout
    # Refused for the right reason: the chain's root is not trusted (a dead
    # server, say, would give ERR_CONNECTION_REFUSED and prove nothing).
    assert "ERR_CERT_AUTHORITY_INVALID" in result.stdout + result.stderr, result.stderr
    assert_server_healthy(server)
    # Nothing of Chromium's reached HTTP; a line would have been flushed by now.
    assert len(chromium_requests(server)) == requests_before
