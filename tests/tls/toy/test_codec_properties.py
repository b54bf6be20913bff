"""Issue 5: one uniform property for every toytls codec, checked with hypothesis.

toytls has no alerts: every fault in a peer's bytes is a `TLSError` whose
`alert` is None (tls/errors.py).  For each codec (the tag-length-value fields,
the three handshake messages, the record frame, the sealed application record):

- round trip: a value generated from its fields encodes and decodes back to itself;
- mutation: a valid encoding with one byte replaced, inserted or deleted, or cut
  short, is either refused with that TLSError, or decodes to a value whose
  encoding is exactly the mutated bytes;
- a sealed record with any byte changed never opens.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mutations import mutations
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.toy.record import (
    KEY_LENGTH,
    MAX_PLAINTEXT_PER_RECORD,
    RECORD_OVERHEAD,
    RecordOpener,
    RecordSealer,
)
from tls_web_server.tls.toy.wire import (
    MAX_RECORD_LENGTH,
    RECORD_HEADER_LENGTH,
    X25519_PUBLIC_KEY_LENGTH,
    ClientHello,
    RecordBuffer,
    ServerAuth,
    ServerHello,
    Tag,
    decode_fields,
    encode_fields,
    frame_record,
)

# --- Mutations ----------------------------------------------------------------------------


def assert_refused_or_identical(
    decode: Callable[[bytes], Any], encode: Callable[[Any], bytes], mutated: bytes
) -> None:
    try:
        decoded = decode(mutated)
    except TLSError as error:
        assert error.alert is None, error  # toytls has no alerts to send
        assert error.reason
    else:
        assert encode(decoded) == mutated


# --- Handshake codecs ---------------------------------------------------------------------

public_keys = st.binary(min_size=X25519_PUBLIC_KEY_LENGTH, max_size=X25519_PUBLIC_KEY_LENGTH)
field_lists = st.lists(st.tuples(st.sampled_from(Tag), st.binary(max_size=40)), max_size=5)
server_auths = st.builds(
    ServerAuth,
    st.lists(st.binary(max_size=60), min_size=1, max_size=3).map(tuple),
    st.binary(max_size=72),
)

# (name, decoder, encoder of the decoded value, valid values)
HANDSHAKE_CODECS: list[tuple[str, Callable[[bytes], Any], Callable[[Any], bytes], Any]] = [
    (
        "fields",
        lambda payload: decode_fields(payload, "Test"),
        encode_fields,
        field_lists,
    ),
    ("ClientHello", ClientHello.decode, ClientHello.encode, st.builds(ClientHello, public_keys)),
    ("ServerHello", ServerHello.decode, ServerHello.encode, st.builds(ServerHello, public_keys)),
    ("ServerAuth", ServerAuth.decode, ServerAuth.encode, server_auths),
]


@settings(max_examples=200)
@given(st.data())
def test_every_handshake_codec_round_trips(data: st.DataObject) -> None:
    _name, decode, encode, values = data.draw(st.sampled_from(HANDSHAKE_CODECS), label="codec")
    value = data.draw(values, label="value")
    encoded = encode(value)
    assert decode(encoded) == value


@settings(max_examples=300)
@given(st.data())
def test_every_handshake_mutation_is_refused_or_decodes_to_exactly_those_bytes(
    data: st.DataObject,
) -> None:
    _name, decode, encode, values = data.draw(st.sampled_from(HANDSHAKE_CODECS), label="codec")
    mutated = data.draw(mutations(encode(data.draw(values, label="value"))), label="mutated")
    assert_refused_or_identical(decode, encode, mutated)


@given(public_keys)
def test_hello_messages_have_one_layout_and_no_type_byte(public_key: bytes) -> None:
    # wire.py: "A ClientHello and a ServerHello have the same shape"; each decodes the other.
    encoded = ClientHello(public_key).encode()
    assert encoded == ServerHello(public_key).encode()
    assert ServerHello.decode(encoded).public_key == public_key
    assert decode_fields(encoded, "Test") == [(Tag.X25519_PUBLIC_KEY, public_key)]


# --- The record frame ---------------------------------------------------------------------

payload_lists = st.lists(st.binary(max_size=80), min_size=1, max_size=4)


@given(payloads=payload_lists, cuts=st.lists(st.integers(0, 400), max_size=6))
def test_framed_records_come_back_whole_however_the_stream_is_cut(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame_record(payload) for payload in payloads)
    buffer = RecordBuffer()
    received = []
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        buffer.feed(stream[previous : max(previous, cut)])
        previous = max(previous, cut)
        while (payload := buffer.next_record()) is not None:
            received.append(payload)
    assert received == payloads
    assert buffer.buffered == 0


@settings(max_examples=200)
@given(payloads=payload_lists, data=st.data())
def test_frame_mutations_are_refused_or_reframed_exactly_as_read(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(frame_record(payload) for payload in payloads)
    mutated = data.draw(mutations(stream), label="mutated")
    buffer = RecordBuffer()
    buffer.feed(mutated)
    received = []
    try:
        while (payload := buffer.next_record()) is not None:
            received.append(payload)
    except TLSError as error:
        assert error.alert is None
        # Only a header announcing more than the limit is refused by the frame itself.
        assert str(MAX_RECORD_LENGTH) in error.reason
        return
    consumed = len(mutated) - buffer.buffered
    assert b"".join(frame_record(payload) for payload in received) == mutated[:consumed]
    tail = mutated[consumed:]
    assert len(tail) < RECORD_HEADER_LENGTH or (
        int.from_bytes(tail[:4], "big") > len(tail) - RECORD_HEADER_LENGTH
    )


# --- The sealed application record --------------------------------------------------------

keys = st.binary(min_size=KEY_LENGTH, max_size=KEY_LENGTH)


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


@settings(max_examples=60)
@given(
    key=keys,
    seed=st.integers(0, 2**32),
    plaintexts=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    chunk_size=st.integers(1, 500),
)
def test_sealed_records_open_in_order_to_the_same_plaintext(
    key: bytes, seed: int, plaintexts: list[bytes], chunk_size: int
) -> None:
    sealer = RecordSealer(key, seeded(seed))
    stream = b"".join(sealer.seal_record(plaintext) for plaintext in plaintexts)
    assert len(stream) == sum(4 + RECORD_OVERHEAD + len(p) for p in plaintexts)
    buffer = RecordBuffer()
    opener = RecordOpener(key)
    opened = []
    for start in range(0, len(stream), chunk_size):
        buffer.feed(stream[start : start + chunk_size])
        while (payload := buffer.next_record()) is not None:
            opened.append(opener.open_record(payload))
    assert opened == plaintexts
    assert opener.next_sequence == sealer.next_sequence == len(plaintexts)


@settings(max_examples=30)
@given(key=keys, size=st.integers(MAX_PLAINTEXT_PER_RECORD - 2, MAX_PLAINTEXT_PER_RECORD))
def test_a_full_record_round_trips(key: bytes, size: int) -> None:
    plaintext = bytes(index % 251 for index in range(size))
    record = RecordSealer(key, seeded(size)).seal_record(plaintext)
    buffer = RecordBuffer()
    buffer.feed(record)
    payload = buffer.next_record()
    assert payload is not None
    assert RecordOpener(key).open_record(payload) == plaintext


@settings(max_examples=250)
@given(
    key=keys,
    seed=st.integers(0, 2**32),
    plaintext=st.binary(max_size=200),
    earlier_records=st.integers(0, 2),
    data=st.data(),
)
def test_a_sealed_record_with_any_byte_changed_never_opens(
    key: bytes, seed: int, plaintext: bytes, earlier_records: int, data: st.DataObject
) -> None:
    sealer = RecordSealer(key, seeded(seed))
    opener = RecordOpener(key)
    for number in range(earlier_records):
        # Records before it, so that its sequence number is not simply zero.
        opener.open_record(sealer.seal_record(bytes([number]))[RECORD_HEADER_LENGTH:])
    record = sealer.seal_record(plaintext)
    position = data.draw(st.integers(0, len(record) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda value: value != record[position]))
    damaged = record[:position] + bytes((byte,)) + record[position + 1 :]
    buffer = RecordBuffer()
    buffer.feed(damaged)
    try:
        payload = buffer.next_record()
        if payload is None:
            # The length header now announces more: the record waits, unopened.
            assert position < RECORD_HEADER_LENGTH
            return
        opened = opener.open_record(payload)
    except TLSError as error:
        assert error.alert is None
    else:
        raise AssertionError(f"a damaged record opened to {opened!r}")
    # The refusal consumed no sequence number: the genuine record still opens.
    assert opener.next_sequence == earlier_records
    assert opener.open_record(record[RECORD_HEADER_LENGTH:]) == plaintext
