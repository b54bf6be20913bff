"""Fuzz the TLS 1.3 server from its first byte: whole client flights, as TCP delivers them.

The input is what a client sends first (seeds: ClientHellos of curl, openssl
s_client, Chromium and our own client, a HelloRetryRequest pair, a ticket
offer with a real binder).  A server with the fixed ECDSA chain, clock,
randomness and ticket key is fed the input in one piece, and a second such
server is fed it in TCP chunks.  Checked:
- only TLSError escapes, never internal_error, always naming an alert that
  was queued for the client (support.check_tls_error), and afterwards the
  connection refuses every byte;
- no application data is ever released (there are no client keys in this
  input, so nothing can authenticate);
- both servers end in the same state with the same alert and the same
  negotiated parameters: splitting must not change what the server decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from tls_web_server.tls.api import Negotiated
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.server import TLS13ServerConnection

from ..support import (
    check_refuses_after_failure,
    check_tls_error,
    fail,
    new_tls13_server,
    tcp_chunks,
)


@dataclass(frozen=True)
class Outcome:
    state: str
    alert: AlertDescription | None
    received_alert: int | None
    negotiated: Negotiated | None


def test_one_input(data: bytes) -> None:
    whole = run(new_tls13_server(), [data])
    split = run(new_tls13_server(), tcp_chunks(data))
    if whole != split:
        raise fail(f"fed whole: {whole}\nfed in chunks: {split}")


def run(server: TLS13ServerConnection, chunks: list[bytes]) -> Outcome:
    try:
        for chunk in chunks:
            server.feed_wire_data(chunk)
            server.pop_pending_wire_data()
            if server.read_plaintext():
                raise fail("the server released application data no key protected")
    except TLSError as error:
        check_tls_error(error, server)
        check_refuses_after_failure(server)
        return Outcome("Failed", error.alert, error.received_alert, server.negotiated)
    if server.is_established:
        raise fail("the server finished a handshake without a client Finished it could verify")
    return Outcome(server.state_name, None, None, server.negotiated)
