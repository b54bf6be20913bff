"""`tls-web-server serve DIR`: serve a folder at once, over HTTP, TLS 1.3 and toytls.

No config file to write: a local certificate authority is made on first use
and kept in a per-user state folder, so the reader trusts its root once and
every later run (and every folder) reuses it.  The generated config is
written next to it, so the reader can see, copy and edit what is served.

    ~/.local/state/tls-web-server/       ($XDG_STATE_HOME/tls-web-server)
        ca/root_cert.pem  ca/root_key.pem  ca/intermediate_cert.pem  ...
        ca/server_cert.pem  ca/server_key.pem   (re-issued when it nears expiry)
        serve.conf
"""

from __future__ import annotations

import os
import platform
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from tls_web_server.tls import pki

RENEW_BEFORE_SECONDS = 30 * 24 * 3600
LEAF_NAMES = ("localhost", "127.0.0.1", "::1")


def state_folder() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tls-web-server"


@dataclass(frozen=True)
class LocalCA:
    folder: Path

    @property
    def root_cert(self) -> Path:
        return self.folder / "root_cert.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server_cert.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server_key.pem"

    @property
    def intermediate_cert(self) -> Path:
        return self.folder / "intermediate_cert.pem"


def ensure_local_ca(folder: Path, *, now: float | None = None) -> tuple[LocalCA, bool]:
    """The local CA in `folder`, made if missing; its server certificate renewed if old.

    Returns (the CA, whether a new root was created and so must be trusted).
    """
    ca = LocalCA(folder)
    moment = time.time() if now is None else now
    if not ca.root_cert.exists() or not (folder / "intermediate_key.pem").exists():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        pki.generate_pki(folder, LEAF_NAMES, now=moment)
        return ca, True
    if pki.certificate_expires_at(ca.server_cert) - moment < RENEW_BEFORE_SECONDS:
        pki.issue_server_certificate(
            ca.intermediate_cert,
            folder / "intermediate_key.pem",
            ca.server_cert,
            ca.server_key,
            names=LEAF_NAMES,
            now=moment,
        )
    return ca, False


def port_is_free(port: int) -> bool:
    """Whether the server could bind `port` now: probed as the real bind is made.

    socket.create_server sets SO_REUSEADDR, so a port whose last connections
    wait in TIME_WAIT (a server just stopped) is free for it; a probe without
    the option would call it taken and move the server to another port.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the system says is free now, to print before the server binds it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def quick_config_text(
    directory: Path, ca: LocalCA, *, http_port: int, tls13_port: int, toytls_port: int
) -> str:
    return f"""# Written by `tls-web-server serve {directory}`; copy it and run `serve -c`.
http {{
    access_log stdout;
    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{tls13_port} ssl;
        listen 127.0.0.1:{toytls_port} toytls;
        server_name localhost;
        http2 on;  # browsers get HTTP/2 on the TLS 1.3 port (ALPN h2), others HTTP/1.1
        ssl_certificate {ca.server_cert};
        ssl_certificate_key {ca.server_key};
        ssl_certificate_chain {ca.intermediate_cert};
        root "{directory}";
        tls_trace on;  # ours: /_tls/this explains your browser's own connection (loopback only)
    }}
}}
"""


def trust_instructions(root_cert: Path) -> list[str]:
    """The one command that makes this machine's browser trust the local root (curl: --cacert)."""
    return [f"to trust the local root in your browser: {browser_trust_command(root_cert)}"]


def browser_trust_command(root_cert: Path) -> str:
    """The command for this platform's browser trust store (the server log repeats it)."""
    system = platform.system()
    if system == "Darwin":
        return (
            "sudo security add-trusted-cert -d -r trustRoot "
            f"-k /Library/Keychains/System.keychain {root_cert}"
        )
    if system == "Windows":
        return f"certutil -user -addstore Root {root_cert}"
    return (
        "certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n tls-web-server-local-ca "
        f"-i {root_cert}   # Chromium/Chrome; needs libnss3-tools"
    )


def untrusted_root_hint(message: str, cafile: Path | None) -> str:
    """After unknown_ca: which roots we trusted, and the local CA if the chain ends at it.

    Two generated CAs never share a name (their key's tag ends it), so the
    subject the message quotes tells whether `serve DIR`'s CA is the one.
    """
    hint = ""
    if cafile is not None:
        try:
            trusted = pki.load_trusted_roots(cafile)
        except pki.PkiError:
            trusted = ()
        described = ", ".join(pki.describe_with_fingerprint(root) for root in trusted)
        hint += f"; {cafile} trusts {described or 'no certificate'}"
    local_root = LocalCA(state_folder() / "ca").root_cert
    if local_root.exists() and local_root != cafile:
        try:
            roots = pki.load_trusted_roots(local_root)
        except pki.PkiError:
            roots = ()
        for root in roots:
            if f"'{pki.subject_text(root)}'" in message:
                hint += (
                    f"; the chain ends at {pki.describe_with_fingerprint(root)}, the local CA"
                    f" that `serve` made: use --cafile {local_root}"
                )
    return hint
