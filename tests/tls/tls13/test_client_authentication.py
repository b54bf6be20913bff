"""Mutual TLS between our client and our server: the CertificateRequest and every outcome.

The server asks (client_authentication.py), our client answers with
`client_credentials` (client_certificate.py).  Each refusal must end the
handshake with the alert docs/tls13.md promises, and each acceptance must
report nginx's $ssl_client_verify value in `negotiated.client_certificate`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tls_web_server.tls import crypto, pki
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.client import TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.client_authentication import (
    REQUESTED_SCHEMES,
    ClientAuthentication,
    ClientVerifyMode,
    verify_client_signature,
)
from tls_web_server.tls.tls13.enums import ExtensionType, HandshakeType, SignatureScheme
from tls_web_server.tls.tls13.extension_block import Extension
from tls_web_server.tls.tls13.messages import (
    CLIENT_SIGNATURE_CONTEXT,
    CertificateRequest,
    CertificateVerify,
)
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection

from ..conftest import DemoPki, make_demo_pki
from .flight_surgery import ObservedServer, new_client, new_server, pump

DAY = 86400.0


def issue_client(
    demo: DemoPki, directory: Path, name: str, now: float, key_type: str = "ecdsa-p256"
) -> pki.ServerCredentials:
    """A client certificate from `demo`'s intermediate CA, loaded with that CA behind it."""
    certificate, key = directory / f"{name}.pem", directory / f"{name}_key.pem"
    pki.issue_client_certificate(
        demo.files.intermediate_cert,
        demo.files.intermediate_key,
        certificate,
        key,
        name,
        key_type=key_type,
        now=now,
    )
    return pki.load_server_credentials(certificate, key)


@pytest.fixture(scope="module")
def alice(ecdsa_pki: DemoPki, tmp_path_factory: pytest.TempPathFactory) -> pki.ServerCredentials:
    return issue_client(ecdsa_pki, tmp_path_factory.mktemp("clients"), "alice", ecdsa_pki.now)


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> pki.ServerCredentials:
    """A client certificate from a CA the server does not trust."""
    other = make_demo_pki(tmp_path_factory.mktemp("other-pki"), "ecdsa-p256")
    return issue_client(other, tmp_path_factory.mktemp("strangers"), "mallory", other.now)


def authentication(
    demo: DemoPki, mode: ClientVerifyMode, max_intermediates: int = 1
) -> ClientAuthentication:
    return ClientAuthentication(
        mode=mode,
        trusted_roots=demo.roots,
        authority_names=pki.certificate_subjects_der(demo.roots),
        max_intermediates=max_intermediates,
    )


def run(
    demo: DemoPki,
    mode: ClientVerifyMode,
    credentials: pki.ServerCredentials | None,
    *,
    max_intermediates: int = 1,
) -> tuple[TLS13ClientConnection, TLS13ServerConnection]:
    client = new_client(demo, client_credentials=credentials)
    server = new_server(demo, client_authentication=authentication(demo, mode, max_intermediates))
    return client, server


def handshake_refused(
    client: TLS13ClientConnection, server: TLS13ServerConnection, alert: AlertDescription
) -> TLSError:
    """The server refuses the client's second flight with `alert`, and tells the client so."""
    with pytest.raises(TLSError) as caught:
        pump(client, server)
    error = caught.value
    assert error.alert is alert, error
    assert not server.is_established
    # The alert went to the client, which reports it as the server's.
    with pytest.raises(TLSError) as told:
        client.feed_wire_data(server.pop_pending_wire_data())
    assert told.value.received_alert == alert
    return error


@pytest.mark.parametrize("mode", list(ClientVerifyMode))
def test_a_trusted_client_certificate_is_accepted(
    ecdsa_pki: DemoPki, alice: pki.ServerCredentials, mode: ClientVerifyMode
) -> None:
    client, server = run(ecdsa_pki, mode, alice)
    pump(client, server)
    assert client.is_established and server.is_established
    check = server.negotiated.client_certificate
    assert check is not None
    assert check.verify == "SUCCESS"
    assert check.subject == "CN=alice,O=tls-web-server demo"
    assert check.issuer is not None and "intermediate CA" in check.issuer
    assert check.fingerprint is not None and len(check.fingerprint) == 40
    # Application data flows both ways after it.
    server.feed_wire_data(client.protect_application_data(b"ping"))
    assert server.read_plaintext() == b"ping"


def test_the_certificate_request_lists_our_schemes_and_the_client_cas(
    ecdsa_pki: DemoPki,
) -> None:
    request = authentication(ecdsa_pki, ClientVerifyMode.ON).request
    assert request.certificate_request_context == b""
    schemes = request.extension(ExtensionType.signature_algorithms)
    assert schemes is not None
    assert ext.decode_signature_algorithms(schemes) == tuple(REQUESTED_SCHEMES)
    # ed25519 too, unlike our client's hello: a client with an Ed25519 certificate
    # sends it and hears why it is refused.
    assert SignatureScheme.ed25519 in REQUESTED_SCHEMES
    names = request.extension(ExtensionType.certificate_authorities)
    assert names is not None
    assert ext.decode_certificate_authorities(names) == pki.certificate_subjects_der(
        ecdsa_pki.roots
    )
    assert CertificateRequest.decode(request.encode()[4:]) == request


def test_without_ca_names_only_signature_algorithms_is_sent(ecdsa_pki: DemoPki) -> None:
    request = ClientAuthentication(ClientVerifyMode.ON, ecdsa_pki.roots).request
    assert [extension.type for extension in request.extensions] == [
        ExtensionType.signature_algorithms
    ]


def test_no_certificate_under_on_is_certificate_required(ecdsa_pki: DemoPki) -> None:
    client, server = run(ecdsa_pki, ClientVerifyMode.ON, None)
    error = handshake_refused(client, server, AlertDescription.certificate_required)
    assert "no certificate" in error.reason


@pytest.mark.parametrize("mode", [ClientVerifyMode.OPTIONAL, ClientVerifyMode.OPTIONAL_NO_CA])
def test_no_certificate_under_optional_is_none(ecdsa_pki: DemoPki, mode: ClientVerifyMode) -> None:
    client, server = run(ecdsa_pki, mode, None)
    pump(client, server)
    assert server.is_established
    check = server.negotiated.client_certificate
    assert check is not None and check.verify == "NONE" and check.subject is None


@pytest.mark.parametrize("mode", [ClientVerifyMode.ON, ClientVerifyMode.OPTIONAL])
def test_an_untrusted_certificate_is_unknown_ca(
    ecdsa_pki: DemoPki, stranger: pki.ServerCredentials, mode: ClientVerifyMode
) -> None:
    client, server = run(ecdsa_pki, mode, stranger)
    error = handshake_refused(client, server, AlertDescription.unknown_ca)
    assert "not trusted" in error.reason


def test_optional_no_ca_logs_an_untrusted_certificate_and_goes_on(
    ecdsa_pki: DemoPki, stranger: pki.ServerCredentials
) -> None:
    client, server = run(ecdsa_pki, ClientVerifyMode.OPTIONAL_NO_CA, stranger)
    pump(client, server)
    assert server.is_established
    check = server.negotiated.client_certificate
    assert check is not None
    assert check.verify.startswith("FAILED:") and "not trusted" in check.verify
    assert check.subject == "CN=mallory,O=tls-web-server demo"


@pytest.mark.parametrize("mode", list(ClientVerifyMode))
def test_an_expired_certificate_is_certificate_expired(
    ecdsa_pki: DemoPki, tmp_path: Path, mode: ClientVerifyMode
) -> None:
    # Issued two years before the demo PKI's moment: its 397 days are over.
    old = issue_client(ecdsa_pki, tmp_path, "old", ecdsa_pki.now - 2 * 365 * DAY)
    client, server = run(ecdsa_pki, mode, old)
    error = handshake_refused(client, server, AlertDescription.certificate_expired)
    assert "expired" in error.reason


@pytest.mark.parametrize("mode", list(ClientVerifyMode))
def test_a_certificate_verify_by_another_key_is_decrypt_error(
    ecdsa_pki: DemoPki,
    alice: pki.ServerCredentials,
    stranger: pki.ServerCredentials,
    mode: ClientVerifyMode,
) -> None:
    # alice's chain with mallory's key: the CertificateVerify is a real signature,
    # by the wrong key, over the right transcript.
    impostor = pki.ServerCredentials(
        chain_der=alice.chain_der,
        private_key=stranger.private_key,
        signature_schemes=alice.signature_schemes,
        leaf_names=(),
    )
    client, server = run(ecdsa_pki, mode, impostor)
    error = handshake_refused(client, server, AlertDescription.decrypt_error)
    assert "client signature" in error.reason


def test_ssl_verify_depth_counts_intermediates(
    ecdsa_pki: DemoPki, alice: pki.ServerCredentials
) -> None:
    # alice -> intermediate -> root: one intermediate, too many for depth 0.
    client, server = run(ecdsa_pki, ClientVerifyMode.ON, alice, max_intermediates=0)
    error = handshake_refused(client, server, AlertDescription.bad_certificate)
    assert "ssl_verify_depth" in error.reason


def test_a_client_certificate_server_issues_no_tickets(
    ecdsa_pki: DemoPki, alice: pki.ServerCredentials
) -> None:
    tickets = TicketStore()
    client = new_client(ecdsa_pki, client_credentials=alice, tickets=tickets)
    server = new_server(
        ecdsa_pki, client_authentication=authentication(ecdsa_pki, ClientVerifyMode.ON)
    )
    pump(client, server)
    assert server.is_established
    assert len(tickets) == 0


def test_our_client_without_a_certificate_sends_an_empty_one(ecdsa_pki: DemoPki) -> None:
    client, server = run(ecdsa_pki, ClientVerifyMode.OPTIONAL, None)
    pump(client, server)
    assert client.is_established and client.negotiated.client_certificate is None


def test_key_file_of_a_client_certificate_is_owner_only(ecdsa_pki: DemoPki, tmp_path: Path) -> None:
    issue_client(ecdsa_pki, tmp_path, "bob", ecdsa_pki.now)
    assert os.stat(tmp_path / "bob_key.pem").st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("key_type", "scheme"),
    [("ecdsa-p256", "ecdsa_secp256r1_sha256"), ("rsa-2048", "rsa_pss_rsae_sha256")],
)
def test_each_client_key_type_signs_with_a_scheme_we_verify(
    ecdsa_pki: DemoPki, tmp_path: Path, key_type: str, scheme: str
) -> None:
    certificate, key = tmp_path / "c.pem", tmp_path / "k.pem"
    pki.issue_client_certificate(
        ecdsa_pki.files.intermediate_cert,
        ecdsa_pki.files.intermediate_key,
        certificate,
        key,
        "carol",
        key_type=key_type,
        now=ecdsa_pki.now,
    )
    events: list[dict] = []
    client = new_client(ecdsa_pki, client_credentials=pki.load_server_credentials(certificate, key))
    server = TLS13ServerConnection(
        ServerSettings(
            credentials=ecdsa_pki.credentials,
            client_authentication=authentication(ecdsa_pki, ClientVerifyMode.ON),
        ),
        random_bytes=os.urandom,
        clock=lambda: ecdsa_pki.now,
        observer=events.append,
    )
    pump(client, server)
    assert server.negotiated.client_certificate.verify == "SUCCESS"
    assert {"kind": "verified", "name": "client CertificateVerify", "detail": scheme} in [
        {key: event.get(key) for key in ("kind", "name", "detail")} for event in events
    ]


@pytest.mark.parametrize(
    ("key_type", "refused"),
    [("ed25519", "holds an Ed25519 key"), ("ecdsa-p256", "is signed with Ed25519")],
)
def test_an_ed25519_client_chain_is_unsupported_certificate(
    ecdsa_pki: DemoPki, tmp_path: Path, key_type: str, refused: str
) -> None:
    # Refused as our clients refuse Ed25519 server chains (docs/configuration.md),
    # an Ed25519 key or only its CA's Ed25519 signature.  The server's own chain is ECDSA.
    ed25519_pki = make_demo_pki(tmp_path / "ed", "ed25519")
    carol = issue_client(ed25519_pki, tmp_path, "carol", ed25519_pki.now, key_type)
    client = new_client(ecdsa_pki, client_credentials=carol)
    server = new_server(
        ecdsa_pki, client_authentication=authentication(ed25519_pki, ClientVerifyMode.ON)
    )
    error = handshake_refused(client, server, AlertDescription.unsupported_certificate)
    assert error.reason.startswith(
        f"client certificate: certificate 'CN=carol,O=tls-web-server demo' {refused}"
    )
    assert "`tls-web-server certs DIR --client NAME --key-type ecdsa-p256`" in error.reason


def test_optional_no_ca_still_logs_an_ed25519_chain_from_an_unknown_ca(
    ecdsa_pki: DemoPki, tmp_path: Path
) -> None:
    # As before Ed25519 was refused: an unknown CA is what optional_no_ca
    # forgives, whatever the key (pki_verification.verify_client_chain).
    stranger = make_demo_pki(tmp_path / "ed", "ed25519")
    dave = issue_client(stranger, tmp_path, "dave", stranger.now, "ed25519")
    client, server = run(ecdsa_pki, ClientVerifyMode.OPTIONAL_NO_CA, dave)
    pump(client, server)
    assert server.is_established
    check = server.negotiated.client_certificate
    assert check is not None and check.verify.startswith("FAILED:chain does not lead to")
    assert check.subject == "CN=dave,O=tls-web-server demo"


def test_a_hand_built_certificate_verify_is_checked_byte_for_byte(
    alice: pki.ServerCredentials,
) -> None:
    transcript_hash = bytes(range(32))
    public_key = alice.private_key.public_key()
    scheme = SignatureScheme.ecdsa_secp256r1_sha256
    signature = crypto.sign(
        alice.private_key, scheme.name, CLIENT_SIGNATURE_CONTEXT + transcript_hash
    )
    good = CertificateVerify(scheme, signature)
    assert verify_client_signature(public_key, good, transcript_hash) is scheme
    # One bit flipped in the signature, or the server's context string signed instead.
    flipped = CertificateVerify(scheme, signature[:-1] + bytes([signature[-1] ^ 1]))
    server_context = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"
    as_server = CertificateVerify(
        scheme, crypto.sign(alice.private_key, scheme.name, server_context + transcript_hash)
    )
    for bad in (flipped, as_server):
        with pytest.raises(TLSError) as caught:
            verify_client_signature(public_key, bad, transcript_hash)
        assert caught.value.alert is AlertDescription.decrypt_error
    # A scheme our CertificateRequest did not list: PKCS#1 v1.5, or one nobody knows.
    for algorithm in (SignatureScheme.rsa_pkcs1_sha256, 0xFEFE):
        with pytest.raises(TLSError) as caught:
            verify_client_signature(
                public_key, CertificateVerify(algorithm, signature), transcript_hash
            )
        assert caught.value.alert is AlertDescription.illegal_parameter


def _client_after_request(
    demo: DemoPki, request: CertificateRequest, credentials: pki.ServerCredentials | None
) -> tuple[TLS13ClientConnection, list[dict]]:
    """Our client, fed a real server flight with `request` put before the Certificate."""

    events: list[dict] = []
    client = new_client(demo, client_credentials=credentials, observer=events.append)
    server = ObservedServer(demo)
    flight = server.answer(client.pop_pending_wire_data())
    flight = flight.inserted_before(HandshakeType.certificate, request.encode())
    client.feed_wire_data(flight.reauthenticated(demo.credentials.private_key).wire())
    return client, events


def test_a_certificate_request_without_signature_algorithms_is_missing_extension(
    ecdsa_pki: DemoPki,
) -> None:
    # Only certificate_authorities (an empty extension list is a decode_error already).
    names = Extension(
        ExtensionType.certificate_authorities, ext.encode_certificate_authorities([b"0\x00"])
    )
    with pytest.raises(TLSError) as caught:
        _client_after_request(ecdsa_pki, CertificateRequest(b"", (names,)), None)
    assert caught.value.alert is AlertDescription.missing_extension


def test_our_client_sends_an_empty_certificate_when_no_listed_scheme_fits_its_key(
    ecdsa_pki: DemoPki, alice: pki.ServerCredentials
) -> None:
    only_rsa = Extension(
        ExtensionType.signature_algorithms,
        ext.encode_signature_algorithms([SignatureScheme.rsa_pss_rsae_sha256]),
    )
    request = CertificateRequest(b"\x07", (only_rsa,))
    client, events = _client_after_request(ecdsa_pki, request, alice)
    assert client.is_established
    sent = [e for e in events if e["kind"] == "message" and e["direction"] == "sent"]
    assert [e["name"] for e in sent] == ["ClientHello", "Certificate", "Finished"]
    assert sent[1]["fields"].certificate_request_context == b"\x07"
    assert sent[1]["fields"].entries == ()


def test_ca_names_beyond_the_extensions_limit_are_left_out_but_still_trusted(
    ecdsa_pki: DemoPki,
) -> None:
    name = pki.certificate_subjects_der(ecdsa_pki.roots)[0]
    many = (name,) * 2000  # far more than 64 KiB of names
    request = ClientAuthentication(ClientVerifyMode.ON, ecdsa_pki.roots, many).request
    encoded = request.encode()
    assert CertificateRequest.decode(encoded[4:]) == request  # within the grammar's bounds
    data = request.extension(ExtensionType.certificate_authorities)
    assert data is not None
    sent = ext.decode_certificate_authorities(data)
    assert 0 < len(sent) < len(many)
    # Everything after the context: a 2-byte length, then at most 2^16-1 bytes.
    assert len(encoded) - 4 - 1 - 2 <= 65535
    assert len(encoded) - 4 - 1 - 2 > 65535 - (2 + len(name))  # and no room for one more
