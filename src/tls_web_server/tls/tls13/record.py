"""The TLS 1.3 record layer (RFC 8446 section 5), sans-IO.

What this module owns:
- cutting the TCP byte stream into records (`RecordReader`), refusing a bad
  header as soon as its five bytes have arrived;
- protecting and unprotecting records with one direction's traffic keys
  (`RecordProtection`): the per-record nonce, the inner content type, the
  zero padding, the size limits and the sequence number;
- framing the few records that travel in clear (`encode_plaintext_record`).

What it must never do: interpret handshake messages or alerts, decide which
keys are in use (the connection swaps RecordProtection objects), or touch a
socket.  Every fault in the peer's bytes raises TLSError with the alert that
section 5 names; a caller bug raises TLSUsageError.

Records, drawn from sections 5.1 and 5.2:

    TLSPlaintext:   type(1) | legacy_record_version(2) | length(2) | fragment
    TLSCiphertext:  23      | 03 03                    | length(2) | AEAD(inner)
    inner (TLSInnerPlaintext):   content | real type(1) | zeros(padding)

The five header bytes are the AEAD's additional data, so they are kept with
each record the reader returns.

This is the per-record hot path of every HTTPS byte, so it is written for
speed without hiding the protocol: one AEAD object per direction, the nonce
as one integer XOR, memoryview slicing, and one join per outgoing batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..crypto import AEAD_TAG_LENGTH, Aead
from ..errors import AlertDescription, TLSError, TLSUsageError
from .enums import LEGACY_VERSION, CipherSuiteParameters, ContentType
from .key_schedule import traffic_key_and_iv

RECORD_HEADER_LENGTH = 5

# Section 5.1: "The length MUST NOT exceed 2^14 bytes" for a TLSPlaintext
# fragment; the same bound applies to the content inside a protected record.
MAX_PLAINTEXT_LENGTH = 2**14

# Section 5.2: a TLSCiphertext may add at most 256 bytes to that: one for the
# inner content type and at most 255 of AEAD expansion.
MAX_CIPHERTEXT_LENGTH = 2**14 + 256

# Section 5.4: content + type + padding "MUST NOT exceed 2^14 + 1 octets".
MAX_INNER_PLAINTEXT_LENGTH = 2**14 + 1

# Section 5.3: sequence numbers are 64-bit and "should not wrap"; a record
# would need sequence number 2^64 only after 2^64 records under one key.
# The connection should send KeyUpdate long before (section 5.5: AES-GCM keys
# are good for about 2^24.5 full records); reaching this is internal_error.
MAX_SEQUENCE_NUMBER = 2**64 - 1

# Section 5: the record types a TLS 1.3 peer may send, each with the largest
# fragment it may carry.  Outside encryption only handshake, alert and
# change_cipher_spec travel ("Application Data messages are always
# protected", 5.1), so an application_data record is a TLSCiphertext.
_MAX_FRAGMENT_LENGTHS: dict[int, int] = {
    ContentType.change_cipher_spec: MAX_PLAINTEXT_LENGTH,
    ContentType.alert: MAX_PLAINTEXT_LENGTH,
    ContentType.handshake: MAX_PLAINTEXT_LENGTH,
    ContentType.application_data: MAX_CIPHERTEXT_LENGTH,
}

_APPLICATION_DATA = int(ContentType.application_data)
_APPLICATION_DATA_TYPE_BYTE = bytes((_APPLICATION_DATA,))
# The one-byte TLSInnerPlaintext.type of each content type, made once.
_TYPE_BYTES = tuple(bytes((content_type,)) for content_type in range(256))
# Inner content types allowed inside protection: a protected change_cipher_spec
# "MUST abort the handshake with an unexpected_message alert" (section 5).
_PROTECTED_CONTENT_TYPES = frozenset(
    {int(ContentType.alert), int(ContentType.handshake), _APPLICATION_DATA}
)


def _ciphertext_header(length: int) -> bytes:
    # Section 5.2: opaque_type is always application_data, version always 0x0303.
    return bytes((_APPLICATION_DATA, 0x03, 0x03, length >> 8, length & 0xFF))


# Every full-size application data record has this same header.
_FULL_RECORD_HEADER = _ciphertext_header(MAX_PLAINTEXT_LENGTH + 1 + AEAD_TAG_LENGTH)


class Record(NamedTuple):
    """One record as it came off the wire (a plain tuple, so it costs next to nothing)."""

    content_type: int  # the outer type; 23 means "protected, real type inside"
    header: bytes  # the five header bytes: the AEAD's additional data
    fragment: bytes


class RecordReader:
    """Splits a TCP byte stream into records, whatever sizes the chunks arrive in.

    Feed it bytes as they come; take records out with `next_record` until it
    returns None.  The buffer is one bytearray with a read offset, so a record
    trickling in byte by byte is still handled in linear time.
    """

    __slots__ = ("_buffer", "_offset")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a record (for memory accounting)."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes) -> None:
        """Append bytes from the socket: half a record, several records, anything."""
        if self._offset:
            # Drop what was already returned.  Deleting from the front of a
            # bytearray is cheap in CPython (it moves the start pointer).
            del self._buffer[: self._offset]
            self._offset = 0
        self._buffer += data

    def next_record(self) -> Record | None:
        """The next complete record, or None until more bytes arrive.

        A bad header raises TLSError as soon as it is visible, before the
        fragment it announces has been waited for or buffered.
        """
        buffer = self._buffer
        start = self._offset
        available = len(buffer) - start
        if available == 0:
            return None
        content_type = buffer[start]
        limit = _MAX_FRAGMENT_LENGTHS.get(content_type)
        if limit is None:
            raise TLSError(_unknown_type_reason(content_type), AlertDescription.unexpected_message)
        if available < RECORD_HEADER_LENGTH:
            return None
        # Section 5.1: legacy_record_version "MUST be ignored for all purposes".
        length = buffer[start + 3] << 8 | buffer[start + 4]
        if length > limit:
            raise TLSError(
                f"a {ContentType(content_type).name} record of {length} bytes exceeds"
                f" the {limit}-byte limit (RFC 8446 section 5)",
                AlertDescription.record_overflow,
            )
        if length == 0 and content_type != _APPLICATION_DATA:
            # Section 5.1: no zero-length Handshake fragments; an alert or
            # change_cipher_spec record is exactly one message, never empty.
            raise TLSError(
                f"an empty {ContentType(content_type).name} record",
                AlertDescription.unexpected_message,
            )
        end = start + RECORD_HEADER_LENGTH + length
        if len(buffer) < end:
            return None
        # One copy out of the buffer; the view is released before the buffer
        # is resized again (a live view would make resizing fail).
        with memoryview(buffer) as view:
            header = bytes(view[start : start + RECORD_HEADER_LENGTH])
            fragment = bytes(view[start + RECORD_HEADER_LENGTH : end])
        self._offset = end
        return Record(content_type, header, fragment)


def _unknown_type_reason(content_type: int) -> str:
    reason = f"unknown record content type {content_type}"
    if 0x41 <= content_type <= 0x5A:
        # An ASCII capital letter: most likely "GET /" or "POST " in clear.
        reason += " (plain HTTP sent to a TLS port?)"
    return reason


class RecordProtection:
    """One direction's record keys: seals what we send, or opens what the peer sends.

    Built from a traffic secret (RFC 8446 section 7.3 gives the key and IV);
    a new object replaces it at every key change, which also restarts the
    sequence number at 0 as section 5.3 requires.

    The key and IV are derived when the first record is sealed or opened,
    not when the object is made: a server installs its handshake read keys
    and its application write keys in its first flight, but needs them only
    once the client answers (a client that never does costs no key setup).
    """

    __slots__ = ("_iv", "_open", "_seal", "parameters", "sequence_number", "traffic_secret")

    def __init__(self, parameters: CipherSuiteParameters, traffic_secret: bytes) -> None:
        self.parameters = parameters
        self.traffic_secret = traffic_secret
        self._seal: Callable[[bytes, bytes, bytes], bytes] | None = None  # None: no keys yet
        self._open: Callable[[bytes, bytes, bytes], bytes | None] | None = None
        self._iv = 0
        self.sequence_number = 0

    def _derive_keys(self) -> None:
        """[sender]_write_key and _iv from the traffic secret (section 7.3), and the AEAD."""
        key, iv = traffic_key_and_iv(self.parameters, self.traffic_secret)
        aead = Aead(self.parameters.aead, key)
        self._seal = aead.seal
        self._open = aead.open
        # Section 5.3: nonce = write_iv XOR (sequence number, left-padded to
        # iv_length).  As integers that is one XOR per record.
        self._iv = int.from_bytes(iv, "big")

    def __repr__(self) -> str:
        return (
            f"RecordProtection({self.parameters.suite.name}, "
            f"sequence_number={self.sequence_number}, <keys hidden>)"
        )

    def seal(self, content_type: int, plaintext: bytes, padding: int = 0) -> bytes:
        """One whole TLSCiphertext record carrying `plaintext` of `content_type`.

        `padding` zero bytes are added inside the encryption (section 5.4)
        to hide the true length.  The caller splits anything over 2^14 bytes.
        """
        if padding < 0 or len(plaintext) + padding > MAX_PLAINTEXT_LENGTH:
            raise TLSUsageError("record content plus padding must fit in 2^14 bytes")
        if not plaintext and content_type != _APPLICATION_DATA:
            # Section 5.4: only application data records may be empty.
            raise TLSUsageError("handshake and alert records are never empty")
        if self._seal is None:
            self._derive_keys()
        sequence_number = self._claim_sequence_number(1)
        inner_plaintext = b"".join((plaintext, _TYPE_BYTES[content_type], bytes(padding)))
        header = _ciphertext_header(len(inner_plaintext) + AEAD_TAG_LENGTH)
        nonce = (self._iv ^ sequence_number).to_bytes(12, "big")
        return b"".join((header, self._seal(nonce, inner_plaintext, header)))

    def seal_application_data(self, data: bytes) -> bytes:
        """`data` as application data records of 2^14 bytes (the last one shorter), joined."""
        total = len(data)
        if total == 0:
            return b""
        record_count = (total + MAX_PLAINTEXT_LENGTH - 1) // MAX_PLAINTEXT_LENGTH
        sequence_number = self._claim_sequence_number(record_count)
        if self._seal is None:
            self._derive_keys()
        seal = self._seal
        iv = self._iv
        type_byte = _APPLICATION_DATA_TYPE_BYTE
        parts: list[bytes] = []
        append = parts.append
        with memoryview(data) as view:
            for start in range(0, total, MAX_PLAINTEXT_LENGTH):
                inner_plaintext = b"".join((view[start : start + MAX_PLAINTEXT_LENGTH], type_byte))
                if len(inner_plaintext) == MAX_PLAINTEXT_LENGTH + 1:
                    header = _FULL_RECORD_HEADER
                else:
                    header = _ciphertext_header(len(inner_plaintext) + AEAD_TAG_LENGTH)
                append(header)
                append(seal((iv ^ sequence_number).to_bytes(12, "big"), inner_plaintext, header))
                sequence_number += 1
        return b"".join(parts)

    def open(self, fragment: bytes, header: bytes) -> tuple[int, bytes]:
        """Decrypt one protected record: (real content type, content).

        `header` is the record's five header bytes as received (the AEAD's
        additional data); `fragment` is what followed them.
        """
        if header[0] != _APPLICATION_DATA:
            # Section 5.2: every TLSCiphertext says application_data outside.
            raise TLSError(
                f"a record of outer type {header[0]} where a protected record was expected",
                AlertDescription.unexpected_message,
            )
        if len(fragment) > MAX_CIPHERTEXT_LENGTH:
            raise TLSError(
                "a protected record longer than 2^14 + 256 bytes",
                AlertDescription.record_overflow,
            )
        sequence_number = self.sequence_number
        if sequence_number > MAX_SEQUENCE_NUMBER:
            raise TLSError(
                "the peer sent 2^64 records without a KeyUpdate", AlertDescription.internal_error
            )
        if self._open is None:
            self._derive_keys()
        nonce = (self._iv ^ sequence_number).to_bytes(12, "big")
        inner_plaintext = self._open(nonce, fragment, header)
        if inner_plaintext is None:
            # Section 5.2: "If the decryption fails, the receiver MUST
            # terminate the connection with a bad_record_mac alert."
            raise TLSError(
                f"record {sequence_number} failed authentication", AlertDescription.bad_record_mac
            )
        self.sequence_number = sequence_number + 1
        if len(inner_plaintext) > MAX_INNER_PLAINTEXT_LENGTH:
            raise TLSError(
                "a record decrypted to more than 2^14 bytes of content",
                AlertDescription.record_overflow,
            )
        # Section 5.4: the real type is the last non-zero byte; zeros after it
        # are padding.  Unpadded records (the usual case) skip the scan.
        if inner_plaintext and inner_plaintext[-1]:
            content_type = inner_plaintext[-1]
            content = inner_plaintext[:-1]
        else:
            unpadded = inner_plaintext.rstrip(b"\x00")
            if not unpadded:
                raise TLSError(
                    "a protected record with no content type (all zeros)",
                    AlertDescription.unexpected_message,
                )
            content_type = unpadded[-1]
            content = unpadded[:-1]
        if content_type != _APPLICATION_DATA:
            if content_type not in _PROTECTED_CONTENT_TYPES:
                raise TLSError(
                    f"protected record of content type {content_type}",
                    AlertDescription.unexpected_message,
                )
            if not content:
                # Section 5.4: empty Handshake and Alert records MUST be
                # answered with unexpected_message.
                raise TLSError(
                    f"an empty protected {ContentType(content_type).name} record",
                    AlertDescription.unexpected_message,
                )
        return content_type, content

    def _claim_sequence_number(self, record_count: int) -> int:
        """Reserve `record_count` sequence numbers for sending; return the first."""
        first = self.sequence_number
        if first + record_count - 1 > MAX_SEQUENCE_NUMBER:
            # Section 5.3: we "MUST either rekey or terminate the connection".
            raise TLSError(
                "sending would wrap the 64-bit sequence number", AlertDescription.internal_error
            )
        self.sequence_number = first + record_count
        return first


def encode_plaintext_record(
    content_type: int, fragment: bytes, legacy_record_version: int = LEGACY_VERSION
) -> bytes:
    """`fragment` framed as TLSPlaintext records of at most 2^14 bytes (section 5.1).

    Only handshake, alert and change_cipher_spec messages travel in clear.
    `legacy_record_version` is 0x0303, except that a client's first
    ClientHello "SHOULD have version 0x0301" (section 5.1).
    """
    if content_type == _APPLICATION_DATA:
        raise TLSUsageError("application data is never sent in clear (RFC 8446 section 5.1)")
    if not fragment:
        raise TLSUsageError("a plaintext record is never empty (RFC 8446 section 5.1)")
    length = len(fragment)
    if length <= MAX_PLAINTEXT_LENGTH:
        # The usual case, one record: type, version, length, fragment.
        version_high, version_low = legacy_record_version >> 8, legacy_record_version & 0xFF
        return (
            bytes((content_type, version_high, version_low, length >> 8, length & 0xFF)) + fragment
        )
    version = legacy_record_version.to_bytes(2, "big")
    type_byte = bytes((content_type,))
    parts: list[bytes | memoryview] = []
    with memoryview(fragment) as view:
        for start in range(0, len(fragment), MAX_PLAINTEXT_LENGTH):
            chunk = view[start : start + MAX_PLAINTEXT_LENGTH]
            parts += (type_byte, version, len(chunk).to_bytes(2, "big"), chunk)
        return b"".join(parts)
