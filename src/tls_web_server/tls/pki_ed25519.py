"""Chain verification for Ed25519 chains, which the library's Web PKI policy refuses outright.

`cryptography.x509.verification` (pki_verification.py) decides every chain
it can; its policy allows only RSA and ECDSA keys and signatures, with no way
to allow Ed25519 (https://github.com/pyca/cryptography/issues/13391).  Our
demo PKI and both our clients support Ed25519 certificates (README), so a
chain that holds an Ed25519 key or signature is checked here instead, with
the RFC 5280 section 6 checks we used before: signatures link by link to a
trusted root, dates, CA flags and path lengths, critical extensions, the
serverAuth purpose and the SAN name.  No path building (the chain must come
in order), no nameConstraints: delete this module, and refuse such chains as
browsers do, once the library can take Ed25519.

What it must never do: accept a chain the library could have judged
(pki_verification.py only calls it for Ed25519 chains), read the clock or the
disk, or raise anything but ChainError for what the peer sent.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from .errors import AlertDescription
from .pki import ChainError, describe_subject, subject_names, validity_error

# Extensions this verifier acts on.  RFC 5280 section 4.2: a certificate with
# a critical extension the verifier does not process must be rejected.
_UNDERSTOOD_EXTENSIONS = {
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.KEY_USAGE,
    ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
}

_LIBRARY_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, InvalidSignature)


def holds_ed25519(certificates: Sequence[x509.Certificate]) -> bool:
    """True if any certificate carries an Ed25519 key or an Ed25519 signature."""
    for certificate in certificates:
        if certificate.signature_algorithm_oid == x509.SignatureAlgorithmOID.ED25519:
            return True
        with contextlib.suppress(*_LIBRARY_ERRORS):
            if isinstance(certificate.public_key(), ed25519.Ed25519PublicKey):
                return True
    return False


def verify_ed25519_chain(
    chain: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    server_name: str,
    moment: datetime,
) -> list[x509.Certificate]:
    """The path, leaf first, ending with a trusted root; ChainError if any check fails."""
    path = _build_path(chain, roots)
    for certificate in path:
        if (problem := validity_error(certificate, moment)) is not None:
            raise problem
        _check_critical_extensions(certificate)
    for position, issuer in enumerate(path[1:], start=1):
        _check_issuer(issuer, intermediates_below=position - 1)
    _check_leaf_purpose(path[0])
    _check_name(path[0], server_name)
    return path


def _check_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> None:
    try:
        certificate.verify_directly_issued_by(issuer)
    except InvalidSignature as error:
        raise ChainError(
            f"the signature on '{describe_subject(certificate)}' does not verify with the key of"
            f" '{describe_subject(issuer)}'",
            AlertDescription.bad_certificate,
        ) from error
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ChainError(
            f"'{describe_subject(certificate)}' was not issued by"
            f" '{describe_subject(issuer)}' ({error})",
            AlertDescription.bad_certificate,
        ) from error


def _find_issuing_root(
    certificate: x509.Certificate, roots: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for root in roots:
        if root.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(root)
        except _LIBRARY_ERRORS:
            continue
        return root
    return None


def _build_path(
    chain: list[x509.Certificate], roots: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """Leaf first, each certificate signed by the next, ending with a trusted root."""
    trusted = {root.public_bytes(serialization.Encoding.DER) for root in roots}
    path: list[x509.Certificate] = []
    for position, certificate in enumerate(chain):
        path.append(certificate)
        if certificate.public_bytes(serialization.Encoding.DER) in trusted:
            return path  # the peer sent a copy of one of our roots: the path ends there
        if position + 1 < len(chain):
            _check_issued_by(certificate, chain[position + 1])
    root = _find_issuing_root(path[-1], roots)
    if root is None:
        raise ChainError(
            f"chain does not lead to the trusted root ('{describe_subject(path[-1])}' was issued by"
            f" '{path[-1].issuer.rfc4514_string()}', which is not trusted)",
            AlertDescription.unknown_ca,
        )
    path.append(root)
    return path


def _check_critical_extensions(certificate: x509.Certificate) -> None:
    for extension in certificate.extensions:
        if extension.critical and extension.oid not in _UNDERSTOOD_EXTENSIONS:
            name = getattr(extension.oid, "_name", extension.oid.dotted_string)
            raise ChainError(
                f"certificate '{describe_subject(certificate)}' has a critical extension this"
                f" verifier does not implement ({name})",
                AlertDescription.unsupported_certificate,
            )


def _check_issuer(issuer: x509.Certificate, intermediates_below: int) -> None:
    """RFC 5280 section 6.1.4 (k), (l), (n): may this certificate sign others?"""
    extensions = issuer.extensions
    try:
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise ChainError(
            f"issuer '{describe_subject(issuer)}' is not a CA", AlertDescription.bad_certificate
        )
    if constraints.path_length is not None and intermediates_below > constraints.path_length:
        raise ChainError(
            f"issuer '{describe_subject(issuer)}' allows {constraints.path_length} intermediate CAs"
            f" below it, the chain has {intermediates_below}",
            AlertDescription.bad_certificate,
        )
    with contextlib.suppress(x509.ExtensionNotFound):
        if not extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            raise ChainError(
                f"issuer '{describe_subject(issuer)}' may not sign certificates (no keyCertSign)",
                AlertDescription.bad_certificate,
            )


def _check_leaf_purpose(leaf: x509.Certificate) -> None:
    """A server certificate must allow TLS server authentication and signing."""
    extensions = leaf.extensions
    with contextlib.suppress(x509.ExtensionNotFound):
        purposes = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in purposes:
            raise ChainError(
                f"certificate '{describe_subject(leaf)}' is not for TLS servers (no serverAuth)",
                AlertDescription.unsupported_certificate,
            )
    with contextlib.suppress(x509.ExtensionNotFound):
        if not extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            raise ChainError(
                f"certificate '{describe_subject(leaf)}' may not sign (no digitalSignature)",
                AlertDescription.unsupported_certificate,
            )


def _dns_name_matches(pattern: str, server_name: str) -> bool:
    """RFC 6125 section 6.4.3: exact, or a leftmost `*.` standing for exactly one label."""
    pattern = pattern.lower().rstrip(".")
    if pattern == server_name:
        return True
    if not pattern.startswith("*."):
        return False
    first_label, dot, rest = server_name.partition(".")
    return bool(first_label) and bool(dot) and rest == pattern[2:]


def _check_name(leaf: x509.Certificate, server_name: str) -> None:
    dns_names, addresses = subject_names(leaf)
    try:
        address = ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if address in addresses:
            return
        presented = [str(item) for item in addresses]
    else:
        wanted = server_name.lower().rstrip(".")
        if any(_dns_name_matches(pattern, wanted) for pattern in dns_names):
            return
        presented = dns_names
    if not presented:
        raise ChainError(
            f"certificate '{describe_subject(leaf)}' names no"
            f" {'DNS name' if address is None else 'IP address'}"
            f" in subjectAltName, so it cannot match {server_name} (the Common Name is not used)",
            AlertDescription.bad_certificate,
        )
    raise ChainError(
        f"certificate for {', '.join(presented)} does not match {server_name}",
        AlertDescription.bad_certificate,
    )
