"""SSLKEYLOGFILE: the NSS key log format, so Wireshark can decrypt a capture of our own traffic.

Each line is `LABEL <client random, hex> <secret, hex>`; Wireshark matches the
client random against the ClientHello it captured.  This is the only place
our secrets are ever written anywhere, and only when the user opts in by
setting SSLKEYLOGFILE (server/server.py reads the variable; this module never looks at
the environment).  The file is created with mode 0600.
"""

from __future__ import annotations

import os
import threading

# Our names for TLS 1.3 secrets -> the labels of the NSS key log format.
KEYLOG_LABELS = {
    "client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
    "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
    "exporter_master_secret": "EXPORTER_SECRET",
}


def keylog_line(secret_name: str, client_random: bytes, secret: bytes) -> str | None:
    """The key log line for a secret, or None for secrets the format has no label for."""
    label = KEYLOG_LABELS.get(secret_name)
    if label is None:
        return None
    return f"{label} {client_random.hex()} {secret.hex()}"


class KeyLogFile:
    """Appends key log lines to a file (mode 0600), one write per line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(descriptor, "a", encoding="ascii", buffering=1)
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        self._file.close()
