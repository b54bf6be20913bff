"""The TLS 1.3 key schedule (RFC 8446 section 7): from input secrets to traffic secrets.

What this module owns: every HKDF step of RFC 8446 section 7, from the
Early Secret down to the traffic keys, Finished values, KeyUpdate, resumption
PSKs and exporters.  The schedule is staged, one class per stage, and each
stage holds only the secret that exists at that point:

    EarlySecret ──handshake_secret(shared secret)──► HandshakeSecret
                                                          │ master_secret()
                                                          ▼
                                                      MasterSecret

so a handshake cannot ask for an application traffic secret before the
(EC)DHE shared secret has been mixed in: the method simply is not there yet.

What it must never do: read the wire, keep a transcript, pick a cipher suite,
or draw randomness.  It takes transcript hashes (tls13/transcript.py makes
them) and returns bytes.  HMAC and HKDF come only from tls/crypto.py; the
standard library's hashlib is used only for Hash("") and Hash(context), which
are transcript hashes in the RFC's sense.

The RFC 8446 section 7.1 diagram, redrawn with our names on the right
("0" is Hash.length zero bytes; Extract takes the salt from above and the
input keying material from the left):

    salt 0
      │
      ▼
    PSK or 0 ──► HKDF-Extract ─────────────────────────── EarlySecret.secret
      │
      ├─ Derive-Secret("ext binder" | "res binder", "") ── binder_key()
      ├─ Derive-Secret("c e traffic", ClientHello) ──────── client_early_traffic_secret()
      ├─ Derive-Secret("e exp master", ClientHello) ─────── early_exporter_master_secret()
      ▼
    Derive-Secret("derived", "") ──────────────────────── EarlySecret.derived_secret
      │  (the salt of the next Extract)
      ▼
    (EC)DHE ──► HKDF-Extract ──────────────────────────── HandshakeSecret.secret
      │
      ├─ Derive-Secret("c hs traffic", CH..SH) ──────────── client_handshake_traffic_secret()
      ├─ Derive-Secret("s hs traffic", CH..SH) ──────────── server_handshake_traffic_secret()
      ▼
    Derive-Secret("derived", "") ──────────────────────── HandshakeSecret.derived_secret
      │
      ▼
    0 ──► HKDF-Extract ────────────────────────────────── MasterSecret.secret
      │
      ├─ Derive-Secret("c ap traffic", CH..server Fin) ─── client_application_traffic_secret()
      ├─ Derive-Secret("s ap traffic", CH..server Fin) ─── server_application_traffic_secret()
      ├─ Derive-Secret("exp master", CH..server Fin) ───── exporter_master_secret()
      └─ Derive-Secret("res master", CH..client Fin) ───── resumption_master_secret()

Each traffic secret then gives a record key and IV (section 7.3,
`traffic_key_and_iv`), a Finished key (section 4.4.4, `finished_verify_data`)
and, for application secrets, the next generation (section 7.2,
`next_application_traffic_secret`).

Misuse by the caller (an over-long label, an unknown hash) raises ValueError
or KeyError: nothing here consumes bytes chosen by the peer except transcript
hashes and ticket nonces, whose lengths the message codecs already bound.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from ..crypto import HASH_LENGTHS, hkdf_expand, hkdf_extract, hmac_digest
from .enums import CipherSuiteParameters

# RFC 8446 section 7.1: every HKDF-Expand-Label label starts with this prefix.
LABEL_PREFIX = b"tls13 "

# Hash("") for each suite hash: the Messages of Derive-Secret(., "derived", "")
# and of the binder keys.  Computed once; they never change.
_EMPTY_TRANSCRIPT_HASHES = {name: hashlib.new(name, b"").digest() for name in HASH_LENGTHS}


# HkdfLabel prefixes (length, label) -> bytes, built once: the handful of
# labels TLS uses are expanded thousands of times a second.
_LABEL_PREFIXES: dict[tuple[int, bytes], bytes] = {}


def _label_prefix(length: int, label: bytes) -> bytes:
    # struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel
    prefix = _LABEL_PREFIXES.get((length, label))
    if prefix is None:
        full_label = LABEL_PREFIX + label
        if len(full_label) > 255:
            raise ValueError("an HKDF label is at most 255 bytes including 'tls13 '")
        if not 0 <= length <= 0xFFFF:
            raise ValueError("an HKDF-Expand-Label length is a uint16")
        prefix = length.to_bytes(2, "big") + bytes((len(full_label),)) + full_label
        _LABEL_PREFIXES[(length, label)] = prefix
    return prefix


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) of RFC 8446 section 7.1.

    `label` is given without the "tls13 " prefix, exactly as the RFC writes it
    ("c hs traffic", "key", "finished").
    """
    if len(context) > 255:
        raise ValueError("an HKDF context is at most 255 bytes")
    info = _label_prefix(length, label) + bytes((len(context),)) + context
    if length <= HASH_LENGTHS[hash_name]:
        # One HMAC block is enough: HKDF-Expand's T(1) = HMAC(PRK, info || 0x01).
        return hmac_digest(hash_name, secret, info + b"\x01")[:length]
    return hkdf_expand(hash_name, secret, info, length)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages) (section 7.1)."""
    # HKDF-Expand-Label(Secret, Label, Transcript-Hash, Hash.length), written out:
    # the most frequent expansion of a handshake, and always one HMAC block.
    if len(transcript_hash) > 255:
        raise ValueError("an HKDF context is at most 255 bytes")
    length = HASH_LENGTHS[hash_name]
    info = b"".join(
        (_label_prefix(length, label), bytes((len(transcript_hash),)), transcript_hash, b"\x01")
    )
    return hmac_digest(hash_name, secret, info)


def _derived_salt(hash_name: str, secret: bytes) -> bytes:
    # Derive-Secret(., "derived", ""): the salt that carries one stage into the next.
    return derive_secret(hash_name, secret, b"derived", _EMPTY_TRANSCRIPT_HASHES[hash_name])


class _Stage:
    """What every stage has: the suite's hash and one secret (kept out of repr and logs)."""

    __slots__ = ("hash_name", "secret")

    def __init__(self, hash_name: str, secret: bytes) -> None:
        expected_length = HASH_LENGTHS[hash_name]
        if len(secret) != expected_length:
            raise ValueError(f"a {hash_name} key schedule secret is {expected_length} bytes")
        self.hash_name = hash_name
        self.secret = secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hash_name!r}, <secret hidden>)"

    def _derive(self, label: bytes, transcript_hash: bytes) -> bytes:
        # A transcript *hash* is expected; raw messages here would be a silent bug.
        hash_name = self.hash_name
        if len(transcript_hash) != HASH_LENGTHS[hash_name]:
            raise ValueError(f"a {hash_name} transcript hash is {HASH_LENGTHS[hash_name]} bytes")
        # derive_secret() with the length checks done: HkdfLabel's fixed head, then
        # the context (the transcript hash) and T(1)'s 0x01, in one HMAC.
        info = b"".join((_derive_secret_head(hash_name, label), transcript_hash, b"\x01"))
        return hmac_digest(hash_name, self.secret, info)


@cache
def _derive_secret_head(hash_name: str, label: bytes) -> bytes:
    """HkdfLabel up to its context for Derive-Secret: length, label, context length (Hash.length).

    The same bytes in every handshake for each (hash, label), so built once.
    """
    length = HASH_LENGTHS[hash_name]
    return _label_prefix(length, label) + bytes((length,))


@cache
def _early_secret_without_psk(hash_name: str) -> tuple[bytes, bytes]:
    """(Early Secret, its "derived" salt) when no PSK is used: constants of the hash.

    Every full handshake needs both; they depend on nothing but the hash, so
    they are computed once per hash instead of two HMACs per handshake.
    """
    # Section 7.1: "if PSK is not in use, Early Secret will still be
    # HKDF-Extract(0, 0)"; an empty salt means the zero salt (RFC 5869).
    secret = hkdf_extract(hash_name, b"", bytes(HASH_LENGTHS[hash_name]))
    return secret, _derived_salt(hash_name, secret)


class EarlySecret(_Stage):
    """Stage 1: HKDF-Extract(0, PSK), or of Hash.length zeros when there is no PSK."""

    __slots__ = ("_derived_secret",)

    def __init__(self, hash_name: str, psk: bytes | None = None) -> None:
        if psk is None:
            secret, self._derived_secret = _early_secret_without_psk(hash_name)
        else:
            secret = hkdf_extract(hash_name, b"", psk)
            self._derived_secret = None
        super().__init__(hash_name, secret)

    def binder_key(self, resumption: bool = True) -> bytes:
        """The PSK binder's base key: "res binder" for tickets, "ext binder" for external PSKs."""
        # Section 7.1: the two labels stop one kind of PSK standing in for the other.
        label = b"res binder" if resumption else b"ext binder"
        return self._derive(label, _EMPTY_TRANSCRIPT_HASHES[self.hash_name])

    def client_early_traffic_secret(self, client_hello_hash: bytes) -> bytes:
        """The 0-RTT traffic secret, over Transcript-Hash(ClientHello)."""
        return self._derive(b"c e traffic", client_hello_hash)

    def early_exporter_master_secret(self, client_hello_hash: bytes) -> bytes:
        """The exporter secret usable with 0-RTT data (section 7.5), over Hash(ClientHello)."""
        return self._derive(b"e exp master", client_hello_hash)

    @property
    def derived_secret(self) -> bytes:
        """Derive-Secret(., "derived", ""): the salt of the Handshake Secret's Extract."""
        if self._derived_secret is not None:
            return self._derived_secret
        return _derived_salt(self.hash_name, self.secret)

    def handshake_secret(self, shared_secret: bytes) -> HandshakeSecret:
        """Mix in the (EC)DHE shared secret: the next stage (section 7.1)."""
        secret = hkdf_extract(self.hash_name, self.derived_secret, shared_secret)
        return HandshakeSecret(self.hash_name, secret)


class HandshakeSecret(_Stage):
    """Stage 2: the Early Secret with the (EC)DHE shared secret mixed in."""

    __slots__ = ()

    def client_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """Protects the client's handshake records; transcript ClientHello..ServerHello."""
        return self._derive(b"c hs traffic", transcript_hash)

    def server_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """Protects the server's handshake records; transcript ClientHello..ServerHello."""
        return self._derive(b"s hs traffic", transcript_hash)

    @property
    def derived_secret(self) -> bytes:
        """Derive-Secret(., "derived", ""): the salt of the Master Secret's Extract."""
        return _derived_salt(self.hash_name, self.secret)

    def master_secret(self) -> MasterSecret:
        """The last stage: Extract with no new input (Hash.length zeros), section 7.1."""
        zeros = bytes(HASH_LENGTHS[self.hash_name])
        secret = hkdf_extract(self.hash_name, self.derived_secret, zeros)
        return MasterSecret(self.hash_name, secret)


class MasterSecret(_Stage):
    """Stage 3: the source of application traffic, exporter and resumption secrets."""

    __slots__ = ()

    def client_application_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """client_application_traffic_secret_0; transcript ClientHello..server Finished."""
        return self._derive(b"c ap traffic", transcript_hash)

    def server_application_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """server_application_traffic_secret_0; transcript ClientHello..server Finished."""
        return self._derive(b"s ap traffic", transcript_hash)

    def exporter_master_secret(self, transcript_hash: bytes) -> bytes:
        """The exporter secret (section 7.5); transcript ClientHello..server Finished."""
        return self._derive(b"exp master", transcript_hash)

    def resumption_master_secret(self, transcript_hash: bytes) -> bytes:
        """The secret tickets' PSKs come from; transcript ClientHello..client Finished."""
        return self._derive(b"res master", transcript_hash)


@cache
def _one_block_info(label: bytes, length: int) -> bytes:
    """HkdfLabel(label, "", length) || 0x01: the whole HMAC input of a one-block expansion.

    The labels with an empty context ("key", "iv", "finished") are the same
    bytes in every handshake, so they are built once per (label, length).
    """
    return _label_prefix(length, label) + b"\x00\x01"  # context<0..255> empty, then T(1)'s 0x01


def traffic_key_and_iv(
    parameters: CipherSuiteParameters, traffic_secret: bytes
) -> tuple[bytes, bytes]:
    """[sender]_write_key and [sender]_write_iv from a traffic secret (section 7.3)."""
    # HKDF-Expand-Label(secret, "key", "", key_length) and (., "iv", "", iv_length),
    # each one HMAC block: no suite has a key or IV longer than its Hash.length.
    hash_name = parameters.hash_name
    key_length = parameters.key_length
    iv_length = parameters.iv_length
    key = hmac_digest(hash_name, traffic_secret, _one_block_info(b"key", key_length))
    iv = hmac_digest(hash_name, traffic_secret, _one_block_info(b"iv", iv_length))
    return key[:key_length], iv[:iv_length]


def finished_key(hash_name: str, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (section 4.4.4)."""
    return hmac_digest(hash_name, base_key, _one_block_info(b"finished", HASH_LENGTHS[hash_name]))


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """Finished.verify_data = HMAC(finished_key, transcript hash) (section 4.4.4).

    `base_key` is the sender's handshake traffic secret (or the binder key,
    for a PSK binder, section 4.2.11.2).
    """
    return hmac_digest(hash_name, finished_key(hash_name, base_key), transcript_hash)


def is_valid_finished(
    hash_name: str, base_key: bytes, transcript_hash: bytes, received_verify_data: bytes
) -> bool:
    """True if the peer's Finished (or PSK binder) is right, compared in constant time."""
    expected = finished_verify_data(hash_name, base_key, transcript_hash)
    # compare_digest does not stop at the first differing byte, so timing
    # reveals nothing about how much of a forged value was correct.
    return hmac.compare_digest(expected, received_verify_data)


def next_application_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 after a KeyUpdate (section 7.2)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", HASH_LENGTHS[hash_name])


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK a NewSessionTicket stands for (section 4.6.1), one per ticket nonce."""
    return hkdf_expand_label(
        hash_name, resumption_master_secret, b"resumption", ticket_nonce, HASH_LENGTHS[hash_name]
    )


def export_keying_material(
    hash_name: str, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) of section 7.5.

    No context and an empty context give the same value in TLS 1.3.
    """
    per_label_secret = derive_secret(
        hash_name, exporter_master_secret, label, _EMPTY_TRANSCRIPT_HASHES[hash_name]
    )
    context_hash = hashlib.new(hash_name, context).digest()
    return hkdf_expand_label(hash_name, per_label_secret, b"exporter", context_hash, length)
