"""Mutual TLS, the server's side: asking for a client certificate and checking the answer.

    (server flight: ... EncryptedExtensions, CertificateRequest, Certificate, ...)
    ExpectCertificate ──Certificate (empty)──► ExpectFinished        (optional: NONE)
          │ Certificate: the client's chain, checked against the client CAs
          ▼
    ExpectCertificateVerify ──CertificateVerify──► ExpectFinished

What this module owns (RFC 8446 sections 4.3.2, 4.4.2 and 4.4.3):
- `ClientAuthentication`: what the server asks for and trusts (nginx's
  ssl_verify_client, ssl_client_certificate, ssl_trusted_certificate,
  ssl_verify_depth, as server/listeners.py translates them).
- The CertificateRequest the server sends: signature_algorithms
  (`REQUESTED_SCHEMES`) and certificate_authorities (the names of the CAs
  we advertise).
- The two states that read the client's Certificate and CertificateVerify,
  between the server's flight and the client's Finished.  They hand the
  outcome (`ClientCertificateCheck`, nginx's $ssl_client_verify and friends)
  to the ExpectFinished state they were built with.

The rule for a certificate we cannot accept: the handshake ends with an
alert, nothing is served.  No certificate under `on` is certificate_required
(section 4.4.2.4); a chain that does not verify is the chain's alert
(unknown_ca, certificate_expired, bad_certificate ...), except under
`optional_no_ca`, where a chain that leads to no trusted root is logged as
FAILED and the connection goes on (nginx's meaning).  A CertificateVerify
that does not verify is always decrypt_error.

What it must never do: accept a client whose CertificateVerify was not
checked against the key of the certificate it sent, or read the clock except
through the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from .. import crypto, pki, pki_verification
from ..api import ClientCertificateCheck
from ..errors import AlertDescription, TLSError
from ..handshake_states import Transition
from ..names import describe
from . import extensions as ext
from .client_settings import VERIFIABLE_SCHEMES
from .enums import ExtensionType, HandshakeType, SignatureScheme
from .extension_block import Extension
from .handshake_context import HandshakeContext, HandshakeInput, HandshakeState
from .messages import Certificate, CertificateRequest, CertificateVerify
from .server_authentication import verify_transcript_signature

if TYPE_CHECKING:
    from .server import ExpectFinished

# The server's rows for a client certificate; server.py adds them to SERVER_TRANSITIONS.
CLIENT_CERTIFICATE_TRANSITIONS = (
    Transition(
        "ExpectClientHello", "ClientHello (client certificate requested)", "ExpectCertificate"
    ),
    Transition(
        "ExpectSecondClientHello", "ClientHello (client certificate requested)", "ExpectCertificate"
    ),
    Transition("ExpectCertificate", "Certificate (empty, optional)", "ExpectFinished"),
    Transition("ExpectCertificate", "Certificate", "ExpectCertificateVerify"),
    Transition("ExpectCertificateVerify", "CertificateVerify", "ExpectFinished"),
)

# What our CertificateRequest lists in signature_algorithms, so what a client's
# CertificateVerify may use: what our client verifies, and ed25519, so that a
# client holding an Ed25519 certificate (curl, OpenSSL) sends it and is told
# why it is refused (unsupported_certificate, pki_verification.py) instead of
# sending none.
REQUESTED_SCHEMES = (*VERIFIABLE_SCHEMES, SignatureScheme.ed25519)

# Section 4.3.2: a CertificateRequest's extensions fit in 2^16-1 bytes.
EXTENSIONS_LIMIT = 65535
EXTENSION_HEADER = 4  # type and length (section 4.2)


class ClientVerifyMode(StrEnum):
    """nginx's ssl_verify_client values that ask for a certificate (`off` asks for none)."""

    ON = "on"  # a certificate that verifies is required
    OPTIONAL = "optional"  # none is fine; one that does not verify is refused
    OPTIONAL_NO_CA = "optional_no_ca"  # as optional, but an unknown CA is only logged


@dataclass(frozen=True)
class ClientAuthentication:
    """What a server asks of clients and whom it trusts to vouch for them."""

    mode: ClientVerifyMode
    trusted_roots: tuple[pki.Certificate, ...]  # ssl_client_certificate + ssl_trusted_certificate
    # DER subjects sent in certificate_authorities (ssl_client_certificate only).
    authority_names: tuple[bytes, ...] = ()
    max_intermediates: int = 1  # ssl_verify_depth (nginx's default is 1)
    # The CertificateRequest, encoded once: it is the same for every handshake.
    request: CertificateRequest = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", _certificate_request(self.authority_names))


def _certificate_request(authority_names: tuple[bytes, ...]) -> CertificateRequest:
    """Section 4.3.2: an empty context (this is no post-handshake request), then extensions."""
    schemes = ext.encode_signature_algorithms(REQUESTED_SCHEMES)
    extensions = [Extension(ExtensionType.signature_algorithms, schemes)]
    # The CA names fill what is left, behind their extension's header and the
    # authorities vector's 2-byte length.  Names that do not fit are not sent
    # (a CA file of thousands of roots), but are trusted all the same: the
    # list only helps a client choose among its certificates (section 4.2.4).
    room = EXTENSIONS_LIMIT - (EXTENSION_HEADER + len(schemes)) - EXTENSION_HEADER - 2
    kept: list[bytes] = []
    length = 0
    for name in authority_names:
        length += 2 + len(name)
        if length > room:
            break
        kept.append(name)
    if kept:
        extensions.append(
            Extension(
                ExtensionType.certificate_authorities,
                ext.encode_certificate_authorities(kept),
            )
        )
    return CertificateRequest(b"", tuple(extensions))


def _failed(reason: str) -> str:
    # nginx writes the verify result's text after "FAILED:"; a log line stays one line.
    return "FAILED:" + " ".join(reason.split())


class ExpectCertificate:
    """The client's Certificate, after our CertificateRequest (section 4.4.2)."""

    name: ClassVar[str] = "ExpectCertificate"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.certificate,)

    def __init__(self, authentication: ClientAuthentication, finished: ExpectFinished) -> None:
        self.authentication = authentication
        self.finished = finished  # the state after, with the transcript so far

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        certificate = Certificate.decode(body)
        context.observe_received("Certificate", certificate, raw)
        if certificate.certificate_request_context != b"":
            # Section 4.4.2: the client echoes our request's context, which was empty.
            raise TLSError(
                "the client's Certificate has a request context we did not send",
                AlertDescription.illegal_parameter,
            )
        for entry in certificate.entries:
            for extension in entry.extensions:
                # Section 4.4.2: they must answer ones in our CertificateRequest, which
                # has none that belongs in a CertificateEntry.
                raise TLSError(
                    f"a client CertificateEntry carries {describe(ExtensionType, extension.type)},"
                    " which we did not ask for",
                    AlertDescription.unsupported_extension,
                )
        transcript = self.finished.transcript
        authentication = self.authentication
        if not certificate.entries:
            if authentication.mode is ClientVerifyMode.ON:
                # Section 4.4.2.4: the server MAY abort with certificate_required.
                raise TLSError(
                    "the client sent no certificate (ssl_verify_client on requires one)",
                    AlertDescription.certificate_required,
                )
            transcript.add(raw)
            return self.finished.with_client_certificate(context, ClientCertificateCheck("NONE"))
        chain = [entry.cert_data for entry in certificate.entries]
        try:
            leaf = pki_verification.read_client_leaf(chain[0])
        except pki.ChainError as error:
            raise TLSError(error.reason, error.alert) from error
        try:
            verified = pki_verification.verify_client_chain(
                chain,
                authentication.trusted_roots,
                context.clock(),
                authentication.max_intermediates,
            )
            verify = "SUCCESS"
            if context.is_observed:
                context.observe_verified("client certificate chain", " <- ".join(verified.subjects))
        except pki.ChainError as error:
            tolerated = (
                authentication.mode is ClientVerifyMode.OPTIONAL_NO_CA
                and error.alert == AlertDescription.unknown_ca
            )
            if not tolerated:
                raise TLSError(f"client certificate: {error.reason}", error.alert) from error
            verify = _failed(error.reason)
        if not crypto.signature_schemes_for_key(leaf.public_key):
            raise TLSError(
                f"client certificate '{leaf.subject}' has a key TLS cannot sign with",
                AlertDescription.unsupported_certificate,
            )
        transcript.add(raw)
        check = ClientCertificateCheck(verify, leaf.subject, leaf.issuer, leaf.fingerprint)
        return ExpectCertificateVerify(leaf.public_key, check, self.finished)


class ExpectCertificateVerify:
    """The client's proof that it holds its certificate's key (section 4.4.3)."""

    name: ClassVar[str] = "ExpectCertificateVerify"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.certificate_verify,)

    def __init__(
        self,
        public_key: crypto.PublicKey,
        check: ClientCertificateCheck,
        finished: ExpectFinished,
    ) -> None:
        self.public_key = public_key
        self.check = check
        self.finished = finished

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        verify = CertificateVerify.decode(body)
        context.observe_received("CertificateVerify", verify, raw)
        transcript = self.finished.transcript
        scheme = verify_client_signature(self.public_key, verify, transcript.digest())
        if context.is_observed:
            context.observe_verified("client CertificateVerify", scheme.name)
        transcript.add(raw)
        return self.finished.with_client_certificate(context, self.check)


def verify_client_signature(
    public_key: crypto.PublicKey, verify: CertificateVerify, transcript_hash: bytes
) -> SignatureScheme:
    """The scheme of a client CertificateVerify that verifies over `transcript_hash`.

    Section 4.4.3: the scheme must be one our CertificateRequest listed
    (illegal_parameter otherwise), and a signature that does not verify is
    decrypt_error.
    """
    return verify_transcript_signature(
        "client", public_key, verify, transcript_hash, REQUESTED_SCHEMES
    )
