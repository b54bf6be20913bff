"""What a TLS 1.3 client is configured with, and the tickets it keeps between connections.

What this module owns:
- `ClientSettings`: the roots the client trusts, the suites, groups and key
  shares it offers (negotiation.py's defaults: every group, shares for
  X25519MLKEM768 and x25519), the certificate compression algorithms it
  accepts, its ALPN protocols, where it keeps tickets, and the certificate
  it answers a CertificateRequest with.
- The signature schemes the client accepts in CertificateVerify
  (`VERIFIABLE_SCHEMES`, no ed25519) and the wider list it accepts in
  certificates (`CERTIFICATE_SCHEMES`): together, its signature_algorithms.
- `Ticket` and `TicketStore`: what resuming with a NewSessionTicket needs,
  kept per server and used once (RFC 8446 section 4.6.1, appendix C.4).

What it must never do: hold anything of one connection, or show a PSK in a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import pki
from .certificate_compression import SUPPORTED_ALGORITHMS
from .enums import CertificateCompressionAlgorithm, CipherSuite, NamedGroup, SignatureScheme
from .negotiation import DEFAULT_CIPHER_SUITES, DEFAULT_GROUPS, DEFAULT_KEY_SHARE_GROUPS

# What our client accepts in the server's CertificateVerify, strongest-first
# within each family.  No ed25519, as in Chromium: our clients refuse Ed25519
# certificates (pki_verification.py), and a scheme a client offers must be one
# it can accept at the end.  A server that can only sign with ed25519 then
# ends the handshake at our hello (handshake_failure) instead of sending a
# chain we would refuse.
VERIFIABLE_SCHEMES = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
)
# Certificates may still be signed with PKCS#1 v1.5 (section 4.2.3), which
# pki.py checks; CertificateVerify must never use it.
CERTIFICATE_SCHEMES = (
    *VERIFIABLE_SCHEMES,
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)


@dataclass(frozen=True)
class Ticket:
    """What resuming with one NewSessionTicket needs (RFC 8446 section 4.6.1)."""

    scope: str  # which server it is for: "name:port"
    cipher_suite: CipherSuite
    psk: bytes
    ticket: bytes
    age_add: int
    lifetime: int
    received_at: float

    def __repr__(self) -> str:
        return f"Ticket({self.scope}, {self.cipher_suite.name}, <psk hidden>)"

    def is_valid_at(self, now: float) -> bool:
        return 0 <= now - self.received_at <= self.lifetime


class TicketStore:
    """Tickets by server; each ticket is used once (RFC 8446 appendix C.4)."""

    def __init__(self) -> None:
        self._tickets: dict[str, list[Ticket]] = {}

    def add(self, ticket: Ticket) -> None:
        self._tickets.setdefault(ticket.scope, []).append(ticket)

    def take(self, scope: str, now: float) -> Ticket | None:
        tickets = self._tickets.get(scope, [])
        while tickets:
            ticket = tickets.pop(0)
            if ticket.is_valid_at(now):
                return ticket
        return None

    def __len__(self) -> int:
        return sum(len(tickets) for tickets in self._tickets.values())


def key_share_groups_for(groups: tuple[NamedGroup, ...]) -> tuple[NamedGroup, ...]:
    """The key shares to send when offering `groups` (in that order): `get --groups`.

    Our default shares (X25519MLKEM768, x25519) among them, else the first
    group: a server that takes one answers at once, any other group costs
    one HelloRetryRequest (RFC 8446 section 4.1.1).
    """
    chosen = tuple(group for group in DEFAULT_KEY_SHARE_GROUPS if group in groups)
    return chosen or groups[:1]


@dataclass(frozen=True)
class ClientSettings:
    """Everything a TLS 1.3 client needs that outlives one connection."""

    trusted_roots: tuple[pki.Certificate, ...]
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_CIPHER_SUITES
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS
    key_share_groups: tuple[NamedGroup, ...] = DEFAULT_KEY_SHARE_GROUPS
    # RFC 8879: offered in compress_certificate, in our preference order (brotli
    # first, it makes certificates smaller); () offers nothing.
    certificate_compression: tuple[CertificateCompressionAlgorithm, ...] = SUPPORTED_ALGORITHMS
    application_protocols: tuple[bytes, ...] = (b"http/1.1",)
    tickets: TicketStore | None = field(default=None, compare=False)
    # Mutual TLS: the chain and key that answer a CertificateRequest (`get --cert --key`);
    # without them a CertificateRequest gets an empty Certificate (RFC 8446 section 4.4.2).
    client_credentials: pki.ServerCredentials | None = field(default=None, repr=False)
