"""Our TLS 1.3 client refusing a server whose hellos or extensions are wrong in one way.

The flights come from our real server and are edited with flight_surgery.py:
the ServerHello in clear, the rest decrypted with the server's handshake
secret (taken from its keylog callback), changed, and sealed again.  Each
test names the exact alert (RFC 8446 sections 4.1, 4.2 and 6) and checks
that it is the alert the client queued for the server, in clear: the client
has no write keys until its own Finished.  Authentication failures are in
test_client_authentication_errors.py, random input in test_client_fuzz.py.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from tests.tls.conftest import DemoPki
from tests.tls.tls13.flight_surgery import (
    ObservedServer,
    ServerFlight,
    answered,
    client_hellos,
    edit_server_hello,
    encrypted_extensions,
    refused,
    server_hello_extensions,
    with_extension,
    without_extension,
)
from tls_web_server.tls import crypto
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.client import TLS13ClientConnection
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.messages import (
    ClientHello,
    EncryptedExtensions,
)

Alert = AlertDescription


def with_server_hello(flight: ServerFlight, **changes: Any) -> bytes:
    """The flight's wire bytes with the (first) ServerHello edited."""
    hello = flight.message(HandshakeType.server_hello)
    return flight.replaced(HandshakeType.server_hello, edit_server_hello(hello, **changes)).wire()


def with_encrypted_extensions(flight: ServerFlight, *extensions: Extension) -> ServerFlight:
    return flight.replaced(
        HandshakeType.encrypted_extensions, EncryptedExtensions(tuple(extensions)).encode()
    )


# ---------------------------------------------------------------------------
# the unedited flight, and the alert reaching the server
# ---------------------------------------------------------------------------


def test_the_unedited_flight_completes_the_handshake(ecdsa_pki: DemoPki):
    # The control for every test below: resealing alone changes nothing.
    client, server, flight = answered(ecdsa_pki)
    client.feed_wire_data(flight.wire())
    assert client.is_established
    server.connection.feed_wire_data(client.pop_pending_wire_data())
    assert server.connection.is_established


def test_editing_nothing_reproduces_the_server_hello(ecdsa_pki: DemoPki):
    # The control for the edits below: the codec round trip is byte-exact.
    _client, _server, flight = answered(ecdsa_pki)
    hello = flight.message(HandshakeType.server_hello)
    assert edit_server_hello(hello) == hello


def test_the_alert_reaches_the_server(ecdsa_pki: DemoPki):
    client, server, flight = answered(ecdsa_pki)
    with pytest.raises(TLSError):
        client.feed_wire_data(with_server_hello(flight, legacy_session_id_echo=b""))
    with pytest.raises(TLSError) as caught:
        server.connection.feed_wire_data(client.pop_pending_wire_data())
    assert caught.value.received_alert == Alert.illegal_parameter


# ---------------------------------------------------------------------------
# ServerHello (RFC 8446 section 4.1.3)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suite",
    [CipherSuite.TLS_AES_256_GCM_SHA384, 0x1304, 0xC02F],
    ids=["offered-by-others", "ccm", "tls12"],
)
def test_a_cipher_suite_we_did_not_offer(ecdsa_pki: DemoPki, suite: int):
    client, _server, flight = answered(
        ecdsa_pki, cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)
    )
    error = refused(client, with_server_hello(flight, cipher_suite=suite), Alert.illegal_parameter)
    assert "not one we offered" in error.reason


@pytest.mark.parametrize("echo", [b"", bytes(32)], ids=["empty", "different"])
def test_a_session_id_echo_that_differs(ecdsa_pki: DemoPki, echo: bytes):
    client, _server, flight = answered(ecdsa_pki)
    error = refused(
        client, with_server_hello(flight, legacy_session_id_echo=echo), Alert.illegal_parameter
    )
    assert "legacy_session_id" in error.reason


def test_compression(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    refused(client, with_server_hello(flight, legacy_compression_method=1), Alert.illegal_parameter)


@pytest.mark.parametrize(
    ("group", "key_exchange"),
    [
        # secp384r1 is in our supported_groups, but we sent no share for it.
        (NamedGroup.secp384r1, crypto.EphemeralKey("secp384r1", os.urandom).public_bytes),
        (0x0019, b"\x04" * 133),  # secp521r1: never offered at all
    ],
    ids=["offered-group-without-share", "group-not-offered"],
)
def test_a_key_share_for_a_group_we_sent_no_share_for(
    ecdsa_pki: DemoPki, group: int, key_exchange: bytes
):
    share = KeyShareEntry(group, key_exchange)
    client, _server, flight = answered(ecdsa_pki)
    extensions = with_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.key_share, ext.encode_server_key_share(share)),
    )
    error = refused(
        client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter
    )
    assert "not one we sent" in error.reason


@pytest.mark.parametrize("key_exchange", [bytes(31), bytes(32)], ids=["short", "low-order-point"])
def test_a_bad_x25519_share(ecdsa_pki: DemoPki, key_exchange: bytes):
    client, _server, flight = answered(ecdsa_pki)
    share = KeyShareEntry(NamedGroup.x25519, key_exchange)
    extensions = with_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.key_share, ext.encode_server_key_share(share)),
    )
    refused(client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter)


def test_a_missing_key_share(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    extensions = without_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)), ExtensionType.key_share
    )
    refused(client, with_server_hello(flight, extensions=extensions), Alert.missing_extension)


def test_supported_versions_absent_means_an_older_version(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    extensions = without_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)),
        ExtensionType.supported_versions,
    )
    error = refused(
        client, with_server_hello(flight, extensions=extensions), Alert.protocol_version
    )
    assert error.reason == "the server did not choose TLS 1.3"


@pytest.mark.parametrize("version", [0x0303, 0x7F1C], ids=["tls12", "draft28"])
def test_supported_versions_with_a_version_we_did_not_offer(ecdsa_pki: DemoPki, version: int):
    # Section 4.2.1: a version not offered, or one before TLS 1.3, is illegal_parameter.
    client, _server, flight = answered(ecdsa_pki)
    extensions = with_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.supported_versions, ext.encode_selected_version(version)),
    )
    error = refused(
        client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter
    )
    assert error.reason == "the server did not choose TLS 1.3"


@pytest.mark.parametrize("legacy_version", [0x0301, 0x0304])
def test_the_server_hello_legacy_version_is_ignored(ecdsa_pki: DemoPki, legacy_version: int):
    # Section 4.2.1: with supported_versions present, the client ignores legacy_version.
    client, _server, flight = answered(ecdsa_pki)
    hello = flight.message(HandshakeType.server_hello)
    edited = edit_server_hello(hello, legacy_version=legacy_version)
    # The ServerHello alone: the encrypted rest was keyed by the unedited transcript.
    client.feed_wire_data(dataclasses.replace(flight, clear=(edited,), protected=()).wire())
    assert client.state_name == "ExpectEncryptedExtensions"
    assert client.pop_pending_wire_data() == b""  # no alert


def test_a_cookie_in_a_server_hello(ecdsa_pki: DemoPki):
    # Section 4.2: cookie is for ClientHello and HelloRetryRequest only.
    client, _server, flight = answered(ecdsa_pki)
    extensions = (
        *server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.cookie, ext.encode_cookie(b"state")),
    )
    error = refused(
        client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter
    )
    assert error.reason == "the server sent cookie in a ServerHello"


def test_an_extension_that_does_not_belong_in_a_server_hello(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    extensions = (
        *server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.server_name, b""),
    )
    refused(client, with_server_hello(flight, extensions=extensions), Alert.unsupported_extension)


@pytest.mark.parametrize("identity", [0, 1])
def test_a_selected_psk_we_did_not_offer(ecdsa_pki: DemoPki, identity: int):
    client, _server, flight = answered(ecdsa_pki)  # no ticket: no PSK offered
    extensions = (
        *server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.pre_shared_key, ext.encode_selected_identity(identity)),
    )
    refused(client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter)


def test_encrypted_extensions_in_place_of_the_server_hello(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    flight = dataclasses.replace(
        flight, clear=(flight.message(HandshakeType.encrypted_extensions),), protected=()
    )
    error = refused(client, flight.wire(), Alert.unexpected_message)
    assert "ExpectServerHello" in error.reason


# ---------------------------------------------------------------------------
# HelloRetryRequest (RFC 8446 section 4.1.4)
# ---------------------------------------------------------------------------


def retried(demo: DemoPki) -> tuple[TLS13ClientConnection, ObservedServer, ServerFlight]:
    """A client that received its HelloRetryRequest (for secp384r1) and sent its second hello."""
    client, server, retry = answered(demo, server_settings={"groups": (NamedGroup.secp384r1,)})
    client.feed_wire_data(retry.wire())
    return client, server, retry


def hello_retry_request(retry: ServerFlight, group: int | None, cookie: bytes | None) -> bytes:
    """The HelloRetryRequest of `retry` asking for `group` (None: no key_share) with `cookie`."""
    extensions = without_extension(
        server_hello_extensions(retry.message(HandshakeType.server_hello)), ExtensionType.key_share
    )
    if group is not None:
        extensions = (
            *extensions,
            Extension(ExtensionType.key_share, ext.encode_hello_retry_key_share(group)),
        )
    if cookie is not None:
        extensions = (*extensions, Extension(ExtensionType.cookie, ext.encode_cookie(cookie)))
    edited = edit_server_hello(retry.message(HandshakeType.server_hello), extensions=extensions)
    return dataclasses.replace(retry, clear=(edited,)).wire()


def test_a_second_hello_retry_request(ecdsa_pki: DemoPki):
    client, _server, retry = retried(ecdsa_pki)
    # The same HelloRetryRequest again (without a second ChangeCipherSpec, a fault of its own).
    again = dataclasses.replace(retry, change_cipher_spec=False)
    error = refused(client, again.wire(), Alert.unexpected_message)
    assert error.reason == "a second HelloRetryRequest"


@pytest.mark.parametrize(
    "group",
    [NamedGroup.x25519, NamedGroup.X25519MLKEM768, 0x0019],
    ids=["x25519", "X25519MLKEM768", "p521"],
)
def test_a_hello_retry_request_for_a_group_we_sent_or_never_offered(ecdsa_pki: DemoPki, group: int):
    client, _server, retry = answered(
        ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)}
    )
    refused(client, hello_retry_request(retry, group, None), Alert.illegal_parameter)


def test_a_pre_shared_key_in_a_hello_retry_request(ecdsa_pki: DemoPki):
    client, _server, retry = answered(
        ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)}
    )
    extensions = (
        *server_hello_extensions(retry.message(HandshakeType.server_hello)),
        Extension(ExtensionType.pre_shared_key, ext.encode_selected_identity(0)),
    )
    edited = edit_server_hello(retry.message(HandshakeType.server_hello), extensions=extensions)
    error = refused(
        client, dataclasses.replace(retry, clear=(edited,)).wire(), Alert.illegal_parameter
    )
    assert error.reason == "the server sent pre_shared_key in a HelloRetryRequest"


def test_a_hello_retry_request_that_changes_nothing(ecdsa_pki: DemoPki):
    client, _server, retry = answered(
        ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)}
    )
    refused(client, hello_retry_request(retry, None, None), Alert.illegal_parameter)


def test_a_cookie_is_echoed_in_the_second_hello(ecdsa_pki: DemoPki):
    client, _server, retry = answered(
        ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)}
    )
    client.feed_wire_data(hello_retry_request(retry, NamedGroup.secp384r1, b"opaque state"))
    second = client_hellos(client.pop_pending_wire_data())[-1]
    assert ext.decode_cookie(second.extension(ExtensionType.cookie)) == b"opaque state"
    shares = ext.decode_client_key_shares(second.extension(ExtensionType.key_share))
    assert [share.group for share in shares] == [NamedGroup.secp384r1]


def test_a_hello_retry_request_with_only_a_cookie_keeps_our_shares(ecdsa_pki: DemoPki):
    # Section 4.1.4: a retry may ask for a cookie alone; the new hello keeps the key shares.
    client, _server, retry = answered(
        ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)}
    )
    first_hello = ClientHello.decode(retry.client_hello[4:])
    client.feed_wire_data(hello_retry_request(retry, None, b"cookie"))
    second = client_hellos(client.pop_pending_wire_data())[-1]
    assert ext.decode_cookie(second.extension(ExtensionType.cookie)) == b"cookie"
    assert second.extension(ExtensionType.key_share) == first_hello.extension(
        ExtensionType.key_share
    )


def test_the_server_hello_after_a_retry_changes_the_suite(ecdsa_pki: DemoPki):
    client, server, _retry = retried(ecdsa_pki)
    flight = server.answer(client.pop_pending_wire_data())
    assert flight.parameters is not None
    other = (
        CipherSuite.TLS_AES_256_GCM_SHA384
        if flight.parameters.suite != CipherSuite.TLS_AES_256_GCM_SHA384
        else CipherSuite.TLS_AES_128_GCM_SHA256
    )
    error = refused(client, with_server_hello(flight, cipher_suite=other), Alert.illegal_parameter)
    assert "changed the cipher suite" in error.reason


def test_the_server_hello_after_a_retry_uses_another_group(ecdsa_pki: DemoPki):
    client, server, _retry = retried(ecdsa_pki)
    flight = server.answer(client.pop_pending_wire_data())
    share = KeyShareEntry(NamedGroup.x25519, crypto.EphemeralKey("x25519", os.urandom).public_bytes)
    extensions = with_extension(
        server_hello_extensions(flight.message(HandshakeType.server_hello)),
        Extension(ExtensionType.key_share, ext.encode_server_key_share(share)),
    )
    refused(client, with_server_hello(flight, extensions=extensions), Alert.illegal_parameter)


# ---------------------------------------------------------------------------
# EncryptedExtensions (RFC 8446 sections 4.2 and 4.3.1)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extension",
    [
        Extension(ExtensionType.max_fragment_length, b"\x01"),
        Extension(ExtensionType.record_size_limit, b"\x40\x00"),
        Extension(ExtensionType.early_data, b""),
        Extension(0xFE0D, b"\x00"),  # an extension type we do not even know
    ],
    ids=["max_fragment_length", "record_size_limit", "early_data", "unknown"],
)
def test_encrypted_extensions_with_an_extension_we_did_not_offer(
    ecdsa_pki: DemoPki, extension: Extension
):
    client, _server, flight = answered(ecdsa_pki)
    offered = encrypted_extensions(flight.message(HandshakeType.encrypted_extensions))
    flight = with_encrypted_extensions(flight, *offered, extension)
    refused(client, flight.wire(), Alert.unsupported_extension)


def test_encrypted_extensions_with_an_extension_that_belongs_elsewhere(ecdsa_pki: DemoPki):
    # We offered key_share, but it has no place in EncryptedExtensions (section 4.2).
    client, _server, flight = answered(ecdsa_pki)
    share = KeyShareEntry(NamedGroup.x25519, bytes(range(32)))
    flight = with_encrypted_extensions(
        flight, Extension(ExtensionType.key_share, ext.encode_server_key_share(share))
    )
    refused(client, flight.wire(), Alert.illegal_parameter)


def test_server_name_acknowledged_when_we_sent_none(ecdsa_pki: DemoPki):
    # An IP address is never sent as SNI (RFC 6066 section 3), so no answer may come.
    client, _server, flight = answered(ecdsa_pki, server_name="127.0.0.1")
    assert ClientHello.decode(flight.client_hello[4:]).extension(ExtensionType.server_name) is None
    flight = with_encrypted_extensions(flight, Extension(ExtensionType.server_name, b""))
    refused(client, flight.wire(), Alert.unsupported_extension)


def test_a_server_name_acknowledgement_that_is_not_empty(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    flight = with_encrypted_extensions(
        flight, Extension(ExtensionType.server_name, ext.encode_server_name("localhost"))
    )
    refused(client, flight.wire(), Alert.decode_error)


def test_alpn_we_did_not_offer(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki)
    flight = with_encrypted_extensions(
        flight,
        Extension(
            ExtensionType.application_layer_protocol_negotiation,
            ext.encode_application_protocols((b"h2",)),
        ),
    )
    error = refused(client, flight.wire(), Alert.illegal_parameter)
    assert "b'h2'" in error.reason


ALPN_HTTP11 = Extension(
    ExtensionType.application_layer_protocol_negotiation,
    ext.encode_application_protocols((b"http/1.1",)),
)


@pytest.mark.parametrize(
    ("extensions", "alpn"),
    [
        ((), None),  # ALPN is the server's choice to answer
        (
            (
                Extension(ExtensionType.server_name, b""),  # "I used your name" (RFC 6066)
                Extension(ExtensionType.supported_groups, ext.encode_supported_groups((0x001D,))),
                ALPN_HTTP11,
            ),
            "http/1.1",
        ),
    ],
    ids=["none", "all-we-allow"],
)
def test_encrypted_extensions_the_client_accepts(
    ecdsa_pki: DemoPki, extensions: tuple[Extension, ...], alpn: str | None
):
    client, _server, flight = answered(ecdsa_pki)
    flight = with_encrypted_extensions(flight, *extensions)
    client.feed_wire_data(flight.reauthenticated(ecdsa_pki.credentials.private_key).wire())
    assert client.is_established
    assert client.negotiated is not None and client.negotiated.alpn == alpn
