"""HPACK (RFC 7541): the header compression of HTTP/2, both directions.

What this module owns:
- the static table (appendix A) and the dynamic table (section 4): entry
  size is name + value + 32 bytes, new entries go first, the oldest are
  evicted to stay within the table's maximum size, which the encoder may
  lower or raise up to the decoder's SETTINGS_HEADER_TABLE_SIZE with a
  dynamic table size update at the start of a field block (section 6.3);
- integers with an N-bit prefix (section 5.1) and string literals, plain or
  Huffman-coded with huffman_table.py's code (section 5.2);
- `Decoder.decode`: a field block to (name, value) pairs, every failure a
  ConnectionFailure COMPRESSION_ERROR (RFC 9113 section 4.3), the decoded
  size bounded by `max_field_section_size` (FieldSectionTooLarge, raised
  only after the whole block was decoded, so the table stays in step);
- `Encoder.encode`: fields to a block, indexing what it can.

Names and values are str holding one character per byte (latin-1), so any
byte a peer sends survives; exchange.py and server.py judge them.

What it must never do: allocate in proportion to anything but the bytes
received (a one-byte reference to a 4 KB entry is counted against the
field-section limit before it is kept), or know about frames or streams.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ConnectionFailure, ErrorCode
from .huffman_table import CODES, EOS

STATIC_TABLE: tuple[tuple[str, str], ...] = (
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
)
STATIC_TABLE_LENGTH = len(STATIC_TABLE)  # 61: dynamic entries start at index 62
ENTRY_OVERHEAD = 32  # section 4.1
DEFAULT_TABLE_SIZE = 4096  # RFC 9113 section 6.5.2, SETTINGS_HEADER_TABLE_SIZE's initial value

# Static indices of full matches, and of names (the lowest index for a name).
_STATIC_FIELD_INDEX = {field: index for index, field in enumerate(STATIC_TABLE, 1)}
_STATIC_NAME_INDEX: dict[str, int] = {}
for _index, (_name, _value) in enumerate(STATIC_TABLE, 1):
    _STATIC_NAME_INDEX.setdefault(_name, _index)

# Fields a proxy must never put in a table (section 7.1.3): credentials.
NEVER_INDEXED_NAMES = frozenset({"authorization", "proxy-authorization"})

# An integer longer than this many continuation bytes is refused: 2^28 is far
# beyond any index, length or table size a field block can need.
_MAX_INTEGER_CONTINUATIONS = 4


def _compression_error(reason: str) -> ConnectionFailure:
    return ConnectionFailure(ErrorCode.COMPRESSION_ERROR, reason)


class FieldSectionTooLarge(Exception):
    """The decoded field section, or one field of it, is larger than we accept (431).

    RFC 9113 section 10.5.1; `what` says which of the two limits was passed.
    """

    def __init__(self, size: int, limit: int, what: str = "field section") -> None:
        super().__init__(f"a {what} of at least {size} bytes; the limit is {limit}")
        self.size = size
        self.limit = limit


# -- integers (section 5.1) --------------------------------------------------


def encode_integer(value: int, prefix_bits: int, first_byte: int = 0) -> bytes:
    """`value` with an N-bit prefix; `first_byte` carries the representation's pattern bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first_byte | value,))
    out = bytearray((first_byte | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_integer(data: bytes, offset: int, prefix_bits: int) -> tuple[int, int]:
    """(value, offset after it) of the integer whose prefix is in data[offset]."""
    limit = (1 << prefix_bits) - 1
    value = data[offset] & limit
    offset += 1
    if value < limit:
        return value, offset
    shift = 0
    for _ in range(_MAX_INTEGER_CONTINUATIONS + 1):
        if offset >= len(data):
            raise _compression_error("an integer cut short")
        byte = data[offset]
        offset += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, offset
    raise _compression_error("an integer of more than 5 bytes")


# -- Huffman coding (section 5.2, appendix B) --------------------------------


def _nibble_decoder() -> tuple[tuple[tuple[int, int], ...], frozenset[int]]:
    """Appendix B's code as a machine that reads four bits at a time.

    The code's tree has 256 inner nodes; a state is the inner node reached so
    far (0: the root).  For every state and every 4-bit value, the table gives
    the next state and the symbol completed on the way (-1: none; the shortest
    code is 5 bits, so at most one).  Decoding is then two lookups per byte.
    Accepting states are the root and the nodes 1 to 7 ones below it: the
    padding of section 5.2, a prefix of EOS no longer than 7 bits.
    """
    children: list[list[int]] = [[-1, -1]]
    leaves: dict[tuple[int, int], int] = {}
    for symbol, (code, length) in enumerate(CODES):
        node = 0
        for position in range(length - 1, 0, -1):
            bit = (code >> position) & 1
            if children[node][bit] == -1:
                children.append([-1, -1])
                children[node][bit] = len(children) - 1
            node = children[node][bit]
        leaves[(node, code & 1)] = symbol
    table: list[tuple[int, int]] = []
    for node in range(len(children)):
        for nibble in range(16):
            state, emitted = node, -1
            for position in (3, 2, 1, 0):
                bit = (nibble >> position) & 1
                symbol = leaves.get((state, bit))
                if symbol is None:
                    state = children[state][bit]
                else:
                    state, emitted = 0, symbol
            table.append((state, emitted))
    accepting = [0]
    for _ in range(7):
        accepting.append(children[accepting[-1]][1])
    return tuple(table), frozenset(accepting)


_NIBBLE_TABLE, _ACCEPTING_STATES = _nibble_decoder()


def huffman_encode(data: bytes) -> bytes:
    out = bytearray()
    accumulator = 0
    bits = 0
    for byte in data:
        code, length = CODES[byte]
        accumulator = (accumulator << length) | code
        bits += length
        while bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
        accumulator &= (1 << bits) - 1
    if bits:
        # Section 5.2: pad with the most significant bits of EOS (all ones).
        out.append(((accumulator << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xFF)
    return bytes(out)


def huffman_encoded_length(data: bytes) -> int:
    return (sum(CODES[byte][1] for byte in data) + 7) // 8


def huffman_decode(data: bytes) -> bytes:
    out = bytearray()
    table = _NIBBLE_TABLE
    state = 0
    for byte in data:
        state, symbol = table[(state << 4) | (byte >> 4)]
        if symbol >= 0:
            if symbol == EOS:
                raise _compression_error("EOS inside a Huffman-coded string")
            out.append(symbol)
        state, symbol = table[(state << 4) | (byte & 0x0F)]
        if symbol >= 0:
            if symbol == EOS:
                raise _compression_error("EOS inside a Huffman-coded string")
            out.append(symbol)
    # Section 5.2: at most 7 bits of padding, and they must be EOS's leading ones.
    if state not in _ACCEPTING_STATES:
        raise _compression_error("Huffman padding that is not a prefix of EOS")
    return bytes(out)


# -- string literals (section 5.2) -------------------------------------------


def encode_string(data: bytes, huffman: bool = True) -> bytes:
    """A string literal, Huffman-coded when that is no longer (as RFC 7541 appendix C does)."""
    if huffman:
        coded_length = huffman_encoded_length(data)
        if coded_length <= len(data):
            return encode_integer(coded_length, 7, 0x80) + huffman_encode(data)
    return encode_integer(len(data), 7) + data


def decode_string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset >= len(data):
        raise _compression_error("a string literal cut short")
    is_huffman = data[offset] & 0x80
    length, offset = decode_integer(data, offset, 7)
    end = offset + length
    if end > len(data):
        raise _compression_error(f"a {length}-byte string literal past the end of the block")
    raw = data[offset:end]
    return (huffman_decode(raw) if is_huffman else raw), end


# -- the dynamic table (section 4) -------------------------------------------


class DynamicTable:
    """Entries newest first; `size` counts name + value + 32 per entry (section 4.1)."""

    def __init__(self, max_size: int = DEFAULT_TABLE_SIZE) -> None:
        self.max_size = max_size
        self.size = 0
        self.entries: deque[tuple[str, str]] = deque()
        self.inserted = 0  # entries ever added: numbers entries for the encoder's lookup

    def __len__(self) -> int:
        return len(self.entries)

    def _evict(self, room_for: int) -> None:
        # Section 4.4: evict from the end until the new entry fits.
        while self.entries and self.size + room_for > self.max_size:
            name, value = self.entries.pop()
            self.size -= len(name) + len(value) + ENTRY_OVERHEAD

    def add(self, name: str, value: str) -> None:
        entry_size = len(name) + len(value) + ENTRY_OVERHEAD
        self._evict(entry_size)
        self.inserted += 1
        if entry_size > self.max_size:
            # Section 4.4: too large an entry empties the table and is not added.
            return
        self.entries.appendleft((name, value))
        self.size += entry_size

    def resize(self, max_size: int) -> None:
        self.max_size = max_size
        self._evict(0)

    def get(self, index: int) -> tuple[str, str]:
        """Entry `index` of the whole address space (section 2.3.3): static, then dynamic."""
        if 1 <= index <= STATIC_TABLE_LENGTH:
            return STATIC_TABLE[index - 1]
        position = index - STATIC_TABLE_LENGTH - 1
        if 0 <= position < len(self.entries):
            return self.entries[position]
        raise _compression_error(f"index {index} is outside both tables")


@dataclass(frozen=True, slots=True)
class FieldRepresentation:
    """How one field was sent, for the trace: `kind` names section 6's representations."""

    name: str
    value: str
    kind: str  # "indexed", "literal with indexing", "literal without indexing", "never indexed"
    index: int  # the table index used for the field or its name; 0 for a new name
    start: int  # offsets in the field block
    end: int


class Decoder:
    """Field blocks in, fields out; one per connection direction, fed blocks in order."""

    def __init__(
        self,
        max_table_size: int = DEFAULT_TABLE_SIZE,
        max_field_section_size: int = 65_536,
        max_field_size: int | None = None,
    ) -> None:
        # The SETTINGS_HEADER_TABLE_SIZE we advertised: the encoder may use up to this.
        self.max_table_size = max_table_size
        self.max_field_section_size = max_field_section_size
        # One field's name and value together (nginx: a large_client_header_buffers buffer).
        self.max_field_size = max_field_size
        self.table = DynamicTable(max_table_size)

    def decode(
        self, block: bytes, representations: list[FieldRepresentation] | None = None
    ) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        section_size = 0
        table = self.table
        offset = 0
        length = len(block)
        seen_field = False
        largest_field = 0
        while offset < length:
            start = offset
            first = block[offset]
            index = 0
            if first & 0x80:  # section 6.1: indexed field
                index, offset = decode_integer(block, offset, 7)
                if index == 0:
                    raise _compression_error("index 0")
                name, value = table.get(index)
                kind = "indexed"
            elif first & 0x20 and not first & 0x40:  # section 6.3: table size update
                if seen_field:
                    raise _compression_error("a table size update after a field")
                new_size, offset = decode_integer(block, offset, 5)
                if new_size > self.max_table_size:
                    raise _compression_error(
                        f"table size {new_size} above our setting {self.max_table_size}"
                    )
                table.resize(new_size)
                continue
            else:
                if first & 0x40:
                    prefix, kind = 6, "literal with indexing"
                elif first & 0x10:
                    prefix, kind = 4, "never indexed"
                else:
                    prefix, kind = 4, "literal without indexing"
                index, offset = decode_integer(block, offset, prefix)
                if index:
                    name = table.get(index)[0]
                else:
                    raw_name, offset = decode_string(block, offset)
                    name = raw_name.decode("latin-1")
                raw_value, offset = decode_string(block, offset)
                value = raw_value.decode("latin-1")
                if prefix == 6:
                    table.add(name, value)
            seen_field = True
            field_size = len(name) + len(value)
            largest_field = max(largest_field, field_size)
            section_size += field_size + ENTRY_OVERHEAD
            if section_size <= self.max_field_section_size:
                fields.append((name, value))
                if representations is not None:
                    representations.append(
                        FieldRepresentation(name, value, kind, index, start, offset)
                    )
        # Raised only now, after the whole block: the dynamic table stays in step.
        if section_size > self.max_field_section_size:
            raise FieldSectionTooLarge(section_size, self.max_field_section_size)
        if self.max_field_size is not None and largest_field > self.max_field_size:
            raise FieldSectionTooLarge(largest_field, self.max_field_size, "header field")
        return fields


class Encoder:
    """Fields in, field blocks out: full matches indexed, everything else added to the table."""

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE, huffman: bool = True) -> None:
        self.table = DynamicTable(max_table_size)
        self.huffman = huffman
        # Sizes to announce at the start of the next block (section 4.2): the
        # smallest the table went through, then the final one.
        self._smallest_pending: int | None = None
        # (name, value) and name -> the `inserted` number of their newest entry.
        self._field_numbers: dict[tuple[str, str], int] = {}
        self._name_numbers: dict[str, int] = {}

    def set_max_table_size(self, size: int) -> None:
        """Use a table of `size` bytes (at most what the peer's SETTINGS_HEADER_TABLE_SIZE says)."""
        if size == self.table.max_size and self._smallest_pending is None:
            return
        if self._smallest_pending is None or size < self._smallest_pending:
            self._smallest_pending = size
        self.table.resize(size)

    def _dynamic_index(self, number: int | None) -> int | None:
        if number is None:
            return None
        position = self.table.inserted - 1 - number
        if position >= len(self.table.entries):
            return None  # evicted
        return STATIC_TABLE_LENGTH + 1 + position

    def encode(self, fields: Iterable[tuple[str, str]]) -> bytes:
        out = bytearray()
        if self._smallest_pending is not None:
            final = self.table.max_size
            if self._smallest_pending != final:
                out += encode_integer(self._smallest_pending, 5, 0x20)
            out += encode_integer(final, 5, 0x20)
            self._smallest_pending = None
        huffman = self.huffman
        for name, value in fields:
            field = (name, value)
            index = _STATIC_FIELD_INDEX.get(field) or self._dynamic_index(
                self._field_numbers.get(field)
            )
            if index is not None:
                out += encode_integer(index, 7, 0x80)
                continue
            name_index = _STATIC_NAME_INDEX.get(name) or self._dynamic_index(
                self._name_numbers.get(name)
            )
            if name in NEVER_INDEXED_NAMES:
                out += encode_integer(name_index or 0, 4, 0x10)
            else:
                out += encode_integer(name_index or 0, 6, 0x40)
                self.table.add(name, value)
                number = self.table.inserted - 1
                self._field_numbers[field] = number
                self._name_numbers[name] = number
                if len(self._field_numbers) > 4 * max(len(self.table.entries), 16):
                    self._forget_evicted()
            if not name_index:
                out += encode_string(name.encode("latin-1"), huffman)
            out += encode_string(value.encode("latin-1"), huffman)
        return bytes(out)

    def _forget_evicted(self) -> None:
        oldest = self.table.inserted - len(self.table.entries)
        self._field_numbers = {k: n for k, n in self._field_numbers.items() if n >= oldest}
        self._name_numbers = {k: n for k, n in self._name_numbers.items() if n >= oldest}
