"""Stateless session tickets: the server seals what it needs to resume, and forgets it.

RFC 8446 section 4.6.1 lets the ticket be any opaque label.  Ours carries
the resumption PSK and what must match on resumption, encrypted and
authenticated with a server-wide key, so the server keeps no session cache
and any worker holding the same key can resume any ticket:

    ticket = key_name (16) || nonce (12) || AES-256-GCM(key, nonce, contents, aad = key_name)
    contents = version (1) || cipher_suite (2) || issued_at_ms (8) || lifetime (4)
               || age_add (4) || psk_length (1) || psk

What this module must never do: log or expose ticket contents (the PSK is
as secret as a session key), or accept a ticket it cannot authenticate.
Time and randomness come from the caller.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass

from ..crypto import Aead

TICKET_FORMAT_VERSION = 1
KEY_NAME_LENGTH = 16
KEY_LENGTH = 32
NONCE_LENGTH = 12
_FIXED = struct.Struct("!BHQIIB")  # version, suite, issued_at_ms, lifetime, age_add, psk length

# RFC 8446 section 4.6.1: ticket lifetimes are at most seven days.
MAX_TICKET_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True)
class TicketContents:
    cipher_suite: int
    issued_at_ms: int
    lifetime: int  # seconds
    age_add: int
    psk: bytes

    def __repr__(self) -> str:
        suite, lifetime = self.cipher_suite, self.lifetime
        return f"TicketContents(suite={suite:#06x}, lifetime={lifetime}, psk=<hidden>)"

    def is_valid_at(self, now_ms: int) -> bool:
        age_ms = now_ms - self.issued_at_ms
        return 0 <= age_ms <= self.lifetime * 1000


class TicketKey:
    """The server's ticket-sealing key.  Share one across workers so any can resume."""

    __slots__ = ("_aead", "name")

    def __init__(self, key: bytes, name: bytes) -> None:
        if len(key) != KEY_LENGTH or len(name) != KEY_NAME_LENGTH:
            raise ValueError("a ticket key is 32 bytes and its name 16 bytes")
        self._aead = Aead("AES-256-GCM", key)
        self.name = name

    def __repr__(self) -> str:
        return f"TicketKey(name={self.name.hex()}, <key hidden>)"

    @classmethod
    def generate(cls, random_bytes: Callable[[int], bytes]) -> TicketKey:
        return cls(random_bytes(KEY_LENGTH), random_bytes(KEY_NAME_LENGTH))

    def seal(self, contents: TicketContents, random_bytes: Callable[[int], bytes]) -> bytes:
        plaintext = (
            _FIXED.pack(
                TICKET_FORMAT_VERSION,
                contents.cipher_suite,
                contents.issued_at_ms,
                contents.lifetime,
                contents.age_add,
                len(contents.psk),
            )
            + contents.psk
        )
        nonce = random_bytes(NONCE_LENGTH)
        return self.name + nonce + self._aead.seal(nonce, plaintext, self.name)

    def open(self, ticket: bytes) -> TicketContents | None:
        """The contents of a ticket we sealed, or None for anything else (never an exception)."""
        header = KEY_NAME_LENGTH + NONCE_LENGTH
        if len(ticket) < header + _FIXED.size + 16:
            return None
        name = ticket[:KEY_NAME_LENGTH]
        if not hmac.compare_digest(name, self.name):
            return None  # another key's ticket (an old key, another server)
        nonce = ticket[KEY_NAME_LENGTH:header]
        plaintext = self._aead.open(nonce, ticket[header:], name)
        if plaintext is None or len(plaintext) < _FIXED.size:
            return None
        version, suite, issued_at_ms, lifetime, age_add, psk_length = _FIXED.unpack_from(plaintext)
        psk = plaintext[_FIXED.size :]
        if version != TICKET_FORMAT_VERSION or len(psk) != psk_length:
            return None
        return TicketContents(suite, issued_at_ms, lifetime, age_add, psk)
