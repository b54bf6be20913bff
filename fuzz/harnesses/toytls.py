"""Fuzz the learning protocol, toytls: its server fed client bytes, its client fed server bytes.

The input's first byte, modulo 4, picks the role and the fixed chain:

    0  a server with the Ed25519 chain       1  a client trusting the ECDSA P-256 root
    2  a server with the RSA-2048 chain      3  a client trusting the RSA-2048 root

(our toytls client refuses Ed25519 chains, as browsers do, so no client role
trusts the Ed25519 root; the server still serves that chain)

the rest is what that side receives.  Servers and clients have fixed
randomness (so a client always sends the same ClientHello) and the fixed
time.  The RSA roles reach the walkthrough's signature: the server signs with
the longest PSS salt, the client verifies PSS of any salt length.  Seeds are
real conversations between the two with that fixed randomness, so the
encrypted application records in them open, and mutations reach the record
opener's sequence and length checks.

Checked: only TLSError escapes (toytls has no alerts, so it carries none);
after one, the connection refuses every later byte; no plaintext before the
handshake is complete, and the client is never established by a flight
whose handshake did not verify.
"""

from __future__ import annotations

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
RSA_SERVER_ROLE = 2
RSA_CLIENT_ROLE = 3
ROLE_COUNT = 4
# The chain of each role, by role number.
ROLE_KEY_TYPES = ("ed25519", "ecdsa-p256", "rsa-2048", "rsa-2048")


def new_server(key_type: str = "ed25519") -> ToyTLSServerConnection:
    return ToyTLSServerConnection(
        fuzz_pki(key_type).credentials, random_bytes=seeded_random(SERVER_RANDOM_SEED)
    )


def new_client(key_type: str = "ecdsa-p256") -> ToyTLSClientConnection:
    return ToyTLSClientConnection(
        SERVER_NAME,
        (fuzz_pki(key_type).root,),
        random_bytes=seeded_random(CLIENT_RANDOM_SEED),
        now=FIXED_NOW,
    )


def new_connection(role_byte: int) -> ToyTLSServerConnection | ToyTLSClientConnection:
    """The side an input's first byte selects; a client's ClientHello is already taken."""
    role = role_byte % ROLE_COUNT
    key_type = ROLE_KEY_TYPES[role]
    if role in (SERVER_ROLE, RSA_SERVER_ROLE):
        return new_server(key_type)
    client = new_client(key_type)
    client.pop_pending_wire_data()
    return client


def test_one_input(data: bytes) -> None:
    if not data:
        return
    connection = new_connection(data[0])
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
