"""Stateless session tickets: the server seals what it needs to resume, and forgets it.

RFC 8446 section 4.6.1 lets the ticket be any opaque label.  Ours carries
the resumption PSK and what must match on resumption, encrypted and
authenticated with a server-wide key, so the server keeps no session cache
and any worker holding the same key can resume any ticket:

    ticket = key_name (16) || nonce (12) || AES-256-GCM(key, nonce, contents, aad = key_name)
    contents = version (1) || cipher_suite (2) || issued_at_ms (8) || lifetime (4)
               || age_add (4) || psk_length (1) || psk

Which key seals, which keys open (a `TicketSealer`):

- `TicketKey`: one key, the building block (tests use one alone).
- `RotatingTicketKeys`: a new key every period, derived with HKDF from one
  secret made at start (HKDF-Expand over the period's number), so every
  worker computes the same key for the same period without talking to the
  others, and a reload keeps the master's secret and with it the keys.  The
  previous period's key still opens tickets: a ticket stays usable for at
  least one whole period.
- `TicketKeyRing`: keys the operator manages (nginx's
  `ssl_session_ticket_key FILE`, 80 bytes each): the first seals, all open.

What this module must never do: log or expose ticket contents or key
material (the PSK is as secret as a session key), or accept a ticket it
cannot authenticate.  Time and randomness come from the caller.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..crypto import Aead, hkdf_expand, hkdf_extract

TICKET_FORMAT_VERSION = 1
KEY_NAME_LENGTH = 16
KEY_LENGTH = 32
NONCE_LENGTH = 12
_FIXED = struct.Struct("!BHQIIB")  # version, suite, issued_at_ms, lifetime, age_add, psk length

# nginx's ssl_session_ticket_key file: name (16) || HMAC secret (32) || AES key (32).
# Our tickets are AES-256-GCM, so the name and the AES key are what we use.
NGINX_KEY_FILE_LENGTH = 80
SECRET_LENGTH = 32
_ROTATION_INFO = b"tls-web-server session ticket key"


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

    @classmethod
    def from_nginx_key_file(cls, data: bytes) -> TicketKey:
        """The key in an 80-byte nginx ticket key file (`openssl rand 80 > FILE`)."""
        if len(data) != NGINX_KEY_FILE_LENGTH:
            raise ValueError(
                f"a session ticket key file holds {NGINX_KEY_FILE_LENGTH} bytes, not {len(data)}"
            )
        return cls(data[48:80], data[:KEY_NAME_LENGTH])

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


class TicketSealer(Protocol):
    """What the TLS 1.3 server asks of its ticket keys (ServerSettings.ticket_key)."""

    def seal(self, contents: TicketContents, random_bytes: Callable[[int], bytes]) -> bytes: ...

    def open(self, ticket: bytes) -> TicketContents | None: ...


class TicketKeyRing:
    """Keys an operator manages: the first seals new tickets, every one opens them."""

    __slots__ = ("keys",)

    def __init__(self, keys: Sequence[TicketKey]) -> None:
        if not keys:
            raise ValueError("a ticket key ring needs at least one key")
        self.keys = tuple(keys)

    def __repr__(self) -> str:
        return f"TicketKeyRing({len(self.keys)} keys, <keys hidden>)"

    def seal(self, contents: TicketContents, random_bytes: Callable[[int], bytes]) -> bytes:
        return self.keys[0].seal(contents, random_bytes)

    def open(self, ticket: bytes) -> TicketContents | None:
        for key in self.keys:
            contents = key.open(ticket)  # None at once for another key's name
            if contents is not None:
                return contents
        return None


class RotatingTicketKeys:
    """A new key every `period` seconds, derived from `secret`; the previous one still opens.

    The key of period n (n = floor(clock() / period)) is HKDF-Expand(PRK, info
    || period || n, 48): its name and AES-256-GCM key.  Anyone holding the
    same secret and period derives the same keys: workers agree without
    talking, and a reload that keeps the secret keeps every ticket valid.
    """

    __slots__ = ("_clock", "_keys", "_pseudo_random_key", "period")

    def __init__(self, secret: bytes, period: float, clock: Callable[[], float]) -> None:
        if len(secret) < SECRET_LENGTH or period <= 0:
            raise ValueError("a rotation needs a 32-byte secret and a positive period")
        self._pseudo_random_key = hkdf_extract("sha256", b"", secret)
        self.period = period
        self._clock = clock
        self._keys: dict[int, TicketKey] = {}  # the last few periods' keys, derived once

    def __repr__(self) -> str:
        return f"RotatingTicketKeys(period={self.period}s, <secret hidden>)"

    def key_for_period(self, number: int) -> TicketKey:
        key = self._keys.get(number)
        if key is None:
            info = _ROTATION_INFO + struct.pack("!dQ", self.period, max(number, 0))
            material = hkdf_expand("sha256", self._pseudo_random_key, info, 48)
            key = TicketKey(material[KEY_NAME_LENGTH:], material[:KEY_NAME_LENGTH])
            if len(self._keys) >= 4:
                self._keys.pop(min(self._keys))
            self._keys[number] = key
        return key

    def current_period(self) -> int:
        return int(self._clock() // self.period)

    def seal(self, contents: TicketContents, random_bytes: Callable[[int], bytes]) -> bytes:
        return self.key_for_period(self.current_period()).seal(contents, random_bytes)

    def open(self, ticket: bytes) -> TicketContents | None:
        now = self.current_period()
        for number in (now, now - 1):
            contents = self.key_for_period(number).open(ticket)
            if contents is not None:
                return contents
        return None
