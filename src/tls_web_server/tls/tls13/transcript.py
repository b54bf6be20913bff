"""The handshake transcript and its running hash (RFC 8446 section 4.4.1).

What this module owns: Transcript-Hash(M1, ..., Mn) = Hash(M1 || ... || Mn)
over whole handshake messages (4-byte header included, record headers not),
including the one twist of TLS 1.3: after a HelloRetryRequest the first
ClientHello is replaced by a synthetic message_hash message.

What it must never do: parse messages, decide which messages belong in the
transcript, or derive keys.  The handshake code adds the bytes it sent or
received, in order; the key schedule takes the digests.

Why the hash may be unknown at first: a client sends its ClientHello before
the server has chosen the cipher suite, and so before it knows whether the
transcript is SHA-256 or SHA-384.  Messages added before `set_hash` are kept
as they are and hashed the moment the hash is chosen.

Misuse by the caller (asking for a digest before choosing the hash, choosing
it twice) raises TLSUsageError: it is a bug in our handshake code, never the
peer's doing.
"""

from __future__ import annotations

import hashlib

from ..crypto import HASH_LENGTHS
from ..errors import TLSUsageError
from .enums import HandshakeType


class Transcript:
    """The running hash of every handshake message so far, in order."""

    __slots__ = ("_hash", "_message_count", "_unhashed_messages")

    def __init__(self, hash_name: str | None = None) -> None:
        self._hash: hashlib._Hash | None = None
        self._unhashed_messages: list[bytes] = []
        self._message_count = 0
        if hash_name is not None:
            self.set_hash(hash_name)

    @property
    def hash_name(self) -> str | None:
        """The hash ("sha256" or "sha384") once chosen, else None."""
        return None if self._hash is None else self._hash.name

    @property
    def message_count(self) -> int:
        """How many messages the transcript holds (message_hash counts as one)."""
        return self._message_count

    def set_hash(self, hash_name: str) -> None:
        """Choose the cipher suite's hash; messages added so far are hashed now."""
        if self._hash is not None:
            raise TLSUsageError("the transcript hash is chosen once, with the cipher suite")
        if hash_name not in HASH_LENGTHS:
            raise TLSUsageError(f"no TLS 1.3 cipher suite hashes with {hash_name!r}")
        running_hash = hashlib.new(hash_name)
        for message in self._unhashed_messages:
            running_hash.update(message)
        self._unhashed_messages.clear()
        self._hash = running_hash

    def add(self, raw_message: bytes) -> None:
        """Append one whole handshake message, its 4-byte header included."""
        if self._hash is None:
            self._unhashed_messages.append(bytes(raw_message))
        else:
            self._hash.update(raw_message)
        self._message_count += 1

    def digest(self) -> bytes:
        """Transcript-Hash of everything added so far; the transcript keeps running."""
        # .copy() clones the hash state in C: no message is hashed twice.
        return self._running_hash().copy().digest()

    def digest_with(self, extra: bytes) -> bytes:
        """Transcript-Hash of the transcript followed by `extra`, without adding `extra`.

        This is what a PSK binder signs: the transcript up to a ClientHello
        truncated before its binders (RFC 8446 section 4.2.11.2).
        """
        running_hash = self._running_hash().copy()
        running_hash.update(extra)
        return running_hash.digest()

    def replace_first_client_hello_with_message_hash(self) -> None:
        """Swap ClientHello1 for message_hash(Hash(ClientHello1)) after a HelloRetryRequest.

        RFC 8446 section 4.4.1: the transcript then starts with
            message_hash (254) || 00 00 Hash.length || Hash(ClientHello1)
        so a stateless server can rebuild it from a cookie.  Call this when
        the transcript holds exactly ClientHello1, before adding the
        HelloRetryRequest.
        """
        if self._message_count != 1:
            raise TLSUsageError(
                "message_hash replaces the first ClientHello only while it is the sole message"
            )
        client_hello_hash = self.digest()
        header = bytes((HandshakeType.message_hash, 0, 0, len(client_hello_hash)))
        running_hash = hashlib.new(self._running_hash().name)
        running_hash.update(header + client_hello_hash)
        self._hash = running_hash

    def _running_hash(self) -> hashlib._Hash:
        if self._hash is None:
            raise TLSUsageError("the transcript has no hash yet: call set_hash first")
        return self._hash
