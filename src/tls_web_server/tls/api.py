"""The contract every TLS object keeps, whichever protocol and role it plays.

A TLS object is a sans-IO state machine: it never touches a socket, a clock or
a random source of its own.  The event loop hands it whatever TCP delivered and
sends whatever it asks to send:

    tls.feed_wire_data(chunk)                 # any split: half a record, many records
    socket.send(tls.pop_pending_wire_data())  # handshake flights, alerts, tickets
    http_bytes = tls.read_plaintext()         # decrypted application bytes so far
    socket.send(tls.protect_application_data(response_bytes))

This is the whole TLS boundary of the server: server/transport.py has one code path
for "TLS below HTTP" and never asks which protocol is below it.  A peer that
breaks the protocol makes `feed_wire_data` raise `TLSError`; by then the alert
(if the protocol has alerts) waits in `pop_pending_wire_data()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ClientCertificateCheck:
    """What came of asking the client for a certificate (mutual TLS), for the access log.

    `verify` is nginx's $ssl_client_verify: "SUCCESS", "FAILED:reason" or
    "NONE" (no certificate sent).  The rest describe the client's leaf
    certificate, when it sent one: subject and issuer as RFC 4514 text and the
    SHA-1 of its DER encoding in lowercase hex (nginx's $ssl_client_fingerprint).
    """

    verify: str
    subject: str | None = None
    issuer: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Negotiated:
    """What the two peers agreed on, for logs, `get -v` and the trace."""

    protocol: str  # "toytls" or "TLSv1.3"
    cipher_suite: str  # e.g. "TLS_AES_128_GCM_SHA256", or "AES-256-GCM" for toytls
    group: str  # key exchange group, e.g. "x25519"
    alpn: str | None = None
    server_name: str | None = None
    signature_scheme: str | None = None
    resumed: bool = False
    hello_retry: bool = False
    client_certificate: ClientCertificateCheck | None = None  # None: none was requested

    def summary(self) -> str:
        """One line: `TLSv1.3 TLS_AES_128_GCM_SHA256 x25519 hrr=no resumed=no alpn=http/1.1`."""
        yes_no = {True: "yes", False: "no"}
        return (
            f"{self.protocol} {self.cipher_suite} {self.group} "
            f"hrr={yes_no[self.hello_retry]} resumed={yes_no[self.resumed]} "
            f"alpn={self.alpn or '-'}"
        )


# An observer receives one event per message, record and derived secret (see
# tls/trace.py).  It is how the illustrated handshake is drawn; when it is None
# the protocol code skips event construction entirely.
Observer = Callable[[Any], None]


@runtime_checkable
class TLSConnection(Protocol):
    """The four-method contract (plus close and a little state) of DESIGN.md."""

    def feed_wire_data(self, data: bytes) -> None:
        """Take any chunk of bytes the peer sent; raise TLSError if it broke the protocol."""

    def pop_pending_wire_data(self) -> bytes:
        """Bytes that must go to the peer now (may be empty)."""

    def read_plaintext(self) -> bytes:
        """Application bytes decrypted so far (may be empty); each byte is returned once."""

    def protect_application_data(self, data: bytes) -> bytes:
        """Encrypt application bytes into records ready for the socket."""

    def close(self) -> None:
        """Queue close_notify where the protocol has one; later sends are refused."""

    @property
    def is_established(self) -> bool:
        """True once application data may flow in both directions."""

    @property
    def peer_closed(self) -> bool:
        """True once the peer said it will send nothing more (close_notify)."""

    @property
    def negotiated(self) -> Negotiated | None:
        """What was agreed, once the handshake has got that far."""
