"""The hybrid groups and certificate compression in whole handshakes, and every way they fail.

Our client against our server for each hybrid (draft-ietf-tls-ecdhe-mlkem),
a HelloRetryRequest to each; malformed hybrid shares through the server's
state machine (illegal_parameter, RFC 8446 section 4.2.8); a compressed
Certificate (RFC 8879) with each algorithm, and a wrong algorithm, a wrong
length and a decompression bomb through the client's.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import brotli
import pytest

from tls_web_server.tls import crypto
from tls_web_server.tls.errors import AlertDescription
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.certificate_compression import compress_certificate
from tls_web_server.tls.tls13.enums import (
    CertificateCompressionAlgorithm,
    ExtensionType,
    HandshakeType,
    NamedGroup,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.messages import CompressedCertificate
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection

from ..conftest import DemoPki
from .flight_surgery import (
    answered,
    edit_server_hello,
    new_client,
    new_server,
    pump,
    refused,
    server_hello_extensions,
    with_extension,
)
from .scripted_client import ScriptedClient
from .scripted_client import new_server as new_scripted_server
from .test_server_alerts import assert_fails

HYBRIDS = [NamedGroup[name] for name in crypto.HYBRID_GROUPS]
ALGORITHMS = [CertificateCompressionAlgorithm.brotli, CertificateCompressionAlgorithm.zlib]


class Events(list[dict[str, Any]]):
    """An observer keeping every event."""

    def __call__(self, event: dict[str, Any]) -> None:
        self.append(event)

    def messages(self, direction: str) -> list[str]:
        return [e["name"] for e in self if e["kind"] == "message" and e["direction"] == direction]

    def secret(self, name: str) -> bytes:
        (value,) = {e["value"] for e in self if e["kind"] == "secret" and e["name"] == name}
        return value


def observed_server(
    demo: DemoPki, events: Events, settings: ServerSettings | None = None, **changes: Any
) -> TLS13ServerConnection:
    return TLS13ServerConnection(
        settings or ServerSettings(credentials=demo.credentials, **changes),
        random_bytes=os.urandom,
        clock=lambda: demo.now,
        observer=events,
    )


# --- each hybrid, our client and our server ---------------------------------------------------


@pytest.mark.parametrize("group", HYBRIDS, ids=lambda group: group.name)
def test_each_hybrid_between_our_client_and_our_server(ecdsa_pki: DemoPki, group: NamedGroup):
    client_events, server_events = Events(), Events()
    client = new_client(
        ecdsa_pki, groups=(group,), key_share_groups=(group,), observer=client_events
    )
    server = observed_server(ecdsa_pki, server_events, groups=(group,))
    pump(client, server)
    assert client.is_established and server.is_established
    assert client.negotiated is not None and client.negotiated == server.negotiated
    assert client.negotiated.group == group.name and not client.negotiated.hello_retry
    # Both sides computed the same joined secret, of the group's length (32 + 32, or 32 + 48).
    layout = crypto.HYBRID_LAYOUTS[group.name]
    secret = client_events.secret("shared_secret")
    assert secret == server_events.secret("shared_secret")
    assert len(secret) == layout.secret_length == 32 + layout.ecdh_secret_length
    server.feed_wire_data(client.protect_application_data(b"over a hybrid"))
    assert server.read_plaintext() == b"over a hybrid"


def test_the_default_client_and_server_agree_on_x25519mlkem768_in_one_round_trip(
    ecdsa_pki: DemoPki,
):
    client = new_client(ecdsa_pki)
    hello = client.pop_pending_wire_data()
    # Two shares, as Chromium and OpenSSL 3.5 send: 1216 + 32 bytes of keys in a hello
    # of about 1.4 KB (Chromium's, with its GREASE, ECH and ALPS, is about 1.8 KB).
    assert 1216 + 32 < len(hello) < 1800
    server = new_server(ecdsa_pki)
    server.feed_wire_data(hello)
    client.feed_wire_data(server.pop_pending_wire_data())
    assert client.negotiated is not None
    assert client.negotiated.group == "X25519MLKEM768" and not client.negotiated.hello_retry


@pytest.mark.parametrize("group", HYBRIDS, ids=lambda group: group.name)
def test_a_hello_retry_request_to_each_hybrid(ecdsa_pki: DemoPki, group: NamedGroup):
    # The client sends an x25519 share only; the server accepts only the hybrid.
    client = new_client(ecdsa_pki, key_share_groups=(NamedGroup.x25519,))
    server = new_server(ecdsa_pki, groups=(group,))
    pump(client, server)
    assert client.negotiated is not None and client.negotiated == server.negotiated
    assert client.negotiated.group == group.name and client.negotiated.hello_retry


def test_a_hello_retry_request_from_a_hybrid_to_a_classical_group(ecdsa_pki: DemoPki):
    client = new_client(ecdsa_pki, key_share_groups=(NamedGroup.X25519MLKEM768,))
    server = new_server(ecdsa_pki, groups=(NamedGroup.secp384r1,))
    pump(client, server)
    assert client.negotiated is not None
    assert client.negotiated.group == "secp384r1" and client.negotiated.hello_retry


# --- malformed hybrid shares, through the server's state machine ------------------------------


def _malformed_shares(group: NamedGroup) -> dict[str, bytes]:
    layout = crypto.HYBRID_LAYOUTS[group.name]
    share = crypto.client_key_share(group.name, os.urandom).public_bytes
    mlkem_at = 0 if layout.mlkem_first else layout.ecdh_share_length
    ecdh_at = layout.encapsulation_key_length if layout.mlkem_first else 0
    # FIPS 203 section 7.2: the first 12-bit coefficient set to 4095, above q = 3329.
    unreduced = bytearray(share)
    unreduced[mlkem_at] = 0xFF
    unreduced[mlkem_at + 1] |= 0x0F
    if layout.ecdh_group == "x25519":
        bad_point = bytes(32)  # low order: an all-zero secret (RFC 8446 section 7.4.2)
    else:
        size = (layout.ecdh_share_length - 1) // 2
        bad_point = b"\x04" + bytes(size - 1) + b"\x01" + bytes(size - 1) + b"\x01"
    off_curve = bytearray(share)
    off_curve[ecdh_at : ecdh_at + layout.ecdh_share_length] = bad_point
    return {
        "truncated": share[:-1],
        "padded": share + b"\x00",
        "classical length": share[: layout.ecdh_share_length],
        "unreduced encapsulation key": bytes(unreduced),
        "invalid ECDH point": bytes(off_curve),
    }


@pytest.mark.parametrize("group", HYBRIDS, ids=lambda group: group.name)
@pytest.mark.parametrize(
    "flaw",
    [
        "truncated",
        "padded",
        "classical length",
        "unreduced encapsulation key",
        "invalid ECDH point",
    ],
)
def test_a_malformed_hybrid_share_is_illegal_parameter(
    ecdsa_pki: DemoPki, group: NamedGroup, flaw: str
):
    server = new_scripted_server(ecdsa_pki.credentials)
    client = ScriptedClient(roots=ecdsa_pki.roots, now=ecdsa_pki.now)
    share = KeyShareEntry(group, _malformed_shares(group)[flaw])
    hello = client.client_hello(supported_groups=(group,), key_shares=(share,))
    assert_fails(server, client.hello_record(hello), AlertDescription.illegal_parameter)


@pytest.mark.parametrize("flaw", ["truncated", "padded", "classical length"])
def test_a_malformed_hybrid_server_share_is_illegal_parameter_for_our_client(
    ecdsa_pki: DemoPki, flaw: str
):
    client, _server, flight = answered(ecdsa_pki)
    raw = flight.message(HandshakeType.server_hello)
    share = ext.decode_server_key_share(
        dict((e.type, e.data) for e in server_hello_extensions(raw))[ExtensionType.key_share]
    )
    assert share.group == NamedGroup.X25519MLKEM768 and len(share.key_exchange) == 1120
    broken = {
        "truncated": share.key_exchange[:-1],
        "padded": share.key_exchange + b"\x00",
        "classical length": share.key_exchange[:32],
    }[flaw]
    key_share = Extension(ExtensionType.key_share, ext.encode_key_share_entry(share.group, broken))
    edited = edit_server_hello(
        raw, extensions=with_extension(server_hello_extensions(raw), key_share)
    )
    error = refused(
        client,
        flight.replaced(HandshakeType.server_hello, edited).wire(),
        AlertDescription.illegal_parameter,
    )
    assert "X25519MLKEM768 server key share is 1120 bytes" in error.reason


# --- certificate compression in whole handshakes ----------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda algorithm: algorithm.name)
def test_a_compressed_certificate_in_a_full_handshake(
    accepted_pki: DemoPki, algorithm: CertificateCompressionAlgorithm
):
    events = Events()
    client = new_client(accepted_pki, certificate_compression=(algorithm,), observer=events)
    server = new_server(accepted_pki)
    pump(client, server)
    assert client.is_established and server.is_established
    received = [e for e in events if e["kind"] == "message" and e["direction"] == "received"]
    (compressed,) = [e["fields"] for e in received if e["name"] == "CompressedCertificate"]
    assert compressed.algorithm == algorithm
    assert "Certificate" not in events.messages("received")
    assert len(compressed.compressed_certificate_message) < compressed.uncompressed_length


def test_the_server_takes_the_clients_first_algorithm_and_compresses_once(ecdsa_pki: DemoPki):
    settings = ServerSettings(credentials=ecdsa_pki.credentials)
    sent = []
    for order in ([2, 1], [1, 2], [0x0A0A, 1]):
        client = new_client(ecdsa_pki, certificate_compression=tuple(order))
        server_events = Events()
        pump(client, observed_server(ecdsa_pki, server_events, settings))
        assert client.is_established
        (message,) = [
            e
            for e in server_events
            if e["kind"] == "message"
            and e["direction"] == "sent"
            and e["name"] == "CompressedCertificate"
        ]
        sent.append(message)
    assert [m["fields"].algorithm for m in sent] == [2, 1, 1]
    # One chain, compressed once: the same bytes each time it is sent with one algorithm.
    assert sent[1]["raw"] is sent[2]["raw"]


def test_a_server_with_compression_off_sends_the_certificate_plain(ecdsa_pki: DemoPki):
    events = Events()
    client = new_client(ecdsa_pki, observer=events)
    pump(client, new_server(ecdsa_pki, certificate_compression=False))
    assert client.is_established
    assert "Certificate" in events.messages("received")
    assert "CompressedCertificate" not in events.messages("received")


# --- a bad CompressedCertificate, through the client's state machine --------------------------


def _compressed_flight(demo: DemoPki, offered: tuple[int, ...] = (2, 1)):
    client, _server, flight = answered(
        demo, server_settings={"certificate_compression": True}, certificate_compression=offered
    )
    raw = flight.message(HandshakeType.compressed_certificate)
    return client, flight, CompressedCertificate.decode(raw[4:])


def test_an_algorithm_we_did_not_offer_is_illegal_parameter(ecdsa_pki: DemoPki):
    client, flight, compressed = _compressed_flight(ecdsa_pki, offered=(2,))
    assert compressed.algorithm == CertificateCompressionAlgorithm.brotli
    zlib_message = CompressedCertificate(
        CertificateCompressionAlgorithm.zlib,
        compressed.uncompressed_length,
        zlib.compress(b"\x00" * compressed.uncompressed_length),
    )
    edited = flight.replaced(HandshakeType.compressed_certificate, zlib_message.encode())
    refused(client, edited.wire(), AlertDescription.illegal_parameter)


def test_a_compressed_certificate_when_we_offered_none_is_illegal_parameter(ecdsa_pki: DemoPki):
    client, _server, flight = answered(ecdsa_pki, certificate_compression=())
    certificate = flight.message(HandshakeType.certificate)
    message = compress_certificate(CertificateCompressionAlgorithm.zlib, certificate[4:])
    edited = flight.replaced(HandshakeType.certificate, message.encode())
    refused(client, edited.wire(), AlertDescription.illegal_parameter)


@pytest.mark.parametrize("change", [-1, +1])
def test_a_wrong_uncompressed_length_is_bad_certificate(ecdsa_pki: DemoPki, change: int):
    client, flight, compressed = _compressed_flight(ecdsa_pki)
    wrong = CompressedCertificate(
        compressed.algorithm,
        compressed.uncompressed_length + change,
        compressed.compressed_certificate_message,
    )
    edited = flight.replaced(HandshakeType.compressed_certificate, wrong.encode())
    refused(client, edited.wire(), AlertDescription.bad_certificate)


@pytest.mark.parametrize("announced", [(1 << 18) + 1, (1 << 24) - 1])
def test_a_length_beyond_our_limit_is_bad_certificate_before_decompressing(
    ecdsa_pki: DemoPki, announced: int
):
    client, flight, compressed = _compressed_flight(ecdsa_pki)
    big = CompressedCertificate(
        compressed.algorithm, announced, compressed.compressed_certificate_message
    )
    edited = flight.replaced(HandshakeType.compressed_certificate, big.encode())
    error = refused(client, edited.wire(), AlertDescription.bad_certificate)
    assert str(announced) in error.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda algorithm: algorithm.name)
def test_a_decompression_bomb_is_stopped_by_the_announced_length(
    ecdsa_pki: DemoPki, algorithm: CertificateCompressionAlgorithm
):
    client, flight, compressed = _compressed_flight(ecdsa_pki, offered=(algorithm,))
    # 64 MB of zeros in a few KB, announced as the real Certificate's length.
    zeros = bytes(64 << 20)
    if algorithm == CertificateCompressionAlgorithm.zlib:
        stream = zlib.compress(zeros, 9)
    else:
        stream = brotli.compress(zeros, quality=5)
    assert len(stream) < 1 << 18
    bomb = CompressedCertificate(algorithm, compressed.uncompressed_length, stream)
    edited = flight.replaced(HandshakeType.compressed_certificate, bomb.encode())
    refused(client, edited.wire(), AlertDescription.bad_certificate)
