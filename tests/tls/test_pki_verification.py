"""tls/pki_verification.py: the library's path validation, and our explanation when it refuses.

Chains generate_pki would never make, each built for one rule of RFC 5280
path validation: the chain as the peer sent it (any order, extra
certificates), cross-signed roots, nameConstraints (critical or not),
extendedKeyUsage of intermediates, validity of every certificate, pathLen.
Each refusal carries the alert RFC 8446 section 6.2 names and a reason a
person can act on; each success reports the path the library built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tls_web_server.tls import pki_verification
from tls_web_server.tls.errors import AlertDescription

from .conftest import DemoPki

START = datetime.now(tz=UTC) - timedelta(hours=1)
NOW = (START + timedelta(hours=2)).timestamp()
SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)

Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def issue(
    name: str,
    issuer: Issued | None,
    *,
    ca: bool,
    path_length: int | None = None,
    dns_names: tuple[str, ...] = (),
    purposes: tuple[x509.ObjectIdentifier, ...] = (),
    not_before: datetime = START,
    days: int = 30,
    key: ec.EllipticCurvePrivateKey | None = None,
    name_constraints: tuple[x509.NameConstraints, bool] | None = None,
) -> Issued:
    """A P-256 certificate with the extensions the Web PKI profile wants; no issuer: self-signed."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()),
            critical=False,
        )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if purposes:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(purposes)), critical=False)
    if name_constraints is not None:
        builder = builder.add_extension(name_constraints[0], critical=name_constraints[1])
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def der(*certificates: Issued) -> list[bytes]:
    return [c[0].public_bytes(serialization.Encoding.DER) for c in certificates]


def refusal(chain: list[bytes], roots: tuple[x509.Certificate, ...], name: str = "www.test"):
    with pytest.raises(pki_verification.ChainError) as caught:
        pki_verification.verify_chain(chain, roots, name, NOW)
    return caught.value


@pytest.fixture(scope="module")
def root() -> Issued:
    return issue("root", None, ca=True)


@pytest.fixture(scope="module")
def intermediate(root: Issued) -> Issued:
    return issue("intermediate", root, ca=True, path_length=0)


@pytest.fixture(scope="module")
def leaf(intermediate: Issued) -> Issued:
    return issue("leaf", intermediate, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)


def test_an_unordered_chain_with_extra_certificates(root, intermediate, leaf) -> None:
    stranger = issue("stranger root", None, ca=True)
    extra = issue("extra intermediate", stranger, ca=True)
    chain = der(leaf, extra, root, stranger, intermediate)
    verified = pki_verification.verify_chain(chain, (root[0],), "www.test", NOW)
    # The trace shows the path the library built, not the order the peer sent.
    assert verified.subjects == ("CN=leaf", "CN=intermediate", "CN=root")


def test_a_cross_signed_root(root) -> None:
    # A new root, also cross-signed by the old one: a client that trusts only
    # the old root gets there through the cross-signed copy.
    new_root = issue("new root", None, ca=True)
    cross_signed = issue("new root", root, ca=True, key=new_root[1])
    intermediate = issue("new intermediate", new_root, ca=True, path_length=0)
    leaf = issue("leaf", intermediate, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    chain = der(leaf, intermediate, cross_signed)
    old = pki_verification.verify_chain(chain, (root[0],), "www.test", NOW)
    assert old.subjects == ("CN=leaf", "CN=new intermediate", "CN=new root", "CN=root")
    new = pki_verification.verify_chain(chain, (new_root[0],), "www.test", NOW)
    assert new.subjects == ("CN=leaf", "CN=new intermediate", "CN=new root")


@pytest.mark.parametrize("critical", [True, False], ids=["critical", "not-critical"])
def test_a_name_outside_the_name_constraints(root, critical: bool) -> None:
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("example.com")], excluded_subtrees=None
    )
    constrained = issue("constrained", root, ca=True, name_constraints=(constraints, critical))
    leaf = issue("leaf", constrained, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    error = refusal(der(leaf, constrained), (root[0],))
    assert error.alert is AlertDescription.bad_certificate
    assert "nameConstraints" in error.reason and "www.test" in error.reason
    inside = issue(
        "inside", constrained, ca=False, dns_names=("a.example.com",), purposes=SERVER_AUTH
    )
    pki_verification.verify_chain(der(inside, constrained), (root[0],), "a.example.com", NOW)


def test_an_intermediate_not_for_servers(root) -> None:
    # The intermediate's extendedKeyUsage limits every certificate below it.
    for_clients = issue("for clients", root, ca=True, purposes=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    leaf = issue("leaf", for_clients, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    error = refusal(der(leaf, for_clients), (root[0],))
    assert error.alert is AlertDescription.unsupported_certificate
    assert "no serverAuth" in error.reason


def test_an_expired_intermediate(root) -> None:
    old = issue("old intermediate", root, ca=True, not_before=START - timedelta(days=40))
    leaf = issue("leaf", old, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    error = refusal(der(leaf, old), (root[0],))
    assert error.alert is AlertDescription.certificate_expired
    expiry = (START - timedelta(days=10)).date().isoformat()
    assert error.reason == f"certificate 'CN=old intermediate' expired on {expiry}"


def test_path_length_exceeded(root) -> None:
    limited = issue("limited", root, ca=True, path_length=0)
    below = issue("below", limited, ca=True)
    leaf = issue("leaf", below, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    error = refusal(der(leaf, below, limited), (root[0],))
    assert error.alert is AlertDescription.bad_certificate
    assert error.reason == "issuer 'CN=limited' allows 0 intermediate CAs below it, the chain has 1"


def test_a_root_that_only_shares_the_name(intermediate, leaf) -> None:
    impostor = issue("root", None, ca=True)
    error = refusal(der(leaf, intermediate), (impostor[0],))
    assert error.alert is AlertDescription.unknown_ca
    assert error.reason == (
        "chain does not lead to the trusted root ('CN=intermediate' was issued by 'CN=root',"
        " which is not trusted)"
    )


# ------------------------------------------------------- client certificates


def test_a_client_chain_for_client_authentication(root, intermediate) -> None:
    client = issue(
        "client",
        intermediate,
        ca=False,
        dns_names=("client.test",),
        purposes=(ExtendedKeyUsageOID.CLIENT_AUTH,),
    )
    verified = pki_verification.verify_client_chain(der(client, intermediate), (root[0],), NOW)
    assert verified.subjects == ("CN=client", "CN=intermediate", "CN=root")


def test_a_server_certificate_is_no_client_certificate(root, intermediate, leaf) -> None:
    with pytest.raises(pki_verification.ChainError) as caught:
        pki_verification.verify_client_chain(der(leaf, intermediate), (root[0],), NOW)
    assert caught.value.alert is AlertDescription.unsupported_certificate
    assert "no clientAuth" in caught.value.reason


# -------------------------------------------------------------- Ed25519


def test_ed25519_server_chains_are_still_verified(demo_pki_factory) -> None:
    # The library refuses Ed25519 outright; pki_ed25519.py keeps our clients working.
    demo: DemoPki = demo_pki_factory("ed25519")
    verified = pki_verification.verify_chain(
        list(demo.credentials.chain_der), demo.roots, "localhost", demo.now
    )
    assert verified.subjects[0] == "CN=localhost,O=tls-web-server demo"
    stranger: DemoPki = demo_pki_factory("ecdsa-p256")
    with pytest.raises(pki_verification.ChainError) as caught:
        pki_verification.verify_chain(
            list(demo.credentials.chain_der), stranger.roots, "localhost", demo.now
        )
    assert caught.value.alert is AlertDescription.unknown_ca
