"""DESIGN.md's import rules, checked on the package's source so a breach fails the build.

1. Downward only: tcp/ (sockets only) imports nothing of ours outside itself;
   tls and http never import tcp, server or client, nor each other.  The
   wiring (server/) is the one place where TLS and HTTP meet; the client
   package may import both too; nothing in tcp, tls, http or config imports
   server or client, and server and client do not import each other.
2. config imports nothing of ours; tls and http never read the config model.
3. `cryptography` is imported only by tls/crypto.py and tls/pki*.py; the TLS 1.3
   codec modules (and tls/names.py) import nothing but the standard library,
   tls/errors.py and each other.
4. tls/toy and tls/tls13 never import each other.
5. Below tcp/, randomness, clocks and sockets are the caller's: no module in
   tls/, http/ or http2/ reaches for os.urandom, time.time, random, secrets, socket.
6. http2/ (HTTP/2, sans-IO) sits beside TLS and above http/: it may use http/'s
   Request and Response, never tcp, tls, config or cli; http/ never imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "tls_web_server"
CODEC_MODULES = {
    "tls.names",  # describe(enum, value): pure, used by the codecs' error reasons
    "tls.tls13.wire",
    "tls.tls13.enums",
    "tls.tls13.extension_block",
    "tls.tls13.client_hello_extensions",
    "tls.tls13.extensions",
    "tls.tls13.handshake_framing",
    "tls.tls13.hellos",
    "tls.tls13.messages",
}
STDLIB_ALLOWED_IN_CODECS = {
    "__future__",
    "dataclasses",
    "enum",
    "struct",
    "typing",
    "collections",
    "contextlib",
    "functools",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute dotted names this file imports; our own package shown without its prefix."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
                names.add("tls_web_server." + target if target else "tls_web_server")
            else:
                names.add(node.module or "")
    return {
        name.removeprefix("tls_web_server.") if name.startswith("tls_web_server.") else name
        for name in names
    }


MODULES = {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def layer(name: str) -> str:
    return name.split(".")[0]


OUR_LAYERS = {
    "tcp",
    "tls",
    "http",
    "http2",
    "config",
    "server",
    "client",
    "cli",
    "demo",
    "quick_serve",
}
BELOW_THE_WIRING = {"tcp", "tls", "http", "http2", "config"}
WHERE_TLS_MEETS_HTTP = {"server", "client"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_keeps_the_import_rules(name: str) -> None:
    imports = imported_modules(MODULES[name])
    ours = {imp for imp in imports if layer(imp) in OUR_LAYERS}
    here = layer(name)
    breaches: list[str] = []
    if here == "tcp":
        breaches += [f"imports {imp}" for imp in ours if layer(imp) != "tcp"]
    if here in {"tls", "http"}:
        breaches += [f"imports {imp}" for imp in ours if layer(imp) not in {"tls", "http"}]
        other = "http" if here == "tls" else "tls"
        breaches += [f"imports {imp}" for imp in ours if layer(imp) == other]
    if here == "http2":
        breaches += [f"imports {imp}" for imp in ours if layer(imp) not in {"http2", "http"}]
    if here in BELOW_THE_WIRING:
        breaches += [f"imports {imp}" for imp in ours if layer(imp) in WHERE_TLS_MEETS_HTTP]
    if here in WHERE_TLS_MEETS_HTTP:
        other = "client" if here == "server" else "server"
        breaches += [f"imports {imp}" for imp in ours if layer(imp) == other]
    layers_used = {layer(imp) for imp in ours}
    if {"tls", "http"} <= layers_used and here not in WHERE_TLS_MEETS_HTTP:
        breaches.append("imports both tls and http (only server/ and client/ may)")
    if here == "config":
        breaches += [f"imports {imp}" for imp in ours if layer(imp) != "config"]
    uses_cryptography = any(imp.split(".")[0] == "cryptography" for imp in imports)
    if uses_cryptography and not (name == "tls.crypto" or name.startswith("tls.pki")):
        breaches.append("imports cryptography (only tls/crypto.py and tls/pki*.py may)")
    if name.startswith("tls.toy"):
        breaches += [f"imports {imp}" for imp in ours if imp.startswith("tls.tls13")]
    if name.startswith("tls.tls13"):
        breaches += [f"imports {imp}" for imp in ours if imp.startswith("tls.toy")]
    if name in CODEC_MODULES:
        for imp in imports:
            if imp in {"tls.errors", *CODEC_MODULES}:
                continue
            if imp.split(".")[0] in STDLIB_ALLOWED_IN_CODECS:
                continue
            breaches.append(f"codec module imports {imp}")
    if here in {"tls", "http", "http2"}:
        for forbidden in ("socket", "selectors", "random", "secrets"):
            if forbidden in imports:
                breaches.append(f"imports {forbidden}")
        source = MODULES[name].read_text()
        if name != "tls.pki":
            for call in ("os.urandom", "time.time(", "time.monotonic("):
                if call in source:
                    breaches.append(f"uses {call} (randomness and time are parameters)")
    assert not breaches, f"{name}: " + "; ".join(breaches)


def test_the_rules_are_checked_on_real_modules() -> None:
    # Guard against the walk silently finding nothing (a moved package).
    assert {"tls.crypto", "tls.api", "tls.errors", "http2.connection"} <= set(MODULES)
    assert {"tcp.loop", "tcp.connection", "server.accept", "client.fetch"} <= set(MODULES)
    assert "tcp.deadlines" in imported_modules(MODULES["tcp.connection"])
    assert "http.messages" in imported_modules(MODULES["http2.exchange"])
    assert "cryptography.hazmat.primitives.asymmetric" in imported_modules(MODULES["tls.crypto"])


def test_tcp_and_the_loop_have_no_import_cycle() -> None:
    # The connection asks the loop for what ConnectionHost names, so it needs
    # nothing from loop.py, not even for type checking.
    assert "tcp.loop" not in imported_modules(MODULES["tcp.connection"])
    assert "tcp.connection" in imported_modules(MODULES["tcp.loop"])
