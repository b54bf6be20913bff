"""How our TLS 1.3 client checks who answered: the server's chain, then its CertificateVerify.

What this module owns: the glue between the client's states (client.py) and
the checks pki_verification.py and crypto.py do (RFC 8446 sections 4.4.2 and 4.4.3):
- the Certificate message's chain must lead to a root we trust, for the name
  we asked for, at the time the context's clock gives;
- the CertificateVerify signature, made with the leaf's key over the
  transcript so far, must verify with a scheme we offered.

What it must never do: accept PKCS#1 v1.5 in CertificateVerify (only in
certificates), or turn a failed check into anything but a TLSError carrying
the alert that tells the server why.
"""

from __future__ import annotations

from .. import crypto, pki, pki_verification
from ..errors import AlertDescription, TLSError
from ..names import describe
from .certificate_compression import decompressed_certificate
from .client_settings import VERIFIABLE_SCHEMES
from .enums import CertificateCompressionAlgorithm, ExtensionType, HandshakeType, SignatureScheme
from .handshake_context import HandshakeContext, HandshakeInput
from .messages import (
    CLIENT_SIGNATURE_CONTEXT,
    SERVER_SIGNATURE_CONTEXT,
    Certificate,
    CertificateVerify,
    CompressedCertificate,
)


def read_server_certificate(
    context: HandshakeContext,
    message: HandshakeInput,
    offered_algorithms: tuple[CertificateCompressionAlgorithm, ...],
    max_length: int,
) -> Certificate:
    """The server's Certificate, or its CompressedCertificate decompressed (RFC 8879 section 4:
    only an algorithm we offered, and never more than the announced length or `max_length`)."""
    msg_type, body, raw = message
    if msg_type == HandshakeType.compressed_certificate:
        compressed = CompressedCertificate.decode(body)
        context.observe_received("CompressedCertificate", compressed, raw)
        return decompressed_certificate(compressed, offered_algorithms, max_length)
    certificate = Certificate.decode(body)
    context.observe_received("Certificate", certificate, raw)
    return certificate


def verify_server_chain(
    certificate: Certificate,
    trusted_roots: tuple[pki.Certificate, ...],
    server_name: str,
    now: float,
) -> pki_verification.VerifiedChain:
    """The server's chain, verified for `server_name` at `now`; a TLSError if it is not."""
    if certificate.certificate_request_context:
        # Section 4.4.2: the context is for answers to a CertificateRequest only.
        raise TLSError(
            "the server's Certificate has a request context", AlertDescription.illegal_parameter
        )
    chain = [entry.cert_data for entry in certificate.entries]
    try:
        return pki_verification.verify_chain(chain, trusted_roots, server_name, now)
    except pki_verification.ChainError as error:
        raise TLSError(error.reason, error.alert) from error


# Section 4.2, the table: the extensions a CertificateEntry may carry.
_CERTIFICATE_ENTRY_EXTENSIONS = frozenset(
    (ExtensionType.status_request, ExtensionType.signed_certificate_timestamp)
)


def check_certificate_entry_extensions(
    certificate: Certificate, offered_extensions: frozenset[int]
) -> None:
    """Section 4.4.2: each entry's extensions answer ones our ClientHello offered.

    "Extensions in the Certificate message from the server MUST correspond
    to ones from the ClientHello message": an answer to something we never
    asked is unsupported_extension; one we asked for that has no place in a
    CertificateEntry is illegal_parameter.
    """
    for entry in certificate.entries:
        for extension in entry.extensions:
            name = describe(ExtensionType, extension.type)
            if extension.type not in offered_extensions:
                raise TLSError(
                    f"a CertificateEntry carries {name}, which we did not offer",
                    AlertDescription.unsupported_extension,
                )
            if extension.type not in _CERTIFICATE_ENTRY_EXTENSIONS:
                raise TLSError(
                    f"a CertificateEntry carries {name}, which belongs elsewhere",
                    AlertDescription.illegal_parameter,
                )


def verify_server_signature(
    verified: pki_verification.VerifiedChain, verify: CertificateVerify, transcript_hash: bytes
) -> SignatureScheme:
    """The scheme of a CertificateVerify that verifies over `transcript_hash` (section 4.4.3)."""
    return verify_transcript_signature(
        "server", verified.leaf_public_key, verify, transcript_hash, VERIFIABLE_SCHEMES
    )


def verify_transcript_signature(
    signer: str,
    public_key: crypto.PublicKey,
    verify: CertificateVerify,
    transcript_hash: bytes,
    listed: tuple[SignatureScheme, ...],
) -> SignatureScheme:
    """Section 4.4.3 for either side: the scheme of a CertificateVerify that verifies.

    The scheme must be one we `listed` (our signature_algorithms as a client,
    our CertificateRequest's as a server; illegal_parameter otherwise), and
    the signature over the `signer`'s context string and the transcript hash
    must verify (decrypt_error otherwise).
    """
    try:
        scheme = SignatureScheme(verify.algorithm)
    except ValueError:
        scheme = None
    if scheme not in listed:
        how = "offer" if signer == "server" else "ask for"
        raise TLSError(
            f"the {signer} signed with scheme {verify.algorithm:#06x}, which we did not {how}",
            AlertDescription.illegal_parameter,
        )
    context = SERVER_SIGNATURE_CONTEXT if signer == "server" else CLIENT_SIGNATURE_CONTEXT
    if not crypto.verify_signature(
        public_key, scheme.name, verify.signature, context + transcript_hash
    ):
        raise TLSError(
            f"{signer} signature over the transcript is invalid", AlertDescription.decrypt_error
        )
    return scheme
