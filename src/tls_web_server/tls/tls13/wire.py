"""Read and write the TLS presentation language (RFC 8446 section 3): integers and vectors.

What this module owns: turning bytes into integers and length-prefixed vectors
and back, with every length checked against the bytes that enclose it.  The
message and extension codecs (messages.py, extensions.py) are written on top
of `Reader` and `Writer`, so that the RFC's structure definitions map one to
one onto nested reads and nested `with writer.vector(...)` blocks.

What it must never do: know what a message means, hold keys, or let a
malformed input escape as anything but `TLSError` with the `decode_error`
alert (RFC 8446 section 6: "a message could not be decoded because some field
was out of the specified range or the length of the message was incorrect").
No IndexError, struct.error or ValueError ever reaches a caller for peer
input; misuse by our own code when *writing* (a value that does not fit its
field) raises ValueError or OverflowError, because that is a bug, not an
attack.

`Reader` is on the handshake hot path (every ClientHello goes through it), so
it never copies the input to make a sub-reader: a sub-reader is the same bytes
with a narrower [offset, end) window.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Protocol

from tls_web_server.tls.errors import AlertDescription, TLSError

_UNPACK_UINT32 = struct.Struct(">I").unpack_from
_UNPACK_TYPE_AND_LENGTH = struct.Struct(">HH").unpack_from  # uint16 type, uint16 length
# The head of every Extension and KeyShareEntry, written in one C call:
# pack_type_and_length(extension_type, len(extension_data)).
pack_type_and_length = struct.Struct(">HH").pack

# RFC 8446 section 3.4: a vector's length prefix is as wide as its ceiling
# needs, which in TLS 1.3 is 1, 2 or 3 bytes (2^8-1, 2^16-1, 2^24-1).
_LENGTH_SIZES = (1, 2, 3)


def decode_error(reason: str) -> TLSError:
    """The error for input that does not parse (RFC 8446 section 6, decode_error)."""
    return TLSError(reason, AlertDescription.decode_error)


def illegal_parameter(reason: str) -> TLSError:
    """The error for input that parses but breaks a rule the RFC answers with illegal_parameter."""
    return TLSError(reason, AlertDescription.illegal_parameter)


class Reader:
    """Reads big-endian integers and vectors from a window of bytes, refusing to read past it.

    `context` names what is being read ("ClientHello.cipher_suites") so that
    an error tells a learner where the input went wrong.  A sub-reader keeps
    its parent's context and its own name apart and joins them only when an
    error needs the text (a ClientHello makes a dozen sub-readers, and
    formatting names nobody reads would cost more than the reads themselves).
    """

    __slots__ = ("_context", "_data", "_end", "_name", "_offset")

    def __init__(self, data: bytes, context: str = "message") -> None:
        # bytes() of a bytes object is that same object (no copy); a bytearray
        # or memoryview is copied once so that every field read is plain bytes.
        self._data = bytes(data)
        self._offset = 0
        self._end = len(data)
        self._context = context
        self._name = ""

    @classmethod
    def _window(cls, data: bytes, start: int, end: int, context: str, name: str) -> Reader:
        reader = cls.__new__(cls)
        reader._data = data
        reader._offset = start
        reader._end = end
        reader._context = context
        reader._name = name
        return reader

    @property
    def context(self) -> str:
        """Where this reader is, for error reasons: "ClientHello.extensions"."""
        return f"{self._context}.{self._name}" if self._name else self._context

    @property
    def remaining(self) -> int:
        """How many bytes are left in this reader's window."""
        return self._end - self._offset

    def _short(self, size: int, what: str) -> TLSError:
        return decode_error(
            f"{self.context}: {what} needs {size} bytes, only {self._end - self._offset} remain"
        )

    def _take(self, size: int, what: str) -> int:
        """Claim `size` bytes and return where they start, or fail if the window is too short."""
        start = self._offset
        if self._end - start < size:
            raise self._short(size, what)
        self._offset = start + size
        return start

    # uint8 and uint16 are the most frequent reads of a ClientHello, so they
    # check the window themselves instead of calling _take.
    # `name` is for a SpanReader (span_reader.py), which notes what each read
    # field is; a plain Reader ignores it.
    def uint8(self, name: str = "") -> int:
        start = self._offset
        if start >= self._end:
            raise self._short(1, "uint8")
        self._offset = start + 1
        return self._data[start]

    def uint16(self, name: str = "") -> int:
        start = self._offset
        if self._end - start < 2:
            raise self._short(2, "uint16")
        self._offset = start + 2
        data = self._data
        return data[start] << 8 | data[start + 1]

    def uint24(self, name: str = "") -> int:
        start = self._take(3, "uint24")
        data = self._data
        return (data[start] << 16) | (data[start + 1] << 8) | data[start + 2]

    def uint32(self, name: str = "") -> int:
        return _UNPACK_UINT32(self._data, self._take(4, "uint32"))[0]

    def read(self, size: int, name: str = "") -> bytes:
        """Exactly `size` bytes (a fixed-length field such as Random)."""
        if size < 0:
            raise ValueError(f"cannot read {size} bytes")
        start = self._offset
        if self._end - start < size:
            raise self._short(size, f"a {size}-byte field")
        self._offset = start + size
        return self._data[start : start + size]

    def _vector_bounds(
        self, length_size: int, min_length: int, max_length: int | None, name: str
    ) -> tuple[int, int]:
        """Read a length prefix and return the [start, end) of the vector it announces.

        RFC 8446 section 3.4: the prefix counts bytes, not elements, and must
        lie within the vector's declared <floor..ceiling>.
        """
        if length_size not in _LENGTH_SIZES:
            raise ValueError(
                f"length prefix must be one of {_LENGTH_SIZES} bytes, not {length_size}"
            )
        # The prefix is read here rather than with uint8/uint16/uint24: one
        # call fewer for every vector of every message.
        data = self._data
        prefix_start = self._offset
        start = prefix_start + length_size
        end = self._end
        if start > end:
            raise self._short(length_size, f"uint{8 * length_size}")
        if length_size == 2:
            length = data[prefix_start] << 8 | data[prefix_start + 1]
        elif length_size == 1:
            length = data[prefix_start]
        else:
            length = int.from_bytes(data[prefix_start:start], "big")
        self._offset = start
        ceiling = (1 << (8 * length_size)) - 1 if max_length is None else max_length
        if length < min_length or length > ceiling:
            raise decode_error(
                f"{self.context}: {name or 'vector'} length {length}"
                f" is outside {min_length}..{ceiling}"
            )
        if end - start < length:
            raise decode_error(
                f"{self.context}: {name or 'vector'} announces {length} bytes, "
                f"only {end - start} remain"
            )
        self._offset = start + length
        return start, start + length

    def opaque(
        self,
        length_size: int,
        min_length: int = 0,
        max_length: int | None = None,
        *,
        name: str = "",
    ) -> bytes:
        """An `opaque name<min..max>` vector whose length prefix is `length_size` bytes wide."""
        start, end = self._vector_bounds(length_size, min_length, max_length, name)
        return self._data[start:end]

    def vector(
        self,
        length_size: int,
        min_length: int = 0,
        max_length: int | None = None,
        *,
        name: str = "",
    ) -> Reader:
        """A sub-reader over a vector's bytes; read its elements, then call expect_end()."""
        start, end = self._vector_bounds(length_size, min_length, max_length, name)
        if not name:
            return self._window(self._data, start, end, self._context, self._name)
        return self._window(self._data, start, end, self.context, name)

    def uint16_list(
        self, length_size: int, min_length: int, max_length: int, *, name: str = ""
    ) -> tuple[int, ...]:
        """A vector of uint16 values (cipher suites, groups, signature schemes, versions).

        The bounds are in bytes, as the RFC writes them; an odd byte count
        cannot hold whole uint16s and is a decode_error.
        """
        start, end = self._vector_bounds(length_size, min_length, max_length, name)
        length = end - start
        if length % 2:
            raise decode_error(f"{self.context}: {name or 'list of uint16'} length {length} is odd")
        return unpack_uint16s(length // 2, self._data, start)

    def typed_opaques(self, name: str = "") -> list[tuple[int, bytes]]:
        """Every `uint16 type; opaque data<0..2^16-1>` pair up to the end of the window.

        That is the shape of every Extension (RFC 8446 section 4.2); see
        read_typed_opaques.
        """
        pairs = read_typed_opaques(self._data, self._offset, self._end, self.context, name)
        self._offset = self._end
        return pairs

    def expect_end(self) -> None:
        """Fail if bytes are left over: every byte of a message must belong to some field."""
        if self._offset != self._end:
            raise decode_error(
                f"{self.context}: {self._end - self._offset} unexpected bytes after the last field"
            )


def read_typed_opaques(
    data: bytes, position: int, end: int, context: str, name: str = ""
) -> list[tuple[int, bytes]]:
    """Every `uint16 type; opaque data<0..2^16-1>` pair in data[position:end], as a list.

    The shape of every Extension (RFC 8446 section 4.2) and of a KeyShareEntry
    (section 4.2.8).  A ClientHello carries a dozen or more, so this one loop
    reads them with plain indexing instead of two method calls per field.
    `context` and `name` only word the error.
    """
    pairs: list[tuple[int, bytes]] = []
    append = pairs.append
    while position < end:
        if end - position < 4:
            raise decode_error(
                f"{context}: a type and a length needs 4 bytes, only {end - position} remain"
            )
        pair_type, length = _UNPACK_TYPE_AND_LENGTH(data, position)  # one C call for both
        start = position + 4
        position = start + length
        if position > end:
            raise decode_error(
                f"{context}: {name or 'vector'} announces {length} bytes, only {end - start} remain"
            )
        append((pair_type, data[start:position]))
    return pairs


def unpack_uint16s(count: int, data: bytes, start: int) -> tuple[int, ...]:
    """`count` big-endian uint16s from data[start:] in one struct call; the caller checked sizes."""
    unpack = _UINT16_LIST_UNPACKERS.get(count)
    if unpack is None:
        unpack = struct.Struct(f">{count}H").unpack_from
        if len(_UINT16_LIST_UNPACKERS) < 256:  # lists come in a few sizes; keep the cache small
            _UINT16_LIST_UNPACKERS[count] = unpack
    return unpack(data, start)


# Compiled struct formats for lists of `count` uint16s, by count.
_UINT16_LIST_UNPACKERS: dict[int, Callable[[bytes, int], tuple[int, ...]]] = {}


class FieldRecorder(Protocol):
    """What a decoder that reads by index reports, when given one, of each field it reads.

    The extension decoders on the server's hot path (extensions.py) read by
    index rather than through a Reader, and take `spans: FieldRecorder | None
    = None`.  The trace page passes a span_reader.SpanRecorder, the one
    implementation; the codec needs to know only this much of it.  A decoder
    reports each field after reading it, in order, and a vector as it begins
    (before checking it, so that one it refuses is still shown).
    """

    def number(self, size: int, name: str, value: int) -> None: ...

    def numbers(self, size: int, values: Iterable[int]) -> None: ...

    def opaque(self, length_size: int, name: str, value: bytes) -> None: ...

    def vector(self, length_size: int, name: str) -> FieldRecorder: ...

    def group(self, size: int, name: str) -> FieldRecorder: ...


class Writer:
    """Builds big-endian integers and length-prefixed vectors into one growing buffer."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def uint8(self, value: int) -> None:
        self._buffer.append(value)

    def uint16(self, value: int) -> None:
        self._buffer += value.to_bytes(2, "big")

    def uint24(self, value: int) -> None:
        self._buffer += value.to_bytes(3, "big")

    def uint32(self, value: int) -> None:
        self._buffer += value.to_bytes(4, "big")

    def write(self, data: bytes) -> None:
        """Raw bytes (a fixed-length field, or bytes already encoded)."""
        self._buffer += data

    def opaque(self, length_size: int, data: bytes) -> None:
        """`data` preceded by its length in `length_size` bytes."""
        self._buffer += len(data).to_bytes(length_size, "big")
        self._buffer += data

    def vector(self, length_size: int) -> _VectorScope:
        """`with writer.vector(2): ...`: what is written inside becomes one vector.

        Its length prefix is filled in when the block ends.
        """
        if length_size not in _LENGTH_SIZES:
            raise ValueError(
                f"length prefix must be one of {_LENGTH_SIZES} bytes, not {length_size}"
            )
        return _VectorScope(self._buffer, length_size)

    @property
    def length(self) -> int:
        """How many bytes have been written so far."""
        return len(self._buffer)

    def getvalue(self) -> bytes:
        return bytes(self._buffer)


class _VectorScope:
    """The `with` block of Writer.vector (a plain class: cheaper than a generator)."""

    __slots__ = ("_buffer", "_length_size", "_prefix_at")

    def __init__(self, buffer: bytearray, length_size: int) -> None:
        self._buffer = buffer
        self._length_size = length_size
        self._prefix_at = len(buffer)

    def __enter__(self) -> None:
        self._buffer += bytes(self._length_size)

    def __exit__(self, *exc_info: object) -> None:
        size = self._length_size
        start = self._prefix_at
        length = len(self._buffer) - start - size
        # to_bytes raises OverflowError when the contents outgrow the prefix:
        # a bug in the caller, never silently truncated.
        self._buffer[start : start + size] = length.to_bytes(size, "big")
