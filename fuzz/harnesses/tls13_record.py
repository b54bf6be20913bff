"""Fuzz the TLS 1.3 record layer: RecordReader framing and RecordProtection.open with fixed keys.

The input is a byte stream as TCP delivers it.  What is checked:
- RecordReader gives the same records (and the same error) whether the
  stream arrives whole or in chunks, and every record it returns is within
  the section 5 limits with a header that announces its fragment.
- Each protected (type 23) record is opened with a fixed key as it came:
  only TLSError may escape (an unauthenticated fragment is bad_record_mac).
- The fragment is then taken as a TLSInnerPlaintext, sealed under the same
  key by the harness, and opened: the result must match RFC 8446 section
  5.4 as this harness reads it (content type = last non-zero byte, zeros
  after it are padding, the limits and alerts of section 5), which the
  fuzzer cannot reach through the AEAD any other way.
- When that content is legal, RecordProtection.seal of it must open to the
  same content, and seal_application_data must round-trip through the
  reader and open().
The cipher suite is chosen by the input's length, so all three are fuzzed.
"""

from __future__ import annotations

from tls_web_server.tls import crypto
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.enums import CIPHER_SUITE_PARAMETERS, CipherSuite, ContentType
from tls_web_server.tls.tls13.key_schedule import traffic_key_and_iv
from tls_web_server.tls.tls13.record import (
    MAX_CIPHERTEXT_LENGTH,
    MAX_INNER_PLAINTEXT_LENGTH,
    MAX_PLAINTEXT_LENGTH,
    Record,
    RecordProtection,
    RecordReader,
)

from ..support import fail, tcp_chunks

SUITES = tuple(CIPHER_SUITE_PARAMETERS[suite] for suite in CipherSuite)
_APPLICATION_DATA = int(ContentType.application_data)
_PROTECTED_TYPES = {int(ContentType.alert), int(ContentType.handshake), _APPLICATION_DATA}


def test_one_input(data: bytes) -> None:
    whole = read_records([data])
    split = read_records(tcp_chunks(data))
    if whole != split:
        raise fail(f"fed whole: {whole}\nfed in chunks: {split}")
    records, _alert = whole
    parameters = SUITES[len(data) % len(SUITES)]
    secret = bytes(range(parameters.hash_length))
    key, iv = traffic_key_and_iv(parameters, secret)
    sealer = crypto.Aead(parameters.aead, key)
    opener = RecordProtection(parameters, secret)
    for record in records:
        _check_framing(record)
        if record.content_type != _APPLICATION_DATA:
            continue
        _open_as_received(RecordProtection(parameters, secret), record)
        _open_sealed_inner_plaintext(opener, sealer, int.from_bytes(iv, "big"), record.fragment)
        _check_application_data_round_trip(RecordProtection(parameters, secret), record.fragment)


def read_records(chunks: list[bytes]) -> tuple[list[Record], AlertDescription | None]:
    reader = RecordReader()
    records: list[Record] = []
    try:
        for chunk in chunks:
            reader.feed(chunk)
            while (record := reader.next_record()) is not None:
                records.append(record)
    except TLSError as error:
        if error.alert not in (
            AlertDescription.unexpected_message,
            AlertDescription.record_overflow,
        ):
            raise fail(f"the record reader answered {error}") from None
        return records, error.alert
    return records, None


def _check_framing(record: Record) -> None:
    header, fragment = record.header, record.fragment
    if len(header) != 5 or header[0] != record.content_type:
        raise fail(f"record header {header.hex()} for content type {record.content_type}")
    if int.from_bytes(header[3:5], "big") != len(fragment):
        raise fail(f"header {header.hex()} announces a fragment of another size")
    limit = MAX_CIPHERTEXT_LENGTH if record.content_type == _APPLICATION_DATA else 2**14
    if len(fragment) > limit:
        raise fail(f"a {len(fragment)}-byte fragment passed the {limit}-byte limit")


def _open_as_received(protection: RecordProtection, record: Record) -> None:
    try:
        protection.open(record.fragment, record.header)
    except TLSError as error:
        if error.alert is AlertDescription.internal_error:
            raise fail(f"open() answered internal_error: {error}") from None


def _expected_open(inner_plaintext: bytes) -> tuple[int, bytes] | AlertDescription:
    """RFC 8446 section 5.2 and 5.4, written out independently of record.py."""
    if len(inner_plaintext) + crypto.AEAD_TAG_LENGTH > MAX_CIPHERTEXT_LENGTH:
        return AlertDescription.record_overflow
    if len(inner_plaintext) > MAX_INNER_PLAINTEXT_LENGTH:
        return AlertDescription.record_overflow
    unpadded = inner_plaintext.rstrip(b"\x00")
    if not unpadded:
        return AlertDescription.unexpected_message
    content_type, content = unpadded[-1], unpadded[:-1]
    if content_type not in _PROTECTED_TYPES:
        return AlertDescription.unexpected_message
    if content_type != _APPLICATION_DATA and not content:
        return AlertDescription.unexpected_message
    return content_type, content


def _open_sealed_inner_plaintext(
    opener: RecordProtection, sealer: crypto.Aead, iv: int, inner_plaintext: bytes
) -> None:
    sequence_number = opener.sequence_number
    length = len(inner_plaintext) + crypto.AEAD_TAG_LENGTH
    header = bytes((_APPLICATION_DATA, 3, 3)) + length.to_bytes(2, "big")
    nonce = (iv ^ sequence_number).to_bytes(crypto.AEAD_NONCE_LENGTH, "big")
    fragment = sealer.seal(nonce, inner_plaintext, header)
    expected = _expected_open(inner_plaintext)
    try:
        opened: tuple[int, bytes] | AlertDescription = opener.open(fragment, header)
    except TLSError as error:
        if error.alert is None:
            raise fail(f"open() raised a TLSError without an alert: {error}") from None
        opened = error.alert
    if opened != expected:
        raise fail(
            f"inner plaintext {inner_plaintext[:40].hex()}... ({len(inner_plaintext)} bytes) "
            f"opened as {opened!r}, RFC 8446 section 5.4 says {expected!r}"
        )
    authenticated = length <= MAX_CIPHERTEXT_LENGTH
    if opener.sequence_number != sequence_number + authenticated:
        raise fail(f"sequence number {opener.sequence_number} after record {sequence_number}")
    if isinstance(expected, tuple):
        _check_seal_round_trip(
            opener, *expected, padding=len(inner_plaintext) - 1 - len(expected[1])
        )


def _check_seal_round_trip(
    protection: RecordProtection, content_type: int, content: bytes, padding: int
) -> None:
    """RecordProtection.seal of legal content opens to that content (a fresh key pair)."""
    if len(content) + padding > MAX_PLAINTEXT_LENGTH:
        return  # seal() refuses that as a usage error, rightly
    sender = RecordProtection(protection.parameters, protection.traffic_secret)
    receiver = RecordProtection(protection.parameters, protection.traffic_secret)
    record = sender.seal(content_type, content, padding)
    opened = receiver.open(record[5:], record[:5])
    if opened != (content_type, content):
        raise fail(f"seal({content_type}, {content[:40]!r}, {padding}) opened as {opened!r}")


def _check_application_data_round_trip(protection: RecordProtection, data: bytes) -> None:
    """seal_application_data output reads back, record by record, as the same bytes."""
    sender = RecordProtection(protection.parameters, protection.traffic_secret)
    reader = RecordReader()
    reader.feed(sender.seal_application_data(data * 3))
    received = bytearray()
    while (record := reader.next_record()) is not None:
        content_type, content = protection.open(record.fragment, record.header)
        if content_type != _APPLICATION_DATA:
            raise fail(f"seal_application_data made a record of type {content_type}")
        received += content
    if received != data * 3 or reader.buffered:
        raise fail("seal_application_data did not round-trip")
