"""Names for numbers from the wire: one `describe(enum, value)` for every TLS code point.

What this module owns: turning a number a peer sent (a cipher suite, a group,
an extension type, an alert, a handshake type, ...) into the words a log
line, an error reason or a trace page shows, and recognising the GREASE
values of RFC 8701.  Every place that names a wire value calls `describe`,
so a value is spelled the same way in an error, the terminal diagram and the
HTML trace.

What it must never do: raise for a value it does not know, or decide whether
a value is acceptable.  A peer may send any number (a new group, a GREASE
value): known numbers get their RFC name, GREASE values say so, anything
else is "unknown" with its number.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache


def is_grease(value: int) -> bool:
    """RFC 8701 section 2: 0x0A0A, 0x1A1A, ..., 0xFAFA, reserved so that peers keep ignoring them.

    The same sixteen values serve cipher suites, extensions, groups,
    signature algorithms and versions; ALPN uses their one-byte halves
    doubled ("\\x0a\\x0a"), which `is_grease_protocol` checks.
    """
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def is_grease_protocol(name: bytes) -> bool:
    """RFC 8701 section 2: a GREASE ALPN name is two equal bytes of the form 0x?A."""
    return len(name) == 2 and name[0] == name[1] and (name[0] & 0x0F) == 0x0A


@cache
def _hex_digits(enum: type[IntEnum]) -> int:
    """How many hex digits a value of `enum` takes on the wire: 4 for uint16 codes, else 0.

    Codes that travel as uint8 (alerts, handshake types, modes) read best in
    decimal, as the RFCs write them; uint16 codes in hex, as IANA does.
    """
    return 4 if max(enum) > 0xFF else 0


def describe(enum: type[IntEnum], value: int) -> str:
    """The RFC name of `value` in `enum`, "GREASE 0x?a?a", or "unknown" with its number.

    A member may spell itself for people with a `display_name` property
    (ProtocolVersion: "TLS 1.3"); otherwise its name is the RFC's identifier.
    """
    try:
        member = enum(value)
    except ValueError:
        digits = _hex_digits(enum)
        if digits and is_grease(value):
            return f"GREASE 0x{value:04x}"
        return f"unknown 0x{value:0{digits}x}" if digits else f"unknown {value}"
    return getattr(member, "display_name", member.name)
