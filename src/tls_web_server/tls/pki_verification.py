"""Verifying a peer's certificate chain with the library's path validation, explained in our words.

What this module owns:
- `verify_chain` (a server's chain, for the name the client asked for) and
  `verify_client_chain` (a client's chain, for mutual TLS): each runs
  `cryptography.x509.verification` (RFC 5280 path building and validation
  with the Web PKI profile): path building from an unordered chain with
  extra certificates, cross-signed roots, nameConstraints, extendedKeyUsage
  of intermediates, validity, basicConstraints and pathLen, critical
  extensions, the SAN name or IP address (never the Common Name).
- Turning the library's refusal into a `ChainError` a person can act on
  (which certificate, which root, which names, which dates) and the TLS
  alert RFC 8446 section 6.2 names for it.  These explanations only run
  after the library refused: they never accept anything.
- `VerifiedChain`: what the handshake and the trace keep of the path the
  library built (the leaf's key, each certificate's subject, leaf first).
- Refusing chains that hold an Ed25519 key or signature, both ways, with
  unsupported_certificate and one message (`_ed25519_refusal`).

What it must never do: decide a chain is good by itself (the library
decides), read the clock or the disk (`now` and the roots are parameters),
or let a library exception escape for what a peer sent.

Why Ed25519 is refused: browsers accept no Ed25519 certificate (the
CA/Browser Forum's Baseline Requirements allow RSA and ECDSA keys only), and
the library's Web PKI policy follows them, with no way to allow Ed25519
(https://github.com/pyca/cryptography/issues/13391).  Our clients do the
same and say so, rather than keep a second, hand-written verifier for chains
no browser takes.  Our server still serves an Ed25519 chain to the clients
that accept one (OpenSSL, curl).
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification

from . import crypto
from .errors import AlertDescription
from .pki import ChainError, VerifiedChain, describe_subject, subject_names, validity_error

# Everything the library may raise while parsing a certificate.  Converted to
# ChainError at this module's boundary.
_LIBRARY_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    InvalidSignature,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def verify_chain(
    chain_der: Sequence[bytes],
    roots: Sequence[x509.Certificate],
    server_name: str,
    now: float,
) -> VerifiedChain:
    """Check a server's chain (leaf first, then any others, in any order) for `server_name`."""
    with warnings.catch_warnings():
        # The library warns about oddities it still accepts (a negative serial
        # number, a country name of the wrong length).  Peer-controlled bytes
        # must not write to our logs, nor raise under `python -W error`.
        warnings.simplefilter("ignore")
        chain = _parse_chain(chain_der, "server")
        # Before any other check: an Ed25519 chain is refused whoever issued it,
        # so the person who sees this learns the one thing that would help.
        _refuse_ed25519(chain, "server")
        moment = datetime.fromtimestamp(now, tz=UTC)
        verifier = _server_verifier(_policy(roots, moment), server_name, chain[0])
        try:
            path = verifier.verify(chain[0], chain[1:])
        except verification.VerificationError as error:
            raise _explain(str(error), chain, roots, moment, server_name) from error
        except _LIBRARY_ERRORS as error:  # a root or a certificate the library cannot use
            raise _unusable(error) from error
        return _verified(path)


def verify_client_chain(
    chain_der: Sequence[bytes],
    roots: Sequence[x509.Certificate],
    now: float,
    max_intermediates: int | None = None,
) -> VerifiedChain:
    """Check a client's chain (for mutual TLS) at `now`: the clientAuth purpose, no name.

    `max_intermediates` is nginx's ssl_verify_depth, OpenSSL's meaning: how
    many CA certificates may stand between the client's and a trusted root.
    An Ed25519 chain is refused once the library has refused it (`_explain`),
    after the unknown_ca check: `optional_no_ca` logs such a chain from a CA
    it does not know, as it always has, instead of refusing it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = _parse_chain(chain_der, "client")
        moment = datetime.fromtimestamp(now, tz=UTC)
        policy = _policy(roots, moment)
        if max_intermediates is not None:
            policy = policy.max_chain_depth(max_intermediates)
        verifier = policy.build_client_verifier()
        try:
            verified = verifier.verify(chain[0], chain[1:])
        except verification.VerificationError as error:
            if "exceeds max depth" in str(error):
                raise ChainError(
                    f"the chain of '{describe_subject(chain[0])}' needs more than"
                    f" {max_intermediates} intermediate CAs to reach a trusted root"
                    " (ssl_verify_depth)",
                    AlertDescription.bad_certificate,
                ) from error
            raise _explain(str(error), chain, roots, moment, None) from error
        except _LIBRARY_ERRORS as error:  # a root or a certificate the library cannot use
            raise _unusable(error) from error
        return _verified(verified.chain)


@dataclass(frozen=True)
class ClientLeaf:
    """A client's leaf certificate as the server logs it, trusted or not (mutual TLS)."""

    public_key: crypto.PublicKey
    subject: str  # RFC 4514, nginx's $ssl_client_s_dn
    issuer: str  # $ssl_client_i_dn
    fingerprint: str  # SHA-1 of the DER in lowercase hex, $ssl_client_fingerprint


def read_client_leaf(der: bytes) -> ClientLeaf:
    """The first certificate of a client's chain, parsed but not verified.

    With `ssl_verify_client optional_no_ca` a chain that leads to no trusted
    root is still logged and its CertificateVerify still checked: both need
    the leaf, read here without any judgement of trust.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certificate = _parse_peer_certificate(der, 0)
        try:
            public_key = certificate.public_key()
        except _LIBRARY_ERRORS as error:
            raise _unusable(error) from error
        return ClientLeaf(
            public_key=public_key,
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            # SHA-1, as nginx computes $ssl_client_fingerprint: a name, not a security check.
            fingerprint=certificate.fingerprint(hashes.SHA1()).hex(),
        )


# ---------------------------------------------------------------------------
# the library's side
# ---------------------------------------------------------------------------


# One Store per set of roots, looked up by the identity of the caller's
# sequence (client settings keep theirs for their whole life): hashing the
# system store's 150 certificates on every handshake would cost a millisecond.
_STORES: dict[int, tuple[Sequence[x509.Certificate], verification.Store]] = {}
_STORES_KEPT = 16


def _store(roots: Sequence[x509.Certificate]) -> verification.Store:
    cached = _STORES.get(id(roots))
    if cached is not None and cached[0] is roots:
        return cached[1]
    if len(_STORES) >= _STORES_KEPT:
        _STORES.clear()
    store = verification.Store(list(roots))
    _STORES[id(roots)] = (roots, store)  # keeping `roots` alive keeps its id unique
    return store


def _policy(roots: Sequence[x509.Certificate], moment: datetime) -> verification.PolicyBuilder:
    if not roots:
        raise ChainError("no trusted root to verify the chain with", AlertDescription.unknown_ca)
    return verification.PolicyBuilder().store(_store(roots)).time(moment)


def _server_verifier(
    policy: verification.PolicyBuilder, server_name: str, leaf: x509.Certificate
) -> verification.ServerVerifier:
    """A verifier for the name the client asked for: an IP address, else a DNS name."""
    try:
        address = ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        address = None
    try:
        if address is not None:
            return policy.build_server_verifier(verification.IPAddress(address))
        return policy.build_server_verifier(verification.DNSName(server_name.lower().rstrip(".")))
    except ValueError as error:
        # Not a valid DNS name (".example.test"): no certificate can match it.
        raise _explain_name(leaf, server_name) from error


def _unusable(error: Exception) -> ChainError:
    return ChainError(
        f"certificate could not be processed: {error}", AlertDescription.unsupported_certificate
    )


def _verified(path: Sequence[x509.Certificate]) -> VerifiedChain:
    leaf = path[0]
    try:
        leaf_public_key = leaf.public_key()
    except _LIBRARY_ERRORS as error:
        raise _unusable(error) from error
    if not crypto.signature_schemes_for_key(leaf_public_key):
        raise ChainError(
            f"certificate '{describe_subject(leaf)}' has a key type TLS cannot use",
            AlertDescription.unsupported_certificate,
        )
    return VerifiedChain(
        leaf_public_key=leaf_public_key,
        subjects=tuple(describe_subject(certificate) for certificate in path),
    )


# ---------------------------------------------------------------------------
# Ed25519: refused, as browsers refuse it
# ---------------------------------------------------------------------------

# What to do instead, by whose chain was refused.
_ED25519_FIXES = {
    "server": "give the server an ECDSA chain: `tls-web-server certs DIR --key-type ecdsa-p256`"
    " (the default)",
    "client": "issue the client an ECDSA certificate: `tls-web-server certs DIR --client NAME"
    " --key-type ecdsa-p256` (the default)",
}


def _refuse_ed25519(chain: Sequence[x509.Certificate], peer: str) -> None:
    refusal = _ed25519_refusal(chain, peer)
    if refusal is not None:
        raise refusal


def _ed25519_refusal(chain: Sequence[x509.Certificate], peer: str) -> ChainError | None:
    """Why a chain holding an Ed25519 key or signature is refused; None if it holds neither.

    Both are looked at, because a leaf with an ECDSA key signed by an Ed25519
    CA is an Ed25519 chain too.  The root a chain would lead to needs no
    look of its own: its key made the signature on the certificate it issued.
    """
    for certificate in chain:
        subject = describe_subject(certificate)
        if certificate.public_key_algorithm_oid == x509.PublicKeyAlgorithmOID.ED25519:
            found = f"certificate '{subject}' holds an Ed25519 key"
        elif certificate.signature_algorithm_oid == x509.SignatureAlgorithmOID.ED25519:
            issuer = certificate.issuer.rfc4514_string()
            found = f"certificate '{subject}' is signed with Ed25519 (by '{issuer}')"
        else:
            continue
        return ChainError(
            f"{found}: Ed25519 certificates are refused here, as browsers refuse them (the"
            " Web PKI allows only RSA and ECDSA certificates, and the verifier we use,"
            f" cryptography.x509.verification, follows it); {_ED25519_FIXES[peer]}",
            AlertDescription.unsupported_certificate,
        )
    return None


# ---------------------------------------------------------------------------
# parsing what the peer sent
# ---------------------------------------------------------------------------


def _parse_chain(chain_der: Sequence[bytes], peer: str) -> list[x509.Certificate]:
    if not chain_der:
        # RFC 8446 section 4.4.2.4: an empty server Certificate is a decode_error.
        raise ChainError(f"the {peer} sent no certificate", AlertDescription.decode_error)
    return [_parse_peer_certificate(der, position) for position, der in enumerate(chain_der)]


def _der_element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER element at `offset` (X.690 8.1)."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:  # long form: the low bits count the length bytes that follow
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return tag, start, start + length


def _signature_is_whole_bytes(der: bytes) -> bool:
    """Whether signatureValue, a BIT STRING, declares zero unused bits.

    RFC 5280 section 4.1.1.3 puts the signature in a BIT STRING whose first
    content byte counts unused trailing bits.  The library ignores that count,
    so without this check the byte could be changed without the signature
    failing; OpenSSL refuses such certificates and so do we.
    """
    try:
        _certificate, start, _end = _der_element(der, 0)
        _tbs, _start, after_tbs = _der_element(der, start)
        _algorithm, _start, after_algorithm = _der_element(der, after_tbs)
        tag, contents, _end = _der_element(der, after_algorithm)
        return tag == 0x03 and der[contents] == 0
    except IndexError:
        return False


def _parse_peer_certificate(der: bytes, position: int) -> x509.Certificate:
    """Parse one DER certificate and touch every lazily parsed part, so errors surface here."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        certificate.subject.rfc4514_string()
        certificate.issuer.rfc4514_string()
        for extension in certificate.extensions:
            extension.value  # noqa: B018 - parsing happens on access
        certificate.not_valid_before_utc  # noqa: B018
        certificate.not_valid_after_utc  # noqa: B018
    except _LIBRARY_ERRORS as error:
        raise ChainError(
            f"certificate {position + 1} in the chain cannot be parsed: {error}",
            AlertDescription.bad_certificate,
        ) from error
    if not _signature_is_whole_bytes(der):
        raise ChainError(
            f"certificate {position + 1} in the chain has unused bits in its signature",
            AlertDescription.bad_certificate,
        )
    return certificate


# ---------------------------------------------------------------------------
# why the library refused, in words a person can act on
# ---------------------------------------------------------------------------


def _explain(
    library_reason: str,
    chain: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
    server_name: str | None,
) -> ChainError:
    """The ChainError for a refusal the library gave as `library_reason`.

    The library names the rule that failed; the certificate it failed on is
    found by following issuer names from the leaf through what the peer sent
    (`_issuer_walk`), which is how the explanation can say which certificate,
    which root, which names and which dates.
    """
    reason = library_reason.removeprefix("validation failed: ")
    reason = reason.removeprefix("candidates exhausted: ").split(" (encountered processing")[0]
    walk = _issuer_walk(chain)
    if "not valid at validation time" in reason:
        return _explain_dates(walk, roots, moment, reason)
    if "subjectAltName" in reason and "name constraints" not in reason:
        if server_name is None:
            return ChainError(
                f"client certificate '{describe_subject(chain[0])}' has no subjectAltName",
                AlertDescription.bad_certificate,
            )
        return _explain_name(chain[0], server_name)
    if "no interior errors" in reason or (
        ("signature does not match" in reason or "Forbidden" in reason)
        and not _issued_by_a_root(walk[-1], roots)
    ):
        # No trusted root issued the top of the chain (one may bear its name
        # and still not hold the key that signed it, or use a key the library
        # refuses).
        last = walk[-1]
        return ChainError(
            f"chain does not lead to the trusted root ('{describe_subject(last)}' was issued by"
            f" '{last.issuer.rfc4514_string()}', which is not trusted)",
            AlertDescription.unknown_ca,
        )
    if "basicConstraints" in reason:
        for issuer in walk[1:]:
            if not _is_ca(issuer):
                return ChainError(
                    f"issuer '{describe_subject(issuer)}' is not a CA",
                    AlertDescription.bad_certificate,
                )
    if "path length" in reason:
        return _explain_path_length(walk, reason)
    if "EKU" in reason:
        purpose = "servers (no serverAuth" if server_name is not None else "clients (no clientAuth"
        return ChainError(
            f"certificate '{describe_subject(chain[0])}' or an issuer of it is not for TLS"
            f" {purpose} in its extendedKeyUsage)",
            AlertDescription.unsupported_certificate,
        )
    if "critical extension" in reason:
        return ChainError(
            f"a certificate in the chain has a critical extension this verifier does not"
            f" implement ({reason})",
            AlertDescription.unsupported_certificate,
        )
    if "Forbidden" in reason:
        refusal = _ed25519_refusal(chain, "client" if server_name is None else "server")
        return refusal or ChainError(
            "the chain uses a key or signature algorithm the Web PKI does not allow"
            f" (RSA and ECDSA only, with SHA-256, SHA-384 or SHA-512): {reason}",
            AlertDescription.unsupported_certificate,
        )
    if "name constraints" in reason:
        names = ", ".join(_presented_names(chain[0])) or "none"
        return ChainError(
            f"the names of '{describe_subject(chain[0])}' ({names}) are outside an issuer's"
            f" nameConstraints ({reason})",
            AlertDescription.bad_certificate,
        )
    if "signature does not match" in reason:
        return ChainError(
            f"a signature in the chain does not verify with its issuer's key"
            f" (chain: {' <- '.join(describe_subject(c) for c in walk)})",
            AlertDescription.bad_certificate,
        )
    return ChainError(f"the chain does not verify: {reason}", AlertDescription.bad_certificate)


def _issuer_walk(chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf, then the certificate the peer sent whose subject is each one's issuer."""
    walk = [chain[0]]
    remaining = chain[1:]
    while remaining:
        issuer_name = walk[-1].issuer
        found = next((c for c in remaining if c.subject == issuer_name), None)
        if found is None:
            break
        walk.append(found)
        remaining.remove(found)
    return walk


def _issued_by_a_root(certificate: x509.Certificate, roots: Sequence[x509.Certificate]) -> bool:
    for root in roots:
        if root.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(root)
        except _LIBRARY_ERRORS:
            continue
        return True
    return False


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _explain_dates(
    walk: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
    reason: str,
) -> ChainError:
    issuers = [root for root in roots if root.subject == walk[-1].issuer]
    for certificate in (*walk, *issuers):
        if (problem := validity_error(certificate, moment)) is not None:
            return problem
    return ChainError(f"the chain does not verify: {reason}", AlertDescription.certificate_expired)


def _explain_path_length(walk: list[x509.Certificate], reason: str) -> ChainError:
    for position, issuer in enumerate(walk[1:], start=1):
        try:
            limit = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue
        below = position - 1  # intermediate CAs between this issuer and the leaf
        if limit.path_length is not None and below > limit.path_length:
            return ChainError(
                f"issuer '{describe_subject(issuer)}' allows {limit.path_length} intermediate"
                f" CAs below it, the chain has {below}",
                AlertDescription.bad_certificate,
            )
    return ChainError(f"the chain does not verify: {reason}", AlertDescription.bad_certificate)


def _presented_names(leaf: x509.Certificate) -> list[str]:
    dns_names, addresses = subject_names(leaf)
    return [*dns_names, *(str(address) for address in addresses)]


def _explain_name(leaf: x509.Certificate, server_name: str) -> ChainError:
    dns_names, addresses = subject_names(leaf)
    try:
        ipaddress.ip_address(server_name.strip("[]"))
        is_address = True
    except ValueError:
        is_address = False
    presented = [str(item) for item in addresses] if is_address else dns_names
    if not presented:
        return ChainError(
            f"certificate '{describe_subject(leaf)}' names no"
            f" {'IP address' if is_address else 'DNS name'}"
            f" in subjectAltName, so it cannot match {server_name} (the Common Name is not used)",
            AlertDescription.bad_certificate,
        )
    return ChainError(
        f"certificate for {', '.join(presented)} does not match {server_name}",
        AlertDescription.bad_certificate,
    )
