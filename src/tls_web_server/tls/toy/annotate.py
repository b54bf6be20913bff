"""What every byte of a toytls record means: byte ranges named and explained, for the trace page.

What this module owns: walking one toytls record (wire.py: a 4-byte length,
then a payload) and its payload, either a handshake message (tag-length-
value fields) or an application record (record.py: sequence number, nonce,
AES-256-GCM ciphertext and tag), and returning `Span`s: a range, the field
it encodes, its value and one sentence for a learner.  At every level the
spans partition their parent, so every byte is explained exactly once.

What it must never do: raise for bytes it cannot parse (a truncated or
malformed record ends in an "unparsed bytes" span), decrypt or verify
anything, or import tls/tls13 (`Span` comes from tls/span.py, shared
with tls13/annotate.py).
"""

from __future__ import annotations

from ..span import Span
from .record import NONCE_LENGTH, SEQUENCE_LENGTH, TAG_LENGTH
from .wire import FIELD_HEADER_LENGTH, FIELD_TAG_LENGTH, RECORD_HEADER_LENGTH, Tag

UNPARSED = "unparsed bytes"
_UNPARSED_EXPLANATION = (
    "These bytes do not fit the structure expected here (malformed or cut short); "
    "they are shown as they are."
)

_FIELD_EXPLANATIONS = {
    Tag.X25519_PUBLIC_KEY: (
        "A fresh X25519 public key; with the peer's private key it gives the shared secret, "
        "which an observer of both public keys cannot compute."
    ),
    Tag.CERTIFICATE: (
        "An X.509 certificate in DER (leaf first, then intermediates): a name, a public key "
        "and the issuer's signature."
    ),
    Tag.SIGNATURE: (
        "The server's signature over client_public_key || server_public_key, made with the "
        "leaf certificate's private key (an RSA key signs with PSS and the longest salt, as "
        "in the walkthrough): it ties the certificate to this very handshake."
    ),
}


def _preview(data: bytes, limit: int = 8) -> str:
    return data[:limit].hex() + ("…" if len(data) > limit else "")


def _unparsed(start: int, end: int) -> Span:
    return Span(start, end - start, UNPARSED, _UNPARSED_EXPLANATION)


def annotate_record(raw: bytes, plaintext: bytes | None, protected: bool) -> list[Span]:
    """Spans covering every byte of one toytls record as it was on the wire.

    `protected` tells an application record (sequence, nonce, ciphertext,
    tag) from a handshake message (fields in clear); `plaintext` only says
    how many bytes the ciphertext hides.
    """
    if len(raw) < RECORD_HEADER_LENGTH:
        return [_unparsed(0, len(raw))] if raw else []
    length = int.from_bytes(raw[:RECORD_HEADER_LENGTH], "big")
    available = len(raw) - RECORD_HEADER_LENGTH
    if length == available:
        explanation = f"uint32: {length} bytes of payload follow; toytls frames every record so."
    else:
        explanation = f"uint32: announces {length} bytes of payload, but {available} follow."
    spans = [Span(0, RECORD_HEADER_LENGTH, "record length", explanation, (), str(length))]
    if not available:
        return spans
    if protected:
        spans.append(_application_payload(raw, RECORD_HEADER_LENGTH, plaintext))
    else:
        spans.append(
            Span(
                RECORD_HEADER_LENGTH,
                available,
                "handshake message",
                "A handshake message in clear: a run of tag-length-value fields (no type "
                "byte: the message is known by its place in the conversation).",
                tuple(_fields(raw, RECORD_HEADER_LENGTH)),
                f"{available} bytes",
            )
        )
    return spans


def _application_payload(raw: bytes, start: int, plaintext: bytes | None) -> Span:
    end = len(raw)
    children: list[Span] = []
    position = start
    if end - start >= SEQUENCE_LENGTH + NONCE_LENGTH + TAG_LENGTH:
        sequence = int.from_bytes(raw[position : position + SEQUENCE_LENGTH], "big")
        children.append(
            Span(
                position,
                SEQUENCE_LENGTH,
                "sequence",
                "uint64 record number, from 0 in each direction; it is also the AEAD's "
                "associated data, so a replayed or reordered record fails to open.",
                (),
                str(sequence),
            )
        )
        position += SEQUENCE_LENGTH
        children.append(
            Span(
                position,
                NONCE_LENGTH,
                "nonce",
                "12 random bytes; AES-GCM needs a nonce never used twice with the same key.",
                (),
                _preview(raw[position : position + NONCE_LENGTH]),
            )
        )
        position += NONCE_LENGTH
        hidden = "" if plaintext is None else f" ({len(plaintext)} bytes of plaintext)"
        ciphertext_length = end - position - TAG_LENGTH
        if ciphertext_length:
            children.append(
                Span(
                    position,
                    ciphertext_length,
                    "ciphertext",
                    f"The application bytes{hidden}, encrypted with AES-256-GCM under the "
                    "sender's write key.",
                    (),
                    f"{ciphertext_length} bytes",
                )
            )
        position += ciphertext_length
        children.append(
            Span(
                position,
                TAG_LENGTH,
                "tag",
                "The GCM authentication tag: proof that ciphertext and sequence are unchanged.",
                (),
                _preview(raw[position:end]),
            )
        )
        position = end
    else:
        children.append(_unparsed(position, end))
    return Span(
        start,
        end - start,
        "application record",
        "Encrypted application data: sequence, nonce, ciphertext and tag.",
        tuple(children),
    )


def _fields(raw: bytes, start: int) -> list[Span]:
    """The tag-length-value fields of a handshake payload, from `start` to the end of `raw`."""
    spans: list[Span] = []
    position = start
    end = len(raw)
    while position < end:
        if end - position < FIELD_HEADER_LENGTH:
            spans.append(_unparsed(position, end))
            break
        raw_tag = int.from_bytes(raw[position : position + FIELD_TAG_LENGTH], "big")
        length = int.from_bytes(
            raw[position + FIELD_TAG_LENGTH : position + FIELD_HEADER_LENGTH], "big"
        )
        try:
            tag: Tag | None = Tag(raw_tag)
            name = tag.name
        except ValueError:
            tag, name = None, f"unknown tag 0x{raw_tag:04x}"
        value_start = position + FIELD_HEADER_LENGTH
        value_end = min(value_start + length, end)
        children = [
            Span(
                position,
                FIELD_TAG_LENGTH,
                "tag",
                "uint16: what the field holds.",
                (),
                f"0x{raw_tag:04x} ({name})",
            ),
            Span(
                position + FIELD_TAG_LENGTH,
                FIELD_HEADER_LENGTH - FIELD_TAG_LENGTH,
                "length",
                f"uint32: {length} bytes of value follow"
                + ("." if value_start + length <= end else f", only {end - value_start} remain."),
                (),
                str(length),
            ),
        ]
        if value_end > value_start:
            explanation = _FIELD_EXPLANATIONS.get(tag) if tag is not None else None
            children.append(
                Span(
                    value_start,
                    value_end - value_start,
                    "value",
                    explanation or "A field this implementation does not know.",
                    (),
                    _preview(raw[value_start:value_end]),
                )
            )
        spans.append(
            Span(
                position,
                value_end - position,
                f"field {name}",
                "One tag-length-value field.",
                tuple(children),
                f"{length} bytes",
            )
        )
        position = value_end
    return spans


def annotate_plaintext(plaintext: bytes) -> list[Span]:
    """Spans over the decrypted bytes of an application record: the application's own data."""
    if not plaintext:
        return []
    return [
        Span(
            0,
            len(plaintext),
            "application_data",
            "The application's own bytes (here HTTP); toytls never looks inside them.",
            (),
            f"{len(plaintext)} bytes",
        )
    ]
