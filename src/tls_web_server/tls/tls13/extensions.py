"""TLS 1.3 extensions (RFC 8446 section 4.2): the generic block, and one codec per payload.

What this module owns: the `Extension` list every hello carries, and a
`decode_X` / `encode_X` pair for each extension payload we use, each next to
the RFC structure it implements.  A decoder takes the `extension_data` bytes
and returns plain values; an encoder does the reverse.  The trace page runs
the same decoders: `read_X(reader)` with a SpanReader; the payloads the
server decodes on every handshake are read by index for speed, in
client_hello_extensions.py (re-exported here: callers take every payload
codec from this module), with a recorder as `spans` (wire.FieldRecorder).

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

# Re-exported: the payloads the server reads on every handshake, decoded by index.
from tls_web_server.tls.tls13.client_hello_extensions import (
    EXTENSION_CONTEXTS,
    encode_uint16_list,
)
from tls_web_server.tls.tls13.client_hello_extensions import KeyShareEntry as KeyShareEntry
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_application_protocols as decode_application_protocols,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_client_key_shares as decode_client_key_shares,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_client_supported_versions as decode_client_supported_versions,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_psk_key_exchange_modes as decode_psk_key_exchange_modes,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_selected_application_protocol as decode_selected_application_protocol,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_server_name as decode_server_name,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_signature_algorithms as decode_signature_algorithms,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    decode_supported_groups as decode_supported_groups,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_application_protocols as encode_application_protocols,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_client_key_shares as encode_client_key_shares,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_client_supported_versions as encode_client_supported_versions,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_key_share_entry as encode_key_share_entry,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_psk_key_exchange_modes as encode_psk_key_exchange_modes,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_server_name as encode_server_name,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_signature_algorithms as encode_signature_algorithms,
)
from tls_web_server.tls.tls13.client_hello_extensions import (
    encode_supported_groups as encode_supported_groups,
)
from tls_web_server.tls.tls13.enums import ExtensionType

# Re-exported: a caller that builds an extension list takes Extension with the codecs.
from tls_web_server.tls.tls13.extension_block import UINT16_MAX as UINT16_MAX
from tls_web_server.tls.tls13.extension_block import Extension as Extension
from tls_web_server.tls.tls13.wire import Reader, Writer, decode_error, illegal_parameter

_Value = TypeVar("_Value")


def _reader(data: bytes, extension_type: ExtensionType) -> Reader:
    return Reader(data, context=EXTENSION_CONTEXTS[extension_type])


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
# (KeyShareEntry and the client's list, read by index: client_hello_extensions.py)


def read_key_share_entry(reader: Reader) -> KeyShareEntry:
    """The one share in a ServerHello (the ClientHello's list: decode_client_key_shares)."""
    group = reader.uint16(name="group")
    key_exchange = reader.opaque(2, 1, UINT16_MAX, name="key_exchange")
    return KeyShareEntry(group, key_exchange)


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


# --- compress_certificate (RFC 8879 section 3) ----------------------------------------------
#
#   struct {
#       CertificateCompressionAlgorithm algorithms<2..2^8-2>;
#   } CertificateCompressionAlgorithms;


def read_compress_certificate(reader: Reader) -> tuple[int, ...]:
    """The sender's algorithms in its order (its preference); unknown values kept."""
    algorithms = reader.vector(1, 2, 254, name="algorithms")
    values: list[int] = []
    while algorithms.remaining:
        values.append(algorithms.uint16(name="compression_algorithm"))
    algorithms.expect_end()
    return tuple(values)


def decode_compress_certificate(data: bytes) -> tuple[int, ...]:
    return _whole(read_compress_certificate, data, ExtensionType.compress_certificate)


def encode_compress_certificate(algorithms: Iterable[int]) -> bytes:
    return encode_uint16_list(algorithms, 1)


# --- certificate_authorities (RFC 8446 section 4.2.4) ---------------------------------------
#
#   opaque DistinguishedName<1..2^16-1>;
#   struct { DistinguishedName authorities<3..2^16-1>; } CertificateAuthoritiesExtension;


def read_certificate_authorities(reader: Reader) -> tuple[bytes, ...]:
    """The CAs a CertificateRequest names: DER X.501 Names, returned as bytes, never parsed."""
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
