"""tls/certificate_fields.py reads what `cryptography` reads, and never raises on other bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tls.conftest import DemoPki
from tests.tls.trace_support import tls13_session, toy_session
from tls_web_server.tls import pki
from tls_web_server.tls.certificate_fields import read_certificate_fields
from tls_web_server.tls.trace_html import render_html


def chain_of(demo: DemoPki) -> list[x509.Certificate]:
    files = demo.files
    return [
        x509.load_pem_x509_certificate(Path(path).read_bytes())
        for path in (files.server_cert, files.intermediate_cert, files.root_cert)
    ]


def common_name(name: x509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.mark.parametrize("key_type", pki.KEY_TYPES)
def test_the_fields_are_those_cryptography_reads(demo_pki_factory, key_type: str) -> None:
    for certificate in chain_of(demo_pki_factory(key_type)):
        der = certificate.public_bytes(Encoding.DER)
        fields = read_certificate_fields(der)
        assert fields is not None
        assert fields.version == 3
        assert int(fields.serial.replace(":", ""), 16) == certificate.serial_number
        assert f"CN={common_name(certificate.subject)}" in fields.subject
        assert f"CN={common_name(certificate.issuer)}" in fields.issuer
        assert fields.not_before.startswith(
            certificate.not_valid_before_utc.strftime("%Y-%m-%d %H:%M:%S")
        )
        assert fields.not_after.startswith(
            certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S")
        )
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert fields.is_ca == constraints.value.ca
        oids = [extension.oid for extension in fields.extensions]
        assert oids == [extension.oid.dotted_string for extension in certificate.extensions]
        assert all(extension.name != extension.oid for extension in fields.extensions)
        if not constraints.value.ca:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            assert list(fields.dns_names) == san.value.get_values_for_type(x509.DNSName)
        if key_type.startswith("rsa"):
            assert f"RSA, {certificate.public_key().key_size}-bit modulus" == fields.public_key


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_raise(data: bytes) -> None:
    fields = read_certificate_fields(data)
    assert fields is None or isinstance(fields.subject, str)


def test_every_truncation_and_flip_of_a_certificate_never_raises(ecdsa_pki: DemoPki) -> None:
    der = chain_of(ecdsa_pki)[0].public_bytes(Encoding.DER)
    for cut in range(len(der)):
        read_certificate_fields(der[:cut])
    for position in range(0, len(der), 3):
        flipped = bytearray(der)
        flipped[position] ^= 0xFF
        read_certificate_fields(bytes(flipped))
    assert read_certificate_fields(der) is not None


def test_the_page_decodes_the_chain_and_says_which_checks_it_made(ecdsa_pki: DemoPki) -> None:
    session = tls13_session(ecdsa_pki)
    client_page = render_html(session.client_trace, title="client")
    server_page = render_html(session.server_trace, title="server")
    for page in (client_page, server_page):
        assert 'id="certificates"' in page and 'id="certificate-2"' in page
        assert "✔ the name asked for (SNI localhost) is among its names" in page
        assert "ecdsa-with-SHA256" in page and "✘" not in page
    # Only the client verified signatures and the chain to a root: only its page says so.
    assert "the client verified certificate chain" in client_page
    assert "the client verified" not in server_page
    toy_page = render_html(toy_session(ecdsa_pki).client_trace, title="toy")
    assert 'id="certificate-1"' in toy_page
