"""The toytls key schedule of one traced connection, step by step, each step recomputable.

    schedule = explain_toy_key_schedule(trace.events)   # None without a toytls key exchange

What this module owns: docs/toytls.md sections 4 and 5 replayed on a real
connection: the X25519 shared secret (recomputed from the ephemeral private
key a learning-mode server reports), HKDF-Extract with the empty salt, the
two HKDF-Expand write keys, and the first application records of each
direction opened with AES-256-GCM (the sequence number is the associated
data; the 12-byte nonce travels in the record).  Each value is compared with
what the connection reported; the shapes are tls/key_schedule_steps.py's.

What it must never do: influence a connection, raise for an odd trace, or
import tls13/ (DEVELOPERS.md rule 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import crypto
from ..key_schedule_steps import KeySchedule, StepBuilder
from ..key_schedule_steps import hex_literal as _hex
from .record import (
    CLIENT_WRITE_KEY_INFO,
    KEY_LENGTH,
    NONCE_LENGTH,
    SEQUENCE_LENGTH,
    SERVER_WRITE_KEY_INFO,
)

RECORDS_EXPLAINED_PER_DIRECTION = 2
LONGEST_RECORD_IN_A_SNIPPET = 4096
RECORD_LENGTH_PREFIX = 4  # docs/toytls.md section 2: a 4-byte length before each record

PRELUDE = """from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey


def hkdf_extract(salt, input_key_material):  # RFC 5869 section 2.2, SHA-256
    mac = hmac.HMAC(salt or bytes(32), hashes.SHA256())
    mac.update(input_key_material)
    return mac.finalize()


def hkdf_expand(pseudo_random_key, info, length):  # RFC 5869 section 2.3
    return HKDFExpand(hashes.SHA256(), length, info).derive(pseudo_random_key)
"""


def _reported(events: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    secrets: dict[str, bytes] = {}
    for event in events:
        value = event.get("value")
        if event.get("kind") == "secret" and isinstance(value, (bytes, bytearray)):
            secrets.setdefault(str(event.get("name")), bytes(value))
    return secrets


def explain_toy_key_schedule(events: Sequence[Mapping[str, Any]]) -> KeySchedule | None:
    """Every value of a toytls connection's keys, or None for a trace without them."""
    if not any(event.get("protocol") == "toytls" for event in events):
        return None
    reported = _reported(events)
    shared = reported.get("shared_secret")
    if shared is None:
        return None
    build = StepBuilder(reported)
    exchange = next((event for event in events if event.get("kind") == "key_exchange"), None)
    if exchange is not None:
        private, peer = exchange.get("private_key"), exchange.get("peer_share")
        if isinstance(private, bytes) and isinstance(peer, bytes):
            build.add(
                "shared_secret",
                "X25519(the server's ephemeral private key, the client's public key)",
                [("ephemeral private key", private), ("client's public key", peer)],
                shared,
                f"private_key = X25519PrivateKey.from_private_bytes({_hex(private)})\n"
                f"peer_key = X25519PublicKey.from_public_bytes({_hex(peer)})\n"
                "print(private_key.exchange(peer_key).hex())",
                reported_as="shared_secret",
            )
    pseudo_random_key = build.add(
        "PRK",
        "HKDF-Extract(salt = empty, that is 32 zero bytes, IKM = shared_secret)",
        [("shared_secret", shared)],
        crypto.hkdf_extract("sha256", b"", shared),
        f'print(hkdf_extract(b"", {_hex(shared)}).hex())',
    )
    keys = {}
    for name, info in (
        ("client_write_key", CLIENT_WRITE_KEY_INFO),
        ("server_write_key", SERVER_WRITE_KEY_INFO),
    ):
        keys[name] = build.add(
            name,
            f'HKDF-Expand(PRK, "{info.decode()}", {KEY_LENGTH})',
            [("PRK", pseudo_random_key)],
            crypto.hkdf_expand("sha256", pseudo_random_key, info, KEY_LENGTH),
            f"print(hkdf_expand({_hex(pseudo_random_key)}, {info!r}, {KEY_LENGTH}).hex())",
            reported_as=name,
        )
    build.end_stage(
        "keys",
        "Shared secret and keys",
        "One X25519 shared secret, HKDF-SHA256 into one key per direction (docs/toytls.md "
        "section 4). No transcript and no random values go in: see what toytls leaves out.",
    )
    _record_steps(build, events, keys)
    build.end_stage(
        "records",
        "Protected records",
        "Each record: sequence number (8 bytes, also the associated data), a random 12-byte "
        "nonce, then AES-256-GCM ciphertext and tag (docs/toytls.md section 5).",
    )
    return build.schedule(PRELUDE)


def _record_steps(
    build: StepBuilder, events: Sequence[Mapping[str, Any]], keys: Mapping[str, bytes]
) -> None:
    role = "client"
    for event in events:
        if event.get("kind") == "message" and event.get("name") == "ClientHello":
            role = "client" if event.get("direction") == "sent" else "server"
            break
    explained = {"client": 0, "server": 0}
    for event in events:
        raw = event.get("raw")
        if event.get("kind") != "record" or not event.get("protected"):
            continue
        if not isinstance(raw, (bytes, bytearray)) or len(raw) > LONGEST_RECORD_IN_A_SNIPPET:
            continue
        sender = (
            role if event.get("direction") == "sent" else ("server", "client")[role == "server"]
        )
        if explained[sender] >= RECORDS_EXPLAINED_PER_DIRECTION:
            continue
        payload = bytes(raw[RECORD_LENGTH_PREFIX:])
        if len(payload) < SEQUENCE_LENGTH + NONCE_LENGTH:
            continue
        sequence = payload[:SEQUENCE_LENGTH]
        nonce = payload[SEQUENCE_LENGTH : SEQUENCE_LENGTH + NONCE_LENGTH]
        ciphertext = payload[SEQUENCE_LENGTH + NONCE_LENGTH :]
        key = keys[f"{sender}_write_key"]
        opened = crypto.Aead("AES-256-GCM", key).open(nonce, ciphertext, sequence)
        if opened is None:
            continue
        explained[sender] += 1
        build.add(
            f"{sender} record {int.from_bytes(sequence, 'big')}: decrypted",
            f"AESGCM({sender}_write_key).decrypt(nonce from the record, ciphertext and tag, "
            "associated data = the sequence number)",
            [
                ("key", key),
                ("sequence number", sequence),
                ("nonce", nonce),
                ("ciphertext", ciphertext),
            ],
            opened,
            f"cipher = AESGCM({_hex(key)})\n"
            f"print(cipher.decrypt({_hex(nonce)}, {_hex(ciphertext)}, {_hex(sequence)}).hex())",
        )
