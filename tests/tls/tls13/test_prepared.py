"""What a server prepares once (prepared.py) must be exactly what it would build each time.

The caches save work per handshake; these tests check that a cached message
is byte for byte the message built from scratch, that a cached signer makes
signatures the peer's check accepts, and that the caches stay keyed by what
the server's own settings contain.
"""

from __future__ import annotations

import dataclasses

import pytest

from tls_web_server.tls import crypto
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ExtensionType, HandshakeType
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.messages import (
    Certificate,
    CertificateEntry,
    EncryptedExtensions,
    HandshakeBuffer,
)
from tls_web_server.tls.tls13.prepared import PreparedHandshakeParts
from tls_web_server.tls.tls13.server import ServerSettings

from ..conftest import DemoPki


def decode_one(raw: bytes) -> tuple[int, bytes]:
    buffer = HandshakeBuffer(1 << 16)
    buffer.feed(raw)
    message = buffer.next_message()
    assert message is not None and not buffer.has_buffered_data()
    return message[0], message[1]


@pytest.mark.parametrize("acknowledge_server_name", [False, True])
@pytest.mark.parametrize("protocol", [None, b"http/1.1", b"h2"])
def test_encrypted_extensions_are_those_built_from_scratch(
    acknowledge_server_name: bool, protocol: bytes | None
) -> None:
    prepared = PreparedHandshakeParts()
    encoded = prepared.encrypted_extensions(acknowledge_server_name, protocol)

    expected = []
    if acknowledge_server_name:
        expected.append(Extension(ExtensionType.server_name, b""))
    if protocol is not None:
        expected.append(
            Extension(
                ExtensionType.application_layer_protocol_negotiation,
                ext.encode_application_protocols((protocol,)),
            )
        )
    assert encoded.raw == EncryptedExtensions(tuple(expected)).encode()
    msg_type, body = decode_one(encoded.raw)
    assert msg_type == HandshakeType.encrypted_extensions
    decoded = EncryptedExtensions.decode(body)
    assert decoded == encoded.message
    if protocol is not None:
        alpn = decoded.extension(ExtensionType.application_layer_protocol_negotiation)
        assert alpn is not None and ext.decode_selected_application_protocol(alpn) == protocol
    assert (decoded.extension(ExtensionType.server_name) is not None) == acknowledge_server_name


def test_encrypted_extensions_are_encoded_once_per_combination() -> None:
    prepared = PreparedHandshakeParts()
    first = prepared.encrypted_extensions(True, b"http/1.1")
    assert prepared.encrypted_extensions(True, b"http/1.1") is first
    assert prepared.encrypted_extensions(False, b"http/1.1") is not first
    assert prepared.encrypted_extensions(True, None) is not first


def test_the_certificate_message_carries_the_chain_leaf_first(any_pki: DemoPki) -> None:
    prepared = PreparedHandshakeParts()
    chain = prepared.credentials(any_pki.credentials)
    assert prepared.credentials(any_pki.credentials) is chain
    msg_type, body = decode_one(chain.certificate.raw)
    assert msg_type == HandshakeType.certificate
    certificate = Certificate.decode(body)
    assert certificate.certificate_request_context == b""
    assert tuple(entry.cert_data for entry in certificate.entries) == (
        any_pki.credentials.chain_der
    )
    assert all(entry.extensions == () for entry in certificate.entries)
    fresh = Certificate(b"", tuple(CertificateEntry(der) for der in any_pki.credentials.chain_der))
    assert chain.certificate.raw == fresh.encode()


def test_each_chain_has_its_own_certificate_message(demo_pki_factory, ecdsa_pki: DemoPki) -> None:
    other = demo_pki_factory("ed25519")
    prepared = PreparedHandshakeParts()
    first = prepared.credentials(ecdsa_pki.credentials)
    second = prepared.credentials(other.credentials)
    assert first is not second
    assert first.certificate.raw != second.certificate.raw


def test_a_prepared_signer_makes_signatures_the_leaf_key_verifies(any_pki: DemoPki) -> None:
    chain = PreparedHandshakeParts().credentials(any_pki.credentials)
    public_key = any_pki.credentials.private_key.public_key()
    for scheme in any_pki.credentials.signature_schemes:
        data = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(range(32))
        signature = chain.sign(scheme, data)
        assert crypto.verify_signature(public_key, scheme, signature, data)
        assert not crypto.verify_signature(public_key, scheme, signature, data + b"x")
        # A second signature comes from the cached signer and verifies too.
        assert crypto.verify_signature(public_key, scheme, chain.sign(scheme, data), data)


def test_a_signer_refuses_a_scheme_the_key_cannot_make(ecdsa_pki: DemoPki) -> None:
    chain = PreparedHandshakeParts().credentials(ecdsa_pki.credentials)
    with pytest.raises(ValueError, match="cannot sign with rsa_pss_rsae_sha256"):
        chain.sign("rsa_pss_rsae_sha256", b"data")
    with pytest.raises(ValueError, match="cannot sign with ed25519"):
        crypto.signer(ecdsa_pki.credentials.private_key, "ed25519")


def test_settings_made_with_replace_start_with_empty_caches(
    demo_pki_factory, ecdsa_pki: DemoPki
) -> None:
    settings = ServerSettings(credentials=ecdsa_pki.credentials)
    first = settings.prepared.credentials(ecdsa_pki.credentials)
    other = demo_pki_factory("ed25519")
    replaced = dataclasses.replace(settings, credentials=other.credentials)
    assert replaced.prepared is not settings.prepared
    assert replaced.prepared.credentials(other.credentials).credentials is other.credentials
    assert settings.prepared.credentials(ecdsa_pki.credentials) is first
