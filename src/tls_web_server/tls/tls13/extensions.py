"""TLS 1.3 extensions (RFC 8446 section 4.2): the generic block, and one codec per payload.

What this module owns: the `Extension` list every hello carries, and a
`decode_X` / `encode_X` pair for each extension payload we use, each next to
the RFC structure it implements.  A decoder takes the `extension_data` bytes
and returns plain values; an encoder does the reverse.

What it must never do: decide whether an extension is allowed, wanted or
acceptable (that is the handshake's job in negotiation.py / server.py /
client.py), hold keys, or convert numbers from the wire into IntEnums.  Groups,
versions, signature schemes and modes stay plain ints because a peer may send
values we do not know (GREASE, RFC 8701), and those must be ignored, not
crash.  Every malformed payload raises `TLSError` with `decode_error`, or
`illegal_parameter` where an RFC names that alert; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from tls_web_server.tls.tls13.enums import ExtensionType, NameType

# Re-exported: a caller that builds an extension list takes Extension with the codecs.
from tls_web_server.tls.tls13.extension_block import UINT16_MAX as UINT16_MAX
from tls_web_server.tls.tls13.extension_block import Extension as Extension
from tls_web_server.tls.tls13.wire import (
    Reader,
    Writer,
    decode_error,
    illegal_parameter,
    pack_type_and_length,
    read_typed_opaques,
    unpack_uint16s,
)

_Value = TypeVar("_Value")

# "key_share extension" and so on, formatted once: readers name their context for errors.
_READER_CONTEXTS = {
    extension_type: f"{extension_type.name} extension" for extension_type in ExtensionType
}


def _reader(data: bytes, extension_type: ExtensionType) -> Reader:
    return Reader(data, context=_READER_CONTEXTS[extension_type])


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
            f"{_READER_CONTEXTS[extension_type]}: {name} needs a {length_size}-byte length"
        )
    length = data[0] if length_size == 1 else data[0] << 8 | data[1]
    if length < min_length or length > max_length:
        raise decode_error(
            f"{_READER_CONTEXTS[extension_type]}: {name} length {length}"
            f" is outside {min_length}..{max_length}"
        )
    if length != size - length_size:
        raise decode_error(
            f"{_READER_CONTEXTS[extension_type]}: {name} announces {length} bytes"
            f" where the payload holds {size - length_size}"
        )
    return length


# --- Extensions whose payload is empty ------------------------------------------------------
#
# The server's server_name acknowledgement (RFC 6066 section 3: "the
# extension_data field of this extension SHALL be empty") and the early_data
# indication in ClientHello and EncryptedExtensions (RFC 8446 section 4.2.10).


def decode_empty(data: bytes, extension_type: ExtensionType) -> None:
    """Check that an extension that carries no payload indeed has none."""
    if data:
        raise decode_error(f"{extension_type.name} extension: expected no data, got {len(data)}")


def encode_empty() -> bytes:
    return b""


# --- server_name (RFC 6066 section 3) -------------------------------------------------------
#
#   struct {
#       NameType name_type;
#       select (name_type) { case host_name: HostName; } name;
#   } ServerName;
#   opaque HostName<1..2^16-1>;
#   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;


def decode_server_name(data: bytes) -> str | None:
    """The host_name a client asked for, or None if the list names no host_name.

    Entries of name types we do not know are skipped: every name type ever
    deployed has the HostName layout, and RFC 6066 asks servers to ignore
    what they do not understand.  The name must be ASCII (RFC 6066: "a byte
    string using ASCII encoding"); anything else does not decode.
    """
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
) -> tuple[int, ...]:
    length = _single_vector_length(data, extension_type, length_size, min_length, max_length, name)
    if length % 2:
        raise decode_error(f"{_READER_CONTEXTS[extension_type]}: {name} length {length} is odd")
    return unpack_uint16s(length // 2, data, length_size)


def _encode_uint16_list(values: Iterable[int], length_size: int) -> bytes:
    writer = Writer()
    with writer.vector(length_size):
        for value in values:
            writer.uint16(value)
    return writer.getvalue()


def decode_supported_groups(data: bytes) -> tuple[int, ...]:
    """RFC 8446 section 4.2.7: NamedGroup named_group_list<2..2^16-1>."""
    return _decode_uint16_list(
        data, ExtensionType.supported_groups, 2, 2, UINT16_MAX, "named_group_list"
    )


def encode_supported_groups(groups: Iterable[int]) -> bytes:
    return _encode_uint16_list(groups, 2)


def decode_signature_algorithms(
    data: bytes, extension_type: ExtensionType = ExtensionType.signature_algorithms
) -> tuple[int, ...]:
    """RFC 8446 section 4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>.

    The same layout serves signature_algorithms_cert (pass that type so that
    errors name the right extension).
    """
    return _decode_uint16_list(
        data,
        extension_type,
        2,
        2,
        UINT16_MAX - 1,
        "supported_signature_algorithms",
    )


def encode_signature_algorithms(schemes: Iterable[int]) -> bytes:
    return _encode_uint16_list(schemes, 2)


def read_certificate_authorities(reader: Reader) -> tuple[bytes, ...]:
    """RFC 8446 section 4.2.4: DistinguishedName authorities<3..2^16-1>.

    Each DistinguishedName is opaque<1..2^16-1>, a DER X.501 Name; the
    names are returned as bytes, never parsed here.
    """
    names = reader.vector(2, 3, UINT16_MAX, name="authorities")
    found = []
    while names.remaining:
        found.append(names.opaque(2, 1, UINT16_MAX, name="DistinguishedName"))
    names.expect_end()
    return tuple(found)


def decode_certificate_authorities(data: bytes) -> tuple[bytes, ...]:
    return _whole(read_certificate_authorities, data, ExtensionType.certificate_authorities)


def encode_certificate_authorities(names: Iterable[bytes]) -> bytes:
    writer = Writer()
    with writer.vector(2):
        for name in names:
            writer.opaque(2, name)
    return writer.getvalue()


def decode_client_supported_versions(data: bytes) -> tuple[int, ...]:
    """RFC 8446 section 4.2.1, ClientHello form: ProtocolVersion versions<2..254>."""
    return _decode_uint16_list(data, ExtensionType.supported_versions, 1, 2, 254, "versions")


def encode_client_supported_versions(versions: Iterable[int]) -> bytes:
    return _encode_uint16_list(versions, 1)


def _whole(read: Callable[[Reader], _Value], data: bytes, extension_type: ExtensionType) -> _Value:
    """`read` over the whole payload: every byte must belong to the value it reads."""
    reader = _reader(data, extension_type)
    value = read(reader)
    reader.expect_end()
    return value


# The payloads below are read through a Reader: `read_X(reader)` is the
# layout (the trace page runs it with a SpanReader, annotate_extensions.py),
# `decode_X(data)` reads one whole payload with it.


def read_selected_version(reader: Reader) -> int:
    return reader.uint16(name="selected_version")


def decode_selected_version(data: bytes) -> int:
    """RFC 8446 section 4.2.1, ServerHello / HelloRetryRequest form: one ProtocolVersion."""
    return _whole(read_selected_version, data, ExtensionType.supported_versions)


def encode_selected_version(version: int) -> bytes:
    return version.to_bytes(2, "big")


# --- key_share (RFC 8446 section 4.2.8) -----------------------------------------------------
#
#   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
#   ClientHello:        KeyShareEntry client_shares<0..2^16-1>;
#   ServerHello:        KeyShareEntry server_share;
#   HelloRetryRequest:  NamedGroup selected_group;


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """One (EC)DHE public value and the group it belongs to (kept as an int: may be unknown)."""

    group: int
    key_exchange: bytes


def read_key_share_entry(reader: Reader) -> KeyShareEntry:
    """The one share in a ServerHello (its form in a ClientHello list is read by index)."""
    group = reader.uint16(name="group")
    key_exchange = reader.opaque(2, 1, UINT16_MAX, name="key_exchange")
    return KeyShareEntry(group, key_exchange)


def encode_key_share_entry(group: int, key_exchange: bytes) -> bytes:
    """A KeyShareEntry: group, then key_exchange<1..2^16-1> (one per server handshake)."""
    return pack_type_and_length(group, len(key_exchange)) + key_exchange


def decode_client_key_shares(data: bytes) -> tuple[KeyShareEntry, ...]:
    """The client's shares, in its order of preference.

    RFC 8446 section 4.2.8: "Clients MUST NOT offer multiple KeyShareEntry
    values for the same group ... Servers MAY check for violations of these
    rules and abort the handshake with an illegal_parameter alert"; we check
    the duplicate rule here because it needs nothing but this extension.
    """
    _single_vector_length(data, ExtensionType.key_share, 2, 0, UINT16_MAX, "client_shares")
    # A KeyShareEntry has an Extension's shape: uint16, then opaque<..2^16-1>.
    entries: list[KeyShareEntry] = []
    groups: set[int] = set()
    pairs = read_typed_opaques(
        data, 2, len(data), "key_share extension.client_shares", "key_exchange"
    )
    for group, key_exchange in pairs:
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


def decode_server_key_share(data: bytes) -> KeyShareEntry:
    """The one share in a ServerHello."""
    return _whole(read_key_share_entry, data, ExtensionType.key_share)


def encode_server_key_share(entry: KeyShareEntry) -> bytes:
    return encode_key_share_entry(entry.group, entry.key_exchange)


def read_hello_retry_key_share(reader: Reader) -> int:
    return reader.uint16(name="selected_group")


def decode_hello_retry_key_share(data: bytes) -> int:
    """The group a HelloRetryRequest asks the client to use (selected_group)."""
    return _whole(read_hello_retry_key_share, data, ExtensionType.key_share)


def encode_hello_retry_key_share(selected_group: int) -> bytes:
    return selected_group.to_bytes(2, "big")


# --- psk_key_exchange_modes (RFC 8446 section 4.2.9) ----------------------------------------
#
#   struct { PskKeyExchangeMode ke_modes<1..255>; } PskKeyExchangeModes;   (one byte each)


def decode_psk_key_exchange_modes(data: bytes) -> tuple[int, ...]:
    _single_vector_length(data, ExtensionType.psk_key_exchange_modes, 1, 1, 255, "ke_modes")
    return tuple(data[1:])


def encode_psk_key_exchange_modes(modes: Iterable[int]) -> bytes:
    writer = Writer()
    writer.opaque(1, bytes(modes))
    return writer.getvalue()


# --- pre_shared_key (RFC 8446 section 4.2.11) -----------------------------------------------
#
#   struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity;
#   opaque PskBinderEntry<32..255>;
#   struct {
#       PskIdentity identities<7..2^16-1>;
#       PskBinderEntry binders<33..2^16-1>;
#   } OfferedPsks;
#   ClientHello: OfferedPsks;   ServerHello: uint16 selected_identity;


@dataclass(frozen=True, slots=True)
class PskIdentity:
    """A ticket (or external PSK label) the client offers, with its obfuscated age."""

    identity: bytes
    obfuscated_ticket_age: int


@dataclass(frozen=True, slots=True)
class OfferedPsks:
    """The client's PSK offer: identities and one binder per identity, in the same order."""

    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    @property
    def binders_length(self) -> int:
        """Bytes the binders vector takes at the very end of the ClientHello, prefix included.

        RFC 8446 section 4.2.11.2: a binder is computed over the ClientHello
        "up to and including the PskIdentity.identities field", i.e. the whole
        encoded message minus these last bytes.  Because pre_shared_key must
        be the last extension, `client_hello_bytes[:-binders_length]` is that
        prefix.  The encoding is canonical, so the length follows from the
        binders themselves.
        """
        return 2 + sum(1 + len(binder) for binder in self.binders)


def decode_offered_psks(data: bytes) -> OfferedPsks:
    """The ClientHello form of pre_shared_key.

    A binder count that differs from the identity count parses but cannot be
    verified; RFC 8446 section 4.2.11 says there is one binder "for each value
    in the identities list", and we refuse a mismatch with illegal_parameter.
    """
    offered = _whole(read_offered_psks, data, ExtensionType.pre_shared_key)
    if len(offered.binders) != len(offered.identities):
        raise illegal_parameter(
            f"pre_shared_key extension: {len(offered.identities)} identities but "
            f"{len(offered.binders)} binders"
        )
    return offered


def read_offered_psks(reader: Reader) -> OfferedPsks:
    identity_list = reader.vector(2, 7, UINT16_MAX, name="identities")
    identities: list[PskIdentity] = []
    while identity_list.remaining:
        identity = identity_list.opaque(2, 1, UINT16_MAX, name="identity")
        identities.append(PskIdentity(identity, identity_list.uint32(name="obfuscated_ticket_age")))
    binder_list = reader.vector(2, 33, UINT16_MAX, name="binders")
    binders: list[bytes] = []
    while binder_list.remaining:
        binders.append(binder_list.opaque(1, 32, 255, name="PskBinderEntry"))
    return OfferedPsks(tuple(identities), tuple(binders))


def encode_offered_psks(offered: OfferedPsks) -> bytes:
    writer = Writer()
    with writer.vector(2):
        for identity in offered.identities:
            writer.opaque(2, identity.identity)
            writer.uint32(identity.obfuscated_ticket_age)
    with writer.vector(2):
        for binder in offered.binders:
            writer.opaque(1, binder)
    return writer.getvalue()


def read_selected_identity(reader: Reader) -> int:
    return reader.uint16(name="selected_identity")


def decode_selected_identity(data: bytes) -> int:
    """The ServerHello form of pre_shared_key: the index of the accepted identity."""
    return _whole(read_selected_identity, data, ExtensionType.pre_shared_key)


def encode_selected_identity(selected_identity: int) -> bytes:
    return selected_identity.to_bytes(2, "big")


# --- early_data (RFC 8446 section 4.2.10) ---------------------------------------------------
#
# Empty in ClientHello and EncryptedExtensions (use decode_empty); in
# NewSessionTicket: struct { uint32 max_early_data_size; }.


def read_max_early_data_size(reader: Reader) -> int:
    return reader.uint32(name="max_early_data_size")


def decode_max_early_data_size(data: bytes) -> int:
    return _whole(read_max_early_data_size, data, ExtensionType.early_data)


def encode_max_early_data_size(max_early_data_size: int) -> bytes:
    return max_early_data_size.to_bytes(4, "big")


# --- cookie (RFC 8446 section 4.2.2) --------------------------------------------------------
#
#   struct { opaque cookie<1..2^16-1>; } Cookie;


def read_cookie(reader: Reader) -> bytes:
    return reader.opaque(2, 1, UINT16_MAX, name="cookie")


def decode_cookie(data: bytes) -> bytes:
    return _whole(read_cookie, data, ExtensionType.cookie)


def encode_cookie(cookie: bytes) -> bytes:
    writer = Writer()
    writer.opaque(2, cookie)
    return writer.getvalue()


# --- application_layer_protocol_negotiation (RFC 7301 section 3.1) --------------------------
#
#   opaque ProtocolName<1..2^8-1>;
#   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;


def decode_application_protocols(data: bytes) -> tuple[bytes, ...]:
    """The protocol names offered (ClientHello) or selected (EncryptedExtensions), in order."""
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
        names.append(data[start : start + length])
        position = start + length
    return tuple(names)


def decode_selected_application_protocol(data: bytes) -> bytes:
    """The server's choice: RFC 7301 section 3.1, the list "MUST contain exactly one" name."""
    names = decode_application_protocols(data)
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


# --- record_size_limit (RFC 8449 section 4) -------------------------------------------------
#
#   uint16 RecordSizeLimit;

# RFC 8449 section 4: "Endpoints MUST NOT send a record_size_limit extension
# with a value smaller than 64.  An endpoint MUST treat receipt of a smaller
# value as a fatal error and generate an illegal_parameter alert."
MIN_RECORD_SIZE_LIMIT = 64


def read_record_size_limit(reader: Reader) -> int:
    return reader.uint16(name="record_size_limit")


def decode_record_size_limit(data: bytes) -> int:
    limit = _whole(read_record_size_limit, data, ExtensionType.record_size_limit)
    if limit < MIN_RECORD_SIZE_LIMIT:
        raise illegal_parameter(
            f"record_size_limit extension: {limit} is below the minimum {MIN_RECORD_SIZE_LIMIT}"
        )
    return limit


def encode_record_size_limit(limit: int) -> bytes:
    return limit.to_bytes(2, "big")
