"""Fuzz the TLS 1.3 server after a valid ClientHello: the client's second flight and traffic.

Every input starts from the same place: a server with the fixed Ed25519
chain, clock and randomness has answered our fixed client's ClientHello, so
its handshake keys are always the same.  The input is what the client sends
next, in the sealing framing of support.py: records written `17 03 03 len
inner-plaintext` are sealed by the harness under the key the server reads
with at that moment, so mutations reach the Finished check, the traffic
state, KeyUpdate and alerts instead of stopping at bad_record_mac.  Seeds
are real client flights (Finished, requests, KeyUpdate, close_notify)
recorded from our client.

The server runs with an observer (that is how the harness learns its keys),
so the trace events of every message are fuzzed here too; tls13_server runs
without one.  Checked: only TLSError escapes, never internal_error, with the
alert queued; plaintext only once established, and only after a client
Finished.
"""

from __future__ import annotations

import functools
from typing import Any

from tls_web_server.tls.errors import TLSError

from ..support import (
    SERVER_READ_SECRETS,
    PeerReadKeys,
    check_refuses_after_failure,
    check_tls_error,
    feed_framed,
    new_tls13_client,
    new_tls13_server,
)


@functools.cache
def client_hello() -> bytes:
    """The first flight of the fixed client: always the same bytes."""
    return new_tls13_client().pop_pending_wire_data()


def new_answered_server() -> tuple[Any, PeerReadKeys]:
    """A fixed Ed25519 server that has answered client_hello(), and the keys it reads with."""
    server: Any = None
    keys = PeerReadKeys(SERVER_READ_SECRETS, lambda: server.parameters)
    server = new_tls13_server("ed25519", observer=keys)
    server.feed_wire_data(client_hello())
    server.pop_pending_wire_data()
    return server, keys


def test_one_input(data: bytes) -> None:
    server, keys = new_answered_server()
    try:
        feed_framed(server, keys, data)
    except TLSError as error:
        check_tls_error(error, server)
        check_refuses_after_failure(server)
