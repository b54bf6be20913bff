"""toytls bytes on the wire: record framing, tag-length-value fields, the three handshake messages.

What this module owns:
- The record frame `length (uint32 big-endian) || payload`, and reassembling
  frames from TCP chunks of any size (`RecordBuffer`).
- The handshake encoding: each message is a run of fields
  `tag (uint16) || length (uint32) || value`, and the three messages
  ClientHello, ServerHello and ServerAuth built from them.

Both are the walkthrough's own wire format, byte for byte, so its reference
implementation and ours talk to each other (docs/toytls.md, "Compatibility").

What it must never do:
- Hold keys, encrypt, verify or decide what happens next: it turns bytes into
  message objects and back, nothing more (connection.py decides).
- Let malformed peer bytes escape as IndexError, struct.error or ValueError:
  every problem with received bytes is a `TLSError`.

toytls messages carry no type byte.  A ClientHello and a ServerHello have the
same shape; which one a record holds follows from its place in the
conversation (see connection.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from ..errors import TLSError

RECORD_HEADER_LENGTH = 4
# The largest record we send, and the largest a server accepts from a client.
# 64 KiB is four times the largest record toytls itself sends (16 KiB of
# plaintext plus 36 bytes of overhead) and leaves room for a certificate chain
# in ServerAuth.  Anything larger is refused from its header alone, so a peer
# cannot make us buffer up to 4 GiB by announcing a huge length.
MAX_RECORD_LENGTH = 65536
# The largest record a client accepts from a server: the walkthrough's server
# sends a whole HTTP response in one record, and its readers allow 16 MiB.
# A client only receives what it asked for, so it can afford to buffer that
# much; a server keeps MAX_RECORD_LENGTH, since anyone may connect to it.
MAX_RECORD_LENGTH_FROM_SERVER = 16 * 1024 * 1024
FIELD_TAG_LENGTH = 2
FIELD_HEADER_LENGTH = FIELD_TAG_LENGTH + 4  # tag (uint16) || length (uint32)
MAX_FIELD_LENGTH = 0xFFFFFFFF
X25519_PUBLIC_KEY_LENGTH = 32

_RECORD_HEADER = struct.Struct(">I")
_FIELD_HEADER = struct.Struct(">HI")  # tag (uint16), length (uint32)


class Tag(IntEnum):
    """What a handshake field holds."""

    X25519_PUBLIC_KEY = 0x0010
    CERTIFICATE = 0x0020  # DER; repeated, leaf first, then intermediates
    SIGNATURE = 0x0021


# --------------------------------------------------------------------------
# Records.
# --------------------------------------------------------------------------


def frame_record(payload: bytes) -> bytes:
    """`length || payload`: one record ready for the socket."""
    if len(payload) > MAX_RECORD_LENGTH:
        raise ValueError(f"a toytls record holds at most {MAX_RECORD_LENGTH} bytes")
    return _RECORD_HEADER.pack(len(payload)) + payload


def received_record(payload: bytes) -> bytes:
    """A received record as it was on the wire, length header included, for observers.

    Unlike frame_record it has no limit of its own: the RecordBuffer that cut
    the payload out already held it to the receiver's limit.
    """
    return _RECORD_HEADER.pack(len(payload)) + payload


class RecordBuffer:
    """Collects TCP chunks and hands out complete record payloads, one at a time.

    A record announcing more than `max_record_length` bytes is refused as soon
    as its header is in, before any of its payload is kept.

    The bytes live in one bytearray with a read offset, so a record trickling
    in a byte at a time costs no re-copying; consumed bytes are dropped only
    once they make up at least half of the buffer.
    """

    __slots__ = ("_buffer", "_offset", "max_record_length")

    def __init__(self, max_record_length: int = MAX_RECORD_LENGTH) -> None:
        self._buffer = bytearray()
        self._offset = 0
        self.max_record_length = max_record_length

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet handed out as a record."""
        return len(self._buffer) - self._offset

    def next_record(self) -> bytes | None:
        """The next complete record payload, or None until more bytes arrive."""
        buffer = self._buffer
        start = self._offset
        if len(buffer) - start < RECORD_HEADER_LENGTH:
            return None
        (length,) = _RECORD_HEADER.unpack_from(buffer, start)
        if length > self.max_record_length:
            raise TLSError(
                f"record announces {length} bytes,"
                f" more than the {self.max_record_length}-byte limit"
            )
        payload_start = start + RECORD_HEADER_LENGTH
        payload_end = payload_start + length
        if len(buffer) < payload_end:
            return None
        with memoryview(buffer) as view:
            payload = bytes(view[payload_start:payload_end])
        self._offset = payload_end
        self._discard_consumed()
        return payload

    def _discard_consumed(self) -> None:
        if self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        elif self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0


# --------------------------------------------------------------------------
# Tag-length-value fields.
# --------------------------------------------------------------------------


def encode_fields(fields: Iterable[tuple[Tag, bytes]]) -> bytes:
    parts: list[bytes] = []
    for tag, value in fields:
        if len(value) > MAX_FIELD_LENGTH:
            raise ValueError(f"a {tag.name} field holds at most {MAX_FIELD_LENGTH} bytes")
        parts.append(_FIELD_HEADER.pack(tag, len(value)))
        parts.append(value)
    return b"".join(parts)


def decode_fields(payload: bytes, message_name: str) -> list[tuple[Tag, bytes]]:
    """Split a handshake payload into (tag, value) pairs; any leftover byte is an error."""
    fields: list[tuple[Tag, bytes]] = []
    offset = 0
    end = len(payload)
    while offset < end:
        if end - offset < FIELD_HEADER_LENGTH:
            raise TLSError(f"{message_name}: {end - offset} stray bytes after the last field")
        raw_tag, length = _FIELD_HEADER.unpack_from(payload, offset)
        try:
            tag = Tag(raw_tag)
        except ValueError:
            raise TLSError(f"{message_name}: unknown field tag 0x{raw_tag:04x}") from None
        offset += FIELD_HEADER_LENGTH
        if end - offset < length:
            raise TLSError(
                f"{message_name}: field {tag.name} announces {length} bytes,"
                f" only {end - offset} remain"
            )
        fields.append((tag, payload[offset : offset + length]))
        offset += length
    return fields


# --------------------------------------------------------------------------
# The three handshake messages.
# --------------------------------------------------------------------------


def _decode_key_share(payload: bytes, message_name: str) -> bytes:
    """The one field of ClientHello and ServerHello: an X25519 public key."""
    fields = decode_fields(payload, message_name)
    tags = [tag for tag, _value in fields]
    if tags != [Tag.X25519_PUBLIC_KEY]:
        found = ", ".join(tag.name for tag in tags) or "no fields"
        raise TLSError(f"{message_name} must hold exactly one X25519_PUBLIC_KEY field, not {found}")
    public_key = fields[0][1]
    if len(public_key) != X25519_PUBLIC_KEY_LENGTH:
        raise TLSError(
            f"{message_name}: an X25519 public key is {X25519_PUBLIC_KEY_LENGTH} bytes,"
            f" not {len(public_key)}"
        )
    return public_key


@dataclass(frozen=True)
class ClientHello:
    """Client -> server: the client's fresh X25519 public key."""

    public_key: bytes

    def encode(self) -> bytes:
        return encode_fields([(Tag.X25519_PUBLIC_KEY, self.public_key)])

    @classmethod
    def decode(cls, payload: bytes) -> ClientHello:
        return cls(_decode_key_share(payload, "ClientHello"))


@dataclass(frozen=True)
class ServerHello:
    """Server -> client: the server's fresh X25519 public key."""

    public_key: bytes

    def encode(self) -> bytes:
        return encode_fields([(Tag.X25519_PUBLIC_KEY, self.public_key)])

    @classmethod
    def decode(cls, payload: bytes) -> ServerHello:
        return cls(_decode_key_share(payload, "ServerHello"))


@dataclass(frozen=True)
class ServerAuth:
    """Server -> client: the certificate chain (leaf first) and the signature over both keys."""

    certificates: tuple[bytes, ...]
    signature: bytes

    def encode(self) -> bytes:
        fields = [(Tag.CERTIFICATE, certificate) for certificate in self.certificates]
        fields.append((Tag.SIGNATURE, self.signature))
        return encode_fields(fields)

    @classmethod
    def decode(cls, payload: bytes) -> ServerAuth:
        # One layout only: certificates first (at least one), the signature last.
        fields = decode_fields(payload, "ServerAuth")
        if not fields or fields[-1][0] is not Tag.SIGNATURE:
            raise TLSError("ServerAuth must end with its SIGNATURE field")
        certificates = []
        for tag, value in fields[:-1]:
            if tag is not Tag.CERTIFICATE:
                raise TLSError(f"ServerAuth: a {tag.name} field where certificates belong")
            certificates.append(value)
        if not certificates:
            raise TLSError("ServerAuth holds no certificate")
        return cls(certificates=tuple(certificates), signature=fields[-1][1])
