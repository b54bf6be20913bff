"""Mutual TLS, the client's side: reading a CertificateRequest and answering it.

When a server sends a CertificateRequest (RFC 8446 section 4.3.2), the
client's second flight, after the server's Finished, is

    Certificate          our chain, or no certificate at all (section 4.4.2)
    CertificateVerify    only with a certificate: our key's signature over the
                         transcript up to our Certificate (section 4.4.3)
    Finished

The client sends them in one go: there is nothing to wait for between them,
so they are one step of client.py's ExpectFinished (this module's
`send_client_certificate`), not states of their own.

What this module owns: the checks on a CertificateRequest, the choice of a
signature scheme the server accepts, and the two messages.

What it must never do: sign with a scheme the server did not list, or sign
anything but the transcript hash behind the client's context string.
"""

from __future__ import annotations

from .. import pki
from ..errors import AlertDescription, TLSError
from . import extensions as ext
from .enums import ExtensionType, SignatureScheme
from .handshake_context import HandshakeContext
from .messages import (
    CLIENT_SIGNATURE_CONTEXT,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
)
from .prepared import PreparedCredentials
from .transcript import Transcript


def read_certificate_request(body: bytes) -> CertificateRequest:
    """A CertificateRequest whose signature_algorithms we can read (section 4.3.2).

    "The signature_algorithms extension MUST be specified": without it the
    request is missing_extension.
    """
    request = CertificateRequest.decode(body)
    algorithms = request.extension(ExtensionType.signature_algorithms)
    if algorithms is None:
        raise TLSError(
            "the CertificateRequest has no signature_algorithms",
            AlertDescription.missing_extension,
        )
    ext.decode_signature_algorithms(algorithms)  # a malformed list is a decode_error now
    return request


def _scheme_for(credentials: pki.ServerCredentials, request: CertificateRequest) -> str | None:
    """The first scheme our key can sign with that the request lists, if any."""
    data = request.extension(ExtensionType.signature_algorithms)
    assert data is not None  # read_certificate_request checked it
    accepted = frozenset(ext.decode_signature_algorithms(data))
    for name in credentials.signature_schemes:
        if SignatureScheme[name] in accepted:
            return name
    return None


def send_client_certificate(
    context: HandshakeContext,
    transcript: Transcript,
    request: CertificateRequest,
    credentials: pki.ServerCredentials | None,
) -> str | None:
    """Send our Certificate and CertificateVerify, or an empty Certificate; the scheme used.

    Section 4.4.2: a client without a suitable certificate (none configured,
    or none the server's signature_algorithms allow) sends a Certificate with
    no entries, and the server decides whether that is enough.
    """
    scheme = _scheme_for(credentials, request) if credentials is not None else None
    if credentials is None or scheme is None:
        empty = Certificate(request.certificate_request_context, ())
        transcript.add(context.send_handshake(empty))
        return None
    entries = tuple(CertificateEntry(der, ()) for der in credentials.chain_der)
    certificate = Certificate(request.certificate_request_context, entries)
    transcript.add(context.send_handshake(certificate))
    signature = PreparedCredentials(credentials).sign(
        scheme, CLIENT_SIGNATURE_CONTEXT + transcript.digest()
    )
    transcript.add(context.send_handshake(CertificateVerify(SignatureScheme[scheme], signature)))
    return scheme
