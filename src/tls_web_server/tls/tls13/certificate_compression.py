"""Certificate compression (RFC 8879): compress a Certificate once, decompress it with a limit.

What this module owns:
- The algorithms we implement (`SUPPORTED_ALGORITHMS`; enums.py names
  them): zlib (1, the standard library) and brotli (2, Google's `brotli`
  binding; the one algorithm Chromium offers).  zstd (3) is named so a
  trace can show it; we do not implement it, so we never offer or choose it.
- The server's side: `PrecompressedCertificate` compresses one Certificate
  message body with every algorithm we have, once per certificate chain
  (compression at the highest settings costs milliseconds; a handshake must
  not pay them), and `choose_for` picks the first algorithm in the client's
  list that we have (the client's order is its preference, RFC 8879
  section 3).
- The receiver's side: `decompress_certificate` refuses an algorithm we did
  not offer (illegal_parameter), an uncompressed_length above the limit, and
  any stream that does not decompress to exactly uncompressed_length bytes
  (bad_certificate, section 4).  The decompressors are bounded to
  uncompressed_length + 1 bytes of output, so a decompression bomb is
  stopped by the limit, not by running out of memory.

The wire formats are the codec's: the CompressedCertificate message in
messages.py, the compress_certificate extension payload in extensions.py.

What it must never do: hold per-handshake state, produce more than the
announced number of bytes, or let a library exception escape (every failure
is a TLSError with the RFC's alert).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

import brotli

from ..errors import AlertDescription, TLSError
from .enums import CertificateCompressionAlgorithm
from .messages import Certificate, CompressedCertificate

# Section 4: uncompressed_length is a uint24, so no Certificate above 2^24 bytes
# can be announced; a receiver passes its own, smaller, limit as max_length.
MAX_UNCOMPRESSED_LENGTH = 1 << 24
UINT24_MAX = (1 << 24) - 1

__all__ = [
    "MAX_UNCOMPRESSED_LENGTH",
    "SUPPORTED_ALGORITHMS",
    "CertificateCompressionAlgorithm",
    "CompressedCertificate",
    "PrecompressedCertificate",
    "compress_certificate",
    "decompress_certificate",
    "decompressed_certificate",
]


def _zlib_compress(body: bytes) -> bytes:
    # RFC 8879 section 3: "zlib" is the RFC 1950 format (header and Adler-32),
    # which is what zlib.compress writes.
    return zlib.compress(body, 9)


def _brotli_compress(body: bytes) -> bytes:
    # Quality 11 and the generic mode: the smallest output; paid once per chain.
    return brotli.compress(body, quality=11)


def _zlib_decompress(data: bytes, length: int) -> bytes | None:
    """At most length + 1 bytes out of the stream; None unless it is exactly `length` bytes."""
    decompressor = zlib.decompressobj()
    try:
        output = decompressor.decompress(data, length + 1)  # max_length: the bomb stops here
    except zlib.error:
        return None
    # A stream that is not finished would give more than `length` bytes; bytes
    # after its end belong to nothing (unused_data): both are refused.
    if len(output) != length or not decompressor.eof or decompressor.unused_data:
        return None
    return output


def _brotli_decompress(data: bytes, length: int) -> bytes | None:
    """Bounded like _zlib_decompress, with the streaming Decompressor's output_buffer_limit.

    The limit (brotli >= 1.2) stops the output buffer growing once it holds
    at least `length + 1` bytes: the decoder may overshoot by part of one
    internal block (about 32 KB), never by the bomb's size, and anything
    longer than `length` is refused.
    """
    decompressor = brotli.Decompressor()
    try:
        output = decompressor.process(data, output_buffer_limit=length + 1)
    except brotli.error:  # corrupt stream, or bytes after its end
        return None
    if len(output) != length or not decompressor.is_finished():
        return None
    return output


# Keyed by int: a wire value looks itself up without becoming an enum first.
_COMPRESSORS: Mapping[int, Callable[[bytes], bytes]] = MappingProxyType(
    {
        CertificateCompressionAlgorithm.zlib: _zlib_compress,
        CertificateCompressionAlgorithm.brotli: _brotli_compress,
    }
)
_DECOMPRESSORS: Mapping[int, Callable[[bytes, int], bytes | None]] = MappingProxyType(
    {
        CertificateCompressionAlgorithm.zlib: _zlib_decompress,
        CertificateCompressionAlgorithm.brotli: _brotli_decompress,
    }
)
# What we implement, in the order our client offers them (brotli compresses
# certificates smaller than zlib does).
SUPPORTED_ALGORITHMS = (
    CertificateCompressionAlgorithm.brotli,
    CertificateCompressionAlgorithm.zlib,
)


def compress_certificate(
    algorithm: CertificateCompressionAlgorithm, certificate_body: bytes
) -> CompressedCertificate:
    """`certificate_body` (a Certificate handshake message body, as it would be sent) compressed."""
    compress = _COMPRESSORS.get(algorithm)
    if compress is None:
        raise ValueError(f"certificate compression with {algorithm!r} is not implemented")
    if len(certificate_body) > UINT24_MAX:
        raise ValueError("a Certificate message body is at most 2^24 - 1 bytes")
    return CompressedCertificate(int(algorithm), len(certificate_body), compress(certificate_body))


def decompress_certificate(
    message: CompressedCertificate,
    offered: Iterable[int],
    max_length: int = MAX_UNCOMPRESSED_LENGTH,
) -> bytes:
    """The Certificate message body inside `message`, never longer than it announces.

    `offered`: the algorithms we listed in our compress_certificate
    extension; `max_length`: the largest Certificate we accept (at most
    2^24, a receiver should pass its handshake message limit).
    """
    algorithm = message.algorithm
    decompress = _DECOMPRESSORS.get(algorithm)
    if algorithm not in set(offered) or decompress is None:
        # RFC 8879 section 4: an algorithm the receiver did not offer.
        raise TLSError(
            f"CompressedCertificate with algorithm {algorithm}, which we did not offer",
            AlertDescription.illegal_parameter,
        )
    length = message.uncompressed_length
    if length > min(max_length, MAX_UNCOMPRESSED_LENGTH):
        raise TLSError(
            f"CompressedCertificate announces {length} bytes, more than the"
            f" {min(max_length, MAX_UNCOMPRESSED_LENGTH)} we accept",
            AlertDescription.bad_certificate,
        )
    body = decompress(message.compressed_certificate_message, length)
    if body is None:
        # Section 4: a stream that does not decompress, or not to exactly
        # uncompressed_length bytes, is bad_certificate.
        name = CertificateCompressionAlgorithm(algorithm).name
        raise TLSError(
            f"the {name} CompressedCertificate does not decompress to the {length} bytes"
            " it announces",
            AlertDescription.bad_certificate,
        )
    return body


def decompressed_certificate(
    message: CompressedCertificate, offered: Iterable[int], max_length: int
) -> Certificate:
    """The Certificate message inside `message` (what a receiver goes on to verify)."""
    return Certificate.decode(decompress_certificate(message, offered, max_length))


class PrecompressedCertificate:
    """One Certificate message body, compressed once with every algorithm we have.

    Built when the credentials are loaded and shared by every handshake that
    sends this chain: compressing per handshake would cost more than the
    rest of the handshake's work.
    """

    __slots__ = ("_messages", "certificate_body")

    def __init__(self, certificate_body: bytes) -> None:
        self.certificate_body = certificate_body
        self._messages: dict[int, CompressedCertificate] = {
            algorithm: compress_certificate(algorithm, certificate_body)
            for algorithm in SUPPORTED_ALGORITHMS
        }

    def choose_for(self, client_algorithms: Sequence[int]) -> CompressedCertificate | None:
        """The message for the first algorithm in the client's list we have; None: send it plain."""
        for algorithm in client_algorithms:
            message = self._messages.get(algorithm)
            if message is not None:
                return message
        return None
