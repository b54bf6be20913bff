"""The extension block every hello and several other messages carry (RFC 8446 section 4.2).

What this module owns: `Extension` (a type number and its still-encoded
payload), reading a length-prefixed block of them in wire order, refusing a
type that appears twice, and writing a block back.  The payload of each type
has its codec in extensions.py; what each type means is in
extension_registry.py.

What it must never do: look inside a payload, decide whether an extension is
allowed in a message (the state machines do), or convert type numbers into
enums: a peer may send types we do not know (GREASE, RFC 8701).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import NamedTuple

from tls_web_server.tls.names import describe
from tls_web_server.tls.tls13.enums import ExtensionType
from tls_web_server.tls.tls13.wire import Reader, Writer, illegal_parameter, pack_type_and_length

UINT16_MAX = 0xFFFF


# --- The generic extension block ------------------------------------------------------------
#
#   struct {
#       ExtensionType extension_type;
#       opaque extension_data<0..2^16-1>;
#   } Extension;                                          (RFC 8446 section 4.2)


class Extension(NamedTuple):
    """One extension as it travels: its type number and its still-encoded payload.

    Immutable like the frozen dataclasses of the messages, but a NamedTuple is
    built at C speed, and a ClientHello carries a dozen or more of them.
    """

    type: int
    data: bytes


def decode_extensions(
    reader: Reader,
    *,
    message: str,
    min_length: int = 0,
    max_length: int = UINT16_MAX,
) -> tuple[Extension, ...]:
    """Read a length-prefixed `Extension extensions<min..max>` block, keeping the wire order.

    Each message declares its own bounds (ClientHello <8..2^16-1>, ServerHello
    <6..2^16-1>, ...).  `message` names the message for error reasons.
    RFC 8446 section 4.2: "There MUST NOT be more than one extension of the
    same type in a given extension block"; we answer with illegal_parameter
    because the block parses but breaks a rule.
    """
    block = reader.vector(2, min_length, max_length, name="extensions")
    pairs = block.typed_opaques("extension_data")
    check_unique_types(pairs, dict(pairs), message)
    return tuple(map(extension_from_pair, pairs))


# tuple.__new__ is C: an Extension straight from a (type, data) pair, without
# the Python-level NamedTuple __new__ (a ClientHello makes a dozen of them).
extension_from_pair = partial(tuple.__new__, Extension)


def check_unique_types(
    pairs: list[tuple[int, bytes]], by_type: dict[int, bytes], message: str
) -> None:
    """RFC 8446 section 4.2: no type twice in one block (illegal_parameter, naming the type).

    `by_type` is dict(pairs): a repeated type collapses in it, so equal sizes
    prove uniqueness at the cost of one len().
    """
    if len(by_type) == len(pairs):
        return
    seen: set[int] = set()
    for extension_type, _ in pairs:
        if extension_type in seen:
            raise illegal_parameter(
                f"{message}: the {describe(ExtensionType, extension_type)} extension appears twice"
            )
        seen.add(extension_type)


def encode_extensions(writer: Writer, extensions: Iterable[Extension]) -> None:
    """Write a length-prefixed extension block in the given order."""
    with writer.vector(2):
        for extension in extensions:
            writer.uint16(extension.type)
            writer.opaque(2, extension.data)


def pack_extension(extension_type: int, data: bytes) -> bytes:
    """One Extension as a block holds it (type, uint16 length, data): the packed encoders' part."""
    return pack_type_and_length(extension_type, len(data)) + data
