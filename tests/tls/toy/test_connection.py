"""toytls client and server together, in memory: handshakes, data, and every way to break them."""

from __future__ import annotations

import os
import random
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tls_web_server.tls import crypto, pki
from tls_web_server.tls.api import Negotiated, TLSConnection
from tls_web_server.tls.errors import TLSError, TLSUsageError
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection
from tls_web_server.tls.toy.client import CLIENT_TRANSITIONS
from tls_web_server.tls.toy.record import MAX_PLAINTEXT_PER_RECORD
from tls_web_server.tls.toy.server import SERVER_TRANSITIONS
from tls_web_server.tls.toy.wire import ClientHello, ServerAuth, ServerHello, frame_record

from ..conftest import DemoPki, make_demo_pki
from .support import (
    established_pair,
    handshake,
    make_pair,
    seeded_random,
    split_records,
    trickle,
)

REQUEST = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


# --------------------------------------------------------------------------
# Handshakes that succeed.
# --------------------------------------------------------------------------


def test_full_handshake_and_data_both_ways(accepted_pki: DemoPki) -> None:
    server, client = make_pair(accepted_pki)
    assert isinstance(server, TLSConnection) and isinstance(client, TLSConnection)
    assert not client.is_established and client.negotiated is None
    handshake(server, client)
    assert server.is_established and client.is_established
    assert client.pop_pending_wire_data() == b"" and server.pop_pending_wire_data() == b""

    server.feed_wire_data(client.protect_application_data(REQUEST))
    assert server.read_plaintext() == REQUEST
    assert server.read_plaintext() == b""  # each byte is returned once
    client.feed_wire_data(server.protect_application_data(RESPONSE))
    assert client.read_plaintext() == RESPONSE

    scheme = accepted_pki.credentials.signature_schemes[0]
    assert server.negotiated == Negotiated(
        protocol="toytls", cipher_suite="AES-256-GCM", group="x25519", signature_scheme=scheme
    )
    assert client.negotiated == Negotiated(
        protocol="toytls",
        cipher_suite="AES-256-GCM",
        group="x25519",
        server_name="localhost",
        signature_scheme=scheme,
    )
    assert not server.peer_closed and not client.peer_closed


def test_handshake_and_records_fed_in_2_to_5_byte_slices(accepted_pki: DemoPki) -> None:
    rng = random.Random(2024)
    server, client = make_pair(accepted_pki)
    trickle(server.feed_wire_data, client.pop_pending_wire_data(), rng)
    trickle(client.feed_wire_data, server.pop_pending_wire_data(), rng)
    assert client.is_established
    trickle(server.feed_wire_data, client.protect_application_data(REQUEST * 3), rng)
    assert server.read_plaintext() == REQUEST * 3
    trickle(client.feed_wire_data, server.protect_application_data(RESPONSE), rng)
    assert client.read_plaintext() == RESPONSE


def test_states_follow_the_transition_tables(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    assert server.state_name == SERVER_TRANSITIONS[0][0]
    assert client.state_name == CLIENT_TRANSITIONS[0][0]
    server.feed_wire_data(client.pop_pending_wire_data())
    assert server.state_name == SERVER_TRANSITIONS[0][2]
    server_hello, server_auth = split_records(server.pop_pending_wire_data())
    client.feed_wire_data(server_hello)
    assert client.state_name == CLIENT_TRANSITIONS[0][2] == CLIENT_TRANSITIONS[1][0]
    client.feed_wire_data(server_auth)
    assert client.state_name == CLIENT_TRANSITIONS[1][2]
    server.feed_wire_data(client.protect_application_data(b"x"))
    assert server.state_name == SERVER_TRANSITIONS[1][2]


def test_server_flight_is_server_hello_then_server_auth(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    server.feed_wire_data(client.pop_pending_wire_data())
    server_hello, server_auth = split_records(server.pop_pending_wire_data())
    assert len(ServerHello.decode(server_hello[4:]).public_key) == 32
    auth = ServerAuth.decode(server_auth[4:])
    assert auth.certificates == ecdsa_pki.credentials.chain_der


def test_same_random_bytes_replay_the_same_handshake_byte_for_byte(
    demo_pki_factory: Any,
) -> None:
    def run(demo: DemoPki, *, client_verifies: bool) -> list[bytes]:
        server, client = make_pair(
            demo, server_random=seeded_random(1), client_random=seeded_random(2)
        )
        client_hello = client.pop_pending_wire_data()
        server.feed_wire_data(client_hello)
        flight = server.pop_pending_wire_data()
        if not client_verifies:
            return [client_hello, flight]
        client.feed_wire_data(flight)
        server_hello, _server_auth = split_records(flight)
        return [client_hello, server_hello, client.protect_application_data(REQUEST)]

    # Ed25519 signatures are deterministic, so the server's whole flight is
    # (our client refuses an Ed25519 chain: the client's side stops there).
    ed25519_pki = demo_pki_factory("ed25519")
    assert run(ed25519_pki, client_verifies=False) == run(ed25519_pki, client_verifies=False)
    # An ECDSA signature is not; everything else is, the session keys too.
    ecdsa_pki = demo_pki_factory("ecdsa-p256")
    assert run(ecdsa_pki, client_verifies=True) == run(ecdsa_pki, client_verifies=True)


def test_observer_sees_messages_keys_checks_and_records(ecdsa_pki: DemoPki) -> None:
    client_events: list[dict[str, Any]] = []
    server_events: list[dict[str, Any]] = []
    server, client = make_pair(
        ecdsa_pki, client_observer=client_events.append, server_observer=server_events.append
    )
    client_hello = client.pop_pending_wire_data()
    server.feed_wire_data(client_hello)
    flight = server.pop_pending_wire_data()
    client.feed_wire_data(flight)
    server.feed_wire_data(client.protect_application_data(REQUEST))

    def kinds(events):
        return [
            (e["kind"], f"{e['previous']} -> {e['next']}")
            if e["kind"] == "state"
            else (e["kind"], e.get("name", e.get("content_type")))
            for e in events
        ]

    assert kinds(client_events) == [
        ("record", "handshake"),
        ("message", "ClientHello"),
        ("record", "handshake"),
        ("message", "ServerHello"),
        ("state", "ExpectServerHello -> ExpectServerAuth"),
        ("record", "handshake"),
        ("message", "ServerAuth"),
        ("verified", "certificate chain"),
        ("verified", "ServerAuth signature"),
        ("secret", "shared_secret"),
        ("secret", "client_write_key"),
        ("secret", "server_write_key"),
        ("state", "ExpectServerAuth -> Traffic"),
        ("record", "application_data"),
    ]
    # Application records do not change the state: no state event after Traffic.
    assert [e for e in server_events if e["kind"] == "state"] == [
        {"kind": "state", "protocol": "toytls", "previous": "ExpectClientHello", "next": "Traffic"}
    ]
    assert all(event["protocol"] == "toytls" for event in client_events)
    records = [e for e in client_events if e["kind"] == "record"]
    assert records[0]["raw"] == client_hello
    assert records[1]["raw"] + records[2]["raw"] == flight
    messages = [e for e in client_events if e["kind"] == "message"]
    assert [m["raw"] for m in messages] == [r["plaintext"] for r in records[:3]]
    assert [m["direction"] for m in messages] == ["sent", "received", "received"]
    client_keys = {e["name"]: e["value"] for e in client_events if e["kind"] == "secret"}
    server_keys = {e["name"]: e["value"] for e in server_events if e["kind"] == "secret"}
    assert client_keys == server_keys and len(client_keys["client_write_key"]) == 32
    assert server_events[-1] == {
        "kind": "record",
        "protocol": "toytls",
        "direction": "received",
        "content_type": "application_data",
        "raw": records[-1]["raw"],
        "plaintext": REQUEST,
        "protected": True,
        "sequence": 0,
    }


# --------------------------------------------------------------------------
# The client's checks.
# --------------------------------------------------------------------------


def expect_client_failure(server: ToyTLSServerConnection, client: ToyTLSClientConnection) -> str:
    server.feed_wire_data(client.pop_pending_wire_data())
    with pytest.raises(TLSError) as caught:
        client.feed_wire_data(server.pop_pending_wire_data())
    assert caught.value.alert is None
    assert not client.is_established and client.state_name == "Failed"
    assert client.negotiated is None
    with pytest.raises(TLSUsageError):
        client.protect_application_data(REQUEST)
    return caught.value.reason


def test_wrong_server_name(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki, server_name="wrong.example")
    reason = expect_client_failure(server, client)
    assert reason == "certificate for localhost does not match wrong.example"


def test_untrusted_root(ecdsa_pki: DemoPki, demo_pki_factory: Any) -> None:
    server, client = make_pair(ecdsa_pki, roots=demo_pki_factory("ed25519").roots)
    assert expect_client_failure(server, client).startswith(
        "chain does not lead to the trusted root"
    )


def test_an_ed25519_chain_is_refused(demo_pki_factory: Any) -> None:
    # Our clients refuse Ed25519 certificates, as browsers do (pki_verification.py);
    # the toytls server still serves the chain it was given.
    server, client = make_pair(demo_pki_factory("ed25519"))
    reason = expect_client_failure(server, client)
    assert reason.startswith(
        "certificate 'CN=localhost,O=tls-web-server demo' holds an Ed25519 key:"
        " Ed25519 certificates are refused here, as browsers refuse them"
    )
    assert "`tls-web-server certs DIR --key-type ecdsa-p256` (the default)" in reason


def test_expired_leaf(tmp_path: Path) -> None:
    two_years_ago = time.time() - 2 * 365 * 86400
    old = make_demo_pki(tmp_path, "ecdsa-p256", now=two_years_ago)
    server, client = make_pair(old, now=time.time())
    reason = expect_client_failure(server, client)
    assert reason.startswith("certificate 'CN=localhost,O=tls-web-server demo' expired on ")


def test_server_auth_with_a_bad_signature(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    client_hello = client.pop_pending_wire_data()
    server.feed_wire_data(client_hello)
    server_hello, server_auth = split_records(server.pop_pending_wire_data())
    client_key = ClientHello.decode(client_hello[4:]).public_key
    server_key = ServerHello.decode(server_hello[4:]).public_key
    # A real signature by the real key, but over the two keys in the wrong order.
    wrong = crypto.sign(
        ecdsa_pki.credentials.private_key, "ecdsa_secp256r1_sha256", server_key + client_key
    )
    forged = ServerAuth(ServerAuth.decode(server_auth[4:]).certificates, wrong).encode()
    client.feed_wire_data(server_hello)
    with pytest.raises(TLSError, match=r"ServerAuth signature .* does not verify"):
        client.feed_wire_data(frame_record(forged))


def test_impostor_with_a_copied_certificate_but_not_its_key(ecdsa_pki: DemoPki) -> None:
    # The intermediate's key: a valid P-256 key, but not the one in the leaf certificate.
    other_key = serialization.load_pem_private_key(
        ecdsa_pki.files.intermediate_key.read_bytes(), password=None
    )
    stolen = pki.ServerCredentials(
        chain_der=ecdsa_pki.credentials.chain_der,
        private_key=other_key,
        signature_schemes=("ecdsa_secp256r1_sha256",),
        leaf_names=(),
    )
    server, client = make_pair(ecdsa_pki, credentials=stolen)
    assert "does not verify" in expect_client_failure(server, client)


def test_man_in_the_middle_swapping_the_server_key_is_caught(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    server.feed_wire_data(client.pop_pending_wire_data())
    _server_hello, server_auth = split_records(server.pop_pending_wire_data())
    attacker = crypto.EphemeralKey("x25519", os.urandom)
    swapped = ServerHello(attacker.public_bytes).encode()
    client.feed_wire_data(frame_record(swapped))
    with pytest.raises(TLSError, match="public keys were changed on the way"):
        client.feed_wire_data(server_auth)


def test_low_order_x25519_key_is_refused(ecdsa_pki: DemoPki) -> None:
    server, _client = make_pair(ecdsa_pki)
    hello = b"\x00\x10\x00\x00\x00\x20" + bytes(32)  # the all-zero point: an all-zero secret
    with pytest.raises(TLSError, match="X25519 public key is unusable"):
        server.feed_wire_data(frame_record(hello))


def test_client_refuses_server_auth_in_place_of_server_hello(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    server.feed_wire_data(client.pop_pending_wire_data())
    _server_hello, server_auth = split_records(server.pop_pending_wire_data())
    with pytest.raises(TLSError, match="ServerHello must hold exactly one X25519_PUBLIC_KEY"):
        client.feed_wire_data(server_auth)


# --------------------------------------------------------------------------
# Records after the handshake.
# --------------------------------------------------------------------------


def test_every_flipped_byte_of_a_record_is_detected(ecdsa_pki: DemoPki) -> None:
    record = None
    for position in range(4 + 8 + 12 + len(b"secret") + 16):
        server, client = established_pair(ecdsa_pki)
        record = bytearray(client.protect_application_data(b"secret"))
        following = client.protect_application_data(bytes(1000))
        record[position] ^= 0x01
        with pytest.raises(TLSError):
            # A changed length makes the frame end elsewhere (up to 256 bytes
            # later, or past the 64 KiB limit): the next record's bytes complete
            # it, and then it fails its tag.
            server.feed_wire_data(bytes(record) + following)
        assert server.read_plaintext() == b""
    assert record is not None


def test_replayed_record_is_refused(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    record = client.protect_application_data(b"pay 100 euros")
    server.feed_wire_data(record)
    with pytest.raises(TLSError, match="expected record 1, got record 0"):
        server.feed_wire_data(record)
    assert server.read_plaintext() == b"pay 100 euros"  # only once


def test_reordered_records_are_refused(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    first = client.protect_application_data(b"first")
    second = client.protect_application_data(b"second")
    with pytest.raises(TLSError, match="expected record 0, got record 1"):
        server.feed_wire_data(second + first)


def test_dropped_record_is_detected(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    client.protect_application_data(b"dropped on the way")
    third = client.protect_application_data(b"arrives")
    with pytest.raises(TLSError, match="expected record 0, got record 1"):
        server.feed_wire_data(third)


def test_records_from_the_other_direction_do_not_open(ecdsa_pki: DemoPki) -> None:
    _server, client = established_pair(ecdsa_pki)
    reflected = client.protect_application_data(b"echo")
    with pytest.raises(TLSError, match="failed its integrity check"):
        client.feed_wire_data(reflected)  # each direction has its own key


def test_http_request_split_across_records_is_reassembled(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    body = bytes(range(256)) * 150  # 38400 bytes: three records of at most 16 KiB
    request = b"POST /upload HTTP/1.1\r\nContent-Length: 38400\r\n\r\n" + body
    wire = client.protect_application_data(request[:10])
    wire += client.protect_application_data(request[10:30])
    wire += client.protect_application_data(request[30:])
    records = split_records(wire)
    assert len(records) == 2 + 3
    assert all(len(record) <= 4 + 36 + MAX_PLAINTEXT_PER_RECORD for record in records)
    received = bytearray()
    rng = random.Random(5)
    offset = 0
    while offset < len(wire):
        size = rng.randint(1, 5000)
        server.feed_wire_data(wire[offset : offset + size])
        received += server.read_plaintext()
        offset += size
    assert bytes(received) == request


def test_oversized_record_header_is_refused_before_its_payload(ecdsa_pki: DemoPki) -> None:
    server, _client = established_pair(ecdsa_pki)
    with pytest.raises(TLSError, match="more than the 65536-byte limit"):
        server.feed_wire_data(struct.pack(">I", 65537))
    fresh_server, _client = make_pair(ecdsa_pki)
    with pytest.raises(TLSError, match="announces 4294967295 bytes"):
        fresh_server.feed_wire_data(b"\xff\xff\xff\xff")


def test_failed_connection_refuses_everything_after(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    good = client.protect_application_data(b"good")
    with pytest.raises(TLSError):
        server.feed_wire_data(b"\x00\x00\x00\x01X")
    with pytest.raises(TLSError, match="the connection already failed"):
        server.feed_wire_data(good)
    assert server.read_plaintext() == b""
    with pytest.raises(TLSUsageError):
        server.protect_application_data(b"reply")


# --------------------------------------------------------------------------
# Misuse by the caller.
# --------------------------------------------------------------------------


def test_sending_before_the_handshake_is_a_usage_error(ecdsa_pki: DemoPki) -> None:
    server, client = make_pair(ecdsa_pki)
    with pytest.raises(TLSUsageError, match="in state ExpectServerHello"):
        client.protect_application_data(REQUEST)
    with pytest.raises(TLSUsageError, match="in state ExpectClientHello"):
        server.protect_application_data(RESPONSE)
    server.feed_wire_data(client.pop_pending_wire_data())
    server_hello, _server_auth = split_records(server.pop_pending_wire_data())
    client.feed_wire_data(server_hello)
    with pytest.raises(TLSUsageError, match="in state ExpectServerAuth"):
        client.protect_application_data(REQUEST)


def test_close_stops_sending_but_not_receiving(ecdsa_pki: DemoPki) -> None:
    server, client = established_pair(ecdsa_pki)
    server.close()
    assert server.pop_pending_wire_data() == b""  # no close_notify exists in toytls
    with pytest.raises(TLSUsageError, match="close"):
        server.protect_application_data(RESPONSE)
    server.feed_wire_data(client.protect_application_data(REQUEST))
    assert server.read_plaintext() == REQUEST


def test_empty_data_makes_no_record(ecdsa_pki: DemoPki) -> None:
    _server, client = established_pair(ecdsa_pki)
    assert client.protect_application_data(b"") == b""


def test_chain_too_large_for_one_record_is_refused_up_front(ecdsa_pki: DemoPki) -> None:
    huge = pki.ServerCredentials(
        chain_der=(bytes(40000), bytes(30000)),
        private_key=ecdsa_pki.credentials.private_key,
        signature_schemes=ecdsa_pki.credentials.signature_schemes,
        leaf_names=(),
    )
    with pytest.raises(TLSUsageError, match="does not fit"):
        ToyTLSServerConnection(huge, random_bytes=os.urandom)
