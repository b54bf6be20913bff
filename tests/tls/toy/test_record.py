"""tls/toy/record.py: key derivation and the encrypted application record."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tls_web_server.tls.errors import TLSError, TLSUsageError
from tls_web_server.tls.toy.record import (
    MAX_PLAINTEXT_PER_RECORD,
    RecordOpener,
    RecordSealer,
    derive_session_keys,
)

from .support import seeded_random

SHARED_SECRET = bytes(range(100, 132))
KEY = bytes(range(32))


def test_keys_are_hkdf_sha256_with_empty_salt_and_direction_labels() -> None:
    # Cross-check against the library's own HKDF, which is what the walkthrough used.
    def library_hkdf(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            SHARED_SECRET
        )

    keys = derive_session_keys(SHARED_SECRET)
    assert keys.client_write_key == library_hkdf(b"toy tls client write key")
    assert keys.server_write_key == library_hkdf(b"toy tls server write key")
    assert keys.client_write_key != keys.server_write_key


def test_sealed_record_layout() -> None:
    sealer = RecordSealer(KEY, seeded_random(7))
    expected_nonce = seeded_random(7)(12)
    record = sealer.seal_record(b"GET / HTTP/1.1\r\n\r\n")
    (length,) = struct.unpack_from(">I", record)
    assert length == len(record) - 4 == 8 + 12 + 18 + 16
    assert record[4:12] == bytes(8)  # sequence 0
    assert record[12:24] == expected_nonce
    # Anyone with the key opens it with AES-256-GCM, the sequence bytes as associated data.
    opened = AESGCM(KEY).decrypt(record[12:24], record[24:], record[4:12])
    assert opened == b"GET / HTTP/1.1\r\n\r\n"
    second = sealer.seal_record(b"x")
    assert second[4:12] == (1).to_bytes(8, "big")


def test_opener_returns_records_in_order() -> None:
    sealer = RecordSealer(KEY, seeded_random(1))
    opener = RecordOpener(KEY)
    for number in range(5):
        record = sealer.seal_record(f"record {number}".encode())
        assert opener.open_record(record[4:]) == f"record {number}".encode()
    assert opener.next_sequence == 5


def test_opener_refuses_a_record_out_of_sequence() -> None:
    sealer = RecordSealer(KEY, seeded_random(1))
    first, second = sealer.seal_record(b"a"), sealer.seal_record(b"b")
    opener = RecordOpener(KEY)
    with pytest.raises(TLSError, match=r"expected record 0, got record 1 \(replayed"):
        opener.open_record(second[4:])
    assert opener.open_record(first[4:]) == b"a"


def test_opener_refuses_a_record_sealed_with_another_key() -> None:
    record = RecordSealer(bytes(32), seeded_random(1)).seal_record(b"secret")
    with pytest.raises(TLSError, match="record 0 failed its integrity check"):
        RecordOpener(KEY).open_record(record[4:])


@pytest.mark.parametrize("length", [0, 1, 35])
def test_opener_refuses_a_record_too_short_to_hold_its_overhead(length: int) -> None:
    with pytest.raises(TLSError, match=f"at least 36 bytes, not {length}"):
        RecordOpener(KEY).open_record(bytes(length))


def test_sealer_refuses_more_than_16_kib_per_record() -> None:
    sealer = RecordSealer(KEY, seeded_random(1))
    sealer.seal_record(bytes(MAX_PLAINTEXT_PER_RECORD))
    with pytest.raises(TLSUsageError, match="at most 16384 bytes"):
        sealer.seal_record(bytes(MAX_PLAINTEXT_PER_RECORD + 1))


def test_sealer_refuses_a_random_source_that_returns_the_wrong_length() -> None:
    sealer = RecordSealer(KEY, lambda count: bytes(count - 1))
    with pytest.raises(TLSUsageError, match="returned 11 bytes"):
        sealer.seal_record(b"x")
