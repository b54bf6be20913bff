"""Hypothesis against our TLS 1.3 client: whatever a server sends, TLSError, never internal_error.

Random bytes, random records, and a real flight from our server mutated at
one message or one byte.  The client may fail only with TLSError naming the
alert it sent (never internal_error) or the alert it received, and it never
completes a handshake whose bytes were changed: every byte is in the
transcript or authenticated by the record layer, except the legacy record
version of clear records, which RFC 8446 section 5.1 says to ignore.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tls.conftest import DemoPki
from tests.tls.tls13.flight_surgery import (
    ObservedServer,
    ServerFlight,
    new_client,
    seeded_random,
)
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.client import TLS13ClientConnection
from tls_web_server.tls.tls13.enums import ContentType

Alert = AlertDescription

# Two clients made with this seed send byte-identical hellos, so one recorded
# server flight answers every fresh client in the examples below.
SEED = 8446


@pytest.fixture(scope="module")
def recorded(demo_pki_factory) -> tuple[DemoPki, ServerFlight]:
    demo = demo_pki_factory("ecdsa-p256")
    client = new_client(demo, random_bytes=seeded_random(SEED))
    flight = ObservedServer(demo).answer(client.pop_pending_wire_data())
    assert len(flight.clear) == 1 and len(flight.protected) == 4
    return demo, flight


def fresh_client(demo: DemoPki) -> TLS13ClientConnection:
    return new_client(demo, random_bytes=seeded_random(SEED))


def assert_refused_properly(client: TLS13ClientConnection, wire: bytes) -> None:
    try:
        client.feed_wire_data(wire)
    except TLSError as error:
        # Either we name the alert we sent, or the server's alert ended it (nothing sent back).
        assert (error.alert is None) != (error.received_alert is None), error
        assert error.alert is not Alert.internal_error, error
        assert not client.is_established
        return
    # Every byte a server sends is in the transcript or authenticated by the
    # record layer: a changed flight never completes the handshake.
    assert not client.is_established


# Random records with a plausible header reach past the record layer into the
# handshake and alert code; pure noise mostly stops at the first header byte.
random_records = st.builds(
    lambda content_type, body: bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body,
    st.sampled_from([int(content_type) for content_type in ContentType]),
    st.binary(min_size=1, max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(min_size=1, max_size=400), random_records))
def test_random_bytes_only_raise_tls_errors(recorded, data: bytes):
    demo, _flight = recorded
    assert_refused_properly(fresh_client(demo), data)


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(min_value=0, max_value=4),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    action=st.sampled_from(["flip", "truncate", "insert", "set"]),
    value=st.integers(min_value=0, max_value=255),
)
def test_mutated_server_messages_only_raise_tls_errors(
    recorded, which: int, position: float, action: str, value: int
):
    demo, flight = recorded
    messages = [*flight.clear, *flight.protected]
    message = bytearray(messages[which])
    at = int(position * len(message))
    if action == "flip":
        message[at] ^= value or 0x80
    elif action == "truncate":
        del message[at:]
    elif action == "insert":
        message[at:at] = bytes((value,))
    else:
        if message[at] == value:
            value ^= 0x01
        message[at] = value
    messages[which] = bytes(message)
    mutated = dataclasses.replace(
        flight,
        clear=tuple(m for m in messages[:1] if m),
        protected=tuple(m for m in messages[1:] if m),
    )
    assert_refused_properly(fresh_client(demo), mutated.wire())


def ignored_header_bytes(wire: bytes) -> set[int]:
    """Positions of legacy_record_version in clear records: ignored (5.1), not authenticated."""
    positions = set()
    offset = 0
    while offset < len(wire):
        if wire[offset] != ContentType.application_data:
            positions |= {offset + 1, offset + 2}
        offset += 5 + int.from_bytes(wire[offset + 3 : offset + 5], "big")
    return positions


@settings(max_examples=200, deadline=None)
@given(
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    xor=st.integers(min_value=1, max_value=255),
)
def test_mutated_server_records_only_raise_tls_errors(recorded, position: float, xor: int):
    demo, flight = recorded
    wire = bytearray(flight.wire())
    at = int(position * len(wire))
    wire[at] ^= xor
    client = fresh_client(demo)
    if at in ignored_header_bytes(flight.wire()):
        client.feed_wire_data(bytes(wire))
        assert client.is_established  # section 5.1: "MUST be ignored for all purposes"
    else:
        assert_refused_properly(client, bytes(wire))


def test_the_recorded_flight_completes_a_fresh_client(recorded):
    # The control of the three tests above: unmutated, the same flight is accepted.
    demo, flight = recorded
    client = fresh_client(demo)
    client.feed_wire_data(flight.wire())
    assert client.is_established
    assert (
        client.negotiated is not None and client.negotiated.cipher_suite == "TLS_AES_128_GCM_SHA256"
    )
