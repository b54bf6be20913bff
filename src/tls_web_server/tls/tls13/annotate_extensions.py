"""What the bytes inside each extension mean, for the trace page: one walker per payload layout.

What this module owns: for each (extension type, message) whose payload the
trace page shows field by field, a walker over its extension_data, written
next to the structure of its RFC; `extension_data_walker` picks one.  The
extension block around the payloads is walked by the codec itself
(span_reader.py running extension_block.py's reads); what each extension is
for is said once, in extension_registry.py.

What it must never do: raise for a payload it cannot parse (a Walk shows the
rest as unparsed), or judge a value.  A type without a walker here is shown
as one opaque range, which is never an error.
"""

from __future__ import annotations

from collections.abc import Callable

from ..names import describe, is_grease_protocol
from . import extensions as ext
from .byte_walk import Walk, described, hex_preview
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


def _compression_algorithm(value: int) -> tuple[str, str]:
    return described(
        CertificateCompressionAlgorithm,
        value,
        "A compression algorithm for the Certificate message (RFC 8879).",
        "An algorithm this implementation does not know.",
    )


def _point_format(value: int) -> tuple[str, str]:
    return described(
        ECPointFormat,
        value,
        "An elliptic curve point encoding (RFC 8422).",
        "A format this implementation does not know.",
    )


def _server_name_list(walk: Walk) -> None:
    def entries(inner: Walk) -> None:
        while inner.remaining:
            inner.group("ServerName", "One name the client asks for.", _server_name)

    walk.vector(2, "server_name_list", "The names asked for (in practice one host_name).", entries)


def _server_name(walk: Walk) -> None:
    name_type = walk.number(1)
    walk.leaf(1, "name_type", "0 means host_name, the only type ever used.", str(name_type))
    name = walk.vector_contents(2).decode("ascii", "replace")
    walk.vector(2, "host_name", "The DNS name of the server, ASCII.", value=name)


def _key_share_entry(walk: Walk) -> None:
    walk.leaf(2, "group", "The group of this public key.", describe(NamedGroup, walk.number(2)))
    walk.vector(
        2,
        "key_exchange",
        "The ephemeral public key; combined with the peer's private key it gives the shared "
        "secret.",
        value=hex_preview(walk.vector_contents(2)),
    )


def _client_shares(walk: Walk) -> None:
    def entries(inner: Walk) -> None:
        while inner.remaining:
            inner.group("KeyShareEntry", "One public key for one group.", _key_share_entry)

    walk.vector(2, "client_shares", "The client's public keys.", entries)


def _protocol_names(field: str, explanation: str) -> Callable[[Walk], None]:
    """A ProtocolName list (RFC 7301 section 3.1), as ALPN and ALPS carry it."""

    def names(inner: Walk) -> None:
        while inner.remaining:
            raw = inner.vector_contents(1)
            if is_grease_protocol(raw):
                name, about = f"GREASE 0x{raw.hex()}", GREASE_EXPLANATION
            else:
                name, about = raw.decode("ascii", "replace"), "One protocol name."
            inner.vector(1, "ProtocolName", about, value=name)

    return lambda walk: walk.vector(2, field, explanation, names)


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
# These are the payloads the codec reads by index for speed (the ClientHello's), and
# those we only show; a payload the codec reads through a Reader is in
# _CODEC_READERS instead, and the page runs the codec itself.  A type in
# neither is shown as one opaque range, explained by extension_registry.py.
_EXTENSION_DATA: dict[tuple[int, str], Callable[[Walk], None]] = {
    (ExtensionType.server_name, "client_hello"): _server_name_list,
    (ExtensionType.status_request, "client_hello"): _status_request,
    (ExtensionType.supported_versions, "client_hello"): _list(
        1, "versions", "version", 2, _version, "The versions offered, preferred first."
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
    (ExtensionType.psk_key_exchange_modes, "any"): _list(
        1, "ke_modes", "mode", 1, _mode, "The modes the client accepts."
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
}


def extension_data_walker(extension_type: int, message: str) -> Callable[[Walk], None] | None:
    """How to walk this extension's data in this message, or None to show it as opaque bytes."""
    return _EXTENSION_DATA.get((extension_type, message)) or _EXTENSION_DATA.get(
        (extension_type, "any")
    )


# (extension type, message) -> the codec's own reader of that payload (extensions.py),
# run by the trace page with a SpanReader: the layout is the codec's.
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
    (ExtensionType.certificate_authorities, "any"): ext.read_certificate_authorities,
}


def extension_payload_reader(
    extension_type: int, message: str
) -> Callable[[Reader], object] | None:
    """The codec's reader of this extension's data in this message, if it reads one."""
    return _CODEC_READERS.get((extension_type, message)) or _CODEC_READERS.get(
        (extension_type, "any")
    )
