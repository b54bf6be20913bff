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
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tls_web_server.tls import pki_verification
from tls_web_server.tls.errors import AlertDescription

from .conftest import DemoPki

START = datetime.now(tz=UTC) - timedelta(hours=1)
NOW = (START + timedelta(hours=2)).timestamp()
SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)

Key = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
Issued = tuple[x509.Certificate, Key]


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
    key: Key | None = None,
    name_constraints: tuple[x509.NameConstraints, bool] | None = None,
) -> Issued:
    """A certificate with the extensions the Web PKI profile wants; no issuer: self-signed.

    Its key is a new P-256 one unless `key` is given.
    """
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
    signer = issuer[1] if issuer else key
    # Ed25519 signs the message itself, with no separate hash (RFC 8410 section 6).
    digest = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, digest), key


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
# Refused, as browsers refuse it: unsupported_certificate, naming the
# certificate, why, and what to do, whoever issued the chain.

ED25519_WHY = (
    ": Ed25519 certificates are refused here, as browsers refuse them (the Web PKI allows only"
    " RSA and ECDSA certificates, and the verifier we use, cryptography.x509.verification,"
    " follows it); "
)
SERVER_FIX = "give the server an ECDSA chain: `tls-web-server certs DIR --key-type ecdsa-p256`"


def test_the_demo_ed25519_chain_is_refused(demo_pki_factory) -> None:
    demo: DemoPki = demo_pki_factory("ed25519")
    chain = list(demo.credentials.chain_der)
    error = refusal(chain, demo.roots, "localhost")
    assert error.alert is AlertDescription.unsupported_certificate
    assert error.reason == (
        "certificate 'CN=localhost,O=tls-web-server demo' holds an Ed25519 key"
        + ED25519_WHY
        + SERVER_FIX
        + " (the default)"
    )
    # Refused before any other check: trusting its root would not help.
    stranger: DemoPki = demo_pki_factory("ecdsa-p256")
    assert refusal(chain, stranger.roots, "localhost").reason == error.reason


def test_an_ed25519_leaf_under_ecdsa_cas(root, intermediate) -> None:
    leaf = issue(
        "leaf",
        intermediate,
        ca=False,
        dns_names=("www.test",),
        purposes=SERVER_AUTH,
        key=ed25519.Ed25519PrivateKey.generate(),
    )
    error = refusal(der(leaf, intermediate), (root[0],))
    assert error.alert is AlertDescription.unsupported_certificate
    assert error.reason.startswith("certificate 'CN=leaf' holds an Ed25519 key" + ED25519_WHY)


def test_an_ecdsa_leaf_signed_by_an_ed25519_intermediate(root) -> None:
    # Every key the peer sent but one is ECDSA: the signature on the leaf is
    # what makes it an Ed25519 chain.
    ed25519_intermediate = issue(
        "ed25519 intermediate", root, ca=True, key=ed25519.Ed25519PrivateKey.generate()
    )
    leaf = issue(
        "leaf", ed25519_intermediate, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH
    )
    error = refusal(der(leaf, ed25519_intermediate), (root[0],))
    assert error.alert is AlertDescription.unsupported_certificate
    assert error.reason.startswith(
        "certificate 'CN=leaf' is signed with Ed25519 (by 'CN=ed25519 intermediate')" + ED25519_WHY
    )
    assert error.reason.endswith(SERVER_FIX + " (the default)")


def test_an_ecdsa_chain_under_a_trusted_ed25519_root() -> None:
    # The root is ours, not the peer's; its Ed25519 signature on the
    # intermediate is in what the peer sent.
    ed25519_root = issue("ed25519 root", None, ca=True, key=ed25519.Ed25519PrivateKey.generate())
    intermediate = issue("intermediate", ed25519_root, ca=True, path_length=0)
    leaf = issue("leaf", intermediate, ca=False, dns_names=("www.test",), purposes=SERVER_AUTH)
    error = refusal(der(leaf, intermediate), (ed25519_root[0],))
    assert error.alert is AlertDescription.unsupported_certificate
    assert error.reason.startswith(
        "certificate 'CN=intermediate' is signed with Ed25519 (by 'CN=ed25519 root')"
    )


def test_an_ed25519_client_chain_is_refused_with_the_client_fix() -> None:
    ed25519_root = issue("ed25519 root", None, ca=True, key=ed25519.Ed25519PrivateKey.generate())
    client = issue(
        "client",
        ed25519_root,
        ca=False,
        dns_names=("client.test",),
        purposes=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        key=ed25519.Ed25519PrivateKey.generate(),
    )
    with pytest.raises(pki_verification.ChainError) as caught:
        pki_verification.verify_client_chain(der(client), (ed25519_root[0],), NOW)
    assert caught.value.alert is AlertDescription.unsupported_certificate
    assert caught.value.reason == (
        "certificate 'CN=client' holds an Ed25519 key"
        + ED25519_WHY
        + "issue the client an ECDSA certificate: `tls-web-server certs DIR --client NAME"
        " --key-type ecdsa-p256` (the default)"
    )
