"""The record layer against RFC 8448's records, OpenSSL's, and every limit of RFC 8446 section 5."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.tls.crypto import Aead
from tls_web_server.tls.errors import AlertDescription, TLSError, TLSUsageError
from tls_web_server.tls.tls13.enums import CIPHER_SUITE_PARAMETERS, CipherSuite, ContentType
from tls_web_server.tls.tls13.key_schedule import (
    next_application_traffic_secret,
    traffic_key_and_iv,
)
from tls_web_server.tls.tls13.record import (
    MAX_CIPHERTEXT_LENGTH,
    MAX_PLAINTEXT_LENGTH,
    MAX_SEQUENCE_NUMBER,
    Record,
    RecordProtection,
    RecordReader,
    encode_plaintext_record,
)

from .rfc8448 import step

AES_128 = CIPHER_SUITE_PARAMETERS[CipherSuite.TLS_AES_128_GCM_SHA256]
CHACHA = CIPHER_SUITE_PARAMETERS[CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
HANDSHAKE = ContentType.handshake
ALERT = ContentType.alert
APPLICATION_DATA = ContentType.application_data


def secret(section: int, actor: str, label: str) -> bytes:
    return step(section, actor, f'derive secret "tls13 {label}"')["expanded"]


def sent(section: int, actor: str, kind: str, occurrence: int) -> tuple[bytes, bytes]:
    """(payload, complete record) of one 'send ... record' step of the trace."""
    printed = step(section, actor, f"send {kind} record", occurrence)
    return printed["payload"], printed["complete record"]


# Each protected direction of RFC 8448 sections 3 and 5: its traffic secret and
# the records it carried, in order, with their inner content type.
DIRECTIONS = {
    "3 server handshake": (
        secret(3, "server", "s hs traffic"),
        [(HANDSHAKE, sent(3, "server", "handshake", 1))],
    ),
    "3 client handshake": (
        secret(3, "server", "c hs traffic"),
        [(HANDSHAKE, sent(3, "client", "handshake", 1))],
    ),
    "3 server application": (
        secret(3, "server", "s ap traffic"),
        [
            (HANDSHAKE, sent(3, "server", "handshake", 2)),  # NewSessionTicket
            (APPLICATION_DATA, sent(3, "server", "application_data", 0)),
            (ALERT, sent(3, "server", "alert", 0)),
        ],
    ),
    "3 client application": (
        secret(3, "server", "c ap traffic"),
        [
            (APPLICATION_DATA, sent(3, "client", "application_data", 0)),
            (ALERT, sent(3, "client", "alert", 0)),
        ],
    ),
    "5 server handshake": (
        secret(5, "server", "s hs traffic"),
        [(HANDSHAKE, sent(5, "server", "handshake", 2))],
    ),
    "5 client handshake": (
        secret(5, "server", "c hs traffic"),
        [(HANDSHAKE, sent(5, "client", "handshake", 2))],
    ),
    "5 server application": (
        secret(5, "server", "s ap traffic"),
        [(ALERT, sent(5, "server", "alert", 0))],
    ),
    "5 client application": (
        secret(5, "server", "c ap traffic"),
        [(ALERT, sent(5, "client", "alert", 0))],
    ),
}


@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
def test_sealing_reproduces_the_trace_records_and_opening_gives_the_payloads(
    direction: str,
) -> None:
    traffic_secret, records = DIRECTIONS[direction]
    sender = RecordProtection(AES_128, traffic_secret)
    receiver = RecordProtection(AES_128, traffic_secret)
    for expected_sequence, (content_type, (payload, complete)) in enumerate(records):
        assert sender.sequence_number == receiver.sequence_number == expected_sequence
        assert sender.seal(content_type, payload) == complete
        assert receiver.open(complete[5:], complete[:5]) == (content_type, payload)
    assert sender.sequence_number == receiver.sequence_number == len(records)


@pytest.mark.parametrize(
    ("section", "actor", "occurrence", "legacy_record_version"),
    [
        (3, "client", 0, 0x0301),  # the first ClientHello may say TLS 1.0
        (3, "server", 0, 0x0303),
        (5, "client", 0, 0x0301),
        (5, "server", 0, 0x0303),  # the HelloRetryRequest
        (5, "client", 1, 0x0303),  # a second ClientHello MUST say 0x0303
        (5, "server", 1, 0x0303),
    ],
)
def test_plaintext_records_match_the_trace(
    section: int, actor: str, occurrence: int, legacy_record_version: int
) -> None:
    payload, complete = sent(section, actor, "handshake", occurrence)
    assert encode_plaintext_record(HANDSHAKE, payload, legacy_record_version) == complete
    reader = RecordReader()
    reader.feed(complete)
    assert reader.next_record() == Record(HANDSHAKE, complete[:5], payload)
    assert reader.next_record() is None


def server_stream() -> tuple[bytes, list[bytes]]:
    """Everything the server sends in section 3, as one TCP stream, and its records."""
    records = [sent(3, "server", "handshake", index)[1] for index in range(3)]
    records += [sent(3, "server", "application_data", 0)[1], sent(3, "server", "alert", 0)[1]]
    return b"".join(records), records


def read_all(reader: RecordReader) -> list[bytes]:
    records = []
    while (record := reader.next_record()) is not None:
        assert len(record.header) == 5
        records.append(record.header + record.fragment)
    return records


def test_a_stream_split_at_every_byte_boundary_gives_the_same_records() -> None:
    stream, expected = server_stream()
    for cut in range(len(stream) + 1):
        reader = RecordReader()
        reader.feed(stream[:cut])
        received = read_all(reader)
        reader.feed(stream[cut:])
        received += read_all(reader)
        assert received == expected, cut
        assert reader.buffered == 0


def test_a_stream_fed_one_byte_at_a_time_gives_the_same_records() -> None:
    stream, expected = server_stream()
    reader = RecordReader()
    received = []
    for index in range(len(stream)):
        reader.feed(stream[index : index + 1])
        received += read_all(reader)
    assert received == expected


@given(cuts=st.lists(st.integers(min_value=0, max_value=1100), max_size=12))
def test_a_stream_in_any_chunks_gives_the_same_records(cuts: list[int]) -> None:
    stream, expected = server_stream()
    points = [0, *sorted(cut for cut in cuts if cut <= len(stream)), len(stream)]
    reader = RecordReader()
    received = []
    for start, end in itertools.pairwise(points):
        reader.feed(stream[start:end])
        received += read_all(reader)
    assert received == expected


def test_buffered_counts_bytes_not_yet_returned() -> None:
    _payload, complete = sent(3, "server", "alert", 0)
    reader = RecordReader()
    reader.feed(complete + complete[:7])
    assert reader.buffered == len(complete) + 7
    assert reader.next_record() is not None
    assert reader.buffered == 7
    assert reader.next_record() is None
    assert reader.buffered == 7


def expect_alert(alert: AlertDescription, action) -> TLSError:
    with pytest.raises(TLSError) as caught:
        action()
    assert caught.value.alert is alert
    return caught.value


def test_an_oversized_record_is_refused_from_its_header_alone() -> None:
    for content_type, limit in (
        (APPLICATION_DATA, MAX_CIPHERTEXT_LENGTH),
        (HANDSHAKE, MAX_PLAINTEXT_LENGTH),
        (ALERT, MAX_PLAINTEXT_LENGTH),
        (ContentType.change_cipher_spec, MAX_PLAINTEXT_LENGTH),
    ):
        reader = RecordReader()
        reader.feed(bytes([content_type, 3, 3]) + limit.to_bytes(2, "big"))
        assert reader.next_record() is None  # at the limit: wait for the fragment
        reader = RecordReader()
        reader.feed(bytes([content_type, 3, 3]) + (limit + 1).to_bytes(2, "big"))
        expect_alert(AlertDescription.record_overflow, reader.next_record)


def test_unknown_outer_content_types_are_unexpected_from_the_first_byte() -> None:
    for content_type in (0, 19, 24, 255):
        reader = RecordReader()
        reader.feed(bytes([content_type]))
        expect_alert(AlertDescription.unexpected_message, reader.next_record)
    reader = RecordReader()
    reader.feed(b"GET / HTTP/1.1\r\n")
    error = expect_alert(AlertDescription.unexpected_message, reader.next_record)
    assert "plain HTTP" in error.reason


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT, ContentType.change_cipher_spec])
def test_empty_plaintext_records_are_unexpected(content_type: int) -> None:
    reader = RecordReader()
    reader.feed(bytes([content_type, 3, 3, 0, 0]))
    expect_alert(AlertDescription.unexpected_message, reader.next_record)


def test_legacy_record_version_is_ignored() -> None:
    reader = RecordReader()
    reader.feed(bytes([ContentType.change_cipher_spec, 0x99, 0x42, 0, 1, 1]))
    assert reader.next_record() == (
        ContentType.change_cipher_spec,
        b"\x14\x99\x42\x00\x01",
        b"\x01",
    )


def client_application_record() -> tuple[bytes, bytes, bytes]:
    payload, complete = sent(3, "client", "application_data", 0)
    return secret(3, "server", "c ap traffic"), payload, complete


def test_any_flipped_bit_is_a_bad_record_mac_and_leaves_the_keys_usable() -> None:
    traffic_secret, payload, complete = client_application_record()
    receiver = RecordProtection(AES_128, traffic_secret)
    for bit in range(8, len(complete) * 8):  # every bit after the outer type byte
        damaged = bytearray(complete)
        damaged[bit // 8] ^= 1 << (bit % 8)
        expect_alert(
            AlertDescription.bad_record_mac,
            lambda record=bytes(damaged): receiver.open(record[5:], record[:5]),
        )
        assert receiver.sequence_number == 0
    assert receiver.open(complete[5:], complete[:5]) == (APPLICATION_DATA, payload)


def test_a_protected_record_must_say_application_data_outside() -> None:
    traffic_secret, _payload, complete = client_application_record()
    receiver = RecordProtection(AES_128, traffic_secret)
    header = bytes([HANDSHAKE]) + complete[1:5]
    expect_alert(AlertDescription.unexpected_message, lambda: receiver.open(complete[5:], header))


def test_records_must_be_opened_in_sequence() -> None:
    sender = RecordProtection(AES_128, bytes(32))
    first = sender.seal(APPLICATION_DATA, b"same")
    second = sender.seal(APPLICATION_DATA, b"same")
    assert first != second  # a new nonce for every record (RFC 8446 section 5.3)
    receiver = RecordProtection(AES_128, bytes(32))
    expect_alert(AlertDescription.bad_record_mac, lambda: receiver.open(second[5:], second[:5]))
    assert receiver.open(first[5:], first[:5]) == (APPLICATION_DATA, b"same")
    assert receiver.open(second[5:], second[:5]) == (APPLICATION_DATA, b"same")
    assert receiver.sequence_number == 2


def raw_protected_record(traffic_secret: bytes, inner_plaintext: bytes, sequence: int = 0) -> bytes:
    """A record sealed around an arbitrary TLSInnerPlaintext, as a misbehaving peer might."""
    key, iv = traffic_key_and_iv(AES_128, traffic_secret)
    length = len(inner_plaintext) + 16
    header = bytes([APPLICATION_DATA, 3, 3]) + length.to_bytes(2, "big")
    nonce = (int.from_bytes(iv, "big") ^ sequence).to_bytes(12, "big")
    return header + Aead(AES_128.aead, key).seal(nonce, inner_plaintext, header)


def open_raw(inner_plaintext: bytes) -> tuple[int, bytes]:
    record = raw_protected_record(bytes(32), inner_plaintext)
    return RecordProtection(AES_128, bytes(32)).open(record[5:], record[:5])


@given(
    content_type=st.sampled_from([HANDSHAKE, ALERT, APPLICATION_DATA]),
    content=st.binary(min_size=1, max_size=300),
    padding=st.integers(min_value=0, max_value=300),
)
def test_zero_padding_is_stripped(content_type: int, content: bytes, padding: int) -> None:
    sender = RecordProtection(AES_128, bytes(32))
    record = sender.seal(content_type, content, padding)
    assert len(record) == 5 + len(content) + 1 + padding + 16
    receiver = RecordProtection(AES_128, bytes(32))
    assert receiver.open(record[5:], record[:5]) == (content_type, content)


def test_padding_inside_the_content_is_kept() -> None:
    assert open_raw(b"ab\x00\x00\x16\x00\x00\x00") == (HANDSHAKE, b"ab\x00\x00")


@pytest.mark.parametrize("length", [0, 1, 17, 300])
def test_an_all_zero_inner_plaintext_is_unexpected(length: int) -> None:
    expect_alert(AlertDescription.unexpected_message, lambda: open_raw(bytes(length)))


def test_protected_change_cipher_spec_and_unknown_types_are_unexpected() -> None:
    expect_alert(AlertDescription.unexpected_message, lambda: open_raw(b"\x01\x14"))
    expect_alert(AlertDescription.unexpected_message, lambda: open_raw(b"data\x63"))


def test_empty_protected_handshake_and_alert_are_unexpected_but_empty_data_is_fine() -> None:
    expect_alert(AlertDescription.unexpected_message, lambda: open_raw(b"\x16\x00\x00"))
    expect_alert(AlertDescription.unexpected_message, lambda: open_raw(b"\x15"))
    assert open_raw(b"\x17\x00") == (APPLICATION_DATA, b"")


def test_decrypted_content_over_2_14_bytes_is_a_record_overflow() -> None:
    # Exactly 2^14 + 1 bytes of inner plaintext is the limit, padding included.
    at_limit = b"x" * (MAX_PLAINTEXT_LENGTH - 10) + b"\x17" + bytes(10)
    assert open_raw(at_limit) == (APPLICATION_DATA, b"x" * (MAX_PLAINTEXT_LENGTH - 10))
    expect_alert(AlertDescription.record_overflow, lambda: open_raw(at_limit + b"\x00"))
    too_long = b"x" * (MAX_PLAINTEXT_LENGTH + 1) + b"\x17"
    expect_alert(AlertDescription.record_overflow, lambda: open_raw(too_long))


def test_a_ciphertext_over_2_14_plus_256_bytes_is_a_record_overflow() -> None:
    receiver = RecordProtection(AES_128, bytes(32))
    fragment = bytes(MAX_CIPHERTEXT_LENGTH + 1)
    header = bytes([APPLICATION_DATA, 3, 3]) + len(fragment).to_bytes(2, "big")
    expect_alert(AlertDescription.record_overflow, lambda: receiver.open(fragment, header))


def test_seal_application_data_splits_into_full_records_with_one_sequence_each() -> None:
    data = bytes(range(256)) * (3 * MAX_PLAINTEXT_LENGTH // 256) + b"tail!"
    batch_sender = RecordProtection(CHACHA, bytes(32))
    one_by_one = RecordProtection(CHACHA, bytes(32))
    wire = batch_sender.seal_application_data(data)
    expected = b"".join(
        one_by_one.seal(APPLICATION_DATA, data[start : start + MAX_PLAINTEXT_LENGTH])
        for start in range(0, len(data), MAX_PLAINTEXT_LENGTH)
    )
    assert wire == expected
    assert batch_sender.sequence_number == 4

    reader = RecordReader()
    reader.feed(wire)
    receiver = RecordProtection(CHACHA, bytes(32))
    received = []
    while (record := reader.next_record()) is not None:
        assert len(record.fragment) <= MAX_PLAINTEXT_LENGTH + 1 + 16
        content_type, content = receiver.open(record.fragment, record.header)
        assert content_type == APPLICATION_DATA
        received.append(content)
    assert [len(part) for part in received] == [MAX_PLAINTEXT_LENGTH] * 3 + [5]
    assert b"".join(received) == data
    assert batch_sender.seal_application_data(b"") == b""
    assert batch_sender.sequence_number == 4


def test_the_sequence_number_never_wraps() -> None:
    sender = RecordProtection(AES_128, bytes(32))
    sender.sequence_number = MAX_SEQUENCE_NUMBER
    last = sender.seal(APPLICATION_DATA, b"last")
    expect_alert(AlertDescription.internal_error, lambda: sender.seal(APPLICATION_DATA, b"more"))
    expect_alert(AlertDescription.internal_error, lambda: sender.seal_application_data(b"more"))

    batch = RecordProtection(AES_128, bytes(32))
    batch.sequence_number = MAX_SEQUENCE_NUMBER
    two_records = bytes(MAX_PLAINTEXT_LENGTH + 1)
    expect_alert(AlertDescription.internal_error, lambda: batch.seal_application_data(two_records))
    assert batch.sequence_number == MAX_SEQUENCE_NUMBER

    receiver = RecordProtection(AES_128, bytes(32))
    receiver.sequence_number = MAX_SEQUENCE_NUMBER
    assert receiver.open(last[5:], last[:5]) == (APPLICATION_DATA, b"last")
    expect_alert(AlertDescription.internal_error, lambda: receiver.open(last[5:], last[:5]))


def test_chacha20_records_and_key_update_match_openssl() -> None:
    # Recorded from OpenSSL 3.0.19 s_server (TLS_CHACHA20_POLY1305_SHA256) with
    # SERVER_TRAFFIC_SECRET_0 from the key log: after two NewSessionTicket
    # records (sequence 0 and 1) the server sent KeyUpdate (sequence 2), then
    # "hello after update\n" as the first record under the next secret.
    secret_0 = bytes.fromhex("9cf7ab7d13d0268dd2997f11f000b9c6b0eded8abe9014b0cda1f0eb5457e478")
    key_update = bytes.fromhex("17030300163a7c07098a6f99b88c4d0e7779732f38bbc201c494c0")
    after_update = bytes.fromhex(
        "17030300247399af64b2044422ce9d2765f889212bd72ffe1603408ec177c61b548cf3db82646219f0"
    )
    receiver = RecordProtection(CHACHA, secret_0)
    receiver.sequence_number = 2
    # KeyUpdate(update_not_requested): type 24, length 1, request 0.
    assert receiver.open(key_update[5:], key_update[:5]) == (HANDSHAKE, b"\x18\x00\x00\x01\x00")
    updated = RecordProtection(CHACHA, next_application_traffic_secret("sha256", secret_0))
    assert updated.open(after_update[5:], after_update[:5]) == (
        APPLICATION_DATA,
        b"hello after update\n",
    )
    resealed = RecordProtection(CHACHA, next_application_traffic_secret("sha256", secret_0))
    assert resealed.seal(APPLICATION_DATA, b"hello after update\n") == after_update


def test_caller_mistakes_are_usage_errors() -> None:
    sender = RecordProtection(AES_128, bytes(32))
    with pytest.raises(TLSUsageError):
        sender.seal(APPLICATION_DATA, bytes(MAX_PLAINTEXT_LENGTH + 1))
    with pytest.raises(TLSUsageError):
        sender.seal(APPLICATION_DATA, bytes(MAX_PLAINTEXT_LENGTH), padding=1)
    with pytest.raises(TLSUsageError):
        sender.seal(HANDSHAKE, b"")
    with pytest.raises(TLSUsageError):
        encode_plaintext_record(HANDSHAKE, b"")
    with pytest.raises(TLSUsageError):
        encode_plaintext_record(APPLICATION_DATA, b"secret")
    assert sender.sequence_number == 0


def test_long_plaintext_messages_are_split_into_records_of_2_14_bytes() -> None:
    message = bytes(range(256)) * 80  # 20480 bytes, e.g. a large Certificate
    wire = encode_plaintext_record(HANDSHAKE, message)
    reader = RecordReader()
    reader.feed(wire)
    records = read_all(reader)
    assert [len(record) - 5 for record in records] == [MAX_PLAINTEXT_LENGTH, 20480 - 2**14]
    assert b"".join(record[5:] for record in records) == message


def test_keys_stay_out_of_repr() -> None:
    traffic_secret, _payload, _complete = client_application_record()
    assert traffic_secret.hex() not in repr(RecordProtection(AES_128, traffic_secret))


@settings(max_examples=300)
@given(stream=st.binary(max_size=600), chunk=st.integers(min_value=1, max_value=64))
def test_random_streams_only_ever_raise_tls_error(stream: bytes, chunk: int) -> None:
    reader = RecordReader()
    receiver = RecordProtection(AES_128, bytes(32))
    try:
        for start in range(0, len(stream), chunk):
            reader.feed(stream[start : start + chunk])
            while (record := reader.next_record()) is not None:
                if record.content_type == APPLICATION_DATA:
                    receiver.open(record.fragment, record.header)
    except TLSError as error:
        assert error.alert is not None


@settings(max_examples=300)
@given(
    header=st.binary(min_size=5, max_size=5),
    fragment=st.one_of(
        st.binary(max_size=400), st.integers(0, 20000).map(lambda size: b"\x17" * size)
    ),
)
def test_random_protected_records_only_ever_raise_tls_error(header: bytes, fragment: bytes) -> None:
    receiver = RecordProtection(AES_128, bytes(32))
    with pytest.raises(TLSError):
        receiver.open(fragment, header)
