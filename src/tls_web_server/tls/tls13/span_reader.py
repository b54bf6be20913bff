"""Noting where each field lies as the codec reads it: the trace page's eyes.

What this module owns: `Field`, one field's byte range, name and value, nested
as the vectors nest; and the two ways the codec reports its reads as Fields:
- `SpanReader`, a `wire.Reader` that records every integer, fixed field and
  vector the Reader-based decoders read (messages.py, hellos.py,
  extension_block.py, the `read_X` payloads of extensions.py);
- `SpanRecorder`, which the index-based decoders of extensions.py (the
  ClientHello payloads the server reads on every handshake) take as
  `spans=None` (typed wire.FieldRecorder): given one, they tell it each field
  they read, in order.
The trace page (annotate.py) runs the codec's own decoders with one of these,
so the layout it shows is the codec's layout, read by the same code: there
is no second description of a message to keep in step.

What it must never do: parse on its own (it only watches the reads the
decoders make, and looks at the bytes only to show a length prefix the
decoder is about to refuse), or swallow the codec's errors.  When a decoder
refuses its input, the fields read so far stay recorded (a vector that runs
past its enclosing bytes is noted as cut short) and the TLSError goes on to
the caller, which shows the rest as unparsed.  It is never on the handshake
path: the plain Reader is, untouched, and the index-based decoders pay one
`spans is not None` test where they would note something.
"""

from __future__ import annotations

from collections.abc import Iterable

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13.wire import Reader


class Field:
    """`length` bytes from `start` (offsets into the reader's data) hold `name` = `value`.

    Mutable while reading: a vector's length is known at its prefix, its
    children arrive as the decoder reads them.  `note` replaces the usual
    sentence when the field is malformed (a vector cut short).
    """

    __slots__ = ("children", "length", "name", "note", "start", "value")

    def __init__(self, start: int, length: int, name: str, value: object = None) -> None:
        self.start = start
        self.length = length
        self.name = name
        self.value = value
        self.children: list[Field] = []
        self.note = ""

    @property
    def end(self) -> int:
        return self.start + self.length

    def __repr__(self) -> str:  # for a failing test's message
        return f"Field({self.start}, {self.length}, {self.name!r}, {len(self.children)} children)"


def _vector_node(data: bytes, start: int, length_size: int, end: int, name: str) -> Field | None:
    """The node of a vector at data[start:], its length prefix as first child, clamped to `end`.

    None when not even the prefix fits.  A prefix that announces more than
    `end` leaves says so in its note, and the node covers only what is there.
    """
    content_start = start + length_size
    if content_start > end:
        return None
    length = int.from_bytes(data[start:content_start], "big")
    available = end - content_start
    node = Field(start, length_size + min(length, available), name)
    prefix = Field(start, length_size, "length", length)
    if length > available:
        prefix.note = f"Length prefix: announces {length} bytes, but only {available} remain."
    node.children.append(prefix)
    return node


def _contents_as_bytes(node: Field, data: bytes) -> None:
    """A refused vector's contents, as far as they go, as one field of bytes."""
    prefix = node.children[0]
    length = prefix.value
    assert isinstance(length, int)
    present = node.length - prefix.length
    if present:
        label = f"{node.name} bytes"
        if present < length:
            label += f" (cut short: {present} of {length})"
        contents = data[prefix.end : prefix.end + present]
        node.children.append(Field(prefix.end, present, label, contents))


class SpanReader(Reader):
    """A Reader over data[start:end] whose reads are recorded in `fields`, in order."""

    __slots__ = ("_vector", "fields")

    @classmethod
    def over(cls, data: bytes, start: int, end: int, context: str) -> SpanReader:
        """A reader of data[start:end]; its fields carry offsets into `data` itself."""
        reader = cls._window(bytes(data), start, end, context, "")
        assert isinstance(reader, SpanReader)
        return reader

    @classmethod
    def _window(cls, data: bytes, start: int, end: int, context: str, name: str) -> Reader:
        reader = super()._window(data, start, end, context, name)
        assert isinstance(reader, SpanReader)
        reader.fields = []
        reader._vector = Field(start, 0, "")
        return reader

    def _note(self, start: int, length: int, name: str, value: object) -> None:
        self.fields.append(Field(start, length, name, value))

    def uint8(self, name: str = "") -> int:
        start = self._offset
        value = super().uint8(name)
        self._note(start, 1, name, value)
        return value

    def uint16(self, name: str = "") -> int:
        start = self._offset
        value = super().uint16(name)
        self._note(start, 2, name, value)
        return value

    def uint24(self, name: str = "") -> int:
        start = self._offset
        value = super().uint24(name)
        self._note(start, 3, name, value)
        return value

    def uint32(self, name: str = "") -> int:
        start = self._offset
        value = super().uint32(name)
        self._note(start, 4, name, value)
        return value

    def read(self, size: int, name: str = "") -> bytes:
        start = self._offset
        value = super().read(size, name)
        self._note(start, size, name, value)
        return value

    def _vector_bounds(
        self, length_size: int, min_length: int, max_length: int | None, name: str
    ) -> tuple[int, int]:
        """The vector's node (its length prefix as first child), recorded even when refused."""
        start = self._offset
        try:
            bounds = super()._vector_bounds(length_size, min_length, max_length, name)
        except TLSError:
            self._note_refused_vector(start, length_size, name or "vector")
            raise
        node = Field(start, bounds[1] - start, name or "vector")
        node.children.append(Field(start, length_size, "length", bounds[1] - bounds[0]))
        self.fields.append(node)
        self._vector = node
        return bounds

    def _note_refused_vector(self, start: int, length_size: int, name: str) -> None:
        """A vector the codec refused: its prefix, and what of its contents is there."""
        node = _vector_node(self._data, start, length_size, self._end, name)
        if node is None:
            return  # not even the prefix: the caller shows these bytes as unparsed
        _contents_as_bytes(node, self._data)
        self.fields.append(node)

    def opaque(
        self,
        length_size: int,
        min_length: int = 0,
        max_length: int | None = None,
        *,
        name: str = "",
    ) -> bytes:
        data = super().opaque(length_size, min_length, max_length, name=name)
        if data:
            node = self._vector
            node.children.append(
                Field(node.start + length_size, len(data), f"{node.name} bytes", data)
            )
        return data

    def vector(
        self,
        length_size: int,
        min_length: int = 0,
        max_length: int | None = None,
        *,
        name: str = "",
    ) -> Reader:
        inner = super().vector(length_size, min_length, max_length, name=name)
        assert isinstance(inner, SpanReader)
        inner.fields = self._vector.children  # what the inner reader reads nests in the node
        return inner

    def uint16_list(
        self, length_size: int, min_length: int, max_length: int, *, name: str = ""
    ) -> tuple[int, ...]:
        values = super().uint16_list(length_size, min_length, max_length, name=name)
        node = self._vector
        first = node.start + length_size
        node.children += [
            Field(first + 2 * index, 2, "", value) for index, value in enumerate(values)
        ]
        return values

    def typed_opaques(self, name: str = "") -> list[tuple[int, bytes]]:
        """Each `uint16 type; opaque data<0..2^16-1>` as a node "entry" of two fields.

        The plain Reader reads these pairs with one fast loop
        (wire.read_typed_opaques); here they are read through the reader's own
        primitives, the form that loop is tested against, so that each field
        can be noted and a broken pair shows how far it got.
        """
        pairs: list[tuple[int, bytes]] = []
        outer = self.fields
        try:
            while self.remaining:
                entry = Field(self._offset, 0, "entry")
                outer.append(entry)
                self.fields = entry.children
                pair_type = self.uint16(name="type")
                data = self.opaque(2, name=name or "data")
                entry.length = self._offset - entry.start
                pairs.append((pair_type, data))
        finally:
            self.fields = outer
            if outer and outer[-1].name == "entry" and not outer[-1].length:
                broken = outer[-1]  # ended inside the pair: it spans what was read of it
                broken.length = max((child.end for child in broken.children), default=0)
                broken.length = max(broken.length - broken.start, 0)
                if not broken.length:
                    outer.pop()
        return pairs


class SpanRecorder:
    """The fields an index-based decoder reports as it reads data[start:end] (wire.FieldRecorder).

    The decoder reads by index, for speed; after each read it tells the
    recorder what it read (`number`, `numbers`, `opaque`), and where a vector
    or a group of fields begins (`vector`, `group`), which gives the recorder
    for what lies inside.  The recorder keeps its own cursor: each note claims
    the next bytes, as the reads of a Reader would, so a decoder says what it
    read and never where.
    """

    __slots__ = ("_data", "_end", "_position", "fields")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self._data = data
        self._position = start
        self._end = len(data) if end is None else end
        self.fields: list[Field] = []

    def _inner(self, start: int, end: int, fields: list[Field]) -> SpanRecorder:
        inner = SpanRecorder(self._data, start, end)
        inner.fields = fields
        return inner

    def number(self, size: int, name: str, value: int) -> None:
        """A `size`-byte integer."""
        self.fields.append(Field(self._position, size, name, value))
        self._position += size

    def numbers(self, size: int, values: Iterable[int]) -> None:
        """A list's elements, `size` bytes each; unnamed, as SpanReader.uint16_list notes them."""
        position = self._position
        fields = self.fields
        for value in values:
            fields.append(Field(position, size, "", value))
            position += size
        self._position = position

    def opaque(self, length_size: int, name: str, value: bytes) -> None:
        """An `opaque name<..>` the decoder read whole: its prefix, then its bytes.

        The node carries the bytes as its value too, for the page to show in
        words (a host name, a protocol name).
        """
        start = self._position
        node = Field(start, length_size + len(value), name, value)
        node.children.append(Field(start, length_size, "length", len(value)))
        if value:
            node.children.append(Field(start + length_size, len(value), f"{name} bytes", value))
        self.fields.append(node)
        self._position = node.end

    def vector(self, length_size: int, name: str) -> SpanRecorder:
        """A vector begins here: noted from its prefix before the decoder checks it.

        The decoder calls this before its checks, so that a vector it then
        refuses is still shown with its prefix (and the prefix's complaint; a
        vector cut short shows its bytes as a SpanReader shows them); the
        recorder returned notes the vector's contents.
        """
        start = self._position
        node = _vector_node(self._data, start, length_size, self._end, name)
        if node is None:  # not even the prefix: the decoder refuses, nothing to note
            return SpanRecorder(self._data, start, start)
        if node.children[0].note:  # cut short: the decoder refuses it, contents unread
            _contents_as_bytes(node, self._data)
        self.fields.append(node)
        self._position = node.end
        return self._inner(start + length_size, node.end, node.children)

    def group(self, size: int, name: str) -> SpanRecorder:
        """`size` bytes of fields that belong together without a length of their own."""
        start = self._position
        node = Field(start, size, name)
        self.fields.append(node)
        self._position = start + size
        return self._inner(start, start + size, node.children)
