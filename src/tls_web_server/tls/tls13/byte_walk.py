"""Walking a range of bytes field by field, for the trace page: `Walk`, and the sentences it shares.

What this module owns: `Walk`, which claims the bytes of a range one field
at a time and turns them into `Span`s (tls/span.py) that partition the range,
whatever is left unclaimed ending in one "unparsed bytes" span; and the small
helpers the trace page's walkers share (a wire value with its sentence, a hex
preview).  annotate.py walks records with it, annotate_extensions.py the
payloads of the extensions; the handshake messages themselves are walked by
the codec (span_reader.py).

What it must never do: raise for bytes it cannot parse (a field that runs
past its range ends the walk of that range: OutOfBytes is caught by the
enclosing `nested`), or know any TLS structure itself.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from ..names import describe, is_grease
from ..span import Span
from .extension_registry import GREASE_EXPLANATION

UNPARSED = "unparsed bytes"
UNPARSED_EXPLANATION = (
    "These bytes do not fit the structure expected here (malformed or cut short); "
    "they are shown as they are."
)


# --- naming wire values: tls/names.py describe(), with a sentence for each kind -------------


def described(enum: type[IntEnum], value: int, known: str, unknown: str) -> tuple[str, str]:
    """(value, explanation) for a wire value: GREASE, unknown to us, or known."""
    if is_grease(value):
        return describe(enum, value), GREASE_EXPLANATION
    name = describe(enum, value)
    return name, unknown if name.startswith("unknown") else known


def hex_preview(data: bytes, limit: int = 8) -> str:
    return data[:limit].hex() + ("…" if len(data) > limit else "")


# --- the walk -------------------------------------------------------------------------------


class OutOfBytes(Exception):
    """A field runs past the range that encloses it: the rest of that range stays unparsed."""


class Walk:
    """Spans over data[position:end], in order; whatever is not claimed ends up unparsed."""

    __slots__ = ("data", "end", "position", "spans")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data = data
        self.position = start
        self.end = end
        self.spans: list[Span] = []

    @property
    def remaining(self) -> int:
        return self.end - self.position

    def peek(self, size: int) -> bytes:
        """The next `size` bytes, not claimed yet."""
        if size > self.remaining:
            raise OutOfBytes
        return self.data[self.position : self.position + size]

    def number(self, size: int) -> int:
        """The next `size`-byte big-endian integer, not claimed yet."""
        return int.from_bytes(self.peek(size), "big")

    def leaf(self, length: int, field: str, explanation: str, value: str = "") -> None:
        """Claim `length` bytes as one field with no inner structure."""
        if length > self.remaining:
            raise OutOfBytes
        if length:
            self.spans.append(Span(self.position, length, field, explanation, (), value))
        self.position += length

    def nested(
        self, length: int, field: str, explanation: str, fill: Callable[[Walk], None], value=""
    ) -> None:
        """Claim `length` bytes as one field whose inside `fill` walks (leftovers: unparsed)."""
        if length > self.remaining:
            raise OutOfBytes
        inner = Walk(self.data, self.position, self.position + length)
        try:
            fill(inner)
        except OutOfBytes:
            pass
        if length:
            self.spans.append(
                Span(self.position, length, field, explanation, inner.finish(), value)
            )
        self.position += length

    def group(
        self, field: str, explanation: str, fill: Callable[[Walk], None], value: str = ""
    ) -> None:
        """Fields that belong together but carry no length of their own (a CertificateEntry)."""
        inner = Walk(self.data, self.position, self.end)
        try:
            fill(inner)
        finally:
            # Even when `fill` ran out of bytes, what it claimed forms the group;
            # the exception then ends the enclosing walk as well.
            if inner.position > self.position:
                length = inner.position - self.position
                self.spans.append(
                    Span(self.position, length, field, explanation, tuple(inner.spans), value)
                )
                self.position = inner.position

    def vector(
        self,
        length_size: int,
        field: str,
        explanation: str,
        fill: Callable[[Walk], None] | None = None,
        value: str = "",
    ) -> None:
        """A `<..>` vector (RFC 8446 section 3.4): a length prefix, then the elements."""
        length = self.number(length_size)
        available = self.remaining - length_size
        if length <= available:
            prefix = f"Length prefix: {length} bytes follow."
        else:
            prefix = f"Length prefix: announces {length} bytes, but only {available} remain."

        def walk_vector(inner: Walk) -> None:
            inner.leaf(length_size, "length", prefix, str(length))
            size = min(length, inner.remaining)
            if fill is not None:
                fill(inner)
                return
            name = f"{field} bytes"
            if size < length:
                name += f" (cut short: {size} of {length})"
            inner.leaf(size, name, explanation, hex_preview(inner.peek(size)))

        self.nested(
            min(length_size + length, self.remaining), field, explanation, walk_vector, value
        )

    def each(self, size: int, field: str, describe: Callable[[int], tuple[str, str]]) -> None:
        """Fixed-size elements up to the end of the walk, each named by `describe(number)`."""
        while self.remaining:
            value, explanation = describe(self.number(size))
            self.leaf(size, field, explanation, value)

    def finish(self) -> tuple[Span, ...]:
        """The spans, with any unclaimed rest of the range as one unparsed span."""
        if self.remaining > 0:
            self.spans.append(Span(self.position, self.remaining, UNPARSED, UNPARSED_EXPLANATION))
            self.position = self.end
        return tuple(self.spans)

    def vector_contents(self, length_size: int) -> bytes:
        """The bytes inside the vector that starts here (clamped to what is there)."""
        length = self.number(length_size)
        start = self.position + length_size
        return self.data[start : min(start + length, self.end)]
