"""toytls session keys and encrypted application records.

What this module owns:
- Turning the X25519 shared secret into one AES-256-GCM key per direction
  with HKDF-SHA256 (RFC 5869): salt empty, info names the direction
  ("toy tls client write key", "toy tls server write key").
- The application record payload
  `sequence (uint64) || nonce (12 random bytes) || AES-GCM(plaintext) || tag (16)`,
  with the 8 sequence bytes as associated data, so a record only opens at the
  one position in the stream it was sealed for.

What it must never do:
- Draw randomness itself: the nonce comes from the caller's `random_bytes`.
- Return plaintext from a record that failed its tag or came out of order:
  both are a `TLSError`, never a silently dropped record.

Each sealer and opener builds its AES-GCM object once and reuses it for every
record of its direction; the per-record work is one encrypt or decrypt call.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .. import crypto
from ..errors import TLSError, TLSUsageError

AEAD_ALGORITHM = "AES-256-GCM"
KEY_LENGTH = 32
# The walkthrough's labels, byte for byte ("toy tls", two words): any other
# spelling gives other keys, and no record would open on the other side.
CLIENT_WRITE_KEY_INFO = b"toy tls client write key"
SERVER_WRITE_KEY_INFO = b"toy tls server write key"

SEQUENCE_LENGTH = 8
NONCE_LENGTH = crypto.AEAD_NONCE_LENGTH  # 12
TAG_LENGTH = crypto.AEAD_TAG_LENGTH  # 16
RECORD_OVERHEAD = SEQUENCE_LENGTH + NONCE_LENGTH + TAG_LENGTH  # 36 bytes per record
# Like TLS (RFC 8446 section 5.1), we seal at most 16 KiB of plaintext per
# record: a receiver can decrypt and hand on a record without buffering much.
# (The walkthrough's server seals a whole response in one record; our client
# opens those too, up to wire.MAX_RECORD_LENGTH_FROM_SERVER.)
MAX_PLAINTEXT_PER_RECORD = 16384
# The sequence number is a uint64; it must never wrap, or an old record could be replayed.
MAX_SEQUENCE = 2**64 - 1

_RECORD_HEADER = struct.Struct(">I")
_SEQUENCE = struct.Struct(">Q")


@dataclass(frozen=True)
class SessionKeys:
    """The two directional keys; each side seals with its own and opens with the other's."""

    client_write_key: bytes
    server_write_key: bytes


def derive_session_keys(shared_secret: bytes) -> SessionKeys:
    """HKDF-SHA256 with an empty salt (RFC 5869 section 2.2: HashLen zero bytes)."""
    pseudo_random_key = crypto.hkdf_extract("sha256", b"", shared_secret)
    return SessionKeys(
        client_write_key=crypto.hkdf_expand(
            "sha256", pseudo_random_key, CLIENT_WRITE_KEY_INFO, KEY_LENGTH
        ),
        server_write_key=crypto.hkdf_expand(
            "sha256", pseudo_random_key, SERVER_WRITE_KEY_INFO, KEY_LENGTH
        ),
    )


class RecordSealer:
    """Encrypts outgoing application data for one direction, counting records from 0."""

    __slots__ = ("_aead", "_random_bytes", "next_sequence")

    def __init__(self, key: bytes, random_bytes: crypto.RandomSource) -> None:
        self._aead = crypto.Aead(AEAD_ALGORITHM, key)
        self._random_bytes = random_bytes
        self.next_sequence = 0

    def seal_record(self, plaintext: bytes | memoryview) -> bytes:
        """One framed record (length header included) holding at most 16 KiB of plaintext."""
        if len(plaintext) > MAX_PLAINTEXT_PER_RECORD:
            raise TLSUsageError(f"a record holds at most {MAX_PLAINTEXT_PER_RECORD} bytes")
        if self.next_sequence > MAX_SEQUENCE:
            raise TLSUsageError("2**64 records sent: the sequence number would wrap")
        sequence = _SEQUENCE.pack(self.next_sequence)
        nonce = self._random_bytes(NONCE_LENGTH)
        if len(nonce) != NONCE_LENGTH:
            raise TLSUsageError(f"random_bytes({NONCE_LENGTH}) returned {len(nonce)} bytes")
        sealed = self._aead.seal(nonce, plaintext, sequence)
        self.next_sequence += 1
        header = _RECORD_HEADER.pack(SEQUENCE_LENGTH + NONCE_LENGTH + len(sealed))
        return b"".join((header, sequence, nonce, sealed))


class RecordOpener:
    """Decrypts incoming application records for one direction, insisting on the next number."""

    __slots__ = ("_aead", "next_sequence")

    def __init__(self, key: bytes) -> None:
        self._aead = crypto.Aead(AEAD_ALGORITHM, key)
        self.next_sequence = 0

    def open_record(self, payload: bytes) -> bytes:
        """The plaintext of one record payload (the length header already removed)."""
        if len(payload) < RECORD_OVERHEAD:
            raise TLSError(
                f"an application record is at least {RECORD_OVERHEAD} bytes, not {len(payload)}"
            )
        view = memoryview(payload)
        (sequence,) = _SEQUENCE.unpack_from(view)
        if sequence != self.next_sequence:
            # A replayed, reordered or dropped record: the stream would not be the one sent.
            raise TLSError(
                f"expected record {self.next_sequence}, got record {sequence}"
                " (replayed, reordered or dropped)"
            )
        nonce = view[SEQUENCE_LENGTH : SEQUENCE_LENGTH + NONCE_LENGTH]
        plaintext = self._aead.open(
            nonce, view[SEQUENCE_LENGTH + NONCE_LENGTH :], view[:SEQUENCE_LENGTH]
        )
        if plaintext is None:
            raise TLSError(f"record {sequence} failed its integrity check (tampered or wrong key)")
        self.next_sequence += 1
        return plaintext
