"""A Reader that notes where each field lies as the codec reads it: the trace page's eyes.

What this module owns: `SpanReader`, a `wire.Reader` that records every
integer, fixed field and vector the message decoders read (messages.py,
hellos.py, extension_block.py), as `Field`s with their byte offsets, names
and values, nested as the vectors nest.  The trace page (annotate.py) runs
the codec's own `Message.read(reader)` with one of these, so the layout it
shows is the codec's layout, read by the same code: there is no second
description of a message to keep in step.

What it must never do: parse on its own (it only watches the reads the
decoders make), or swallow the codec's errors.  When a decoder refuses its
input, the fields read so far stay recorded (a vector that runs past its
enclosing bytes is noted as cut short) and the TLSError goes on to the
caller, which shows the rest as unparsed.  It is never on the handshake path:
the plain Reader is, untouched.
"""

from __future__ import annotations

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
        content_start = start + length_size
        if content_start > self._end:
            return  # not even the prefix: the caller shows these bytes as unparsed
        length = int.from_bytes(self._data[start:content_start], "big")
        available = self._end - content_start
        present = min(length, available)
        node = Field(start, length_size + present, name)
        prefix = Field(start, length_size, "length", length)
        if length > available:
            prefix.note = f"Length prefix: announces {length} bytes, but only {available} remain."
        node.children.append(prefix)
        if present:
            label = f"{name} bytes"
            if present < length:
                label += f" (cut short: {present} of {length})"
            data = self._data[content_start : content_start + present]
            node.children.append(Field(content_start, present, label, data))
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
