"""The ClientHello's extension payloads the server decodes on every handshake, read by index.

What this module owns: the codec (`decode_X` / `encode_X`) of each payload a
ClientHello carries that the server reads on every handshake: server_name,
supported_groups, signature_algorithms(_cert), the client's
supported_versions, the client's key_share, psk_key_exchange_modes and ALPN
(whose one-name answer in EncryptedExtensions has the same layout).  Each
decoder reads by index rather than through a Reader, for speed, and takes
`spans: FieldRecorder | None = None`: the trace page passes a
span_reader.SpanRecorder and is told each field as it is read, so the page
shows this decoder's layout and no second one; the handshake passes nothing
and pays one `spans is not None` test.  extensions.py re-exports all of it:
callers take every payload codec from there.

What it must never do: what extensions.py must never do (decide whether an
extension is wanted, hold keys, turn wire numbers into IntEnums); and note a
field the decoder did not read, or anywhere but right after reading it.
Every malformed payload raises `TLSError` (decode_error, or illegal_parameter
where an RFC names it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tls_web_server.tls.tls13.enums import ExtensionType, NameType
from tls_web_server.tls.tls13.extension_block import UINT16_MAX
from tls_web_server.tls.tls13.wire import (
    FieldRecorder,
    Writer,
    decode_error,
    illegal_parameter,
    pack_type_and_length,
    read_typed_opaques,
    unpack_uint16s,
)

# "key_share extension" and so on, formatted once: decoders name their context for errors.
EXTENSION_CONTEXTS = {
    extension_type: f"{extension_type.name} extension" for extension_type in ExtensionType
}


def _single_vector_length(
    data: bytes,
    extension_type: ExtensionType,
    length_size: int,
    min_length: int,
    max_length: int,
    name: str,
) -> int:
    """The length of the one vector that must fill a payload (1- or 2-byte prefix), checked.

    Most ClientHello payloads are exactly one vector; checking its prefix
    against its <floor..ceiling> and against the payload's size here costs a
    fraction of a Reader, its vector() and its expect_end().
    """
    size = len(data)
    if size < length_size:
        raise decode_error(
            f"{EXTENSION_CONTEXTS[extension_type]}: {name} needs a {length_size}-byte length"
        )
    length = data[0] if length_size == 1 else data[0] << 8 | data[1]
    if length < min_length or length > max_length:
        raise decode_error(
            f"{EXTENSION_CONTEXTS[extension_type]}: {name} length {length}"
            f" is outside {min_length}..{max_length}"
        )
    if length != size - length_size:
        raise decode_error(
            f"{EXTENSION_CONTEXTS[extension_type]}: {name} announces {length} bytes"
            f" where the payload holds {size - length_size}"
        )
    return length


# --- server_name (RFC 6066 section 3) -------------------------------------------------------
#
#   struct {
#       NameType name_type;
#       select (name_type) { case host_name: HostName; } name;
#   } ServerName;
#   opaque HostName<1..2^16-1>;
#   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;


def decode_server_name(data: bytes, spans: FieldRecorder | None = None) -> str | None:
    """The host_name a client asked for, or None if the list names no host_name.

    Entries of name types we do not know are skipped: every name type ever
    deployed has the HostName layout, and RFC 6066 asks servers to ignore
    what they do not understand.  The name must be ASCII (RFC 6066: "a byte
    string using ASCII encoding"); anything else does not decode.
    """
    if spans is not None:
        spans = spans.vector(2, "server_name_list")
    _single_vector_length(data, ExtensionType.server_name, 2, 1, UINT16_MAX, "server_name_list")
    host_name: str | None = None
    position, end = 2, len(data)
    while position < end:
        # uint8 name_type, then HostName<1..2^16-1>: read by index (one per handshake).
        start = position + 3
        if start > end:
            raise decode_error("server_name extension: a ServerName is cut short")
        length = data[position + 1] << 8 | data[position + 2]
        if length == 0 or end - start < length:
            raise decode_error(f"server_name extension: a HostName of {length} bytes does not fit")
        name_type = data[position]
        name = data[start : start + length]
        position = start + length
        if spans is not None:
            entry = spans.group(3 + length, "ServerName")
            entry.number(1, "name_type", name_type)
            entry.opaque(2, "host_name", name)
        if name_type != NameType.host_name:
            continue
        if host_name is not None:
            # RFC 6066 section 3: "MUST NOT contain more than one name of the same name_type".
            raise illegal_parameter("server_name extension: two host_name entries")
        if not name.isascii():
            raise decode_error("server_name extension: host_name is not ASCII")
        host_name = name.decode("ascii")
    return host_name


def encode_server_name(host_name: str) -> bytes:
    """A ServerNameList holding one host_name (the only form clients send)."""
    writer = Writer()
    with writer.vector(2):
        writer.uint8(NameType.host_name)
        writer.opaque(2, host_name.encode("ascii"))
    return writer.getvalue()


# --- Lists of uint16: supported_groups, signature_algorithms(_cert), supported_versions -----


def _decode_uint16_list(
    data: bytes,
    extension_type: ExtensionType,
    length_size: int,
    min_length: int,
    max_length: int,
    name: str,
    spans: FieldRecorder | None,
) -> tuple[int, ...]:
    if spans is not None:
        spans = spans.vector(length_size, name)
    length = _single_vector_length(data, extension_type, length_size, min_length, max_length, name)
    if length % 2:
        raise decode_error(f"{EXTENSION_CONTEXTS[extension_type]}: {name} length {length} is odd")
    values = unpack_uint16s(length // 2, data, length_size)
    if spans is not None:
        spans.numbers(2, values)
    return values


def encode_uint16_list(values: Iterable[int], length_size: int) -> bytes:
    """uint16 values in a vector with a `length_size`-byte prefix (compress_certificate's too)."""
    writer = Writer()
    with writer.vector(length_size):
        for value in values:
            writer.uint16(value)
    return writer.getvalue()


def decode_supported_groups(data: bytes, spans: FieldRecorder | None = None) -> tuple[int, ...]:
    """RFC 8446 section 4.2.7: NamedGroup named_group_list<2..2^16-1>."""
    return _decode_uint16_list(
        data, ExtensionType.supported_groups, 2, 2, UINT16_MAX, "named_group_list", spans
    )


def encode_supported_groups(groups: Iterable[int]) -> bytes:
    return encode_uint16_list(groups, 2)


def decode_signature_algorithms(
    data: bytes,
    extension_type: ExtensionType = ExtensionType.signature_algorithms,
    spans: FieldRecorder | None = None,
) -> tuple[int, ...]:
    """RFC 8446 section 4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>.

    The same layout serves signature_algorithms_cert, and delegated_credential
    in a ClientHello (RFC 9345 section 4.1.1): pass that type so that errors
    name the right extension.
    """
    return _decode_uint16_list(
        data,
        extension_type,
        2,
        2,
        UINT16_MAX - 1,
        "supported_signature_algorithms",
        spans,
    )


def encode_signature_algorithms(schemes: Iterable[int]) -> bytes:
    return encode_uint16_list(schemes, 2)


def decode_client_supported_versions(
    data: bytes, spans: FieldRecorder | None = None
) -> tuple[int, ...]:
    """RFC 8446 section 4.2.1, ClientHello form: ProtocolVersion versions<2..254>."""
    return _decode_uint16_list(data, ExtensionType.supported_versions, 1, 2, 254, "versions", spans)


def encode_client_supported_versions(versions: Iterable[int]) -> bytes:
    return encode_uint16_list(versions, 1)


# --- key_share, the ClientHello's form (RFC 8446 section 4.2.8) -------------------------------
#
#   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
#   ClientHello:        KeyShareEntry client_shares<0..2^16-1>;
# (the ServerHello's one share and the HelloRetryRequest's group: extensions.py)


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """One (EC)DHE public value and the group it belongs to (kept as an int: may be unknown)."""

    group: int
    key_exchange: bytes


def encode_key_share_entry(group: int, key_exchange: bytes) -> bytes:
    """A KeyShareEntry: group, then key_exchange<1..2^16-1> (one per server handshake)."""
    return pack_type_and_length(group, len(key_exchange)) + key_exchange


def decode_client_key_shares(
    data: bytes, spans: FieldRecorder | None = None
) -> tuple[KeyShareEntry, ...]:
    """The client's shares, in its order of preference.

    RFC 8446 section 4.2.8: "Clients MUST NOT offer multiple KeyShareEntry
    values for the same group ... Servers MAY check for violations of these
    rules and abort the handshake with an illegal_parameter alert"; we check
    the duplicate rule here because it needs nothing but this extension.
    """
    if spans is not None:
        spans = spans.vector(2, "client_shares")
    _single_vector_length(data, ExtensionType.key_share, 2, 0, UINT16_MAX, "client_shares")
    # A KeyShareEntry has an Extension's shape: uint16, then opaque<..2^16-1>.
    entries: list[KeyShareEntry] = []
    groups: set[int] = set()
    pairs = read_typed_opaques(
        data, 2, len(data), "key_share extension.client_shares", "key_exchange"
    )
    for group, key_exchange in pairs:
        if spans is not None:
            entry = spans.group(4 + len(key_exchange), "KeyShareEntry")
            entry.number(2, "group", group)
            entry.opaque(2, "key_exchange", key_exchange)
        if not key_exchange:  # opaque key_exchange<1..2^16-1>
            raise decode_error(
                "key_share extension.client_shares: key_exchange length 0 is outside 1..65535"
            )
        if group in groups:
            raise illegal_parameter(f"key_share extension: two shares for group {group}")
        groups.add(group)
        entries.append(KeyShareEntry(group, key_exchange))
    return tuple(entries)


def encode_client_key_shares(entries: Iterable[KeyShareEntry]) -> bytes:
    writer = Writer()
    with writer.vector(2):
        for entry in entries:
            writer.write(encode_key_share_entry(entry.group, entry.key_exchange))
    return writer.getvalue()


# --- psk_key_exchange_modes (RFC 8446 section 4.2.9) ----------------------------------------
#
#   struct { PskKeyExchangeMode ke_modes<1..255>; } PskKeyExchangeModes;   (one byte each)


def decode_psk_key_exchange_modes(
    data: bytes, spans: FieldRecorder | None = None
) -> tuple[int, ...]:
    if spans is not None:
        spans = spans.vector(1, "ke_modes")
    _single_vector_length(data, ExtensionType.psk_key_exchange_modes, 1, 1, 255, "ke_modes")
    modes = tuple(data[1:])
    if spans is not None:
        spans.numbers(1, modes)
    return modes


def encode_psk_key_exchange_modes(modes: Iterable[int]) -> bytes:
    writer = Writer()
    writer.opaque(1, bytes(modes))
    return writer.getvalue()


# --- application_layer_protocol_negotiation (RFC 7301 section 3.1) --------------------------
#
#   opaque ProtocolName<1..2^8-1>;
#   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;


def decode_application_protocols(
    data: bytes, spans: FieldRecorder | None = None
) -> tuple[bytes, ...]:
    """The protocol names offered (ClientHello) or selected (EncryptedExtensions), in order."""
    if spans is not None:
        spans = spans.vector(2, "protocol_name_list")
    _single_vector_length(
        data,
        ExtensionType.application_layer_protocol_negotiation,
        2,
        2,
        UINT16_MAX,
        "protocol_name_list",
    )
    names: list[bytes] = []
    position, end = 2, len(data)
    while position < end:
        # ProtocolName<1..2^8-1>, read by index: a one-byte length, then the name.
        length = data[position]
        start = position + 1
        if length == 0 or end - start < length:
            raise decode_error(
                "application_layer_protocol_negotiation extension: "
                f"a ProtocolName of {length} bytes does not fit"
            )
        name = data[start : start + length]
        names.append(name)
        if spans is not None:
            spans.opaque(1, "ProtocolName", name)
        position = start + length
    return tuple(names)


def decode_selected_application_protocol(data: bytes, spans: FieldRecorder | None = None) -> bytes:
    """The server's choice: RFC 7301 section 3.1, the list "MUST contain exactly one" name."""
    names = decode_application_protocols(data, spans)
    if len(names) != 1:
        raise decode_error(
            f"application_layer_protocol_negotiation extension: the server sent {len(names)} "
            "protocol names, not exactly one"
        )
    return names[0]


def encode_application_protocols(names: Iterable[bytes]) -> bytes:
    writer = Writer()
    with writer.vector(2):
        for name in names:
            writer.opaque(1, name)
    return writer.getvalue()
