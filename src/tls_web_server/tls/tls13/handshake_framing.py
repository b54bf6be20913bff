"""The handshake layer's framing (RFC 8446 section 4 and 5.1): the 4-byte header and reassembly.

What this module owns: the header every handshake message starts with
(msg_type, uint24 length), the base class every message dataclass shares
(encode() = header + body), and `HandshakeBuffer`, which cuts the handshake
byte stream out of records into messages (several messages may share a
record, and one message may span several).

What it must never do: know any message's body (hellos.py and messages.py
do), judge a message, or hold keys.  A length beyond what the caller accepts
is refused as soon as its header arrives, before the body is buffered.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import ClassVar, Self

from tls_web_server.tls.tls13.enums import HandshakeType
from tls_web_server.tls.tls13.extension_block import Extension
from tls_web_server.tls.tls13.wire import Reader, Writer, decode_error

UINT24_MAX = 0xFFFFFF
HANDSHAKE_HEADER_LENGTH = 4  # msg_type uint8 + length uint24 (RFC 8446 section 4)


class HandshakeMessageBase:
    """What every message shares: its type number and the 4-byte header around its body.

    A message writes its body through a Writer (`_write_body`), or, for the
    few a server sends in every handshake, overrides `encode` with the same
    layout joined from bytes: one encoder per message either way.
    """

    __slots__ = ()
    msg_type: ClassVar[HandshakeType]

    @classmethod
    def decode(cls, body: bytes) -> Self:
        """The message whose body is `body`; TLSError if it does not parse."""
        return cls.read(Reader(body, cls.__name__))

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """The body from `reader`, to its end.

        The one definition of the message's layout: decode() passes a plain
        Reader, the trace page a SpanReader (span_reader.py) that notes where
        each field lies as the same code reads it.
        """
        raise NotImplementedError

    def _write_body(self, writer: Writer) -> None:
        raise NotImplementedError

    def encode(self) -> bytes:
        """The whole message: msg_type, uint24 length, body."""
        writer = Writer()
        self._write_body(writer)
        return handshake_header(self.msg_type, writer.length) + writer.getvalue()


# msg_type, then the uint24 length as its high byte and low uint16: struct has no uint24.
_PACK_HEADER = struct.Struct(">BBH").pack


def handshake_header(msg_type: int, body_length: int) -> bytes:
    """The 4 bytes before every handshake message body: msg_type, then a uint24 length."""
    if body_length > UINT24_MAX:
        raise OverflowError(f"a handshake message body of {body_length} bytes exceeds 2^24-1")
    return _PACK_HEADER(msg_type, body_length >> 16, body_length & 0xFFFF)


def find_extension(extensions: Iterable[Extension], extension_type: int) -> bytes | None:
    """The payload of the extension of that type, or None if the block has none."""
    for extension in extensions:
        if extension.type == extension_type:
            return extension.data
    return None


# --- Handshake messages out of record payloads (RFC 8446 section 5.1) ----------------------


class HandshakeBuffer:
    """Reassembles handshake messages from the payloads of handshake records.

    A record may carry several messages and a message may span records, so
    payloads go into one bytearray and complete messages are cut from a read
    offset; the consumed prefix is dropped only now and then, keeping a
    trickled message linear rather than quadratic.

    A message announcing more than `max_message_size` body bytes is refused
    as soon as its header arrives, before we buffer it, with decode_error:
    RFC 8446 section 6 defines decode_error for "some field was out of the
    specified range", and a length beyond what this endpoint accepts is such
    a field (handshake_failure would suggest a failed negotiation instead).
    """

    __slots__ = ("_buffer", "_offset", "max_message_size")

    # Drop the consumed prefix once it is this large and at least half the buffer.
    _COMPACT_THRESHOLD = 16384

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._offset = 0

    def feed(self, data: bytes) -> None:
        """Append the plaintext payload of one handshake record."""
        self._buffer += data
        self._check_announced_length()

    def _check_announced_length(self) -> int | None:
        """The body length of the message at the read offset, if its header is complete."""
        offset = self._offset
        if len(self._buffer) - offset < HANDSHAKE_HEADER_LENGTH:
            return None
        buffer = self._buffer
        length = (buffer[offset + 1] << 16) | (buffer[offset + 2] << 8) | buffer[offset + 3]
        if length > self.max_message_size:
            raise decode_error(
                f"handshake message type {buffer[offset]} announces {length} bytes, "
                f"more than the {self.max_message_size} we accept"
            )
        return length

    def next_message(self) -> tuple[int, bytes, bytes] | None:
        """(msg_type, body, whole message with its header) of the next complete message, or None."""
        length = self._check_announced_length()
        if length is None:
            return None
        start = self._offset
        end = start + HANDSHAKE_HEADER_LENGTH + length
        buffer = self._buffer
        if end > len(buffer):
            return None
        raw = bytes(buffer[start:end])
        if end == len(buffer):  # the common case: the record held whole messages
            buffer.clear()
            self._offset = 0
        else:
            self._offset = end
            self._compact()
        return raw[0], raw[HANDSHAKE_HEADER_LENGTH:], raw

    def _compact(self) -> None:
        if self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        elif self._offset >= self._COMPACT_THRESHOLD and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0

    def has_buffered_data(self) -> bool:
        """True if any bytes wait that next_message() has not returned.

        RFC 8446 section 5.1: messages that precede a key change (ClientHello,
        ServerHello, EndOfEarlyData, Finished, KeyUpdate) "MUST be aligned
        with a record boundary": when the state machine changes keys, nothing
        at all may be left here, complete or not (else unexpected_message).
        """
        return self._offset < len(self._buffer)

    def has_partial_message(self) -> bool:
        """True if bytes are buffered that do not yet form a complete message."""
        if not self.has_buffered_data():
            return False
        length = self._check_announced_length()
        if length is None:
            return True
        return len(self._buffer) - self._offset < HANDSHAKE_HEADER_LENGTH + length
