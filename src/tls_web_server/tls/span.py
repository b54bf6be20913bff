"""`Span`: a byte range of a record named and explained, what both annotators return.

tls13/annotate.py and toy/annotate.py each walk their own protocol's records
(the two never import each other); both describe what they find as Spans,
and tls/trace_html.py draws them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """`length` bytes from `start` encode `field` (shown as `value`); children split it further."""

    start: int
    length: int
    field: str
    explanation: str
    children: tuple[Span, ...] = ()
    value: str = ""
