"""The two hellos of TLS 1.3 (RFC 8446 section 4.1): ClientHello, and ServerHello (or HRR).

What this module owns: their layouts, decoded into frozen dataclasses and
encoded back (header included: the bytes of the transcript).  They open every
handshake, carry its negotiation, and are the messages a server reads and
writes on its hottest path, so they live apart from the encrypted flight's
messages (messages.py).

What it must never do: judge what the hellos offer or choose (negotiation.py,
server.py and client.py do), hold keys, or convert wire numbers into enums.
The only rules kept here are those the encoding depends on: pre_shared_key
last in a ClientHello (the binder covers the bytes before it) and no
duplicate extension.  Every malformed body raises `TLSError` and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from tls_web_server.tls.tls13.enums import HELLO_RETRY_REQUEST_RANDOM, ExtensionType, HandshakeType
from tls_web_server.tls.tls13.extension_block import (
    UINT16_MAX,
    Extension,
    check_unique_types,
    decode_extensions,
    encode_extensions,
    extension_from_pair,
    pack_extension,
)
from tls_web_server.tls.tls13.extensions import (
    OfferedPsks,
    decode_offered_psks,
    encode_offered_psks,
)
from tls_web_server.tls.tls13.handshake_framing import (
    HandshakeMessageBase,
    find_extension,
)
from tls_web_server.tls.tls13.wire import Reader, Writer, illegal_parameter

RANDOM_LENGTH = 32

# A ServerHello up to its session id, and from its cipher suite to its extensions block,
# each as one struct (the uint24 length as a high byte and a low uint16).
_PACK_SERVER_HELLO_START = struct.Struct(">BBHH32sB").pack
_PACK_SERVER_HELLO_MIDDLE = struct.Struct(">HBH").pack


# --- ClientHello (RFC 8446 section 4.1.2) ---------------------------------------------------
#
#   struct {
#       ProtocolVersion legacy_version = 0x0303;
#       Random random;                                     (32 bytes)
#       opaque legacy_session_id<0..32>;
#       CipherSuite cipher_suites<2..2^16-2>;
#       opaque legacy_compression_methods<1..2^8-1>;
#       Extension extensions<8..2^16-1>;
#   } ClientHello;


@dataclass(frozen=True, slots=True)
class ClientHello(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello

    legacy_version: int
    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[int, ...]
    legacy_compression_methods: bytes
    extensions: tuple[Extension, ...]
    # dict(extensions), made at most once (decode() already has it): not part of the value.
    _extensions_by_type: dict[int, bytes] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    def extensions_by_type(self) -> dict[int, bytes]:
        """Each extension's payload by type, for lookups (read-only: shared, not copied).

        Types are unique in a decoded hello; for a hand-built one with a
        repeated type the last payload wins.
        """
        by_type = self._extensions_by_type
        if by_type is None:
            by_type = dict(self.extensions)
            object.__setattr__(self, "_extensions_by_type", by_type)  # a cache, not a field value
        return by_type

    @classmethod
    def read(cls, reader: Reader) -> ClientHello:
        legacy_version = reader.uint16(name="legacy_version")
        random = reader.read(RANDOM_LENGTH, name="random")
        legacy_session_id = reader.opaque(1, 0, 32, name="legacy_session_id")
        cipher_suites = reader.uint16_list(2, 2, UINT16_MAX - 1, name="cipher_suites")
        compression_methods = reader.opaque(1, 1, 255, name="legacy_compression_methods")
        # RFC 8446 section 4.1.2: a client from before TLS extensions sends no
        # extensions block at all ("no data after legacy_compression_methods").
        # That hello still parses, with no extensions, so that the server can
        # answer it with protocol_version rather than decode_error.
        extensions: tuple[Extension, ...] = ()
        by_type: dict[int, bytes] = {}
        if reader.remaining:
            # decode_extensions() written out, to keep the dict it checks
            # uniqueness with: the server looks extensions up in it.
            block = reader.vector(2, 8, UINT16_MAX, name="extensions")
            pairs = block.typed_opaques("extension_data")
            by_type = dict(pairs)
            check_unique_types(pairs, by_type, "ClientHello")
            extensions = tuple(map(extension_from_pair, pairs))
        reader.expect_end()
        # RFC 8446 section 4.2.11: "Servers MUST check that it is the last
        # extension and otherwise fail the handshake with an illegal_parameter
        # alert."  Types are unique (checked above), so the only
        # pre_shared_key, if any, must be the final one.
        if (
            ExtensionType.pre_shared_key in by_type
            and extensions[-1].type != ExtensionType.pre_shared_key
        ):
            raise illegal_parameter("ClientHello: pre_shared_key is not the last extension")
        hello = cls(
            legacy_version,
            random,
            legacy_session_id,
            cipher_suites,
            compression_methods,
            extensions,
        )
        object.__setattr__(hello, "_extensions_by_type", by_type)  # a cache, not a field value
        return hello

    def _write_body(self, writer: Writer) -> None:
        writer.uint16(self.legacy_version)
        writer.write(self.random)
        writer.opaque(1, self.legacy_session_id)
        with writer.vector(2):
            for suite in self.cipher_suites:
                writer.uint16(suite)
        writer.opaque(1, self.legacy_compression_methods)
        if self.extensions:  # an empty tuple means "no block", as decode() reads it
            encode_extensions(writer, self.extensions)

    def with_psk_binders(self, binders: Iterable[bytes]) -> ClientHello:
        """The same hello with the pre_shared_key binders replaced (RFC 8446 section 4.2.11.2).

        A client encodes its hello once with placeholder binders of the right
        lengths, hashes `encode()[:-offered.binders_length]`, and calls this
        with the real binders.  ValueError if the hello offers no PSK (our bug).
        """
        if not self.extensions or self.extensions[-1].type != ExtensionType.pre_shared_key:
            raise ValueError("this ClientHello has no pre_shared_key extension in last place")
        offered = decode_offered_psks(self.extensions[-1].data)
        new_offer = OfferedPsks(offered.identities, tuple(binders))
        last = Extension(ExtensionType.pre_shared_key, encode_offered_psks(new_offer))
        return replace(self, extensions=(*self.extensions[:-1], last))


# --- ServerHello and HelloRetryRequest (RFC 8446 section 4.1.3) -----------------------------
#
#   struct {
#       ProtocolVersion legacy_version = 0x0303;
#       Random random;
#       opaque legacy_session_id_echo<0..32>;
#       CipherSuite cipher_suite;
#       uint8 legacy_compression_method = 0;
#       Extension extensions<6..2^16-1>;
#   } ServerHello;


@dataclass(frozen=True, slots=True)
class ServerHello(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello

    legacy_version: int
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    legacy_compression_method: int
    extensions: tuple[Extension, ...]

    @property
    def is_hello_retry_request(self) -> bool:
        """RFC 8446 section 4.1.3: a HelloRetryRequest is a ServerHello with this fixed random."""
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def read(cls, reader: Reader) -> ServerHello:
        legacy_version = reader.uint16(name="legacy_version")
        random = reader.read(RANDOM_LENGTH, name="random")
        session_id_echo = reader.opaque(1, 0, 32, name="legacy_session_id_echo")
        cipher_suite = reader.uint16(name="cipher_suite")
        compression_method = reader.uint8(name="legacy_compression_method")
        extensions = decode_extensions(reader, message="ServerHello", min_length=6)
        reader.expect_end()
        return cls(
            legacy_version, random, session_id_echo, cipher_suite, compression_method, extensions
        )

    def encode(self) -> bytes:
        return self.pack(
            self.legacy_version,
            self.random,
            self.legacy_session_id_echo,
            self.cipher_suite,
            self.legacy_compression_method,
            b"".join([pack_extension(kind, data) for kind, data in self.extensions]),
        )

    @staticmethod
    def pack(
        legacy_version: int,
        random: bytes,
        legacy_session_id_echo: bytes,
        cipher_suite: int,
        legacy_compression_method: int,
        packed_extensions: bytes,
    ) -> bytes:
        """encode() from the fields, without making the message first.

        `packed_extensions` is the extension block's content (each one by
        `pack_extension`), without the block's length.  A server sends one
        ServerHello per handshake: prepared.py packs it straight from its
        fields, and the connection decodes it back into a message only for an
        observer.  The layout is the struct above, packed rather than written
        through a Writer on this hot path.
        """
        if len(random) != RANDOM_LENGTH:  # "32s" would pad or cut it silently
            raise ValueError(f"a ServerHello random of {len(random)} bytes")
        # version 2 + random 32 + session id 1+n + suite 2 + compression 1 + extensions 2+n
        body_length = 40 + len(legacy_session_id_echo) + len(packed_extensions)
        return b"".join(
            (
                _PACK_SERVER_HELLO_START(
                    HandshakeType.server_hello,
                    body_length >> 16,
                    body_length & 0xFFFF,
                    legacy_version,
                    random,
                    len(legacy_session_id_echo),
                ),
                legacy_session_id_echo,
                _PACK_SERVER_HELLO_MIDDLE(
                    cipher_suite, legacy_compression_method, len(packed_extensions)
                ),
                packed_extensions,
            )
        )
