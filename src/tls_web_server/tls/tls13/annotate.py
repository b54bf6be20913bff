"""What every byte of a TLS 1.3 record means: byte ranges named and explained, for the trace page.

What this module owns: walking the bytes of one record (RFC 8446 section 5)
and of what it carries (the handshake messages of section 4 with their
extensions, alerts, ChangeCipherSpec, the decrypted TLSInnerPlaintext) and
returning `Span`s: a range of bytes, the field it encodes, its value, and one
sentence for a learner.  Spans nest (a message holds its fields, an
extension its type, length and data), and at every level the spans
partition their parent: every byte is explained exactly once at each depth.
Names come from tls/names.py `describe`, extension explanations from
tls13/extension_registry.py, and header lengths from the codec.

What it must never do: raise for bytes it cannot parse, or judge whether a
value is acceptable (that is the handshake's job).  A walk that runs out of
bytes, or meets bytes its structure has no place for, ends in an "unparsed
bytes" span: malformed input is shown, never an exception.  It walks the
bytes itself instead of trusting decoded messages, so that the page shows
exactly what was on the wire.  It never imports tls/toy.

It runs longer than most modules because it is a tour of every structure of
RFC 8446 section 4, each field written next to the sentence that explains
it, in wire order; split up, the tour would no longer read in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from ..crypto import AEAD_TAG_LENGTH
from ..errors import AlertDescription, AlertLevel
from ..names import describe, is_grease, is_grease_protocol
from ..span import Span
from .enums import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    CipherSuite,
    ContentType,
    ECPointFormat,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .extension_registry import GREASE_EXPLANATION, explain_extension
from .messages import HANDSHAKE_HEADER_LENGTH
from .record import RECORD_HEADER_LENGTH

UNPARSED = "unparsed bytes"
_UNPARSED_EXPLANATION = (
    "These bytes do not fit the structure expected here (malformed or cut short); "
    "they are shown as they are."
)


# --- naming wire values: tls/names.py describe(), with a sentence for each kind -------------


def _described(enum: type[IntEnum], value: int, known: str, unknown: str) -> tuple[str, str]:
    """(value, explanation) for a wire value: GREASE, unknown to us, or known."""
    if is_grease(value):
        return describe(enum, value), GREASE_EXPLANATION
    name = describe(enum, value)
    return name, unknown if name.startswith("unknown") else known


def _hex_preview(data: bytes, limit: int = 8) -> str:
    return data[:limit].hex() + ("…" if len(data) > limit else "")


# --- the walk -------------------------------------------------------------------------------


class _OutOfBytes(Exception):
    """A field runs past the range that encloses it: the rest of that range stays unparsed."""


class _Walk:
    """Spans over data[position:end], in order; whatever is not claimed ends up unparsed."""

    __slots__ = ("data", "end", "position", "spans")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data = data
        self.position = start
        self.end = end
        self.spans: list[Span] = []

    @property
    def remaining(self) -> int:
        return self.end - self.position

    def peek(self, size: int) -> bytes:
        """The next `size` bytes, not claimed yet."""
        if size > self.remaining:
            raise _OutOfBytes
        return self.data[self.position : self.position + size]

    def number(self, size: int) -> int:
        """The next `size`-byte big-endian integer, not claimed yet."""
        return int.from_bytes(self.peek(size), "big")

    def leaf(self, length: int, field: str, explanation: str, value: str = "") -> None:
        """Claim `length` bytes as one field with no inner structure."""
        if length > self.remaining:
            raise _OutOfBytes
        if length:
            self.spans.append(Span(self.position, length, field, explanation, (), value))
        self.position += length

    def nested(
        self, length: int, field: str, explanation: str, fill: Callable[[_Walk], None], value=""
    ) -> None:
        """Claim `length` bytes as one field whose inside `fill` walks (leftovers: unparsed)."""
        if length > self.remaining:
            raise _OutOfBytes
        inner = _Walk(self.data, self.position, self.position + length)
        try:
            fill(inner)
        except _OutOfBytes:
            pass
        if length:
            self.spans.append(
                Span(self.position, length, field, explanation, inner.finish(), value)
            )
        self.position += length

    def group(
        self, field: str, explanation: str, fill: Callable[[_Walk], None], value: str = ""
    ) -> None:
        """Fields that belong together but carry no length of their own (a CertificateEntry)."""
        inner = _Walk(self.data, self.position, self.end)
        try:
            fill(inner)
        finally:
            # Even when `fill` ran out of bytes, what it claimed forms the group;
            # the exception then ends the enclosing walk as well.
            if inner.position > self.position:
                length = inner.position - self.position
                self.spans.append(
                    Span(self.position, length, field, explanation, tuple(inner.spans), value)
                )
                self.position = inner.position

    def vector(
        self,
        length_size: int,
        field: str,
        explanation: str,
        fill: Callable[[_Walk], None] | None = None,
        value: str = "",
    ) -> None:
        """A `<..>` vector (RFC 8446 section 3.4): a length prefix, then the elements."""
        length = self.number(length_size)
        available = self.remaining - length_size
        if length <= available:
            prefix = f"Length prefix: {length} bytes follow."
        else:
            prefix = f"Length prefix: announces {length} bytes, but only {available} remain."

        def walk_vector(inner: _Walk) -> None:
            inner.leaf(length_size, "length", prefix, str(length))
            size = min(length, inner.remaining)
            if fill is not None:
                fill(inner)
                return
            name = f"{field} bytes"
            if size < length:
                name += f" (cut short: {size} of {length})"
            inner.leaf(size, name, explanation, _hex_preview(inner.peek(size)))

        self.nested(
            min(length_size + length, self.remaining), field, explanation, walk_vector, value
        )

    def each(self, size: int, field: str, describe: Callable[[int], tuple[str, str]]) -> None:
        """Fixed-size elements up to the end of the walk, each named by `describe(number)`."""
        while self.remaining:
            value, explanation = describe(self.number(size))
            self.leaf(size, field, explanation, value)

    def finish(self) -> tuple[Span, ...]:
        """The spans, with any unclaimed rest of the range as one unparsed span."""
        if self.remaining > 0:
            self.spans.append(Span(self.position, self.remaining, UNPARSED, _UNPARSED_EXPLANATION))
            self.position = self.end
        return tuple(self.spans)

    def vector_contents(self, length_size: int) -> bytes:
        """The bytes inside the vector that starts here (clamped to what is there)."""
        length = self.number(length_size)
        start = self.position + length_size
        return self.data[start : min(start + length, self.end)]


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
    walk = _Walk(raw, 0, len(raw))
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
    except _OutOfBytes:
        pass
    return list(walk.finish())


def _protected_fragment(walk: _Walk, plaintext: bytes | None) -> None:
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
        _hex_preview(walk.peek(AEAD_TAG_LENGTH)),
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
    walk = _Walk(inner, 0, len(inner))
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


def _content(walk: _Walk, content_type: int, continued: int) -> None:
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
    "finished": "An HMAC over the whole transcript: proof that nobody changed the handshake.",
    "new_session_ticket": "A ticket the client may present later to resume (section 4.6.1).",
    "key_update": "The sender moves to the next generation of traffic keys (section 4.6.3).",
    "end_of_early_data": "The end of 0-RTT data.",
}


def _handshake_messages(walk: _Walk, continued: int) -> None:
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


def _message(walk: _Walk, kind: str) -> None:
    msg_type = walk.number(1)
    walk.leaf(1, "msg_type", "Which handshake message this is.", f"{msg_type} ({kind})")
    length = walk.number(3)
    walk.leaf(3, "length", f"The body is {length} bytes long.", str(length))
    body = _BODIES.get(kind)
    if body is None:
        walk.leaf(walk.remaining, "body", "The body of a message this trace does not interpret.")
    else:
        body(walk)


def _legacy_version(walk: _Walk) -> None:
    walk.leaf(
        2,
        "legacy_version",
        "Frozen at 0x0303 (TLS 1.2) for compatibility; the real version is in supported_versions.",
        f"0x{walk.number(2):04x}",
    )


def _suite(value: int) -> tuple[str, str]:
    return _described(
        CipherSuite,
        value,
        "An AEAD cipher and the hash of the key schedule, for TLS 1.3.",
        "A suite this implementation does not know (from TLS 1.2, perhaps).",
    )


def _client_hello(walk: _Walk) -> None:
    _legacy_version(walk)
    walk.leaf(
        32,
        "random",
        "32 fresh random bytes from the client; they make every transcript unique.",
        _hex_preview(walk.peek(32)),
    )
    walk.vector(
        1,
        "legacy_session_id",
        "Unused by TLS 1.3; a non-empty one makes the handshake look like TLS 1.2 resumption "
        "to middleboxes (appendix D.4).",
    )
    walk.vector(
        2,
        "cipher_suites",
        "The cipher suites the client can use, in its order of preference.",
        lambda inner: inner.each(2, "cipher_suite", _suite),
    )
    walk.vector(
        1, "legacy_compression_methods", "Must be the single byte 0 (no compression) in TLS 1.3."
    )
    if walk.remaining:  # a hello from before extensions existed ends here
        _extensions(walk, "client_hello")


def _server_hello(walk: _Walk, retry: bool) -> None:
    _legacy_version(walk)
    if retry:
        explanation = "SHA-256 of 'HelloRetryRequest': marks this ServerHello as a retry request."
    else:
        explanation = "32 fresh random bytes from the server."
    walk.leaf(32, "random", explanation, _hex_preview(walk.peek(32)))
    walk.vector(1, "legacy_session_id_echo", "The client's legacy_session_id, echoed back.")
    walk.leaf(
        2,
        "cipher_suite",
        "The one cipher suite the server chose from the client's list.",
        describe(CipherSuite, walk.number(2)),
    )
    walk.leaf(1, "legacy_compression_method", "Always 0.", str(walk.number(1)))
    _extensions(walk, "hello_retry_request" if retry else "server_hello")


def _certificate(walk: _Walk) -> None:
    walk.vector(
        1,
        "certificate_request_context",
        "Empty in a server's Certificate; a client echoes the CertificateRequest's here.",
    )

    def entries(inner: _Walk) -> None:
        number = 0
        while inner.remaining:
            role = "the leaf, naming the server" if number == 0 else "the issuer of the one before"
            inner.group(f"CertificateEntry {number}", f"Certificate {number}: {role}.", _entry)
            number += 1

    walk.vector(3, "certificate_list", "The chain, leaf first; the root may be left out.", entries)


def _entry(walk: _Walk) -> None:
    walk.vector(
        3,
        "cert_data",
        "An X.509 certificate in DER: a name, a public key, validity dates and the issuer's "
        "signature over them.",
        value=f"{walk.number(3)} bytes DER",
    )
    _extensions(walk, "certificate_entry")


def _certificate_verify(walk: _Walk) -> None:
    walk.leaf(
        2,
        "algorithm",
        "The signature scheme (section 4.2.3), one the client offered.",
        describe(SignatureScheme, walk.number(2)),
    )
    walk.vector(
        2,
        "signature",
        "Signed: 64 spaces, a context string and the transcript hash (section 4.4.3).",
    )


def _finished(walk: _Walk) -> None:
    walk.leaf(
        walk.remaining,
        "verify_data",
        "HMAC of the transcript hash, keyed from this side's handshake traffic secret.",
        _hex_preview(walk.peek(walk.remaining)),
    )


def _new_session_ticket(walk: _Walk) -> None:
    walk.leaf(4, "ticket_lifetime", "Seconds the ticket may be used.", f"{walk.number(4)} s")
    walk.leaf(
        4,
        "ticket_age_add",
        "A random number added to the ticket's age, so that resumptions cannot be linked.",
        str(walk.number(4)),
    )
    walk.vector(1, "ticket_nonce", "Makes each ticket's resumption PSK different.")
    walk.vector(2, "ticket", "Opaque to the client: the server's sealed memory of this session.")
    _extensions(walk, "new_session_ticket")


def _key_update(walk: _Walk) -> None:
    value = walk.number(1)
    walk.leaf(
        1,
        "request_update",
        "Whether the peer should update its own sending keys as well.",
        f"{value} ({describe(KeyUpdateRequest, value)})",
    )


def _certificate_request(walk: _Walk) -> None:
    walk.vector(1, "certificate_request_context", "An identifier the client's answer must echo.")
    _extensions(walk, "certificate_request")


_BODIES: dict[str, Callable[[_Walk], None]] = {
    "client_hello": _client_hello,
    "server_hello": lambda walk: _server_hello(walk, retry=False),
    "hello_retry_request": lambda walk: _server_hello(walk, retry=True),
    "encrypted_extensions": lambda walk: _extensions(walk, "encrypted_extensions"),
    "certificate_request": _certificate_request,
    "certificate": _certificate,
    "certificate_verify": _certificate_verify,
    "finished": _finished,
    "new_session_ticket": _new_session_ticket,
    "key_update": _key_update,
    "end_of_early_data": lambda walk: None,
}


# --- extensions (RFC 8446 section 4.2) ------------------------------------------------------


def _extensions(walk: _Walk, context: str) -> None:
    def each_extension(inner: _Walk) -> None:
        while inner.remaining:
            number = inner.number(2)
            inner.group(
                f"extension {describe(ExtensionType, number)}",
                explain_extension(number, context),
                lambda extension, number=number: _extension(extension, number, context),
            )

    walk.vector(2, "extensions", "Each extension: a type, a length and its data.", each_extension)


def _extension(walk: _Walk, number: int, context: str) -> None:
    name = describe(ExtensionType, number)
    walk.leaf(2, "extension_type", "Which extension follows.", f"{number} ({name})")
    length = walk.number(2)
    walk.leaf(2, "extension_data length", f"{length} bytes of extension data follow.", str(length))
    data_walker = _EXTENSION_DATA.get((number, context)) or _EXTENSION_DATA.get((number, "any"))
    explanation = explain_extension(number, context)
    if data_walker is None:
        walk.leaf(length, "extension_data", explanation, _hex_preview(walk.peek(length)))
    else:
        walk.nested(length, "extension_data", explanation, data_walker)


def _version(value: int) -> tuple[str, str]:
    return _described(
        ProtocolVersion,
        value,
        "A protocol version.",
        "A version this implementation does not know.",
    )


def _group(value: int) -> tuple[str, str]:
    return _described(
        NamedGroup,
        value,
        "An elliptic curve group for the (EC)DHE key exchange.",
        "A group this implementation does not know.",
    )


def _scheme(value: int) -> tuple[str, str]:
    return _described(
        SignatureScheme,
        value,
        "A signature algorithm with its hash.",
        "A scheme this implementation does not know.",
    )


def _mode(value: int) -> tuple[str, str]:
    return _described(
        PskKeyExchangeMode,
        value,
        "A way to key a resumed session.",
        "A mode this implementation does not know.",
    )


def _compression_algorithm(value: int) -> tuple[str, str]:
    return _described(
        CertificateCompressionAlgorithm,
        value,
        "A compression algorithm for the Certificate message (RFC 8879).",
        "An algorithm this implementation does not know.",
    )


def _point_format(value: int) -> tuple[str, str]:
    return _described(
        ECPointFormat,
        value,
        "An elliptic curve point encoding (RFC 8422).",
        "A format this implementation does not know.",
    )


def _server_name_list(walk: _Walk) -> None:
    def entries(inner: _Walk) -> None:
        while inner.remaining:
            inner.group("ServerName", "One name the client asks for.", _server_name)

    walk.vector(2, "server_name_list", "The names asked for (in practice one host_name).", entries)


def _server_name(walk: _Walk) -> None:
    name_type = walk.number(1)
    walk.leaf(1, "name_type", "0 means host_name, the only type ever used.", str(name_type))
    name = walk.vector_contents(2).decode("ascii", "replace")
    walk.vector(2, "host_name", "The DNS name of the server, ASCII.", value=name)


def _key_share_entry(walk: _Walk) -> None:
    walk.leaf(2, "group", "The group of this public key.", describe(NamedGroup, walk.number(2)))
    walk.vector(
        2,
        "key_exchange",
        "The ephemeral public key; combined with the peer's private key it gives the shared "
        "secret.",
        value=_hex_preview(walk.vector_contents(2)),
    )


def _client_shares(walk: _Walk) -> None:
    def entries(inner: _Walk) -> None:
        while inner.remaining:
            inner.group("KeyShareEntry", "One public key for one group.", _key_share_entry)

    walk.vector(2, "client_shares", "The client's public keys.", entries)


def _offered_psks(walk: _Walk) -> None:
    def identities(inner: _Walk) -> None:
        while inner.remaining:
            inner.group("PskIdentity", "One offered ticket.", _psk_identity)

    def binders(inner: _Walk) -> None:
        while inner.remaining:
            inner.vector(1, "PskBinderEntry", "An HMAC over the hello so far, keyed from the PSK.")

    walk.vector(2, "identities", "The tickets offered.", identities)
    walk.vector(2, "binders", "One binder per ticket, in the same order.", binders)


def _psk_identity(walk: _Walk) -> None:
    walk.vector(2, "identity", "The ticket, as the server issued it.")
    walk.leaf(
        4, "obfuscated_ticket_age", "The ticket's age plus ticket_age_add.", str(walk.number(4))
    )


def _protocol_names(field: str, explanation: str) -> Callable[[_Walk], None]:
    """A ProtocolName list (RFC 7301 section 3.1), as ALPN and ALPS carry it."""

    def names(inner: _Walk) -> None:
        while inner.remaining:
            raw = inner.vector_contents(1)
            if is_grease_protocol(raw):
                name, about = f"GREASE 0x{raw.hex()}", GREASE_EXPLANATION
            else:
                name, about = raw.decode("ascii", "replace"), "One protocol name."
            inner.vector(1, "ProtocolName", about, value=name)

    return lambda walk: walk.vector(2, field, explanation, names)


def _status_request(walk: _Walk) -> None:
    """RFC 6066 section 8: CertificateStatusRequest, for OCSP two vectors the server may use."""
    status_type = walk.number(1)
    walk.leaf(
        1,
        "status_type",
        "1 (ocsp): the client would like an OCSP response stapled.",
        f"{status_type} ({describe(CertificateStatusType, status_type)})",
    )
    if status_type == CertificateStatusType.ocsp:
        walk.vector(2, "responder_id_list", "OCSP responders the client trusts (usually none).")
        walk.vector(2, "request_extensions", "OCSP request extensions (usually none).")


_HPKE_KDFS = {1: "HKDF-SHA256", 2: "HKDF-SHA384", 3: "HKDF-SHA512"}  # RFC 9180 section 7.2
_HPKE_AEADS = {1: "AES-128-GCM", 2: "AES-256-GCM", 3: "ChaCha20Poly1305"}  # section 7.3


def _encrypted_client_hello(walk: _Walk) -> None:
    """draft-ietf-tls-esni section 5: the outer ClientHello's ECHClientHello."""
    hello_type = walk.number(1)
    walk.leaf(
        1,
        "type",
        "0 (outer): this hello carries an encrypted inner hello; 1 (inner) marks the inner one.",
        {0: "0 (outer)", 1: "1 (inner)"}.get(hello_type, f"unknown {hello_type}"),
    )
    if hello_type != 0:
        return
    kdf = walk.number(2)
    walk.leaf(
        2, "kdf_id", "The HPKE key derivation function.", _HPKE_KDFS.get(kdf, f"unknown {kdf}")
    )
    aead = walk.number(2)
    walk.leaf(2, "aead_id", "The HPKE cipher.", _HPKE_AEADS.get(aead, f"unknown {aead}"))
    walk.leaf(
        1,
        "config_id",
        "Which of the server's ECH keys was used (random in a GREASE ECH).",
        str(walk.number(1)),
    )
    walk.vector(2, "enc", "The HPKE encapsulated key: the sender's ephemeral public key.")
    walk.vector(
        2,
        "payload",
        "The sealed inner ClientHello (in a GREASE ECH, random bytes of a plausible size).",
    )


def _padding(walk: _Walk) -> None:
    walk.leaf(
        walk.remaining,
        "padding",
        "Zero bytes, there only to make the hello longer (RFC 7685).",
        f"{walk.remaining} bytes",
    )


def _single(size: int, field: str, explanation: str, name: Callable[[int], str] = str):
    return lambda walk: walk.leaf(size, field, explanation, name(walk.number(size)))


def _list(length_size: int, field: str, element: str, size: int, describe, explanation: str):
    return lambda walk: walk.vector(
        length_size, field, explanation, lambda inner: inner.each(size, element, describe)
    )


_SCHEMES = _list(2, "supported_signature_algorithms", "scheme", 2, _scheme, "The schemes accepted.")
_APPLICATION_SETTINGS = _protocol_names(
    "supported_protocols", "The ALPN protocols for which the client would send settings."
)

# (extension type, message) -> how to walk its extension_data; "any" for every other message.
# A type missing here is shown as one opaque range, explained by extension_registry.py.
_EXTENSION_DATA: dict[tuple[int, str], Callable[[_Walk], None]] = {
    (ExtensionType.server_name, "client_hello"): _server_name_list,
    (ExtensionType.status_request, "client_hello"): _status_request,
    (ExtensionType.supported_versions, "client_hello"): _list(
        1, "versions", "version", 2, _version, "The versions offered, preferred first."
    ),
    (ExtensionType.supported_versions, "any"): _single(
        2,
        "selected_version",
        "The version chosen.",
        lambda value: describe(ProtocolVersion, value),
    ),
    (ExtensionType.supported_groups, "any"): _list(
        2, "named_group_list", "group", 2, _group, "The groups supported, preferred first."
    ),
    (ExtensionType.ec_point_formats, "any"): _list(
        1, "ec_point_format_list", "format", 1, _point_format, "The point formats accepted."
    ),
    (ExtensionType.signature_algorithms, "any"): _SCHEMES,
    (ExtensionType.signature_algorithms_cert, "any"): _SCHEMES,
    (ExtensionType.delegated_credential, "any"): _SCHEMES,
    (ExtensionType.key_share, "client_hello"): _client_shares,
    (ExtensionType.key_share, "server_hello"): _key_share_entry,
    (ExtensionType.key_share, "hello_retry_request"): _single(
        2,
        "selected_group",
        "The group to send a key share for.",
        lambda value: describe(NamedGroup, value),
    ),
    (ExtensionType.psk_key_exchange_modes, "any"): _list(
        1, "ke_modes", "mode", 1, _mode, "The modes the client accepts."
    ),
    (ExtensionType.pre_shared_key, "client_hello"): _offered_psks,
    (ExtensionType.pre_shared_key, "server_hello"): _single(
        2, "selected_identity", "The index of the accepted ticket."
    ),
    (ExtensionType.application_layer_protocol_negotiation, "any"): _protocol_names(
        "protocol_name_list", "Protocol names such as http/1.1 or h2."
    ),
    (ExtensionType.application_settings, "any"): _APPLICATION_SETTINGS,
    (ExtensionType.application_settings_old, "any"): _APPLICATION_SETTINGS,
    (ExtensionType.compress_certificate, "any"): _list(
        1, "algorithms", "algorithm", 2, _compression_algorithm, "The algorithms offered."
    ),
    (ExtensionType.encrypted_client_hello, "client_hello"): _encrypted_client_hello,
    (ExtensionType.renegotiation_info, "any"): lambda walk: walk.vector(
        1, "renegotiated_connection", "Empty in a first handshake (RFC 5746 section 3.2)."
    ),
    (ExtensionType.padding, "any"): _padding,
    (ExtensionType.cookie, "any"): lambda walk: walk.vector(2, "cookie", "The value to echo."),
    (ExtensionType.early_data, "new_session_ticket"): _single(
        4, "max_early_data_size", "Bytes of 0-RTT data allowed."
    ),
    (ExtensionType.record_size_limit, "any"): _single(
        2, "record_size_limit", "The limit, in bytes."
    ),
}
