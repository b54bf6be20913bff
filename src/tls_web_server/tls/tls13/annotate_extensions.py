"""What the bytes inside each extension mean, for the trace page: the codec's reads, in words.

What this module owns, for each (extension type, message) whose payload the
trace page shows field by field:
- where the codec reads it, `codec_payload_fields`: the payload's own decoder
  in extensions.py, run with a span_reader.SpanRecorder (the ClientHello
  payloads decoded by index) or a SpanReader (those read through a Reader);
- the values of the fields those decoders name, in words
  (`payload_field_value`, `PAYLOAD_LIST_ELEMENTS`, `protocol_name`); the
  sentence for each field is in field_explanations.py, with the messages';
- a hybrid key share's two parts (`hybrid_share_parts`, `hybrid_share_spans`),
  which the codec reads as one key_exchange;
- a walker, next to the structure of its RFC, for each payload we only show
  and never decode (ECH, ALPS, status_request, ...): `extension_data_walker`.
The extension block around the payloads is read by the codec itself
(extension_block.py); what each extension is for is said once, in
extension_registry.py.

What it must never do: raise for a payload it cannot parse (what the codec
read before refusing it is shown, a Walk shows the rest as unparsed), judge
a value, or describe a layout the codec decodes: that layout is the codec's.
A type with neither a decoder nor a walker here is shown as one opaque range,
which is never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from .. import crypto
from ..errors import TLSError
from ..names import describe, is_grease_protocol
from ..span import Span
from . import extensions as ext
from .byte_walk import Walk, described
from .enums import (
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    ECPointFormat,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .extension_registry import GREASE_EXPLANATION
from .field_explanations import explain_field
from .span_reader import Field, SpanReader, SpanRecorder
from .wire import Reader


def _version(value: int) -> tuple[str, str]:
    return described(
        ProtocolVersion,
        value,
        "A protocol version.",
        "A version this implementation does not know.",
    )


def _group(value: int) -> tuple[str, str]:
    return described(
        NamedGroup,
        value,
        "An elliptic curve group for the (EC)DHE key exchange.",
        "A group this implementation does not know.",
    )


def _scheme(value: int) -> tuple[str, str]:
    return described(
        SignatureScheme,
        value,
        "A signature algorithm with its hash.",
        "A scheme this implementation does not know.",
    )


def _mode(value: int) -> tuple[str, str]:
    return described(
        PskKeyExchangeMode,
        value,
        "A way to key a resumed session.",
        "A mode this implementation does not know.",
    )


def _point_format(value: int) -> tuple[str, str]:
    return described(
        ECPointFormat,
        value,
        "An elliptic curve point encoding (RFC 8422).",
        "A format this implementation does not know.",
    )


# --- the codec's payload fields, in words ---------------------------------------------------

# The lists the codec reads as bare numbers (their elements carry no name of
# their own): list name -> what one element is called, and its value and sentence.
PAYLOAD_LIST_ELEMENTS: dict[str, tuple[str, Callable[[int], tuple[str, str]]]] = {
    "versions": ("version", _version),
    "named_group_list": ("group", _group),
    "supported_signature_algorithms": ("scheme", _scheme),
    "ke_modes": ("mode", _mode),
}


def protocol_name(raw: bytes) -> tuple[str, str]:
    """A ProtocolName (RFC 7301 section 3.1) as shown, and its sentence (GREASE: RFC 8701)."""
    if is_grease_protocol(raw):
        return f"GREASE 0x{raw.hex()}", GREASE_EXPLANATION
    return raw.decode("ascii", "replace"), explain_field("ProtocolName", "")


def payload_field_value(name: str, value: object) -> str | None:
    """A payload field's value in words, or None where a number or a hex preview says it."""
    if isinstance(value, int):
        if name == "selected_version":
            return describe(ProtocolVersion, value)
        if name in ("group", "selected_group"):
            return describe(NamedGroup, value)
        if name == "compression_algorithm":
            return describe(CertificateCompressionAlgorithm, value)
    elif isinstance(value, bytes):
        if name == "host_name":
            return value.decode("ascii", "replace")
        if name == "ProtocolName":
            return protocol_name(value)[0]
    return None


# --- the post-quantum hybrid shares (draft-ietf-tls-ecdhe-mlkem) ---------------------------

HYBRID_SHARE_EXPLANATION = (
    "A hybrid share: an ML-KEM (FIPS 203) part and a classical ECDH part side by side. "
    "The shared secret joins both secrets, so an attacker must break both: ML-KEM against a "
    "future quantum computer (traffic recorded today stays safe), ECDH in case ML-KEM, young "
    "as it is, turns out weaker than believed."
)


def hybrid_share_parts(group: int, length: int, sender: str) -> tuple[tuple[str, int, str], ...]:
    """(field, length, explanation) of each part of a hybrid share, in wire order.

    Empty for a classical group, or a share whose length is not the group's
    (shown as plain bytes: the handshake refuses it with illegal_parameter).
    `sender` is "client" (encapsulation key) or "server" (ciphertext).
    """
    layout = crypto.HYBRID_LAYOUTS.get(describe(NamedGroup, group))
    if layout is None:
        return ()
    ecdh = (
        f"{layout.ecdh_group} public key",
        layout.ecdh_share_length,
        f"The classical half: an ephemeral {layout.ecdh_group} public key, exactly what a plain "
        f"{layout.ecdh_group} share carries; its ECDH secret is the second ingredient.",
    )
    if sender == "client":
        expected = layout.client_share_length
        mlkem_part = (
            f"{layout.mlkem_name} encapsulation key",
            layout.encapsulation_key_length,
            f"The client's {layout.mlkem_name} public key (FIPS 203): the server encapsulates "
            "a fresh 32-byte secret to it. This is the post-quantum half.",
        )
    else:
        expected = layout.server_share_length
        mlkem_part = (
            f"{layout.mlkem_name} ciphertext",
            layout.ciphertext_length,
            "The 32-byte secret the server encapsulated to the client's key; only the client's "
            f"{layout.mlkem_name} private key decapsulates it. The post-quantum half.",
        )
    if length != expected:
        return ()
    return (mlkem_part, ecdh) if layout.mlkem_first else (ecdh, mlkem_part)


def hybrid_share_spans(group: int, start: int, length: int, sender: str) -> tuple[Span, ...]:
    """The parts of a hybrid share at data[start:start + length] as Spans (see above)."""
    spans = []
    for field, part_length, explanation in hybrid_share_parts(group, length, sender):
        spans.append(Span(start, part_length, field, explanation, (), f"{part_length} bytes"))
        start += part_length
    return tuple(spans)


# --- what the codec does not decode: one walker per payload layout --------------------------


def _application_settings(walk: Walk) -> None:
    """ALPS (draft-vvv-tls-alps): the ALPN protocols for which settings may follow.

    Its payload has the layout of ALPN's ProtocolNameList (RFC 7301 section
    3.1), but the codec never decodes it (we only show it), so it keeps a
    walker; its names are put in words as ALPN's are (`protocol_name`).
    """

    def names(inner: Walk) -> None:
        while inner.remaining:
            name, about = protocol_name(inner.vector_contents(1))
            inner.vector(1, "ProtocolName", about, value=name)

    walk.vector(
        2,
        "supported_protocols",
        "The ALPN protocols for which the client would send settings.",
        names,
    )


def _status_request(walk: Walk) -> None:
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


def _encrypted_client_hello(walk: Walk) -> None:
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


def _padding(walk: Walk) -> None:
    walk.leaf(
        walk.remaining,
        "padding",
        "Zero bytes, there only to make the hello longer (RFC 7685).",
        f"{walk.remaining} bytes",
    )


def _list(length_size: int, field: str, element: str, size: int, describe, explanation: str):
    return lambda walk: walk.vector(
        length_size, field, explanation, lambda inner: inner.each(size, element, describe)
    )


# (extension type, message) -> how to walk its extension_data; "any" for every other message.
# Only payloads the codec does not decode are here (those we only show); a
# payload the codec decodes is in _CODEC_DECODERS or _CODEC_READERS instead,
# and the page runs the codec itself.  A type in none of them is shown as one
# opaque range, explained by extension_registry.py.
_EXTENSION_DATA: dict[tuple[int, str], Callable[[Walk], None]] = {
    (ExtensionType.status_request, "client_hello"): _status_request,
    (ExtensionType.ec_point_formats, "any"): _list(
        1, "ec_point_format_list", "format", 1, _point_format, "The point formats accepted."
    ),
    (ExtensionType.application_settings, "any"): _application_settings,
    (ExtensionType.application_settings_old, "any"): _application_settings,
    (ExtensionType.encrypted_client_hello, "client_hello"): _encrypted_client_hello,
    (ExtensionType.renegotiation_info, "any"): lambda walk: walk.vector(
        1, "renegotiated_connection", "Empty in a first handshake (RFC 5746 section 3.2)."
    ),
    (ExtensionType.padding, "any"): _padding,
}


def extension_data_walker(extension_type: int, message: str) -> Callable[[Walk], None] | None:
    """How to walk this extension's data in this message, or None to show it as opaque bytes."""
    return _EXTENSION_DATA.get((extension_type, message)) or _EXTENSION_DATA.get(
        (extension_type, "any")
    )


# --- what the codec decodes: its own decoders, watched ---------------------------------------

_DELEGATED_CREDENTIAL_SCHEMES = partial(
    ext.decode_signature_algorithms, extension_type=ExtensionType.delegated_credential
)

# (extension type, message) -> the codec's index-based decoder of that payload
# (extensions.py), run by the trace page with a SpanRecorder.
_CODEC_DECODERS: dict[tuple[int, str], Callable[..., object]] = {
    (ExtensionType.server_name, "client_hello"): ext.decode_server_name,
    (ExtensionType.supported_versions, "client_hello"): ext.decode_client_supported_versions,
    (ExtensionType.supported_groups, "any"): ext.decode_supported_groups,
    (ExtensionType.key_share, "client_hello"): ext.decode_client_key_shares,
    (ExtensionType.signature_algorithms, "any"): ext.decode_signature_algorithms,
    (ExtensionType.signature_algorithms_cert, "any"): partial(
        ext.decode_signature_algorithms, extension_type=ExtensionType.signature_algorithms_cert
    ),
    # RFC 9345 section 4.1.1: a SignatureSchemeList, as in signature_algorithms (in a
    # CertificateEntry it carries a credential instead, shown as opaque bytes).
    (ExtensionType.delegated_credential, "client_hello"): _DELEGATED_CREDENTIAL_SCHEMES,
    (ExtensionType.delegated_credential, "certificate_request"): _DELEGATED_CREDENTIAL_SCHEMES,
    (ExtensionType.psk_key_exchange_modes, "any"): ext.decode_psk_key_exchange_modes,
    (ExtensionType.application_layer_protocol_negotiation, "encrypted_extensions"): (
        ext.decode_selected_application_protocol
    ),
    (ExtensionType.application_layer_protocol_negotiation, "any"): (
        ext.decode_application_protocols
    ),
}

# (extension type, message) -> the codec's Reader-based reader of that payload
# (extensions.py), run by the trace page with a SpanReader.
_CODEC_READERS: dict[tuple[int, str], Callable[[Reader], object]] = {
    (ExtensionType.supported_versions, "server_hello"): ext.read_selected_version,
    (ExtensionType.supported_versions, "hello_retry_request"): ext.read_selected_version,
    (ExtensionType.key_share, "server_hello"): ext.read_key_share_entry,
    (ExtensionType.key_share, "hello_retry_request"): ext.read_hello_retry_key_share,
    (ExtensionType.pre_shared_key, "client_hello"): ext.read_offered_psks,
    (ExtensionType.pre_shared_key, "server_hello"): ext.read_selected_identity,
    (ExtensionType.cookie, "client_hello"): ext.read_cookie,
    (ExtensionType.cookie, "hello_retry_request"): ext.read_cookie,
    (ExtensionType.early_data, "new_session_ticket"): ext.read_max_early_data_size,
    (ExtensionType.record_size_limit, "any"): ext.read_record_size_limit,
    (ExtensionType.compress_certificate, "any"): ext.read_compress_certificate,
    (ExtensionType.certificate_authorities, "any"): ext.read_certificate_authorities,
}


_Entry = TypeVar("_Entry")


def _lookup(
    table: dict[tuple[int, str], _Entry], extension_type: int, message: str
) -> _Entry | None:
    return table.get((extension_type, message)) or table.get((extension_type, "any"))


def codec_payload_fields(
    extension_type: int, message: str, payload: bytes, context: str
) -> list[Field] | None:
    """The payload's fields as the codec reads them, or None if it does not decode it here.

    When the codec refuses the payload, the fields it read before refusing
    are returned; the caller shows the rest as unparsed.  `context` names the
    message for a SpanReader's error reasons.
    """
    decode = _lookup(_CODEC_DECODERS, extension_type, message)
    if decode is not None:
        recorder = SpanRecorder(payload)
        try:
            decode(payload, spans=recorder)
        except TLSError:
            pass
        return recorder.fields
    read = _lookup(_CODEC_READERS, extension_type, message)
    if read is not None:
        reader = SpanReader.over(payload, 0, len(payload), context)
        try:
            read(reader)
        except TLSError:
            pass
        return reader.fields
    return None
