"""The TLS 1.3 key schedule of one traced connection, step by step, each step recomputable.

    schedule = explain_key_schedule(trace.events)   # None without a TLS 1.3 handshake
    for stage in schedule.stages: for step in stage.steps: step.formula, step.output, step.snippet

What this module owns: rebuilding, from the events a TLS 1.3 connection
reported (its handshake messages, the secrets it derived, its records), every
value of RFC 8446 section 7: the transcript hash after each message, each
HKDF-Extract and HKDF-Expand-Label with its salt, input, full label, context
and length, the traffic keys and IVs per direction, the Finished verify_data,
and for the first protected records of each key their sequence number, nonce
(IV XOR sequence, section 5.3) and additional data (the record header).
Beside each value: a Python snippet using `cryptography` that recomputes it
from values shown on the page (`PRELUDE` holds the helpers every snippet
uses); the shapes are tls/key_schedule_steps.py's.  The test suite runs
every snippet of a generated page.

Each value is recomputed here with the same functions the handshake used
(key_schedule.py) and compared with what the connection reported: a step
that disagrees says so, it is never shown as if it agreed.

What it must never do: influence a connection (it reads a finished list of
events), raise for an odd trace (a missing message or secret ends the
explanation where it can go no further), or decrypt records beyond the first
few of each key (a page stays small).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import crypto
from ..key_schedule_steps import KeySchedule, StepBuilder
from ..key_schedule_steps import hex_literal as _hex
from . import key_schedule
from .enums import CIPHER_SUITE_PARAMETERS, HELLO_RETRY_REQUEST_RANDOM, CipherSuiteParameters

# Records decrypted step by step per traffic key; later ones are only counted.
RECORDS_EXPLAINED_PER_KEY = 2
# A record longer than this is explained without a decryption snippet (page size).
LONGEST_RECORD_IN_A_SNIPPET = 4096
# Handshake messages that are not part of any transcript (section 4.6).
_POST_HANDSHAKE = frozenset({"NewSessionTicket", "KeyUpdate"})
_SHA_NAMES = {"sha256": "SHA256", "sha384": "SHA384"}


def prelude(hash_name: str) -> str:
    """The helper functions every snippet of a page uses, for the page's hash."""
    return f"""from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

HASH = hashes.{_SHA_NAMES[hash_name]}  # the hash of the negotiated cipher suite


def transcript_hash(*messages):  # RFC 8446 section 4.4.1
    digest = hashes.Hash(HASH())
    for message in messages:
        digest.update(message)
    return digest.finalize()


def hkdf_extract(salt, input_key_material):  # RFC 5869 section 2.2: HMAC(salt, IKM)
    mac = hmac.HMAC(salt or bytes(HASH.digest_size), HASH())
    mac.update(input_key_material)
    return mac.finalize()


def hkdf_expand_label(secret, label, context, length):  # RFC 8446 section 7.1
    full_label = b"tls13 " + label.encode()
    hkdf_label = (length.to_bytes(2, "big") + bytes([len(full_label)]) + full_label
                  + bytes([len(context)]) + context)
    return HKDFExpand(HASH(), length, hkdf_label).derive(secret)


def hmac_of(key, data):
    mac = hmac.HMAC(key, HASH())
    mac.update(data)
    return mac.finalize()
"""


def _reported(events: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """The first value the connection reported for each secret name."""
    secrets: dict[str, bytes] = {}
    for event in events:
        if event.get("kind") == "secret" and event.get("protocol") == "TLSv1.3":
            value = event.get("value")
            if isinstance(value, (bytes, bytearray)):
                secrets.setdefault(str(event.get("name")), bytes(value))
    return secrets


def _handshake_messages(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, bytes]]:
    messages = []
    for event in events:
        if event.get("kind") != "message" or event.get("protocol") != "TLSv1.3":
            continue
        raw = event.get("raw")
        name = str(event.get("name"))
        if isinstance(raw, (bytes, bytearray)) and name not in _POST_HANDSHAKE and len(raw) >= 4:
            if raw[0] == 2 and bytes(raw[6:38]) == HELLO_RETRY_REQUEST_RANDOM:
                name = "HelloRetryRequest"
            messages.append((name, bytes(raw)))
    return messages


def _suite(messages: list[tuple[str, bytes]]) -> CipherSuiteParameters | None:
    """The cipher suite of the ServerHello (legacy_version 2, random 32, session id, suite 2)."""
    for name, raw in messages:
        if name == "ServerHello" and len(raw) > 39:
            offset = 4 + 2 + 32
            offset += 1 + raw[offset]
            suite = int.from_bytes(raw[offset : offset + 2], "big")
            for candidate, parameters in CIPHER_SUITE_PARAMETERS.items():
                if int(candidate) == suite:
                    return parameters
    return None


def explain_key_schedule(events: Sequence[Mapping[str, Any]]) -> KeySchedule | None:
    """Every value of the connection's key schedule, or None for a trace without one."""
    messages = _handshake_messages(events)
    parameters = _suite(messages)
    reported = _reported(events)
    if parameters is None or "shared_secret" not in reported:
        return None
    hash_name = parameters.hash_name
    length = parameters.hash_length
    build = StepBuilder(reported)

    # --- transcript hashes (section 4.4.1), HelloRetryRequest's message_hash first.
    # Snippets name the messages; the prelude defines each from its bytes on the page.
    variables = _message_variables(messages)
    snippet_prelude = (
        prelude(hash_name)
        + "\n\n# The handshake messages of this connection, whole.\n"
        + "".join(
            f"{variable} = {_hex(raw)}  # {name}\n"
            for (name, raw), variable in zip(messages, variables, strict=True)
        )
    )
    transcript: list[tuple[str, bytes]] = []
    expressions: list[str] = []
    hashes_after: dict[str, bytes] = {}
    for (name, raw), variable in zip(messages, variables, strict=True):
        if name == "HelloRetryRequest" and transcript:
            first_name, first = transcript[0]
            inner = hashlib.new(hash_name, first).digest()
            message_hash = bytes((254, 0, 0, len(inner))) + inner
            expression = f"bytes([254, 0, 0, {len(inner)}]) + transcript_hash({expressions[0]})"
            build.add(
                "message_hash",
                f"254 || 00 00 {len(inner):02x} || Hash({first_name}): replaces the first "
                "ClientHello in the transcript (section 4.4.1)",
                [(first_name, first)],
                message_hash,
                f"print(({expression}).hex())",
            )
            transcript = [("message_hash", message_hash)]
            expressions = [expression]
        transcript.append((name, raw))
        expressions.append(variable)
        digest = hashlib.new(hash_name, b"".join(part for _, part in transcript)).digest()
        key = name if name not in hashes_after else f"{name} (2)"
        if name == "Finished" and "Finished" in hashes_after:
            key = "client Finished"
        hashes_after[key] = digest
        arguments = ", ".join(expressions)
        build.add(
            f"transcript hash after {key}",
            "Hash(" + " || ".join(part_name for part_name, _ in transcript) + ")",
            transcript,
            digest,
            f"print(transcript_hash({arguments}).hex())",
        )
    build.end_stage(
        "transcript",
        "Transcript hashes",
        "The hash of every handshake message so far, in order: each secret below is bound to "
        "exactly the messages both sides saw (RFC 8446 section 4.4.1).",
    )

    # --- Early Secret and the Handshake Secret (section 7.1)
    empty_hash = hashlib.new(hash_name, b"").digest()
    zeros = bytes(length)
    resumed = (
        "early_secret" in reported
        and reported["early_secret"] != key_schedule.EarlySecret(hash_name).secret
    )
    if resumed:
        early = build.add(
            "early_secret",
            "HKDF-Extract(0, PSK): the PSK comes from the resumed ticket (section 4.6.1); it is "
            "derived on the page of the connection that received the ticket",
            [],
            reported["early_secret"],
            f'print("{reported["early_secret"].hex()}")  # given: the PSK is not on this page',
            reported_as="early_secret",
        )
    else:
        early = build.add(
            "early_secret",
            f"HKDF-Extract(salt = 0, IKM = {length} zero bytes): no PSK, so a constant",
            [("salt", b""), ("IKM", zeros)],
            crypto.hkdf_extract(hash_name, b"", zeros),
            f'print(hkdf_extract(b"", bytes({length})).hex())',
            reported_as="early_secret",
        )
    derived = build.add(
        "derived (from early_secret)",
        f'HKDF-Expand-Label(early_secret, "derived", Hash(""), {length})',
        [("early_secret", early), ('Hash("")', empty_hash)],
        key_schedule.hkdf_expand_label(hash_name, early, b"derived", empty_hash, length),
        f'print(hkdf_expand_label({_hex(early)}, "derived", {_hex(empty_hash)}, {length}).hex())',
    )
    shared = reported["shared_secret"]
    shared_step = _shared_secret_step(events, shared)
    if shared_step is not None:
        build.add(*shared_step, reported_as="shared_secret")
    handshake = build.add(
        "handshake_secret",
        "HKDF-Extract(salt = derived, IKM = the (EC)DHE shared secret)",
        [("derived", derived), ("shared_secret", shared)],
        crypto.hkdf_extract(hash_name, derived, shared),
        f"print(hkdf_extract({_hex(derived)}, {_hex(shared)}).hex())",
        reported_as="handshake_secret",
    )
    build.end_stage(
        "handshake-secret",
        "Early Secret → Handshake Secret",
        'HKDF-Extract mixes in new keying material; HKDF-Expand-Label with "derived" carries '
        "one stage into the next (RFC 8446 section 7.1).",
    )

    # --- traffic secrets, keys and IVs (sections 7.1 and 7.3)
    hello_hash = hashes_after.get("ServerHello (2)", hashes_after.get("ServerHello"))
    if hello_hash is None:
        return build.schedule(snippet_prelude)
    traffic: dict[str, bytes] = {}
    for name, label in (
        ("client_handshake_traffic_secret", "c hs traffic"),
        ("server_handshake_traffic_secret", "s hs traffic"),
    ):
        traffic[name] = _expand(
            build,
            hash_name,
            "handshake_secret",
            handshake,
            label,
            hello_hash,
            length,
            name,
            "transcript hash after ServerHello",
        )
    derived_2 = build.add(
        "derived (from handshake_secret)",
        f'HKDF-Expand-Label(handshake_secret, "derived", Hash(""), {length})',
        [("handshake_secret", handshake), ('Hash("")', empty_hash)],
        key_schedule.hkdf_expand_label(hash_name, handshake, b"derived", empty_hash, length),
        f'print(hkdf_expand_label({_hex(handshake)}, "derived", {_hex(empty_hash)}, '
        f"{length}).hex())",
    )
    master = build.add(
        "master_secret",
        f"HKDF-Extract(salt = derived, IKM = {length} zero bytes)",
        [("derived", derived_2), ("IKM", zeros)],
        crypto.hkdf_extract(hash_name, derived_2, zeros),
        f"print(hkdf_extract({_hex(derived_2)}, bytes({length})).hex())",
        reported_as="master_secret",
    )
    server_finished_hash = _hash_after_server_finished(hashes_after)
    if server_finished_hash is not None:
        for name, label in (
            ("client_application_traffic_secret_0", "c ap traffic"),
            ("server_application_traffic_secret_0", "s ap traffic"),
            ("exporter_master_secret", "exp master"),
        ):
            traffic[name] = _expand(
                build,
                hash_name,
                "master_secret",
                master,
                label,
                server_finished_hash,
                length,
                name,
                "transcript hash after the server's Finished",
            )
    traffic.pop("exporter_master_secret", None)
    build.end_stage(
        "traffic-secrets",
        "Traffic secrets",
        "Each direction and each phase gets its own secret: Derive-Secret(stage secret, label, "
        "transcript hash) = HKDF-Expand-Label(secret, label, hash, Hash.length) (section 7.1).",
    )
    keys: dict[str, tuple[bytes, bytes]] = {}
    for name, secret in traffic.items():
        key, iv = (
            build.add(
                f"{name}: {label}",
                f'HKDF-Expand-Label({name}, "{label}", "", {length})',
                [(name, secret)],
                key_schedule.hkdf_expand_label(hash_name, secret, label.encode(), b"", length),
                f'print(hkdf_expand_label({_hex(secret)}, "{label}", b"", {length}).hex())',
            )
            for label, length in (("key", parameters.key_length), ("iv", parameters.iv_length))
        )
        keys[name] = (key, iv)
    build.end_stage(
        "keys",
        "Traffic keys and IVs",
        "The AEAD key and the IV of each direction come from its traffic secret (section 7.3).",
    )

    _finished_steps(build, hash_name, length, messages, hashes_after, traffic)
    build.end_stage(
        "finished",
        "Finished",
        "verify_data = HMAC(finished_key, transcript hash) with finished_key = "
        'HKDF-Expand-Label(handshake traffic secret, "finished", "", Hash.length): '
        "proof that the sender saw the same handshake and holds the keys (section 4.4.4).",
    )

    _record_steps(build, events, parameters, keys)
    build.end_stage(
        "records",
        "Protected records",
        "Each record's nonce is the IV XOR its 64-bit sequence number (left-padded); the "
        "additional data is the 5-byte record header (section 5.2 and 5.3). The first records "
        f"of each key are decrypted here ({RECORDS_EXPLAINED_PER_KEY} per key).",
    )
    return build.schedule(snippet_prelude)


def _message_variables(messages: list[tuple[str, bytes]]) -> list[str]:
    """A Python name per message: client_hello, server_hello, ..., server_finished."""
    names: list[str] = []
    finished = iter(("server_finished", "client_finished"))
    for name, _ in messages:
        if name == "Finished":
            variable = next(finished, "finished")
        else:
            variable = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        candidate, number = variable, 2
        while candidate in names:
            candidate, number = f"{variable}_{number}", number + 1
        names.append(candidate)
    return names


def _expand(
    build: StepBuilder,
    hash_name: str,
    secret_name: str,
    secret: bytes,
    label: str,
    context: bytes,
    length: int,
    name: str,
    context_name: str,
) -> bytes:
    return build.add(
        name,
        f'HKDF-Expand-Label({secret_name}, "{label}", {context_name}, {length}): the full label '
        f'is "tls13 {label}"',
        [(secret_name, secret), (context_name, context)],
        key_schedule.hkdf_expand_label(hash_name, secret, label.encode(), context, length),
        f'print(hkdf_expand_label({_hex(secret)}, "{label}", {_hex(context)}, {length}).hex())',
        reported_as=name,
    )


def _hash_after_server_finished(hashes_after: Mapping[str, bytes]) -> bytes | None:
    return hashes_after.get("Finished")


# How a snippet rebuilds our private key and the peer's share, per group (RFC 8446 4.2.8.2).
_NIST_CURVES = {"secp256r1": "SECP256R1", "secp384r1": "SECP384R1"}
_X25519_IMPORT = (
    "from cryptography.hazmat.primitives.asymmetric.x25519 import "
    "X25519PrivateKey, X25519PublicKey\n"
)


def _shared_secret_step(
    events: Sequence[Mapping[str, Any]], shared: bytes
) -> tuple[str, str, list[tuple[str, bytes]], bytes, str] | None:
    """The shared secret from the private key a learning-mode server reported, where possible."""
    event = next((event for event in events if event.get("kind") == "key_exchange"), None)
    if event is None:
        return None
    group = str(event.get("group"))
    private = event.get("private_key")
    peer = event.get("peer_share")
    if not isinstance(private, bytes) or not isinstance(peer, bytes):
        return None
    inputs = [("ephemeral private key", private), ("peer's key share", peer)]
    if group == "x25519":
        snippet = (
            f"{_X25519_IMPORT}private_key = X25519PrivateKey.from_private_bytes({_hex(private)})\n"
            f"peer_share = X25519PublicKey.from_public_bytes({_hex(peer)})\n"
            "print(private_key.exchange(peer_share).hex())"
        )
        formula = "X25519(our ephemeral private key, the peer's key share) (RFC 7748 section 6.1)"
    elif group in _NIST_CURVES:
        curve = _NIST_CURVES[group]
        snippet = (
            "from cryptography.hazmat.primitives.asymmetric import ec\n"
            f"private_key = ec.derive_private_key(int({_hex(private)}.hex(), 16), ec.{curve}())\n"
            f"peer_share = ec.EllipticCurvePublicKey.from_encoded_point(ec.{curve}(), "
            f"{_hex(peer)})\n"
            "print(private_key.exchange(ec.ECDH(), peer_share).hex())"
        )
        formula = f"ECDH on {group}: the x coordinate of our scalar times the peer's point"
    elif group == "X25519MLKEM768" and len(shared) == 64 and len(private) == 32:
        # draft-ietf-tls-ecdhe-mlkem: ML-KEM's secret first, then X25519's; the client's share
        # ends with its X25519 key.  Encapsulation draws randomness inside the library, so the
        # ML-KEM half is given; the X25519 half is recomputed.
        snippet = (
            f"{_X25519_IMPORT}mlkem_shared_secret = {_hex(shared[:32])}  # given, see above\n"
            f"private_key = X25519PrivateKey.from_private_bytes({_hex(private)})\n"
            f"peer_share = X25519PublicKey.from_public_bytes({_hex(peer[-32:])})\n"
            "print((mlkem_shared_secret + private_key.exchange(peer_share)).hex())"
        )
        formula = (
            "ML-KEM-768 shared secret (from encapsulating to the client's key: given) || "
            "X25519(our private key, the last 32 bytes of the client's share)"
        )
    else:
        return None
    return "shared_secret", formula, inputs, shared, snippet


def _finished_steps(
    build: StepBuilder,
    hash_name: str,
    length: int,
    messages: list[tuple[str, bytes]],
    hashes_after: Mapping[str, bytes],
    traffic: Mapping[str, bytes],
) -> None:
    finished = [raw for name, raw in messages if name == "Finished"]
    names = [name for name, _ in messages]
    for index, (who, secret_name) in enumerate(
        (
            ("server", "server_handshake_traffic_secret"),
            ("client", "client_handshake_traffic_secret"),
        )
    ):
        if index >= len(finished) or secret_name not in traffic:
            return
        # The hash over everything before this Finished.
        position = [i for i, name in enumerate(names) if name == "Finished"][index]
        before = names[position - 1]
        if index == 1 and before == "Finished":
            context = hashes_after.get("Finished")
        else:
            context = hashes_after.get(before) if before != "Finished" else None
        if context is None:
            return
        secret = traffic[secret_name]
        finished_key = key_schedule.finished_key(hash_name, secret)
        build.add(
            f"{who} finished_key",
            f'HKDF-Expand-Label({secret_name}, "finished", "", {length})',
            [(secret_name, secret)],
            finished_key,
            f'print(hkdf_expand_label({_hex(secret)}, "finished", b"", {length}).hex())',
        )
        verify_data = crypto.hmac_digest(hash_name, finished_key, context)
        sent = finished[index][4:]
        build.add(
            f"{who} Finished verify_data",
            f"HMAC(finished_key, transcript hash after {before})",
            [("finished_key", finished_key), (f"transcript hash after {before}", context)],
            verify_data,
            f"print(hmac_of({_hex(finished_key)}, {_hex(context)}).hex())",
            note="equals the verify_data the Finished message carried"
            if verify_data == sent
            else "differs from the verify_data the Finished message carried",
        )


def _record_steps(
    build: StepBuilder,
    events: Sequence[Mapping[str, Any]],
    parameters: CipherSuiteParameters,
    keys: Mapping[str, tuple[bytes, bytes]],
) -> None:
    """Nonce, additional data and decryption of the first records under each key."""
    order = {
        "client": ["client_handshake_traffic_secret", "client_application_traffic_secret_0"],
        "server": ["server_handshake_traffic_secret", "server_application_traffic_secret_0"],
    }
    role = _role(events)
    position = {"client": 0, "server": 0}
    sequence = {"client": 0, "server": 0}
    aead_class = "ChaCha20Poly1305" if parameters.aead == "CHACHA20-POLY1305" else "AESGCM"
    for event in events:
        if event.get("kind") != "record" or not event.get("protected"):
            continue
        raw = event.get("raw")
        if not isinstance(raw, (bytes, bytearray)) or len(raw) <= 5:
            continue
        raw = bytes(raw)
        sender = role if event.get("direction") == "sent" else _other(role)
        header, ciphertext = raw[:5], raw[5:]
        # The record is under the current key of its sender, or the next one.
        opened = None
        while position[sender] < len(order[sender]):
            name = order[sender][position[sender]]
            if name not in keys:
                break
            key, iv = keys[name]
            nonce = _nonce(iv, sequence[sender])
            opened = crypto.Aead(parameters.aead, key).open(nonce, ciphertext, header)
            if opened is not None:
                break
            if sequence[sender] == 0:
                opened = None
                position[sender] = len(order[sender])  # no key of ours opens it
                break
            position[sender] += 1
            sequence[sender] = 0
        if opened is None or position[sender] >= len(order[sender]):
            continue
        number = sequence[sender]
        sequence[sender] += 1
        if number >= RECORDS_EXPLAINED_PER_KEY or len(raw) > LONGEST_RECORD_IN_A_SNIPPET:
            continue
        build.add(
            f"{sender} record {number} under {name}: nonce",
            f"{name} iv XOR sequence number {number} (8 bytes, left-padded with zeros)",
            [("iv", iv), ("sequence number", number.to_bytes(8, "big"))],
            nonce,
            f"iv = {_hex(iv)}\n"
            f"print(bytes(a ^ b for a, b in zip(iv, ({number}).to_bytes(len(iv), 'big'))).hex())",
        )
        build.add(
            f"{sender} record {number} under {name}: decrypted",
            f"{aead_class}(key).decrypt(nonce, ciphertext and tag, additional data = record "
            "header): the inner plaintext, its last non-zero byte the real content type",
            [
                ("key", key),
                ("nonce", nonce),
                ("additional data", header),
                ("ciphertext", ciphertext),
            ],
            opened,
            f"cipher = {aead_class}({_hex(key)})\n"
            f"print(cipher.decrypt({_hex(nonce)}, {_hex(ciphertext)}, {_hex(header)}).hex())",
        )


def _nonce(iv: bytes, sequence: int) -> bytes:
    return bytes(a ^ b for a, b in zip(iv, sequence.to_bytes(len(iv), "big"), strict=True))


def _role(events: Sequence[Mapping[str, Any]]) -> str:
    """Which side recorded the trace: the side that sent the ClientHello is the client."""
    for event in events:
        if event.get("kind") == "message" and event.get("name") == "ClientHello":
            return "client" if event.get("direction") == "sent" else "server"
    return "client"


def _other(role: str) -> str:
    return "server" if role == "client" else "client"
