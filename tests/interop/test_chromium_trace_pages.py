"""Headless Chromium reads its own connection: /_tls/this over our TLS 1.3, with `tls_trace on;`.

The proof of the served trace pages with a real browser: Chromium (trusting
our root only through NSS, as tests/interop/test_chromium.py does) opens
https://localhost:PORT/_tls/this, and the DOM it dumps names what Chromium
itself sent: its key share group, GREASE values, encrypted_client_hello, and
the HKDF labels of the key schedule.  Then /_tls/ lists that connection with
Chromium's User-Agent, and the plain listener of the same server has no /_tls/.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tests.interop.harness import require_tool
from tests.interop.test_chromium import (
    CHROMIUM_FLAGS,
    CHROMIUM_TIMEOUT_SECONDS,
    CHROMIUM_USER_AGENT,
    fresh_home,
    trust_root_in_nssdb,
)
from tls_web_server.client.fetch import fetch
from tls_web_server.tls import pki


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    require_tool("chromium")


def chromium_dom(url: str, home: Path, folder: Path) -> str:
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    result = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}", "--dump-dom", url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_chromium_reads_its_own_handshake_on_the_served_page(tmp_path: Path):
    chain = pki.generate_pki(tmp_path / "pki", ["localhost"])
    config = write_site(
        tmp_path / "site",
        chain,
        listens="listen 127.0.0.1:0;\n        listen 127.0.0.1:0 ssl;",
        extra_server="tls_trace on;",
    )
    home = fresh_home(tmp_path)
    trust_root_in_nssdb(home, chain.root_cert)
    with serve_in_thread(config) as running:
        port = running.port("ssl")
        this_page = chromium_dom(f"https://localhost:{port}/_tls/this", home, tmp_path / "one")
        listing = chromium_dom(f"https://localhost:{port}/_tls/", home, tmp_path / "two")
        plain = fetch(running.url("plain", "/_tls/this"))

    # The browser's own ClientHello, annotated: the group of its key share, GREASE, ECH.
    assert "ClientHello" in this_page
    shares = re.findall(r'group</span> <span class="value">([^<]+)</span>', this_page)
    assert {"x25519", "X25519MLKEM768"} & set(shares), shares
    assert "GREASE" in this_page
    assert "encrypted_client_hello" in this_page
    # The key schedule of that very connection, with its HKDF labels.
    assert "tls13 c hs traffic" in this_page and "tls13 s ap traffic" in this_page
    assert "✘" not in this_page
    # The listing knows it was Chromium, over TLS 1.3.
    assert CHROMIUM_USER_AGENT in listing and "TLSv1.3" in listing
    assert plain.response.status == 404
