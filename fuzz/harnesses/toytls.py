"""Fuzz the learning protocol, toytls: its server fed client bytes, its client fed server bytes.

The input's first byte picks the role: even, the rest goes to a toytls
server (fixed Ed25519 chain and randomness); odd, to a toytls client (fixed
randomness, so always the same ClientHello, trusting the fixed Ed25519
root, at the fixed time).  Seeds are real conversations between the two
with that fixed randomness, so the encrypted application records in them
open, and mutations reach the record opener's sequence and length checks.

Checked: only TLSError escapes (toytls has no alerts, so it carries none);
after one, the connection refuses every later byte; no plaintext before the
handshake is complete, and the client is never established by a flight
whose handshake did not verify.
"""

from __future__ import annotations

from typing import Any

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection

from ..support import (
    CLIENT_RANDOM_SEED,
    FIXED_NOW,
    SERVER_NAME,
    SERVER_RANDOM_SEED,
    check_refuses_after_failure,
    fail,
    fuzz_pki,
    seeded_random,
    tcp_chunks,
)

SERVER_ROLE = 0
CLIENT_ROLE = 1


def new_server() -> ToyTLSServerConnection:
    return ToyTLSServerConnection(
        fuzz_pki("ed25519").credentials, random_bytes=seeded_random(SERVER_RANDOM_SEED)
    )


def new_client() -> ToyTLSClientConnection:
    return ToyTLSClientConnection(
        SERVER_NAME,
        (fuzz_pki("ed25519").root,),
        random_bytes=seeded_random(CLIENT_RANDOM_SEED),
        now=FIXED_NOW,
    )


def test_one_input(data: bytes) -> None:
    if not data:
        return
    connection: Any = new_server() if data[0] % 2 == SERVER_ROLE else new_client()
    if isinstance(connection, ToyTLSClientConnection):
        connection.pop_pending_wire_data()
    try:
        for chunk in tcp_chunks(data[1:]):
            connection.feed_wire_data(chunk)
            connection.pop_pending_wire_data()
            if connection.read_plaintext() and not connection.is_established:
                raise fail("toytls released plaintext before the handshake was complete")
    except TLSError as error:
        if error.alert is not None or error.received_alert is not None or not error.reason:
            raise fail(f"a toytls TLSError with an alert or no reason: {error!r}") from None
        if connection.is_established or connection.state_name != "Failed":
            raise fail(
                f"after {error} the connection is in state {connection.state_name}"
            ) from None
        check_refuses_after_failure(connection)
