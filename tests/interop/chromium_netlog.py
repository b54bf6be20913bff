"""Headless Chromium's own record of its TLS connections: the NetLog (`--log-net-log=FILE`).

Chromium writes every network event of a run into one JSON file: a
`constants` table naming the numeric event types and phases, then the
`events`.  The end of each SSL_CONNECT event carries what was negotiated:
`key_exchange_group` (29 = x25519, 4588 = X25519MLKEM768), `cipher_suite`,
`version`, `is_resumed`.  That is an account of the handshake independent
of ours, read from the browser itself.  The SSL_HANDSHAKE_MESSAGE_SENT
events carry the bytes of each handshake message Chromium sent, its
ClientHello included.

What this module must never do: trust a NetLog to be complete (a browser
stopped early leaves the event list unterminated: it is closed here before
parsing), or start Chromium any other way than test_chromium.py does (same
flags, a throwaway HOME trusting our root through NSS).
"""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.interop.harness import InteropServer
from tests.interop.test_chromium import dump_dom


@dataclass(frozen=True)
class SslConnect:
    """The end of one SSL_CONNECT event: what Chromium negotiated on one connection."""

    key_exchange_group: int | None
    cipher_suite: int | None
    version: str | None
    is_resumed: bool | None


def run_chromium_with_netlog(
    server: InteropServer, home: Path, folder: Path, *extra_flags: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`chromium --dump-dom` on the server's page, writing a NetLog; returns (run, NetLog path)."""
    netlog = folder / "netlog.json"
    result = dump_dom(server, home, folder, *extra_flags, f"--log-net-log={netlog}")
    return result, netlog


def read_netlog(path: Path) -> dict[str, Any]:
    """The NetLog as JSON; an unterminated event list (Chromium stopped early) is closed first."""
    text = path.read_text(encoding="utf-8").rstrip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # Chromium writes `{"constants": ..., "events": [` then one event and a
        # comma per line, and `]}` only at a clean exit.
        return json.loads(text.rstrip(",") + "]}")


def _event_names(netlog: dict[str, Any]) -> tuple[dict[int, str], dict[int, str]]:
    constants = netlog["constants"]
    types = {number: name for name, number in constants["logEventTypes"].items()}
    phases = {number: name for name, number in constants["logEventPhase"].items()}
    return types, phases


def ssl_connects(netlog: dict[str, Any]) -> list[SslConnect]:
    """Every finished SSL_CONNECT of the run, in order (each carries its negotiated values)."""
    types, phases = _event_names(netlog)
    connects: list[SslConnect] = []
    for event in netlog["events"]:
        if types.get(event["type"]) != "SSL_CONNECT" or phases.get(event.get("phase")) != (
            "PHASE_END"
        ):
            continue
        params = event.get("params", {})
        if "key_exchange_group" not in params and "version" not in params:
            continue  # a failed connect ends with net_error only
        connects.append(
            SslConnect(
                key_exchange_group=params.get("key_exchange_group"),
                cipher_suite=params.get("cipher_suite"),
                version=params.get("version"),
                is_resumed=params.get("is_resumed"),
            )
        )
    return connects


def handshake_messages(netlog: dict[str, Any], direction: str, message_type: int) -> list[bytes]:
    """Handshake messages of one type Chromium sent or received, each with its 4-byte header.

    `direction` is "SENT" or "RECEIVED" (events SSL_HANDSHAKE_MESSAGE_SENT and
    _RECEIVED); `message_type` the handshake type: 1 ClientHello, 11
    Certificate, 25 CompressedCertificate (RFC 8879).
    """
    types, _phases = _event_names(netlog)
    wanted = f"SSL_HANDSHAKE_MESSAGE_{direction}"
    messages: list[bytes] = []
    for event in netlog["events"]:
        if types.get(event["type"]) != wanted:
            continue
        params = event.get("params", {})
        if params.get("type") == message_type and "bytes" in params:
            messages.append(base64.b64decode(params["bytes"]))
    return messages


def sent_client_hellos(netlog: dict[str, Any]) -> list[bytes]:
    """The ClientHello messages Chromium sent (handshake type 1, with their 4-byte header)."""
    return handshake_messages(netlog, "SENT", 1)
