"""What every byte of a TLS 1.3 record means: byte ranges named and explained, for the trace page.

What this module owns: walking the bytes of one record (RFC 8446 section 5)
and of what it carries (handshake messages, alerts, ChangeCipherSpec, the
decrypted TLSInnerPlaintext) and returning `Span`s: a range of bytes, the
field it encodes, its value, and one sentence for a learner.  Spans nest (a
message holds its fields, an extension its type, length and data), and at
every level the spans partition their parent: every byte is explained
exactly once at each depth.

The handshake messages are not described here a second time: their bodies
are read by the codec's own decoders (`Message.read` in hellos.py and
messages.py) through a SpanReader (span_reader.py), which notes where each
field lies; this module only adds the words (field_explanations.py) and
shows the values.  Extension payloads are read the same way, by the codec's
decoders of extensions.py that annotate_extensions.py picks and puts in words
(or, for the payloads the codec never decodes, walked there); names come from
tls/names.py `describe`, explanations of extensions from
extension_registry.py, header lengths from the codec.

What it must never do: raise for bytes it cannot parse, or judge whether a
value is acceptable (that is the handshake's job).  Where the codec refuses
the bytes, what it read is shown and the rest is one "unparsed bytes" span:
malformed input is shown, never an exception.  It never imports tls/toy.
"""

from __future__ import annotations

from ..crypto import AEAD_TAG_LENGTH
from ..errors import AlertDescription, AlertLevel, TLSError
from ..names import describe
from ..span import Span
from .annotate_extensions import (
    HYBRID_SHARE_EXPLANATION,
    PAYLOAD_LIST_ELEMENTS,
    codec_payload_fields,
    extension_data_walker,
    hybrid_share_spans,
    payload_field_value,
    protocol_name,
)
from .byte_walk import UNPARSED, UNPARSED_EXPLANATION, OutOfBytes, Walk, described, hex_preview
from .enums import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateCompressionAlgorithm,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    SignatureScheme,
)
from .extension_registry import explain_extension
from .field_explanations import explain_field
from .messages import HANDSHAKE_HEADER_LENGTH, message_class
from .record import RECORD_HEADER_LENGTH
from .span_reader import Field, SpanReader

__all__ = [
    "RECORD_HEADER_LENGTH",
    "UNPARSED",
    "annotate_handshake_messages",
    "annotate_inner_plaintext",
    "annotate_record",
    "inner_plaintext",
    "pending_handshake_bytes",
]

# --- records (RFC 8446 section 5) -----------------------------------------------------------


def annotate_record(
    raw: bytes, plaintext: bytes | None, protected: bool, *, continued: int = 0
) -> list[Span]:
    """Spans covering every byte of one record exactly as it was on the wire.

    `plaintext` is what the record event carried (for a protected record its
    decrypted content, used only to say what the ciphertext hides; the
    decrypted bytes get their own spans from `annotate_inner_plaintext`).
    `continued` counts the leading bytes of a handshake fragment that finish
    a message begun in an earlier record (see `pending_handshake_bytes`).
    """
    walk = Walk(raw, 0, len(raw))
    try:
        outer_type = walk.number(1)
        type_name = describe(ContentType, outer_type)
        if protected:
            type_explanation = (
                "Protected records always say application_data (23) here; the real type "
                "is hidden inside the encryption (RFC 8446 section 5.2)."
            )
        else:
            type_explanation = f"This record travels in clear and carries {type_name}."
        walk.leaf(1, "content_type", type_explanation, f"{outer_type} ({type_name})")
        walk.leaf(
            2,
            "legacy_record_version",
            "Kept for middleboxes (0x0301 is allowed in a first ClientHello); TLS 1.3 is "
            "negotiated in supported_versions.",
            f"0x{walk.number(2):04x}",
        )
        length = walk.number(2)
        walk.leaf(2, "length", f"{length} bytes of fragment follow the 5-byte header.", str(length))
        if protected:
            _protected_fragment(walk, plaintext)
        else:
            walk.nested(
                walk.remaining,
                "fragment",
                f"The {type_name} content, in clear.",
                lambda inner: _content(inner, outer_type, continued),
            )
    except OutOfBytes:
        pass
    return list(walk.finish())


def _protected_fragment(walk: Walk, plaintext: bytes | None) -> None:
    if walk.remaining < AEAD_TAG_LENGTH:
        return  # too short to hold a tag: shown as unparsed
    hidden = "" if plaintext is None else f" ({len(plaintext)} bytes of content)"
    walk.leaf(
        walk.remaining - AEAD_TAG_LENGTH,
        "encrypted_record",
        f"The encrypted TLSInnerPlaintext{hidden}, its real type byte and any padding; only "
        "the holder of the traffic key can read it.",
        f"{walk.remaining - AEAD_TAG_LENGTH} bytes",
    )
    walk.leaf(
        AEAD_TAG_LENGTH,
        "authentication tag",
        "The AEAD tag: proof that neither the record nor its header (the additional data) "
        "was changed on the way.",
        hex_preview(walk.peek(AEAD_TAG_LENGTH)),
    )


def inner_plaintext(raw: bytes, plaintext: bytes, content_type: int) -> bytes:
    """The TLSInnerPlaintext (content, real type byte, zero padding) behind a record event.

    The padding length follows from the sizes: the encrypted part is the
    inner plaintext plus a 16-byte tag (RFC 8446 section 5.2).
    """
    padding = len(raw) - RECORD_HEADER_LENGTH - AEAD_TAG_LENGTH - len(plaintext) - 1
    return plaintext + bytes((content_type & 0xFF,)) + bytes(max(padding, 0))


def annotate_inner_plaintext(inner: bytes, *, continued: int = 0) -> list[Span]:
    """Spans over a decrypted TLSInnerPlaintext (RFC 8446 section 5.4): content, type, padding."""
    walk = Walk(inner, 0, len(inner))
    unpadded = inner.rstrip(b"\x00")
    if not unpadded:
        return list(walk.finish())  # no type byte at all
    content_type = unpadded[-1]
    type_name = describe(ContentType, content_type)
    walk.nested(
        len(unpadded) - 1,
        "content",
        f"The {type_name} content this record protects.",
        lambda content: _content(content, content_type, continued),
    )
    walk.leaf(
        1,
        "content_type",
        "The real content type, the last non-zero byte: hidden inside the encryption, so "
        "an observer cannot tell handshake, alerts and data apart.",
        f"{content_type} ({type_name})",
    )
    walk.leaf(
        walk.remaining,
        "padding",
        "Zero bytes a sender may add to hide the true length of its content.",
        f"{walk.remaining} zero bytes",
    )
    return list(walk.finish())


def _content(walk: Walk, content_type: int, continued: int) -> None:
    if content_type == ContentType.handshake:
        _handshake_messages(walk, continued)
    elif content_type == ContentType.alert:
        level = walk.number(1)
        walk.leaf(
            1,
            "alert level",
            "warning (1) or fatal (2); in TLS 1.3 every alert but close_notify and "
            "user_canceled is fatal, whatever this byte says.",
            f"{level} ({describe(AlertLevel, level)})",
        )
        description = walk.number(1)
        walk.leaf(
            1,
            "alert description",
            "Why the sender alerts; close_notify means 'I will send nothing more'.",
            f"{description} ({describe(AlertDescription, description)})",
        )
    elif content_type == ContentType.change_cipher_spec:
        walk.leaf(
            1,
            "change_cipher_spec",
            "A dummy record for middlebox compatibility (RFC 8446 appendix D.4); TLS 1.3 "
            "ignores it.",
            f"0x{walk.number(1):02x}",
        )
    elif content_type == ContentType.application_data:
        walk.leaf(
            walk.remaining,
            "application_data",
            "The application's own bytes (here HTTP); TLS never looks inside them.",
            f"{walk.remaining} bytes",
        )


def pending_handshake_bytes(content: bytes, continued: int = 0) -> int:
    """How many bytes of a handshake message are still to come in later records after `content`.

    A message may span records (RFC 8446 section 5.1); the trace page uses this
    to tell the next record of the same direction where its first message
    starts.  A header cut in two cannot be measured, so that case gives 0.
    """
    position = min(continued, len(content))
    if continued > position:
        return continued - position
    while position < len(content):
        if len(content) - position < HANDSHAKE_HEADER_LENGTH:
            return 0
        end = (
            position
            + HANDSHAKE_HEADER_LENGTH
            + int.from_bytes(content[position + 1 : position + 4])
        )
        if end > len(content):
            return end - len(content)
        position = end
    return 0


# --- handshake messages (RFC 8446 section 4) ------------------------------------------------

_MESSAGE_EXPLANATIONS = {
    "client_hello": "The client's opening: what it supports, its key shares, and whom it wants.",
    "server_hello": "The server's choices: the version, the cipher suite and its own key share.",
    "hello_retry_request": (
        "A ServerHello with a special random: 'none of your key shares suits me, send another "
        "ClientHello with a share for this group' (section 4.1.4)."
    ),
    "encrypted_extensions": "The server's answers that need not travel in clear (SNI, ALPN).",
    "certificate_request": "The server asks the client for a certificate.",
    "certificate": "The certificate chain, leaf first, each certificate with its extensions.",
    "certificate_verify": "A signature over the transcript hash: proof of holding the leaf's key.",
    "compressed_certificate": (
        "The Certificate, compressed with an algorithm the client offered (RFC 8879); the "
        "transcript hashes this message as sent."
    ),
    "finished": "An HMAC over the whole transcript: proof that nobody changed the handshake.",
    "new_session_ticket": "A ticket the client may present later to resume (section 4.6.1).",
    "key_update": "The sender moves to the next generation of traffic keys (section 4.6.3).",
    "end_of_early_data": "The end of 0-RTT data.",
}


def annotate_handshake_messages(data: bytes) -> list[Span]:
    """Whole handshake messages outside any record: a CompressedCertificate's Certificate."""
    walk = Walk(data, 0, len(data))
    try:
        _handshake_messages(walk, 0)
    except OutOfBytes:
        pass
    return list(walk.finish())


def _handshake_messages(walk: Walk, continued: int) -> None:
    if continued:
        walk.leaf(
            min(continued, walk.remaining),
            "handshake message (continued)",
            "The rest of a message begun in an earlier record: one handshake message may "
            "span several records (section 5.1).",
        )
    while walk.remaining:
        if walk.remaining < HANDSHAKE_HEADER_LENGTH:
            walk.leaf(
                walk.remaining,
                "handshake header (first part)",
                "The start of a message header; the rest comes in the next record.",
            )
            return
        kind = describe(HandshakeType, walk.number(1))
        body_length = int.from_bytes(walk.peek(HANDSHAKE_HEADER_LENGTH)[1:])
        random_at = walk.position + HANDSHAKE_HEADER_LENGTH + 2
        if (
            kind == "server_hello"
            and walk.data[random_at : random_at + 32] == HELLO_RETRY_REQUEST_RANDOM
        ):
            kind = "hello_retry_request"
        total = HANDSHAKE_HEADER_LENGTH + body_length
        field = kind if total <= walk.remaining else f"{kind} (first part, continues later)"
        walk.nested(
            min(total, walk.remaining),
            field,
            _MESSAGE_EXPLANATIONS.get(kind, "A handshake message TLS 1.3 does not define."),
            lambda message, kind=kind: _message(message, kind),
            f"{body_length}-byte body",
        )


def _message(walk: Walk, kind: str) -> None:
    msg_type = walk.number(1)
    walk.leaf(1, "msg_type", "Which handshake message this is.", f"{msg_type} ({kind})")
    length = walk.number(3)
    walk.leaf(3, "length", f"The body is {length} bytes long.", str(length))
    decoder = message_class(msg_type)
    if decoder is None:
        walk.leaf(walk.remaining, "body", "The body of a message this trace does not interpret.")
        return
    # The codec reads the body; the reader notes each field it reads.
    reader = SpanReader.over(walk.data, walk.position, walk.end, kind)
    try:
        decoder.read(reader)
    except TLSError:
        pass  # what was read is shown; the rest ends up unparsed
    spans = _spans(reader.fields, kind, "")
    walk.spans += spans
    if spans:
        walk.position = spans[-1].start + spans[-1].length


def _explanation(name: str, kind: str, value: object) -> str:
    """The sentence for a field (field_explanations.py); a GREASE ProtocolName says it is one."""
    if name == "ProtocolName" and isinstance(value, bytes):
        return protocol_name(value)[1]
    return explain_field(name, kind)


def _value(field: Field, kind: str) -> str:
    """How a field's value reads on the page (a vector's shows in its own children)."""
    value = field.value
    in_words = payload_field_value(field.name, value)
    if in_words is not None:
        return in_words
    if isinstance(value, bytes):
        return hex_preview(value)
    if not isinstance(value, int):
        return f"{field.length - 3} bytes DER" if field.name == "cert_data" else ""
    if field.name == "legacy_version":
        return f"0x{value:04x}"
    if field.name == "cipher_suite":
        return describe(CipherSuite, value)
    if field.name == "algorithm":
        if kind == "compressed_certificate":
            return describe(CertificateCompressionAlgorithm, value)
        return describe(SignatureScheme, value)
    if field.name == "ticket_lifetime":
        return f"{value} s"
    if field.name == "request_update":
        return f"{value} ({describe(KeyUpdateRequest, value)})"
    return str(value)


def _suite(value: int) -> tuple[str, str]:
    return described(
        CipherSuite,
        value,
        "An AEAD cipher and the hash of the key schedule, for TLS 1.3.",
        "A suite this implementation does not know (from TLS 1.2, perhaps).",
    )


# The lists the codec reads as bare numbers: list name -> one element's name and words.
_LIST_ELEMENTS = {"cipher_suites": ("cipher_suite", _suite), **PAYLOAD_LIST_ELEMENTS}


def _spans(fields: list[Field], kind: str, parent: str) -> list[Span]:
    """The Spans of fields the codec read, in order; zero-length fields (empty vectors) vanish."""
    spans = []
    group: object = None  # a key share's group, read just before its key_exchange
    for field in fields:
        if field.length <= 0:
            continue
        if field.name == "entry":  # an Extension, from extension_block's typed_opaques
            context = "certificate_entry" if parent == "certificate_list" else kind
            spans.append(_extension(field, context))
            continue
        if field.name == "length":
            note = field.note or f"Length prefix: {field.value} bytes follow."
            spans.append(Span(field.start, field.length, "length", note, (), str(field.value)))
            continue
        element = _LIST_ELEMENTS.get(parent)
        if element is not None and not field.name:
            name, in_words = element
            value, explanation = in_words(int(field.value))  # type: ignore[call-overload]
            spans.append(Span(field.start, field.length, name, explanation, (), value))
            continue
        explanation = _explanation(
            field.name.split(" bytes")[0], kind, field.value
        ) or explain_field(parent, kind)
        children = _partition(_spans(field.children, kind, field.name), field)
        value = _value(field, kind)
        if field.name == "group":
            group = field.value
        elif field.name == "key_exchange" and len(children) == 2 and isinstance(group, int):
            # A hybrid share, the client's (in its KeyShareEntry list) or the server's:
            # its ML-KEM and ECDH parts (draft-ietf-tls-ecdhe-mlkem).
            share = children[1]
            sender = "client" if kind == "client_hello" else "server"
            parts = hybrid_share_spans(group, share.start, share.length, sender)
            if parts:
                children, explanation = (children[0], *parts), HYBRID_SHARE_EXPLANATION
                if sender == "client":  # a client's split share is shown by its size
                    value = f"{share.length} bytes"
        spans.append(Span(field.start, field.length, field.name, explanation, children, value))
    if parent == "certificate_list":
        return _certificate_entries(spans)
    return spans


def _partition(children: list[Span], field: Field) -> tuple[Span, ...]:
    """`children`, with whatever of the field they leave uncovered at its end shown as unparsed."""
    if not children:
        return ()
    covered = children[-1].start + children[-1].length
    if covered < field.end:
        children.append(Span(covered, field.end - covered, UNPARSED, UNPARSED_EXPLANATION))
    return tuple(children)


def _certificate_entries(spans: list[Span]) -> list[Span]:
    """The certificate_list's fields grouped as CertificateEntry: cert_data and its extensions."""
    grouped: list[Span] = []
    index = 0
    position = 0
    while position < len(spans):
        if spans[position].field != "cert_data":
            grouped.append(spans[position])  # the length prefix
            position += 1
            continue
        members = spans[position : position + 2]
        if len(members) == 2 and members[1].field != "extensions":
            members = members[:1]
        role = "the leaf, naming the server" if index == 0 else "the issuer of the one before"
        length = members[-1].start + members[-1].length - members[0].start
        grouped.append(
            Span(
                members[0].start,
                length,
                f"CertificateEntry {index}",
                f"Certificate {index}: {role}.",
                tuple(members),
            )
        )
        index += 1
        position += len(members)
    return grouped


def _extension(entry: Field, context: str) -> Span:
    """One Extension (RFC 8446 section 4.2): its type, its data's length, its data walked."""
    type_field = entry.children[0]
    number = int(type_field.value)  # type: ignore[call-overload]
    name = describe(ExtensionType, number)
    explanation = explain_extension(number, context)
    children = [
        Span(
            type_field.start,
            type_field.length,
            "extension_type",
            "Which extension follows.",
            (),
            f"{number} ({name})",
        )
    ]
    if len(entry.children) > 1:
        data = entry.children[1]  # the opaque extension_data: its prefix, then its bytes
        prefix = data.children[0]
        children.append(
            Span(
                prefix.start,
                prefix.length,
                "extension_data length",
                prefix.note or f"{prefix.value} bytes of extension data follow.",
                (),
                str(prefix.value),
            )
        )
        if len(data.children) > 1:
            children.append(_extension_data(data.children[1], number, context, explanation))
    length = children[-1].start + children[-1].length - entry.start
    return Span(entry.start, length, f"extension {name}", explanation, tuple(children))


def _extension_data(data: Field, number: int, context: str, explanation: str) -> Span:
    if isinstance(data.value, bytes):
        fields = codec_payload_fields(number, context, data.value, context)
        if fields is not None:  # the codec's own decoder read it
            spans = [_shifted(span, data.start) for span in _spans(fields, context, "")]
            payload = Field(data.start, data.length, "extension_data")
            return Span(
                data.start, data.length, "extension_data", explanation, _partition(spans, payload)
            )
    walker = extension_data_walker(number, context)
    if walker is None or data.name.endswith(")"):  # none, or cut short: shown as bytes
        return Span(data.start, data.length, "extension_data", explanation, (), _value(data, ""))
    payload = data.value if isinstance(data.value, bytes) else b""
    walk = Walk(payload, 0, len(payload))
    try:
        walker(walk)
    except OutOfBytes:
        pass
    return Span(
        data.start,
        data.length,
        "extension_data",
        explanation,
        tuple(_shifted(span, data.start) for span in walk.finish()),
    )


def _shifted(span: Span, offset: int) -> Span:
    """A payload's span moved from offsets in the payload to offsets in the record."""
    return Span(
        span.start + offset,
        span.length,
        span.field,
        span.explanation,
        tuple(_shifted(child, offset) for child in span.children),
        span.value,
    )
