"""Every TLS extension a peer may send us, named and explained: one row per extension type.

What this module owns: for each ExtensionType, the document that defines it
and one sentence for a learner per message it can appear in (the same type
means different things in a ClientHello and in a ServerHello).  The trace
page (tls13/annotate.py) and the terminal diagram (tls/trace.py) both read
their explanations here, so an extension is explained once; adding support
for a new extension starts with a row here and an enum member in enums.py.

What it must never do: decide whether an extension is allowed or wanted
(negotiation.py, server.py and client.py do), or parse payloads (the codecs
in extensions.py do).  A type without a row is still named by
tls/names.py `describe`, and explained as unknown, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from ..names import is_grease
from .enums import ExtensionType

GREASE_EXPLANATION = (
    "A GREASE value (RFC 8701): meaningless on purpose, sent so that peers keep "
    "ignoring values they do not know."
)
UNKNOWN_EXPLANATION = "An extension this implementation does not know; unknown ones are ignored."
# What we do with the extensions a browser sends that this server does not act on.
_IGNORED = " This server does not use it and ignores it, as RFC 8446 section 4.2 allows."


class ExtensionInfo(NamedTuple):
    """What one extension type is: the document that defines it, and what it says where."""

    reference: str
    # Message -> sentence, messages named as the annotator names them (client_hello,
    # server_hello, hello_retry_request, encrypted_extensions, certificate_entry,
    # certificate_request, new_session_ticket); "any" for the other messages.
    explanations: Mapping[str, str]


def _row(reference: str, **explanations: str) -> ExtensionInfo:
    return ExtensionInfo(reference, MappingProxyType(explanations))


EXTENSIONS: Mapping[int, ExtensionInfo] = MappingProxyType(
    {
        ExtensionType.server_name: _row(
            "RFC 6066 section 3",
            client_hello="The host name the client wants (SNI, RFC 6066), in clear.",
            encrypted_extensions="Empty: 'I used the name you sent' (RFC 6066).",
        ),
        ExtensionType.max_fragment_length: _row(
            "RFC 6066 section 4",
            any="A smaller maximum record size, in four fixed steps (record_size_limit "
            "replaces it).",
        ),
        ExtensionType.status_request: _row(
            "RFC 6066 section 8",
            client_hello="Asks the server to staple an OCSP response (proof that its "
            "certificate is not revoked) to its Certificate." + _IGNORED,
            certificate_entry="A stapled OCSP response for this certificate.",
            any="OCSP stapling (RFC 6066 section 8).",
        ),
        ExtensionType.supported_groups: _row(
            "RFC 8446 section 4.2.7",
            any="The key exchange groups the sender supports, preferred first.",
        ),
        ExtensionType.ec_point_formats: _row(
            "RFC 8422 section 5.1.2",
            any="Which elliptic curve point encodings the client parses: a TLS 1.2 "
            "leftover (TLS 1.3 fixes the encoding per group)." + _IGNORED,
        ),
        ExtensionType.signature_algorithms: _row(
            "RFC 8446 section 4.2.3",
            any="The signature schemes the sender accepts from its peer.",
        ),
        ExtensionType.application_layer_protocol_negotiation: _row(
            "RFC 7301 section 3.1",
            client_hello="The application protocols the client speaks (ALPN, RFC 7301).",
            any="The application protocol the server chose.",
        ),
        ExtensionType.signed_certificate_timestamp: _row(
            "RFC 6962 section 3.3",
            client_hello="Asks for Certificate Transparency timestamps: proof that the "
            "certificate was logged publicly." + _IGNORED,
            any="Certificate Transparency timestamps (RFC 6962).",
        ),
        ExtensionType.padding: _row(
            "RFC 7685",
            any="Zero bytes that bring the ClientHello to a size every middlebox handles.",
        ),
        ExtensionType.encrypt_then_mac: _row(
            "RFC 7366",
            any="A TLS 1.2 record option (MAC over the ciphertext); TLS 1.3 records use "
            "AEAD and never need it." + _IGNORED,
        ),
        ExtensionType.extended_master_secret: _row(
            "RFC 7627",
            any="A TLS 1.2 fix binding the master secret to the whole handshake; TLS 1.3's "
            "key schedule does that by design." + _IGNORED,
        ),
        ExtensionType.compress_certificate: _row(
            "RFC 8879 section 3",
            any="The algorithms the sender can decompress a certificate chain with "
            "(zlib 1, brotli 2, zstd 3)." + _IGNORED,
        ),
        ExtensionType.record_size_limit: _row(
            "RFC 8449 section 4",
            any="The largest record the sender wants to receive (RFC 8449).",
        ),
        ExtensionType.delegated_credential: _row(
            "RFC 9345 section 4.1",
            any="The client accepts delegated credentials (short-lived keys signed by the "
            "certificate's key), with these signature schemes." + _IGNORED,
        ),
        ExtensionType.session_ticket: _row(
            "RFC 5077",
            any="TLS 1.2 session tickets; TLS 1.3 resumes with pre_shared_key instead." + _IGNORED,
        ),
        ExtensionType.pre_shared_key: _row(
            "RFC 8446 section 4.2.11",
            client_hello="Tickets offered for resumption, with binders proving knowledge of "
            "each ticket's PSK; always the last extension.",
            server_hello="Which offered ticket the server accepted.",
        ),
        ExtensionType.early_data: _row(
            "RFC 8446 section 4.2.10",
            new_session_ticket="How much 0-RTT data this ticket allows.",
            any="0-RTT: data sent before the handshake completes.",
        ),
        ExtensionType.supported_versions: _row(
            "RFC 8446 section 4.2.1",
            client_hello="The TLS versions the client speaks: this, not legacy_version, "
            "negotiates TLS 1.3.",
            any="The version the server chose.",
        ),
        ExtensionType.cookie: _row(
            "RFC 8446 section 4.2.2",
            any="A value from a HelloRetryRequest that the next ClientHello must echo.",
        ),
        ExtensionType.psk_key_exchange_modes: _row(
            "RFC 8446 section 4.2.9",
            any="How a resumption may be keyed; psk_dhe_ke adds a fresh key exchange "
            "(forward secrecy).",
        ),
        ExtensionType.certificate_authorities: _row(
            "RFC 8446 section 4.2.4",
            any="The certificate authorities the sender trusts, by name.",
        ),
        ExtensionType.oid_filters: _row(
            "RFC 8446 section 4.2.5",
            any="Certificate extension values the server wants a client certificate to have.",
        ),
        ExtensionType.post_handshake_auth: _row(
            "RFC 8446 section 4.2.6",
            any="The client would answer a CertificateRequest after the handshake." + _IGNORED,
        ),
        ExtensionType.signature_algorithms_cert: _row(
            "RFC 8446 section 4.2.3",
            any="The signature schemes accepted inside certificates.",
        ),
        ExtensionType.key_share: _row(
            "RFC 8446 section 4.2.8",
            client_hello="The client's ephemeral public keys, one per group it guesses the "
            "server will take.",
            server_hello="The server's ephemeral public key for the chosen group.",
            hello_retry_request="The group the server wants a key share for.",
        ),
        ExtensionType.application_settings_old: _row(
            "draft-vvv-tls-alps (old code point)",
            any="ALPS: per-protocol settings (HTTP/2 SETTINGS) the client would send in its "
            "encrypted flight, for these ALPN protocols; the code point before 2024." + _IGNORED,
        ),
        ExtensionType.application_settings: _row(
            "draft-vvv-tls-alps",
            any="ALPS: per-protocol settings (HTTP/2 SETTINGS) the client would send in its "
            "encrypted flight, for these ALPN protocols." + _IGNORED,
        ),
        ExtensionType.encrypted_client_hello: _row(
            "draft-ietf-tls-esni section 5",
            client_hello="Encrypted Client Hello: the real ClientHello (with the real server "
            "name) sealed with HPKE to the server's ECH key.  A browser that has no ECH key "
            "for this server sends a GREASE one (random bytes of the right shape) so that "
            "real and fake look alike." + _IGNORED,
            any="Encrypted Client Hello (draft-ietf-tls-esni).",
        ),
        ExtensionType.renegotiation_info: _row(
            "RFC 5746",
            any="TLS 1.2 secure renegotiation; empty in a first handshake, and meaningless "
            "in TLS 1.3, which has no renegotiation." + _IGNORED,
        ),
    }
)


def explain_extension(extension_type: int, message: str) -> str:
    """One sentence on what an extension of this type means in this message; never raises."""
    if is_grease(extension_type):
        return GREASE_EXPLANATION
    info = EXTENSIONS.get(extension_type)
    if info is None:
        try:
            ExtensionType(extension_type)
        except ValueError:
            return UNKNOWN_EXPLANATION
        return "An extension from another RFC or an older TLS; this trace does not look inside."
    found = info.explanations.get(message) or info.explanations.get("any")
    if found is None:
        return f"Defined in {info.reference}."
    return found
