"""certificate_compression.py (RFC 8879): round trips, wrong algorithm, wrong length, bombs.

The wire formats are the codec's (messages.CompressedCertificate, the
compress_certificate payload in extensions.py): tested here with the
compression they carry.
"""

from __future__ import annotations

import os
import tracemalloc
import zlib

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import certificate_compression as cc
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.certificate_compression import (
    CertificateCompressionAlgorithm as Algorithm,
)
from tls_web_server.tls.tls13.enums import HandshakeType
from tls_web_server.tls.tls13.messages import (
    Certificate,
    CertificateEntry,
    CompressedCertificate,
    decode_handshake_message,
)

from ..conftest import DemoPki

IMPLEMENTED = [Algorithm.zlib, Algorithm.brotli]
OFFERED = (Algorithm.brotli, Algorithm.zlib)


def certificate_body(pki: DemoPki) -> bytes:
    """A real Certificate message body: our demo chain, as the server sends it."""
    message = Certificate(b"", tuple(CertificateEntry(der) for der in pki.credentials.chain_der))
    return message.encode()[4:]


def alert_of(message: CompressedCertificate, offered=OFFERED, **limits: int) -> AlertDescription:
    with pytest.raises(TLSError) as raised:
        cc.decompress_certificate(message, offered, **limits)
    assert raised.value.alert is not None
    return raised.value.alert


@pytest.mark.parametrize("algorithm", IMPLEMENTED)
def test_a_real_chain_round_trips_smaller_through_the_wire_format(
    algorithm: Algorithm, any_pki: DemoPki
) -> None:
    body = certificate_body(any_pki)
    message = cc.compress_certificate(algorithm, body)
    assert message.algorithm == algorithm
    assert message.uncompressed_length == len(body)
    assert len(message.compressed_certificate_message) < len(body)

    wire = message.encode()
    assert wire[0] == HandshakeType.compressed_certificate == 25
    assert int.from_bytes(wire[1:4], "big") == len(wire) - 4
    assert wire[4:6] == algorithm.to_bytes(2, "big")
    decoded = CompressedCertificate.decode(wire[4:])
    assert decoded == message == decode_handshake_message(25, wire[4:])
    assert cc.decompress_certificate(decoded, OFFERED) == body
    assert Certificate.decode(
        cc.decompress_certificate(decoded, [algorithm])
    ) == Certificate.decode(body)


@pytest.mark.parametrize("algorithm", IMPLEMENTED)
@pytest.mark.parametrize("size", [0, 1, 100, 65_536, 300_000])
def test_any_body_round_trips(algorithm: Algorithm, size: int) -> None:
    body = os.urandom(size // 2) + bytes(size - size // 2)
    message = cc.compress_certificate(algorithm, body)
    assert cc.decompress_certificate(message, OFFERED) == body


def test_the_independent_libraries_read_what_we_write() -> None:
    body = b"certificate " * 500
    assert (
        zlib.decompress(
            cc.compress_certificate(Algorithm.zlib, body).compressed_certificate_message
        )
        == body
    )
    assert (
        brotli.decompress(
            cc.compress_certificate(Algorithm.brotli, body).compressed_certificate_message
        )
        == body
    )


def test_an_algorithm_we_did_not_offer_is_illegal_parameter() -> None:
    message = cc.compress_certificate(Algorithm.zlib, b"body" * 10)
    assert alert_of(message, offered=[Algorithm.brotli]) == AlertDescription.illegal_parameter
    unknown = CompressedCertificate(0x4444, 40, message.compressed_certificate_message)
    assert alert_of(unknown, offered=[0x4444, *OFFERED]) == AlertDescription.illegal_parameter
    zstd = CompressedCertificate(Algorithm.zstd, 40, message.compressed_certificate_message)
    assert alert_of(zstd, offered=[Algorithm.zstd]) == AlertDescription.illegal_parameter


@pytest.mark.parametrize("algorithm", IMPLEMENTED)
def test_a_wrong_uncompressed_length_is_bad_certificate(algorithm: Algorithm) -> None:
    body = b"a certificate chain " * 50
    good = cc.compress_certificate(algorithm, body)
    data = good.compressed_certificate_message
    for announced in (len(body) - 1, len(body) + 1, 0, 1, 2 * len(body)):
        message = CompressedCertificate(algorithm, announced, data)
        assert alert_of(message) == AlertDescription.bad_certificate
    # Above the receiver's own limit, or above 2^24, before any decompression.
    assert alert_of(good, max_length=len(body) - 1) == AlertDescription.bad_certificate
    too_long = CompressedCertificate(algorithm, (1 << 24) + 1, data)
    assert alert_of(too_long, max_length=1 << 30) == AlertDescription.bad_certificate
    assert cc.decompress_certificate(good, OFFERED, max_length=len(body)) == body


@pytest.mark.parametrize("algorithm", IMPLEMENTED)
def test_a_corrupt_truncated_or_padded_stream_is_bad_certificate(algorithm: Algorithm) -> None:
    body = os.urandom(500) + b"tail" * 100
    data = cc.compress_certificate(algorithm, body).compressed_certificate_message
    streams = [data[:-1], data[: len(data) // 2], data + b"\x00", b"\x00" * 20]
    if algorithm == Algorithm.zlib:
        # zlib's Adler-32 catches a changed byte; brotli has no checksum (a
        # changed literal decompresses to another body of the same length, which
        # the Certificate's own checks then meet).
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0xFF
        streams.append(bytes(flipped))
    for stream in streams:
        message = CompressedCertificate(algorithm, len(body), stream)
        assert alert_of(message) == AlertDescription.bad_certificate


@pytest.mark.parametrize("algorithm", IMPLEMENTED)
def test_a_bomb_is_stopped_by_the_announced_length_not_by_memory(algorithm: Algorithm) -> None:
    # 100 MB of zeros: brotli packs them into ~150 bytes, zlib into ~100 KB.
    hundred_megabytes = bytes(100_000_000)
    if algorithm == Algorithm.zlib:
        bomb = zlib.compress(hundred_megabytes, 9)
    else:
        bomb = brotli.compress(hundred_megabytes, quality=5)
    del hundred_megabytes
    message = CompressedCertificate(algorithm, 1000, bomb)
    tracemalloc.start()
    try:
        assert alert_of(message) == AlertDescription.bad_certificate
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Output bounded to the announced length (plus, for brotli, part of one
    # 32 KB block): never megabytes.
    assert peak < 512 * 1024


def test_the_server_compresses_once_and_follows_the_clients_order(ecdsa_pki: DemoPki) -> None:
    body = certificate_body(ecdsa_pki)
    chain = cc.PrecompressedCertificate(body)
    brotli_message = chain.choose_for([Algorithm.brotli, Algorithm.zlib])
    zlib_message = chain.choose_for([Algorithm.zlib, Algorithm.brotli])
    assert brotli_message is not None and brotli_message.algorithm == Algorithm.brotli
    assert zlib_message is not None and zlib_message.algorithm == Algorithm.zlib
    # Kept, not recompressed: the same object for every handshake.
    assert chain.choose_for([Algorithm.brotli]) is brotli_message
    # Unknown values (GREASE, zstd) are skipped; nothing we have means "send it plain".
    assert chain.choose_for([0x0A0A, Algorithm.zstd, Algorithm.zlib]) is zlib_message
    assert chain.choose_for([Algorithm.zstd, 0x0A0A]) is None
    assert chain.choose_for([]) is None
    for message in (brotli_message, zlib_message):
        assert cc.decompress_certificate(message, OFFERED) == body


def test_zstd_and_unknown_algorithms_cannot_be_used_to_compress() -> None:
    with pytest.raises(ValueError, match="not implemented"):
        cc.compress_certificate(Algorithm.zstd, b"body")


def test_the_extension_body_round_trips_and_refuses_bad_lengths() -> None:
    data = ext.encode_compress_certificate([Algorithm.brotli, Algorithm.zlib, 0x0A0A])
    assert data == bytes.fromhex("06 0002 0001 0a0a")
    assert ext.decode_compress_certificate(data) == (2, 1, 0x0A0A)
    for bad in (
        b"",
        b"\x00",
        b"\x01\x00",
        b"\x03\x00\x01\x00",
        b"\x02\x00\x01\x00",
        b"\x04\x00\x01",
    ):
        with pytest.raises(TLSError) as raised:
            ext.decode_compress_certificate(bad)
        assert raised.value.alert == AlertDescription.decode_error


def test_a_malformed_compressed_certificate_is_decode_error() -> None:
    good = cc.compress_certificate(Algorithm.zlib, b"body" * 10).encode()[4:]
    empty_stream = bytes.fromhex("0001 000028 000000")
    for bad in (good[:-1], good + b"\x00", good[:4], empty_stream):
        with pytest.raises(TLSError) as raised:
            CompressedCertificate.decode(bad)
        assert raised.value.alert == AlertDescription.decode_error


@settings(max_examples=200, deadline=None)
@given(
    algorithm=st.sampled_from(IMPLEMENTED),
    announced=st.integers(0, 5000),
    stream=st.binary(min_size=1, max_size=400),
)
def test_any_stream_decompresses_to_exactly_its_length_or_is_refused(
    algorithm: Algorithm, announced: int, stream: bytes
) -> None:
    message = CompressedCertificate(algorithm, announced, stream)
    try:
        body = cc.decompress_certificate(message, OFFERED)
    except TLSError as error:
        assert error.alert == AlertDescription.bad_certificate
        return
    assert len(body) == announced
