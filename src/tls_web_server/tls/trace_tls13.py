"""The TLS 1.3 handshake messages in words: the key fields of each, a line apiece, for the trace.

What this module owns: the summaries tls/trace.py draws under each arrow and
trace_html.py shows beside each record: which versions, groups and key
shares a hello offers (a post-quantum hybrid share as its ML-KEM and ECDH
parts), what the server chose, the certificates (a CompressedCertificate
with its algorithm, lengths and the Certificate inside), signatures and
tickets; and the small text helpers both renderers share (`printable`,
`short_hex`, `short_scheme`).

What it must never do: raise for an odd message (a malformed extension is
shown as malformed), print a secret in full, or put a peer's bytes on a
terminal unescaped.
"""

from __future__ import annotations

import re
from typing import Any

from . import crypto, pki
from .errors import TLSError
from .names import describe
from .tls13 import extensions as ext
from .tls13.annotate_extensions import hybrid_share_parts
from .tls13.certificate_compression import SUPPORTED_ALGORITHMS, decompressed_certificate
from .tls13.enums import (
    CertificateCompressionAlgorithm,
    CipherSuite,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .tls13.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    Finished,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
)


def printable(text: str) -> str:
    """`text` with every control character escaped, safe to put on a terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def short_hex(data: bytes, length: int = 8) -> str:
    """The first `length` bytes as hex, with "…" when there is more."""
    return data[:length].hex() + ("…" if len(data) > length else "")


def short_scheme(value: int) -> str:
    """ecdsa_secp256r1_sha256 -> ecdsa-p256, rsa_pss_rsae_sha256 -> pss-sha256, ..."""
    name = describe(SignatureScheme, value)
    name = re.sub(r"^ecdsa_secp(\d+)r1_sha\d+$", r"ecdsa-p\1", name)
    for long, short in (
        ("rsa_pss_rsae_", "pss-"),
        ("rsa_pss_pss_", "pss-pss-"),
        ("rsa_pkcs1_", "pkcs1-"),
    ):
        name = name.replace(long, short)
    return name


def _extension_line(extension_type: int, data: bytes, context: str) -> str:
    """One extension of a hello as "label: value"; a malformed one says so."""
    try:
        return _describe_extension(extension_type, data, context)
    except TLSError as error:
        return f"{describe(ExtensionType, extension_type)}: malformed ({printable(error.reason)})"


def _describe_extension(extension_type: int, data: bytes, context: str) -> str:
    kind = ExtensionType
    if extension_type == kind.supported_versions:
        if context == "client":
            versions = ext.decode_client_supported_versions(data)
            return "versions offered: " + ", ".join(describe(ProtocolVersion, v) for v in versions)
        return f"version chosen: {describe(ProtocolVersion, ext.decode_selected_version(data))}"
    if extension_type == kind.supported_groups:
        return "groups: " + ", ".join(
            describe(NamedGroup, g) for g in ext.decode_supported_groups(data)
        )
    if extension_type == kind.key_share:
        if context == "client":
            shares = ext.decode_client_key_shares(data)
            listed = ", ".join(_share_text(s, "client") for s in shares)
            return f"key shares: {listed or 'none (asks the server to choose)'}"
        if context == "retry":
            return (
                f"group requested: {describe(NamedGroup, ext.decode_hello_retry_key_share(data))}"
            )
        return f"key share: {_share_text(ext.decode_server_key_share(data), 'server')}"
    if extension_type == kind.server_name:
        if context == "client":
            name = ext.decode_server_name(data)
            return f"SNI: {printable(name) if name is not None else '(no host name)'}"
        return "SNI acknowledged (the server used the name asked for)"
    if extension_type == kind.application_layer_protocol_negotiation:
        names = [printable(n.decode("latin-1")) for n in ext.decode_application_protocols(data)]
        return "ALPN: " + ", ".join(names)
    if extension_type in (kind.signature_algorithms, kind.signature_algorithms_cert):
        schemes = ext.decode_signature_algorithms(data)
        label = "signature algorithms"
        if extension_type == kind.signature_algorithms_cert:
            label += " (in certificates)"
        return f"{label}: " + ", ".join(short_scheme(s) for s in schemes)
    if extension_type == kind.psk_key_exchange_modes:
        modes = ext.decode_psk_key_exchange_modes(data)
        return "PSK modes: " + ", ".join(describe(PskKeyExchangeMode, mode) for mode in modes)
    if extension_type == kind.pre_shared_key:
        if context == "client":
            offered = ext.decode_offered_psks(data)
            return f"resumption: {len(offered.identities)} ticket(s) offered, with binders"
        return f"resumption: ticket {ext.decode_selected_identity(data)} accepted (no certificate)"
    if extension_type == kind.cookie:
        return f"cookie: {len(ext.decode_cookie(data))} bytes to echo"
    if extension_type == kind.early_data:
        return "early data (0-RTT)"
    if extension_type == kind.certificate_authorities:
        names = [pki.describe_name(name) for name in ext.decode_certificate_authorities(data)]
        return "client certificates from: " + "; ".join(names)
    return describe(ExtensionType, extension_type)


def _share_text(share: ext.KeyShareEntry, sender: str) -> str:
    """A share as group and key; a hybrid one as its two parts (draft-ietf-tls-ecdhe-mlkem)."""
    parts = hybrid_share_parts(share.group, len(share.key_exchange), sender)
    text = f"{describe(NamedGroup, share.group)} {short_hex(share.key_exchange)}"
    if parts:
        text += " = " + " + ".join(f"{name} ({length} bytes)" for name, length, _ in parts)
    return text


def _compressed_certificate_lines(message: CompressedCertificate) -> list[str]:
    """Algorithm and lengths, then the Certificate inside (bounded like our client's limit)."""
    algorithm = describe(CertificateCompressionAlgorithm, message.algorithm)
    compressed = len(message.compressed_certificate_message)
    lines = [
        f"algorithm: {algorithm}, {compressed} bytes for a "
        f"{message.uncompressed_length}-byte Certificate (RFC 8879)"
    ]
    try:
        inside = decompressed_certificate(message, SUPPORTED_ALGORITHMS, _DECOMPRESS_LIMIT)
    except TLSError as error:
        return [*lines, f"(does not decompress: {printable(error.reason)})"]
    return [*lines, "decompressed, a Certificate:", *("  " + line for line in tls13_lines(inside))]


# A trace decompresses no more than our client accepts (client.py's message limit).
_DECOMPRESS_LIMIT = 1 << 18


def hybrid_secret_text(events: list[dict[str, Any]]) -> str | None:
    """How the shared secret of a hybrid handshake is made, from the ServerHello's group."""
    for event in events:
        if event.get("kind") != "message" or event.get("name") != "ServerHello":
            continue
        fields = event.get("fields")
        data = (
            fields.extension(ExtensionType.key_share) if isinstance(fields, ServerHello) else None
        )
        try:
            group = ext.decode_server_key_share(data).group if data is not None else None
        except TLSError:
            return None
        layout = crypto.HYBRID_LAYOUTS.get(describe(NamedGroup, group or 0))
        if layout is None:
            return None
        mlkem_part = f"{layout.mlkem_name} secret (32 bytes)"
        ecdh_part = f"{layout.ecdh_group} secret ({layout.ecdh_secret_length} bytes)"
        first, second = (mlkem_part, ecdh_part) if layout.mlkem_first else (ecdh_part, mlkem_part)
        return f"shared_secret = {first} || {second}"
    return None


# The extensions summarised on their own line, in the order a learner reads them.
_FIRST_EXTENSIONS = tuple(
    int(extension_type)
    for extension_type in (
        ExtensionType.supported_versions,
        ExtensionType.supported_groups,
        ExtensionType.key_share,
        ExtensionType.server_name,
        ExtensionType.application_layer_protocol_negotiation,
        ExtensionType.signature_algorithms,
        ExtensionType.signature_algorithms_cert,
        ExtensionType.psk_key_exchange_modes,
        ExtensionType.pre_shared_key,
        ExtensionType.cookie,
        ExtensionType.early_data,
        ExtensionType.certificate_authorities,
    )
)


def _extension_lines(extensions: tuple[ext.Extension, ...], context: str) -> list[str]:
    by_type = {extension.type: extension.data for extension in extensions}
    lines = [
        _extension_line(number, by_type[number], context)
        for number in _FIRST_EXTENSIONS
        if number in by_type
    ]
    others = [
        describe(ExtensionType, e.type) for e in extensions if e.type not in _FIRST_EXTENSIONS
    ]
    if others:
        lines.append("other extensions: " + ", ".join(others))
    return lines


def tls13_lines(message: object) -> list[str]:
    if isinstance(message, ClientHello):
        lines = _extension_lines(message.extensions, "client")
        if message.extension(ExtensionType.supported_versions) is None:
            lines.insert(0, f"legacy_version {message.legacy_version:#06x} only: no TLS 1.3")
        suites = ", ".join(describe(CipherSuite, s) for s in message.cipher_suites)
        lines.insert(1 if lines else 0, f"cipher suites: {suites}")
        if message.legacy_session_id:
            lines.append(
                f"legacy_session_id: {len(message.legacy_session_id)} bytes (compatibility)"
            )
        return lines
    if isinstance(message, ServerHello):
        retry = message.is_hello_retry_request
        lines = _extension_lines(message.extensions, "retry" if retry else "server")
        lines.insert(
            1 if lines else 0, f"cipher suite: {describe(CipherSuite, message.cipher_suite)}"
        )
        if retry:
            lines.insert(0, "!! HelloRetryRequest: no usable key share, send another ClientHello")
        return lines
    if isinstance(message, EncryptedExtensions):
        return _extension_lines(message.extensions, "server") or ["(no extensions)"]
    if isinstance(message, CertificateRequest):
        context = short_hex(message.certificate_request_context) or "(empty)"
        return [f"context: {context}", *_extension_lines(message.extensions, "server")]
    if isinstance(message, Certificate):
        if not message.entries:
            return ["no certificate (an empty chain)"]
        return [f"chain: {len(message.entries)} certificate(s), leaf first"] + [
            f"  {certificate_line(entry.cert_data)}" for entry in message.entries
        ]
    if isinstance(message, CompressedCertificate):
        return _compressed_certificate_lines(message)
    if isinstance(message, CertificateVerify):
        return [
            f"signature scheme: {describe(SignatureScheme, message.algorithm)}",
            f"signature: {len(message.signature)} bytes over the transcript hash",
        ]
    if isinstance(message, Finished):
        return [f"verify_data: {short_hex(message.verify_data)} (HMAC of the transcript)"]
    if isinstance(message, NewSessionTicket):
        return [
            f"ticket lifetime: {message.ticket_lifetime} s, ticket {len(message.ticket)} bytes, "
            f"nonce {short_hex(message.ticket_nonce) or '(empty)'}"
        ]
    if isinstance(message, KeyUpdate):
        return [f"request_update: {message.request_update.name}"]
    return []


def certificate_line(der: bytes) -> str:
    """Who a certificate names, as the peer sent it (not verified here: pki.py does that)."""
    described = pki.describe_certificate(der)
    return printable(described) if described is not None else f"{len(der)} bytes DER (unparsable)"
