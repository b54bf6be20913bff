"""Certificates: load a server's key and chain and a client's roots; make a demo chain.

What this module owns:
- Loading a server's certificate chain and private key from PEM files, and a
  client's trusted roots (a CA file, or the system store).
- Generating the demo PKI (root CA -> intermediate CA -> server certificate)
  with the extensions real clients (OpenSSL, curl, Chromium) insist on.
- Naming a certificate for messages and traces (`describe_subject`,
  `subject_names`, `describe_certificate`).

Verifying a peer's chain is pki_verification.py's, with the library's path
validation; its outcome, `VerifiedChain` or `ChainError`, is defined here,
beside `validity_error`, which makes ChainErrors too.

What it must never do: turn a bad local file into anything but `PkiError`.
Only the generation functions, which run at the CLI edge, may default `now` to
the current time; key generation uses the library's own random source.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import crypto
from .errors import AlertDescription

KEY_TYPES = ("ecdsa-p256", "rsa-2048", "ed25519")

# Other modules name the certificate type through this alias so that only this
# module (and crypto.py) import the `cryptography` package.
Certificate = x509.Certificate

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# Backdating not_before by an hour lets a client whose clock runs a little
# behind accept a certificate made a moment ago.
BACKDATE = timedelta(hours=1)
ROOT_LIFETIME = timedelta(days=3650)
INTERMEDIATE_LIFETIME = timedelta(days=1825)
# 397 days is the longest leaf lifetime browsers accept (CA/Browser Forum
# Baseline Requirements 6.3.2, Apple and Chromium policy since 2020).
LEAF_LIFETIME = timedelta(days=397)

LOOPBACK_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


class PkiError(Exception):
    """A local problem: a file is unreadable, not PEM, or the key does not match the certificate."""


class ChainError(Exception):
    """A peer's certificate chain failed verification; `alert` is what to tell the peer."""

    def __init__(self, reason: str, alert: AlertDescription) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert = alert


@dataclass(frozen=True)
class VerifiedChain:
    """Proof that a chain checked out: the key the peer must now prove it holds."""

    leaf_public_key: crypto.PublicKey
    # The path the verifier built, leaf first, ending with the trusted root (RFC 4514).
    subjects: tuple[str, ...]


# --------------------------------------------------------------------------
# Loading local files.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCredentials:
    """Everything a server needs to prove who it is."""

    chain_der: tuple[bytes, ...]  # leaf first, then intermediates in file order
    private_key: crypto.PrivateKey
    signature_schemes: tuple[str, ...]  # what private_key can sign with, preferred first
    leaf_names: tuple[str, ...]  # SAN DNS names and IP addresses, for logs


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PkiError(f"cannot read {what} {path}: {error.strerror or error}") from error


def _parse_pem_certificates(
    data: bytes, path: Path, *, skip_unparsable: bool = False
) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in file order."""
    blocks = _PEM_CERTIFICATE.findall(data)
    if not blocks:
        raise PkiError(f"{path} holds no PEM certificate")
    certificates: list[x509.Certificate] = []
    for number, block in enumerate(blocks, start=1):
        try:
            with warnings.catch_warnings():
                # Some system stores still carry old roots with negative serial numbers.
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                certificates.append(x509.load_pem_x509_certificate(block))
        except (ValueError, x509.InvalidVersion) as error:
            if skip_unparsable:
                continue
            raise PkiError(f"certificate {number} in {path} is not valid: {error}") from error
    return certificates


def _public_key_der(key: crypto.PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_private_key(path: Path) -> crypto.PrivateKey:
    data = _read_file(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as error:
        raise PkiError(f"{path} is encrypted; give an unencrypted PEM key") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise PkiError(f"{path} is not a PEM private key we can read") from error
    if not crypto.signature_schemes_for_key(key):
        raise PkiError(f"{path}: keys of type {type(key).__name__} cannot sign TLS handshakes")
    return key


def subject_names(
    certificate: x509.Certificate,
) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The SAN DNS names and IP addresses; empty when there is no SAN extension (for messages)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return names.get_values_for_type(x509.DNSName), names.get_values_for_type(x509.IPAddress)


def load_server_credentials(
    certificate: Path, key: Path, chain: Path | None = None
) -> ServerCredentials:
    """The leaf (and any intermediates, nginx style) from `certificate`, more from `chain`."""
    certificates = _parse_pem_certificates(_read_file(certificate, "certificate"), certificate)
    if chain is not None:
        certificates += _parse_pem_certificates(_read_file(chain, "certificate chain"), chain)
    private_key = _load_private_key(key)
    leaf = certificates[0]
    try:
        leaf_public_key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as error:
        raise PkiError(f"{certificate}: unsupported public key in the certificate") from error
    if _public_key_der(private_key.public_key()) != _public_key_der(leaf_public_key):
        raise PkiError(f"the key {key} does not belong to the certificate {certificate}")
    dns_names, addresses = subject_names(leaf)
    return ServerCredentials(
        chain_der=tuple(cert.public_bytes(serialization.Encoding.DER) for cert in certificates),
        private_key=private_key,
        signature_schemes=crypto.signature_schemes_for_key(private_key),
        leaf_names=(*dns_names, *(str(address) for address in addresses)),
    )


def certificate_expires_at(path: Path) -> float:
    """When the first certificate of a PEM file expires (epoch seconds): for renewal decisions."""
    certificate = _parse_pem_certificates(_read_file(path, "certificate"), path)[0]
    return certificate.not_valid_after_utc.timestamp()


def describe_certificate(der: bytes) -> str | None:
    """ "subject (issued by issuer)" of a DER certificate, for traces; None if it does not parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            certificate = x509.load_der_x509_certificate(der)
            issuer = certificate.issuer.rfc4514_string()
            return f"{describe_subject(certificate)} (issued by {issuer})"
        except (ValueError, x509.InvalidVersion):
            return None


def load_trusted_roots(cafile: Path | None = None) -> tuple[x509.Certificate, ...]:
    """The roots in `cafile`; with None, the system store, else certifi's bundle."""
    if cafile is not None:
        return tuple(_parse_pem_certificates(_read_file(cafile, "CA file"), cafile))
    if SYSTEM_CA_BUNDLE.is_file():
        bundle = SYSTEM_CA_BUNDLE
    else:
        try:
            import certifi
        except ImportError as error:
            raise PkiError(
                f"no system CA store at {SYSTEM_CA_BUNDLE} and certifi is not installed;"
                " pass a CA file"
            ) from error
        bundle = Path(certifi.where())
    # A system store is not ours to fix: skip the odd certificate the library refuses.
    data = _read_file(bundle, "system CA store")
    return tuple(_parse_pem_certificates(data, bundle, skip_unparsable=True))


def describe_name(der: bytes) -> str:
    """A DER X.501 Name (a CertificateRequest's certificate_authorities) as RFC 4514 text."""
    try:
        return x509.Name.from_bytes(der).rfc4514_string() or "(empty name)"
    except (ValueError, TypeError):
        return f"(a name that does not parse, {len(der)} bytes)"


def describe_subject(certificate: x509.Certificate) -> str:
    """A certificate's subject as an RFC 4514 string, for messages and traces."""
    return certificate.subject.rfc4514_string() or "(empty subject)"


def validity_error(certificate: x509.Certificate, moment: datetime) -> ChainError | None:
    """Why `certificate` is not valid at `moment`, or None when it is.

    RFC 8446 section 6.2: certificate_expired covers "expired or not currently valid".
    """
    if moment > certificate.not_valid_after_utc:
        expiry = certificate.not_valid_after_utc.date().isoformat()
        return ChainError(
            f"certificate '{describe_subject(certificate)}' expired on {expiry}",
            AlertDescription.certificate_expired,
        )
    if moment < certificate.not_valid_before_utc:
        start = certificate.not_valid_before_utc.date().isoformat()
        return ChainError(
            f"certificate '{describe_subject(certificate)}' is not valid before {start}",
            AlertDescription.certificate_expired,
        )
    return None


def subject_text(certificate: x509.Certificate) -> str:
    """The subject as RFC 4514 text, as the verifier's messages quote it."""
    return describe_subject(certificate)


def describe_with_fingerprint(certificate: x509.Certificate) -> str:
    """`subject (SHA-256 AB:CD:...)`: how a learner tells two roots of the same name apart."""
    digest = certificate.fingerprint(hashes.SHA256())
    return f"'{describe_subject(certificate)}' (SHA-256 {digest.hex(':').upper()})"


# --------------------------------------------------------------------------
# Generating the demo PKI.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedPki:
    """Where generate_pki wrote each file."""

    root_cert: Path
    intermediate_cert: Path
    server_cert: Path
    server_key: Path
    root_key: Path
    intermediate_key: Path


def _new_private_key(key_type: str) -> crypto.PrivateKey:
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise PkiError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _demo_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tls-web-server demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signing: bool, encipherment: bool = False, certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificates,
        crl_sign=certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _sign(builder: x509.CertificateBuilder, issuer_key: crypto.PrivateKey) -> x509.Certificate:
    # Ed25519 signs the message itself, so it takes no separate hash (RFC 8410 section 6).
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, digest)


def _ca_certificate(
    common_name: str,
    key: crypto.PrivateKey,
    issuer: tuple[x509.Certificate, crypto.PrivateKey] | None,
    path_length: int,
    not_before: datetime,
    lifetime: timedelta,
) -> x509.Certificate:
    """A CA certificate; self-signed (a root) when `issuer` is None."""
    subject = _demo_name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + BACKDATE + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(signing=False, certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is None:
        return _sign(builder, key)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()), critical=False
    )
    return _sign(builder, issuer[1])


def _subject_alternative_name(names: Sequence[str]) -> x509.SubjectAlternativeName:
    """DNS names, with anything that parses as an IP address entered as an IP, plus loopback."""
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entry: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            try:
                entry = x509.DNSName(name)
            except ValueError as error:
                raise PkiError(f"{name!r} is not a valid DNS name: {error}") from error
        if entry not in entries:
            entries.append(entry)
    for address in LOOPBACK_ADDRESSES:
        if x509.IPAddress(address) not in entries:
            entries.append(x509.IPAddress(address))
    return x509.SubjectAlternativeName(entries)


def _leaf_certificate(
    names: Sequence[str],
    key: crypto.PrivateKey,
    issuer_certificate: x509.Certificate,
    issuer_key: crypto.PrivateKey,
    not_before: datetime,
    lifetime: timedelta,
) -> x509.Certificate:
    if not names:
        raise PkiError("a server certificate needs at least one name")
    # RSA key exchange (TLS 1.2) encrypts to the key, so RSA leaves also get keyEncipherment.
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_demo_name(names[0]))
        .issuer_name(issuer_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + BACKDATE + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(signing=True, encipherment=is_rsa, certificates=False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_subject_alternative_name(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key()),
            critical=False,
        )
    )
    return _sign(builder, issuer_key)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    try:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    except OSError as error:
        raise PkiError(f"cannot write {path}: {error.strerror or error}") from error


def _write_private_key(path: Path, key: crypto.PrivateKey) -> None:
    """Write a PEM key readable by its owner only, from the first byte on."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_CREAT keeps an existing file's mode, so remove it first and insist on
        # creating it (O_EXCL) with 0600: no moment where others could read the key.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    except OSError as error:
        raise PkiError(f"cannot write {path}: {error.strerror or error}") from error


def generate_pki(
    outdir: Path,
    names: Sequence[str] = ("localhost",),
    key_type: str = "ecdsa-p256",
    now: float | None = None,
) -> GeneratedPki:
    """Write a demo root CA, intermediate CA and server certificate (with keys) into outdir."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    not_before = moment - BACKDATE
    root_key = _new_private_key(key_type)
    intermediate_key = _new_private_key(key_type)
    server_key = _new_private_key(key_type)
    # Each CA's name ends with a tag of its own key, so two generated CAs (two
    # `certs` runs, two machines' `serve`) are never confused in a message.
    root = _ca_certificate(
        f"tls-web-server demo root CA {_key_tag(root_key)}",
        root_key,
        None,
        1,
        not_before,
        ROOT_LIFETIME,
    )
    intermediate = _ca_certificate(
        f"tls-web-server demo intermediate CA {_key_tag(intermediate_key)}",
        intermediate_key,
        (root, root_key),
        0,
        not_before,
        INTERMEDIATE_LIFETIME,
    )
    server = _leaf_certificate(
        names, server_key, intermediate, intermediate_key, not_before, LEAF_LIFETIME
    )
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PkiError(f"cannot create {outdir}: {error.strerror or error}") from error
    files = GeneratedPki(
        root_cert=outdir / "root_cert.pem",
        intermediate_cert=outdir / "intermediate_cert.pem",
        server_cert=outdir / "server_cert.pem",
        server_key=outdir / "server_key.pem",
        root_key=outdir / "root_key.pem",
        intermediate_key=outdir / "intermediate_key.pem",
    )
    _write_private_key(files.root_key, root_key)
    _write_private_key(files.intermediate_key, intermediate_key)
    _write_private_key(files.server_key, server_key)
    _write_certificate(files.root_cert, root)
    _write_certificate(files.intermediate_cert, intermediate)
    _write_certificate(files.server_cert, server)
    return files


def _key_tag(key: crypto.PrivateKey) -> str:
    """8 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo)."""
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public_der)
    return digest.finalize()[:4].hex()


def issue_server_certificate(
    issuer_cert: Path,
    issuer_key: Path,
    cert_out: Path,
    key_out: Path,
    names: Sequence[str] = ("localhost",),
    key_type: str = "ecdsa-p256",
    now: float | None = None,
    lifetime: timedelta = LEAF_LIFETIME,
) -> None:
    """A new server key and certificate, signed by an existing (intermediate) CA."""
    issuer_certificate = _parse_pem_certificates(
        _read_file(issuer_cert, "certificate"), issuer_cert
    )[0]
    signing_key = _load_private_key(issuer_key)
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    key = _new_private_key(key_type)
    certificate = _leaf_certificate(
        names, key, issuer_certificate, signing_key, moment - BACKDATE, lifetime
    )
    _write_private_key(key_out, key)
    _write_certificate(cert_out, certificate)


def issue_client_certificate(
    issuer_cert: Path,
    issuer_key: Path,
    cert_out: Path,
    key_out: Path,
    name: str,
    key_type: str = "ecdsa-p256",
    now: float | None = None,
    lifetime: timedelta = LEAF_LIFETIME,
) -> None:
    """A client certificate for mutual TLS (clientAuth), signed by an existing CA.

    `cert_out` holds the leaf, then the issuer unless it is a root; `key_out`
    the key, mode 0600.

    The client's name is its subject's Common Name (what nginx's
    $ssl_client_s_dn shows) and its subjectAltName, which the Web PKI
    profile requires of every leaf: an email address (rfc822Name) when the
    name has an '@', else a DNS-style name ("alice", "build-bot.example").
    """
    if re.fullmatch(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+", name):
        alternative_name: x509.GeneralName = x509.RFC822Name(name)
    elif re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", name):
        alternative_name = x509.DNSName(name.lower())
    else:
        raise PkiError(
            f"a client name is a DNS-style name (letters, digits, '-', '.') or an email"
            f" address, not {name!r}"
        )
    issuer_certificate = _parse_pem_certificates(
        _read_file(issuer_cert, "certificate"), issuer_cert
    )[0]
    signing_key = _load_private_key(issuer_key)
    not_before = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC) - BACKDATE
    key = _new_private_key(key_type)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_demo_name(name))
        .issuer_name(issuer_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + BACKDATE + lifetime)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True, certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([alternative_name]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_certificate.public_key()),
            critical=False,
        )
    )
    certificate = _sign(builder, signing_key)
    _write_private_key(key_out, key)
    # The issuer follows the leaf when it is an intermediate, so the file is the chain a
    # client sends as it is (curl --cert, Python's load_cert_chain, get --cert).
    chain = [certificate]
    if issuer_certificate.subject != issuer_certificate.issuer:
        chain.append(issuer_certificate)
    pem = b"".join(each.public_bytes(serialization.Encoding.PEM) for each in chain)
    try:
        cert_out.write_bytes(pem)
    except OSError as error:
        raise PkiError(f"cannot write {cert_out}: {error.strerror or error}") from error


def certificate_subjects_der(certificates: Sequence[x509.Certificate]) -> tuple[bytes, ...]:
    """Each certificate's subject as DER: the names a CertificateRequest's
    certificate_authorities lists (RFC 8446 section 4.2.4)."""
    return tuple(certificate.subject.public_bytes() for certificate in certificates)
