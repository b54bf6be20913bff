"""tls/pki.py: the generated demo PKI, loading keys and roots, and chain verification."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.tls import pki, pki_verification
from tls_web_server.tls.errors import AlertDescription

from .conftest import DemoPki, make_demo_pki

KEY_FILES = ("root_key.pem", "intermediate_key.pem", "server_key.pem")
CERT_FILES = ("root_cert.pem", "intermediate_cert.pem", "server_cert.pem")


def read_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def chain_of(demo: DemoPki) -> list[bytes]:
    return list(demo.credentials.chain_der)


def expect_chain_error(
    chain: list[bytes], roots: tuple[x509.Certificate, ...], name: str, now: float
) -> pki_verification.ChainError:
    with pytest.raises(pki_verification.ChainError) as caught:
        pki_verification.verify_chain(chain, roots, name, now)
    return caught.value


# --------------------------------------------------------------------------
# A small certificate builder for chains generate_pki would never make.
# --------------------------------------------------------------------------


def build_certificate(
    common_name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool | None,
    path_length: int | None = None,
    dns_names: tuple[str, ...] = (),
    server_auth: bool = True,
    not_before: datetime,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A P-256 certificate; self-signed when issuer is None; ca None omits BasicConstraints."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=30))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        # RFC 5280 section 4.2.1.1: every certificate but a self-signed root names
        # its issuer's key; the library's Web PKI profile insists on it.
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()),
            critical=False,
        )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length), critical=True
        )
    if ca:
        # RFC 5280 section 4.2.1.3: a CA that signs certificates says so (keyCertSign).
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if server_auth else ExtendedKeyUsageOID.CLIENT_AUTH
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def start() -> datetime:
    return datetime.now(tz=UTC) - timedelta(hours=1)


@pytest.fixture(scope="module")
def custom_root(
    start: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    return build_certificate("custom root", None, ca=True, not_before=start)


def custom_now(start: datetime) -> float:
    return (start + timedelta(hours=2)).timestamp()


# --------------------------------------------------------------------------
# generate_pki
# --------------------------------------------------------------------------


def test_generate_pki_writes_six_files_and_keys_are_owner_only(tmp_path: Path) -> None:
    files = pki.generate_pki(tmp_path / "certs", key_type="ed25519")
    assert files.root_cert == tmp_path / "certs" / "root_cert.pem"
    for name in CERT_FILES:
        assert (tmp_path / "certs" / name).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    for name in KEY_FILES:
        path = tmp_path / "certs" / name
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_regenerating_replaces_a_world_readable_key_file_with_an_owner_only_one(
    tmp_path: Path,
) -> None:
    old_key = tmp_path / "server_key.pem"
    old_key.write_text("an old key")
    old_key.chmod(0o644)
    pki.generate_pki(tmp_path, key_type="ed25519")
    assert stat.S_IMODE(old_key.stat().st_mode) == 0o600
    assert old_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_unknown_key_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(pki.PkiError, match="unknown key type 'dsa-1024'"):
        pki.generate_pki(tmp_path, key_type="dsa-1024")


def test_all_three_keys_use_the_requested_key_type(any_pki: DemoPki) -> None:
    expected = {"ecdsa-p256": "ecdsa-p256", "rsa-2048": "rsa-2048", "ed25519": "ed25519"}
    for path in (any_pki.files.root_key, any_pki.files.intermediate_key, any_pki.files.server_key):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert pki.crypto.describe_key(key) == expected[any_pki.key_type]


def test_root_extensions(any_pki: DemoPki) -> None:
    root = read_certificate(any_pki.files.root_cert)
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 1)
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert root.subject == root.issuer
    # Each generated CA's name ends with a tag of its own key, so two are never confused.
    root_key_tag = hashlib.sha256(
        root.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()[:8]
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"tls-web-server demo root CA {root_key_tag}"
    )


def test_intermediate_extensions(any_pki: DemoPki) -> None:
    root = read_certificate(any_pki.files.root_cert)
    intermediate = read_certificate(any_pki.files.intermediate_cert)
    constraints = intermediate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 0)
    usage = intermediate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    root_key_id = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    authority = intermediate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert authority.value.key_identifier == root_key_id.digest
    intermediate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert intermediate.issuer == root.subject


def test_leaf_extensions(any_pki: DemoPki) -> None:
    intermediate = read_certificate(any_pki.files.intermediate_cert)
    leaf = read_certificate(any_pki.files.server_cert)
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    assert usage.value.key_encipherment is (any_pki.key_type == "rsa-2048")
    purposes = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(purposes) == [ExtendedKeyUsageOID.SERVER_AUTH]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    intermediate_key_id = intermediate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    authority = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert authority.key_identifier == intermediate_key_id.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_validity_periods_and_signature_hash(any_pki: DemoPki) -> None:
    made = datetime.fromtimestamp(any_pki.now, tz=UTC)
    lifetimes = {"root_cert": 3650, "intermediate_cert": 1825, "server_cert": 397}
    for attribute, days in lifetimes.items():
        certificate = read_certificate(getattr(any_pki.files, attribute))
        before = certificate.not_valid_before_utc
        after = certificate.not_valid_after_utc
        # X.509 times have whole seconds.
        assert abs((before - (made - timedelta(hours=1))).total_seconds()) < 1
        assert abs((after - (made + timedelta(days=days))).total_seconds()) < 1
        hash_algorithm = certificate.signature_hash_algorithm
        if any_pki.key_type == "ed25519":
            assert hash_algorithm is None
        else:
            assert isinstance(hash_algorithm, hashes.SHA256)


def test_a_name_that_parses_as_an_ip_goes_in_as_an_ip(tmp_path: Path, ecdsa_pki: DemoPki) -> None:
    pki.issue_server_certificate(
        ecdsa_pki.files.intermediate_cert,
        ecdsa_pki.files.intermediate_key,
        tmp_path / "cert.pem",
        tmp_path / "key.pem",
        names=("example.test", "10.0.0.1", "::1"),
    )
    leaf = read_certificate(tmp_path / "cert.pem")
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["example.test"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600


def test_openssl_verify_accepts_the_generated_chain(any_pki: DemoPki) -> None:
    files = any_pki.files
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            str(files.root_cert),
            "-untrusted",
            str(files.intermediate_cert),
            str(files.server_cert),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{files.server_cert}: OK"


# --------------------------------------------------------------------------
# load_server_credentials and load_trusted_roots
# --------------------------------------------------------------------------


def test_credentials_hold_leaf_then_chain_file(any_pki: DemoPki) -> None:
    files = any_pki.files
    credentials = any_pki.credentials
    assert credentials.chain_der == (
        der(read_certificate(files.server_cert)),
        der(read_certificate(files.intermediate_cert)),
    )
    assert credentials.leaf_names == ("localhost", "127.0.0.1", "::1")
    assert credentials.signature_schemes == pki.crypto.signature_schemes_for_key(
        credentials.private_key
    )
    assert (
        credentials.signature_schemes[0]
        == {
            "ecdsa-p256": "ecdsa_secp256r1_sha256",
            "rsa-2048": "rsa_pss_rsae_sha256",
            "ed25519": "ed25519",
        }[any_pki.key_type]
    )


def test_certificate_file_may_hold_the_chain_nginx_style(
    tmp_path: Path, ecdsa_pki: DemoPki
) -> None:
    files = ecdsa_pki.files
    combined = tmp_path / "fullchain.pem"
    combined.write_bytes(files.server_cert.read_bytes() + files.intermediate_cert.read_bytes())
    credentials = pki.load_server_credentials(combined, files.server_key)
    assert credentials.chain_der == ecdsa_pki.credentials.chain_der
    # A chain file adds its certificates after those of the certificate file.
    with_root = pki.load_server_credentials(combined, files.server_key, files.root_cert)
    assert with_root.chain_der[2] == der(read_certificate(files.root_cert))


def test_key_that_does_not_match_the_leaf_is_refused(ecdsa_pki: DemoPki) -> None:
    files = ecdsa_pki.files
    with pytest.raises(pki.PkiError, match="does not belong to the certificate"):
        pki.load_server_credentials(files.server_cert, files.intermediate_key)


@pytest.mark.parametrize("content", [b"", b"hello", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_certificate_file_that_is_not_pem_is_refused(
    tmp_path: Path, ecdsa_pki: DemoPki, content: bytes
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(pki.PkiError, match="no PEM certificate"):
        pki.load_server_credentials(bad, ecdsa_pki.files.server_key)


def test_pem_block_holding_garbage_is_refused(tmp_path: Path, ecdsa_pki: DemoPki) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(pki.PkiError, match=r"certificate 1 in .* is not valid"):
        pki.load_server_credentials(bad, ecdsa_pki.files.server_key)
    with pytest.raises(pki.PkiError, match="is not valid"):
        pki.load_trusted_roots(bad)


def test_certificate_with_an_impossible_version_is_refused(
    tmp_path: Path, ecdsa_pki: DemoPki
) -> None:
    leaf = bytearray(ecdsa_pki.credentials.chain_der[0])
    assert leaf[8:13] == b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT INTEGER 2, meaning X.509 v3
    leaf[12] = 3
    body = base64.encodebytes(bytes(leaf))
    bad = tmp_path / "v4.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n")
    with pytest.raises(pki.PkiError, match=r"certificate 1 in .* is not valid"):
        pki.load_trusted_roots(bad)
    error = expect_chain_error([bytes(leaf)], ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.bad_certificate


def test_signature_bit_string_with_unused_bits_is_refused(start: datetime, custom_root) -> None:
    # The library would still verify the signature; OpenSSL refuses it, and so do we,
    # or that byte of the certificate could be changed without anything noticing.
    # DER wants unused bits to be zero, so pick a signature whose last bit is 0.
    for _attempt in range(64):
        leaf, _key = build_certificate(
            "leaf", custom_root, ca=False, dns_names=("a.test",), not_before=start
        )
        if leaf.signature[-1] % 2 == 0:
            break
    tampered = bytearray(der(leaf))
    unused_bits_position = len(tampered) - len(leaf.signature) - 1
    assert tampered[unused_bits_position] == 0
    tampered[unused_bits_position] = 1
    assert x509.load_der_x509_certificate(bytes(tampered)).signature == leaf.signature
    error = expect_chain_error([bytes(tampered)], (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason == "certificate 1 in the chain has unused bits in its signature"
    pki_verification.verify_chain([der(leaf)], (custom_root[0],), "a.test", custom_now(start))


def test_unreadable_and_bad_key_files_are_refused(tmp_path: Path, ecdsa_pki: DemoPki) -> None:
    files = ecdsa_pki.files
    with pytest.raises(pki.PkiError, match="cannot read private key"):
        pki.load_server_credentials(files.server_cert, tmp_path / "missing.pem")
    with pytest.raises(pki.PkiError, match="cannot read certificate"):
        pki.load_server_credentials(tmp_path / "missing.pem", files.server_key)
    not_a_key = tmp_path / "not_a_key.pem"
    not_a_key.write_text("hello")
    with pytest.raises(pki.PkiError, match="not a PEM private key"):
        pki.load_server_credentials(files.server_cert, not_a_key)
    key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(pki.PkiError, match="is encrypted"):
        pki.load_server_credentials(files.server_cert, encrypted)


def test_trusted_roots_from_a_ca_file(ecdsa_pki: DemoPki) -> None:
    roots = pki.load_trusted_roots(ecdsa_pki.files.root_cert)
    assert roots == (read_certificate(ecdsa_pki.files.root_cert),)


def test_system_store_skips_certificates_the_library_refuses(
    tmp_path: Path, ecdsa_pki: DemoPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle.crt"
    garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    bundle.write_bytes(garbage + ecdsa_pki.files.root_cert.read_bytes())
    monkeypatch.setattr(pki, "SYSTEM_CA_BUNDLE", bundle)
    assert pki.load_trusted_roots() == (read_certificate(ecdsa_pki.files.root_cert),)


def test_no_system_store_and_no_certifi_is_a_pki_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pki, "SYSTEM_CA_BUNDLE", tmp_path / "absent.crt")
    monkeypatch.setitem(sys.modules, "certifi", None)  # makes `import certifi` fail
    with pytest.raises(pki.PkiError, match="certifi is not installed"):
        pki.load_trusted_roots()


# --------------------------------------------------------------------------
# verify_chain
# --------------------------------------------------------------------------


def test_a_good_chain_verifies(accepted_pki: DemoPki) -> None:
    verified = pki_verification.verify_chain(
        chain_of(accepted_pki), accepted_pki.roots, "localhost", accepted_pki.now
    )
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    leaf_key = accepted_pki.credentials.private_key.public_key()
    assert verified.leaf_public_key.public_bytes(*spki) == leaf_key.public_bytes(*spki)
    assert re.fullmatch(
        "CN=localhost,O=tls-web-server demo\n"
        "CN=tls-web-server demo intermediate CA [0-9a-f]{8},O=tls-web-server demo\n"
        "CN=tls-web-server demo root CA [0-9a-f]{8},O=tls-web-server demo",
        "\n".join(verified.subjects),
    )


@pytest.mark.parametrize("name", ["localhost", "LocalHost", "localhost.", "127.0.0.1", "::1"])
def test_names_and_addresses_in_the_san_match(ecdsa_pki: DemoPki, name: str) -> None:
    pki_verification.verify_chain(chain_of(ecdsa_pki), ecdsa_pki.roots, name, ecdsa_pki.now)


def test_chain_ending_in_a_copy_of_the_trusted_root_verifies(ecdsa_pki: DemoPki) -> None:
    chain = [*chain_of(ecdsa_pki), der(ecdsa_pki.roots[0])]
    verified = pki_verification.verify_chain(chain, ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert len(verified.subjects) == 3


def test_empty_chain_is_a_decode_error(ecdsa_pki: DemoPki) -> None:
    error = expect_chain_error([], ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.decode_error


def test_unparsable_certificate_is_a_bad_certificate(ecdsa_pki: DemoPki) -> None:
    chain = [chain_of(ecdsa_pki)[0], b"\x30\x03\x02\x01\x01"]
    error = expect_chain_error(chain, ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason.startswith("certificate 2 in the chain cannot be parsed")


def test_wrong_server_name(tmp_path: Path, ecdsa_pki: DemoPki) -> None:
    files = ecdsa_pki.files
    pki.issue_server_certificate(
        files.intermediate_cert,
        files.intermediate_key,
        tmp_path / "cert.pem",
        tmp_path / "key.pem",
        names=("wrong.example",),
        now=ecdsa_pki.now,
    )
    chain = [der(read_certificate(tmp_path / "cert.pem")), chain_of(ecdsa_pki)[1]]
    error = expect_chain_error(chain, ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason == "certificate for wrong.example does not match localhost"
    error = expect_chain_error(chain, ecdsa_pki.roots, "10.1.2.3", ecdsa_pki.now)
    assert error.reason == "certificate for 127.0.0.1, ::1 does not match 10.1.2.3"


def test_untrusted_root_is_an_unknown_ca(demo_pki_factory, ecdsa_pki: DemoPki) -> None:
    other = demo_pki_factory("ed25519")
    error = expect_chain_error(chain_of(ecdsa_pki), other.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.unknown_ca
    assert error.reason.startswith("chain does not lead to the trusted root")
    # Without the intermediate the chain cannot reach even the right root.
    error = expect_chain_error(chain_of(ecdsa_pki)[:1], ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.unknown_ca


def test_expired_leaf(tmp_path: Path) -> None:
    two_years_ago = datetime.now(tz=UTC).timestamp() - 2 * 365 * 86400
    old = make_demo_pki(tmp_path, "ecdsa-p256", now=two_years_ago)
    now = datetime.now(tz=UTC).timestamp()
    error = expect_chain_error(list(old.credentials.chain_der), old.roots, "localhost", now)
    assert error.alert is AlertDescription.certificate_expired
    expiry = read_certificate(old.files.server_cert).not_valid_after_utc.date().isoformat()
    assert error.reason == f"certificate 'CN=localhost,O=tls-web-server demo' expired on {expiry}"


def test_not_yet_valid_chain(ecdsa_pki: DemoPki) -> None:
    error = expect_chain_error(chain_of(ecdsa_pki), ecdsa_pki.roots, "localhost", 0.0)
    assert error.alert is AlertDescription.certificate_expired
    assert "is not valid before" in error.reason


def test_issuer_that_is_not_a_ca(tmp_path: Path, ecdsa_pki: DemoPki) -> None:
    files = ecdsa_pki.files
    # A server certificate used as if it were an intermediate: it signs another leaf.
    pki.issue_server_certificate(
        files.server_cert, files.server_key, tmp_path / "c.pem", tmp_path / "k.pem"
    )
    chain = [der(read_certificate(tmp_path / "c.pem")), *chain_of(ecdsa_pki)]
    error = expect_chain_error(chain, ecdsa_pki.roots, "localhost", ecdsa_pki.now)
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason == "issuer 'CN=localhost,O=tls-web-server demo' is not a CA"


def test_issuer_without_basic_constraints_is_not_a_ca(start: datetime, custom_root) -> None:
    middle = build_certificate("no constraints", custom_root, ca=None, not_before=start)
    leaf, _key = build_certificate(
        "leaf", middle, ca=False, dns_names=("a.test",), not_before=start
    )
    error = expect_chain_error(
        [der(leaf), der(middle[0])], (custom_root[0],), "a.test", custom_now(start)
    )
    assert error.reason == "issuer 'CN=no constraints' is not a CA"


def test_path_length_constraint(start: datetime, custom_root) -> None:
    limited = build_certificate("limited", custom_root, ca=True, path_length=0, not_before=start)
    deeper = build_certificate("deeper", limited, ca=True, not_before=start)
    leaf, _key = build_certificate(
        "leaf", deeper, ca=False, dns_names=("a.test",), not_before=start
    )
    chain = [der(leaf), der(deeper[0]), der(limited[0])]
    error = expect_chain_error(chain, (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason == "issuer 'CN=limited' allows 0 intermediate CAs below it, the chain has 1"


def test_signature_that_does_not_verify(start: datetime, custom_root) -> None:
    middle = build_certificate("middle", custom_root, ca=True, not_before=start)
    impostor = build_certificate("middle", custom_root, ca=True, not_before=start)
    leaf, _key = build_certificate(
        "leaf", middle, ca=False, dns_names=("a.test",), not_before=start
    )
    chain = [der(leaf), der(impostor[0])]  # same name, different key
    error = expect_chain_error(chain, (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.bad_certificate
    assert "does not verify" in error.reason


def test_leaf_without_server_auth_purpose(start: datetime, custom_root) -> None:
    leaf, _key = build_certificate(
        "leaf", custom_root, ca=False, dns_names=("a.test",), server_auth=False, not_before=start
    )
    error = expect_chain_error([der(leaf)], (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.unsupported_certificate
    assert "no serverAuth" in error.reason


def test_unknown_critical_extension_is_refused(start: datetime, custom_root) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    leaf, _key = build_certificate(
        "leaf", custom_root, ca=False, dns_names=("a.test",), not_before=start, extra=((odd, True),)
    )
    error = expect_chain_error([der(leaf)], (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.unsupported_certificate
    assert "critical extension" in error.reason


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("www.example.test", True),
        ("WWW.Example.Test.", True),
        ("example.test", False),  # the wildcard stands for exactly one label
        ("a.b.example.test", False),
        (".example.test", False),
        ("wwwexample.test", False),
    ],
)
def test_wildcard_covers_exactly_one_leftmost_label(
    start: datetime, custom_root, name: str, matches: bool
) -> None:
    leaf, _key = build_certificate(
        "leaf", custom_root, ca=False, dns_names=("*.example.test",), not_before=start
    )
    if matches:
        pki_verification.verify_chain([der(leaf)], (custom_root[0],), name, custom_now(start))
    else:
        error = expect_chain_error([der(leaf)], (custom_root[0],), name, custom_now(start))
        assert error.reason == f"certificate for *.example.test does not match {name}"


def test_common_name_is_never_used_as_the_server_name(start: datetime, custom_root) -> None:
    leaf, _key = build_certificate("a.test", custom_root, ca=False, not_before=start)
    error = expect_chain_error([der(leaf)], (custom_root[0],), "a.test", custom_now(start))
    assert error.alert is AlertDescription.bad_certificate
    assert "the Common Name is not used" in error.reason


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_random_bytes_as_certificates_only_raise_chain_error(chain: list[bytes]) -> None:
    with pytest.raises(pki_verification.ChainError):
        pki_verification.verify_chain(chain, (), "localhost", 0.0)


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_corrupted_leaf_never_raises_a_library_error(
    ecdsa_pki: DemoPki, position: int, flip: int
) -> None:
    leaf = bytearray(chain_of(ecdsa_pki)[0])
    leaf[position % len(leaf)] ^= flip
    chain = [bytes(leaf), chain_of(ecdsa_pki)[1]]
    # Almost every flip breaks a signature; whatever happens, it is ChainError or success.
    with contextlib.suppress(pki_verification.ChainError):
        pki_verification.verify_chain(chain, ecdsa_pki.roots, "localhost", ecdsa_pki.now)
