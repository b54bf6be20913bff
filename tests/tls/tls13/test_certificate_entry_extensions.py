"""Our client checks each CertificateEntry's extensions (RFC 8446 section 4.4.2).

"Extensions in the Certificate message from the server MUST correspond to
ones from the ClientHello message": our client offers neither
status_request nor signed_certificate_timestamp, so either one in any entry
is unsupported_extension; an extension we did offer that has no place in a
CertificateEntry (ALPN) is illegal_parameter.  Entries without extensions
pass as before.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.tls.conftest import DemoPki
from tests.tls.tls13.flight_surgery import ServerFlight, answered, pump, refused
from tls_web_server.tls.errors import AlertDescription
from tls_web_server.tls.tls13.enums import ExtensionType, HandshakeType
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.messages import Certificate

Alert = AlertDescription


def _with_entry_extension(flight: ServerFlight, index: int, extension: Extension) -> bytes:
    certificate = Certificate.decode(flight.message(HandshakeType.certificate)[4:])
    entries = list(certificate.entries)
    entries[index] = dataclasses.replace(entries[index], extensions=(extension,))
    edited = dataclasses.replace(certificate, entries=tuple(entries))
    return flight.replaced(HandshakeType.certificate, edited.encode()).wire()


@pytest.mark.parametrize("index", [0, -1], ids=["leaf", "intermediate"])
@pytest.mark.parametrize(
    "extension_type",
    [ExtensionType.status_request, ExtensionType.signed_certificate_timestamp, 0x7A7A],
    ids=["status_request", "signed_certificate_timestamp", "unknown"],
)
def test_an_extension_we_did_not_offer(ecdsa_pki: DemoPki, index: int, extension_type: int):
    client, _server, flight = answered(ecdsa_pki)
    wire = _with_entry_extension(flight, index, Extension(extension_type, b"\x00\x01"))
    error = refused(client, wire, Alert.unsupported_extension)
    assert "CertificateEntry" in error.reason


def test_an_offered_extension_that_belongs_elsewhere(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    alpn = Extension(ExtensionType.application_layer_protocol_negotiation, b"\x00\x09\x08http/1.1")
    error = refused(client, _with_entry_extension(flight, 0, alpn), Alert.illegal_parameter)
    assert "belongs elsewhere" in error.reason


def test_entries_without_extensions_are_accepted(ecdsa_pki: DemoPki):
    client, server, flight = answered(ecdsa_pki)
    client.feed_wire_data(flight.wire())
    pump(client, server.connection)
    assert client.is_established
