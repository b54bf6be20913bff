"""TLS 1.3 handshake messages (RFC 8446 section 4, appendix B.3) as frozen dataclasses.

What this module owns: the layout of every handshake message, decoding a
message body into a dataclass and encoding a dataclass back into the whole
message (4-byte header included, exactly the bytes that go into the
transcript hash), and `HandshakeBuffer`, which cuts the handshake byte stream
out of records into messages (RFC 8446 section 5.1: several messages may
share a record, and one message may span several).

What it must never do: judge whether a message is acceptable in the current
state or whether its values are ones we support (compression must be [0],
supported_versions must name TLS 1.3, ...: that is the state machine's job),
hold keys, or compute anything cryptographic.  The only semantic rules kept
here are those the encoding itself depends on: pre_shared_key last in a
ClientHello (the binder is computed over the bytes before it), no duplicate
extension in a block, and KeyUpdate's two legal values.  Cipher suites,
groups and extension types stay plain ints, since a peer may send values we
do not know.  Every malformed body raises `TLSError` and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.enums import (
    HELLO_RETRY_REQUEST_RANDOM,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
)
from tls_web_server.tls.tls13.extensions import (
    UINT16_MAX,
    Extension,
    OfferedPsks,
    check_unique_types,
    decode_extensions,
    decode_offered_psks,
    encode_extensions,
    encode_offered_psks,
    extension_from_pair,
)
from tls_web_server.tls.tls13.wire import (
    Reader,
    Writer,
    decode_error,
    illegal_parameter,
    pack_type_and_length,
)

UINT24_MAX = 0xFFFFFF
RANDOM_LENGTH = 32
HANDSHAKE_HEADER_LENGTH = 4  # msg_type uint8 + length uint24 (RFC 8446 section 4)


class _HandshakeMessage:
    """What every message shares: its type number and the 4-byte header around its body.

    A message writes its body through a Writer (`_write_body`), or, for the
    few a server sends in every handshake, overrides `encode` with the same
    layout joined from bytes: one encoder per message either way.
    """

    __slots__ = ()
    msg_type: ClassVar[HandshakeType]

    def _write_body(self, writer: Writer) -> None:
        raise NotImplementedError

    def encode(self) -> bytes:
        """The whole message: msg_type, uint24 length, body."""
        writer = Writer()
        self._write_body(writer)
        return handshake_header(self.msg_type, writer.length) + writer.getvalue()


def handshake_header(msg_type: int, body_length: int) -> bytes:
    """The 4 bytes before every handshake message body: msg_type, then a uint24 length."""
    if body_length > UINT24_MAX:
        raise OverflowError(f"a handshake message body of {body_length} bytes exceeds 2^24-1")
    return bytes((msg_type, body_length >> 16, (body_length >> 8) & 0xFF, body_length & 0xFF))


def find_extension(extensions: Iterable[Extension], extension_type: int) -> bytes | None:
    """The payload of the extension of that type, or None if the block has none."""
    for extension in extensions:
        if extension.type == extension_type:
            return extension.data
    return None


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
class ClientHello(_HandshakeMessage):
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
    def decode(cls, body: bytes) -> ClientHello:
        reader = Reader(body, "ClientHello")
        legacy_version = reader.uint16()
        random = reader.read(RANDOM_LENGTH)
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
class ServerHello(_HandshakeMessage):
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
    def decode(cls, body: bytes) -> ServerHello:
        reader = Reader(body, "ServerHello")
        legacy_version = reader.uint16()
        random = reader.read(RANDOM_LENGTH)
        session_id_echo = reader.opaque(1, 0, 32, name="legacy_session_id_echo")
        cipher_suite = reader.uint16()
        compression_method = reader.uint8()
        extensions = decode_extensions(reader, message="ServerHello", min_length=6)
        reader.expect_end()
        return cls(
            legacy_version, random, session_id_echo, cipher_suite, compression_method, extensions
        )

    def encode(self) -> bytes:
        # Joined rather than written through a Writer: a server sends one per
        # handshake, and this is its hot path.  The layout is the struct above.
        extensions = b"".join(
            [pack_type_and_length(kind, len(data)) + data for kind, data in self.extensions]
        )
        session_id = self.legacy_session_id_echo
        body = b"".join(
            (
                self.legacy_version.to_bytes(2, "big"),
                self.random,
                len(session_id).to_bytes(1, "big"),
                session_id,
                self.cipher_suite.to_bytes(2, "big"),
                self.legacy_compression_method.to_bytes(1, "big"),
                len(extensions).to_bytes(2, "big"),
                extensions,
            )
        )
        return handshake_header(self.msg_type, len(body)) + body


# --- EncryptedExtensions (RFC 8446 section 4.3.1) -------------------------------------------
#
#   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;


@dataclass(frozen=True, slots=True)
class EncryptedExtensions(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions

    extensions: tuple[Extension, ...]

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def decode(cls, body: bytes) -> EncryptedExtensions:
        reader = Reader(body, "EncryptedExtensions")
        extensions = decode_extensions(reader, message="EncryptedExtensions")
        reader.expect_end()
        return cls(extensions)

    def _write_body(self, writer: Writer) -> None:
        encode_extensions(writer, self.extensions)


# --- CertificateRequest (RFC 8446 section 4.3.2) --------------------------------------------
#
#   struct {
#       opaque certificate_request_context<0..2^8-1>;
#       Extension extensions<2..2^16-1>;
#   } CertificateRequest;


@dataclass(frozen=True, slots=True)
class CertificateRequest(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request

    certificate_request_context: bytes
    extensions: tuple[Extension, ...]

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def decode(cls, body: bytes) -> CertificateRequest:
        reader = Reader(body, "CertificateRequest")
        context = reader.opaque(1, 0, 255, name="certificate_request_context")
        extensions = decode_extensions(reader, message="CertificateRequest", min_length=2)
        reader.expect_end()
        return cls(context, extensions)

    def _write_body(self, writer: Writer) -> None:
        writer.opaque(1, self.certificate_request_context)
        encode_extensions(writer, self.extensions)


# --- Certificate (RFC 8446 section 4.4.2) ---------------------------------------------------
#
#   struct {
#       opaque cert_data<1..2^24-1>;            (X.509; a RawPublicKey has the same layout)
#       Extension extensions<0..2^16-1>;
#   } CertificateEntry;
#   struct {
#       opaque certificate_request_context<0..2^8-1>;
#       CertificateEntry certificate_list<0..2^24-1>;
#   } Certificate;


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """One DER certificate of the chain (end-entity first) and its per-certificate extensions."""

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)


@dataclass(frozen=True, slots=True)
class Certificate(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate

    certificate_request_context: bytes
    entries: tuple[CertificateEntry, ...]

    @classmethod
    def decode(cls, body: bytes) -> Certificate:
        reader = Reader(body, "Certificate")
        context = reader.opaque(1, 0, 255, name="certificate_request_context")
        certificate_list = reader.vector(3, 0, UINT24_MAX, name="certificate_list")
        entries: list[CertificateEntry] = []
        while certificate_list.remaining:
            cert_data = certificate_list.opaque(3, 1, UINT24_MAX, name="cert_data")
            extensions = decode_extensions(certificate_list, message="CertificateEntry")
            entries.append(CertificateEntry(cert_data, extensions))
        reader.expect_end()
        return cls(context, tuple(entries))

    def _write_body(self, writer: Writer) -> None:
        writer.opaque(1, self.certificate_request_context)
        with writer.vector(3):
            for entry in self.entries:
                writer.opaque(3, entry.cert_data)
                encode_extensions(writer, entry.extensions)


# --- CertificateVerify (RFC 8446 section 4.4.3) ---------------------------------------------
#
#   struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; } CertificateVerify;


# Section 4.4.3: what a server's CertificateVerify signature covers is this
# prefix followed by the transcript hash (64 spaces keep it apart from any
# TLS 1.2 signed content; the context string keeps client and server apart).
SERVER_SIGNATURE_CONTEXT = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"


@dataclass(frozen=True, slots=True)
class CertificateVerify(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify

    algorithm: int
    signature: bytes

    @classmethod
    def decode(cls, body: bytes) -> CertificateVerify:
        reader = Reader(body, "CertificateVerify")
        algorithm = reader.uint16()
        signature = reader.opaque(2, 0, UINT16_MAX, name="signature")
        reader.expect_end()
        return cls(algorithm, signature)

    def encode(self) -> bytes:
        # Joined (one per server handshake): algorithm, then signature<0..2^16-1>.
        signature = self.signature
        return b"".join(
            (
                handshake_header(self.msg_type, 4 + len(signature)),
                self.algorithm.to_bytes(2, "big"),
                len(signature).to_bytes(2, "big"),
                signature,
            )
        )


# --- Finished (RFC 8446 section 4.4.4) ------------------------------------------------------
#
#   struct { opaque verify_data[Hash.length]; } Finished;
#
# The length depends on the negotiated hash, which this module does not know:
# the caller compares it (a wrong length is a decode_error there).


@dataclass(frozen=True, slots=True)
class Finished(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.finished

    verify_data: bytes

    @classmethod
    def decode(cls, body: bytes) -> Finished:
        return cls(bytes(body))

    def encode(self) -> bytes:
        return handshake_header(self.msg_type, len(self.verify_data)) + self.verify_data


# --- EndOfEarlyData (RFC 8446 section 4.5) --------------------------------------------------
#
#   struct {} EndOfEarlyData;


@dataclass(frozen=True, slots=True)
class EndOfEarlyData(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data

    @classmethod
    def decode(cls, body: bytes) -> EndOfEarlyData:
        if body:
            raise decode_error(f"EndOfEarlyData: expected an empty body, got {len(body)} bytes")
        return cls()

    def _write_body(self, writer: Writer) -> None:
        pass


# --- NewSessionTicket (RFC 8446 section 4.6.1) ----------------------------------------------
#
#   struct {
#       uint32 ticket_lifetime;
#       uint32 ticket_age_add;
#       opaque ticket_nonce<0..255>;
#       opaque ticket<1..2^16-1>;
#       Extension extensions<0..2^16-2>;
#   } NewSessionTicket;


@dataclass(frozen=True, slots=True)
class NewSessionTicket(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def decode(cls, body: bytes) -> NewSessionTicket:
        reader = Reader(body, "NewSessionTicket")
        lifetime = reader.uint32()
        age_add = reader.uint32()
        nonce = reader.opaque(1, 0, 255, name="ticket_nonce")
        ticket = reader.opaque(2, 1, UINT16_MAX, name="ticket")
        extensions = decode_extensions(
            reader, message="NewSessionTicket", max_length=UINT16_MAX - 1
        )
        reader.expect_end()
        return cls(lifetime, age_add, nonce, ticket, extensions)

    def _write_body(self, writer: Writer) -> None:
        writer.uint32(self.ticket_lifetime)
        writer.uint32(self.ticket_age_add)
        writer.opaque(1, self.ticket_nonce)
        writer.opaque(2, self.ticket)
        encode_extensions(writer, self.extensions)


# --- KeyUpdate (RFC 8446 section 4.6.3) -----------------------------------------------------
#
#   enum { update_not_requested(0), update_requested(1), (255) } KeyUpdateRequest;
#   struct { KeyUpdateRequest request_update; } KeyUpdate;


@dataclass(frozen=True, slots=True)
class KeyUpdate(_HandshakeMessage):
    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update

    request_update: KeyUpdateRequest

    @classmethod
    def decode(cls, body: bytes) -> KeyUpdate:
        reader = Reader(body, "KeyUpdate")
        value = reader.uint8()
        reader.expect_end()
        if value not in (KeyUpdateRequest.update_not_requested, KeyUpdateRequest.update_requested):
            # RFC 8446 section 4.6.3: "If an implementation receives any other
            # value, it MUST terminate the connection with an illegal_parameter alert."
            raise illegal_parameter(f"KeyUpdate: request_update is {value}, not 0 or 1")
        return cls(KeyUpdateRequest(value))

    def _write_body(self, writer: Writer) -> None:
        writer.uint8(self.request_update)


# --- Dispatch -------------------------------------------------------------------------------

HandshakeMessage = (
    ClientHello
    | ServerHello
    | EncryptedExtensions
    | CertificateRequest
    | Certificate
    | CertificateVerify
    | Finished
    | EndOfEarlyData
    | NewSessionTicket
    | KeyUpdate
)

_MESSAGE_CLASSES: dict[int, type[HandshakeMessage]] = {
    message_class.msg_type: message_class
    for message_class in (
        ClientHello,
        ServerHello,
        EncryptedExtensions,
        CertificateRequest,
        Certificate,
        CertificateVerify,
        Finished,
        EndOfEarlyData,
        NewSessionTicket,
        KeyUpdate,
    )
}


def decode_handshake_message(msg_type: int, body: bytes) -> HandshakeMessage:
    """Decode a body by its type; a type that is not a TLS 1.3 message is unexpected_message.

    message_hash (254) is not in the table on purpose: it only ever appears
    inside the transcript hash (RFC 8446 section 4.4.1), never on the wire.
    """
    message_class = _MESSAGE_CLASSES.get(msg_type)
    if message_class is None:
        raise TLSError(
            f"handshake message type {msg_type} is not a TLS 1.3 message",
            AlertDescription.unexpected_message,
        )
    return message_class.decode(body)


# --- Framing: handshake messages out of record payloads (RFC 8446 section 5.1) --------------


class HandshakeBuffer:
    """Reassembles handshake messages from the payloads of handshake records.

    A record may carry several messages and a message may span records, so
    payloads go into one bytearray and complete messages are cut from a read
    offset; the consumed prefix is dropped only now and then, keeping a
    trickled message linear rather than quadratic.

    A message announcing more than `max_message_size` body bytes is refused
    as soon as its header arrives, before we buffer it, with decode_error:
    RFC 8446 section 6 defines decode_error for "some field was out of the
    specified range", and a length beyond what this endpoint accepts is such
    a field (handshake_failure would suggest a failed negotiation instead).
    """

    __slots__ = ("_buffer", "_offset", "max_message_size")

    # Drop the consumed prefix once it is this large and at least half the buffer.
    _COMPACT_THRESHOLD = 16384

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._offset = 0

    def feed(self, data: bytes) -> None:
        """Append the plaintext payload of one handshake record."""
        self._buffer += data
        self._check_announced_length()

    def _check_announced_length(self) -> int | None:
        """The body length of the message at the read offset, if its header is complete."""
        offset = self._offset
        if len(self._buffer) - offset < HANDSHAKE_HEADER_LENGTH:
            return None
        buffer = self._buffer
        length = (buffer[offset + 1] << 16) | (buffer[offset + 2] << 8) | buffer[offset + 3]
        if length > self.max_message_size:
            raise decode_error(
                f"handshake message type {buffer[offset]} announces {length} bytes, "
                f"more than the {self.max_message_size} we accept"
            )
        return length

    def next_message(self) -> tuple[int, bytes, bytes] | None:
        """(msg_type, body, whole message with its header) of the next complete message, or None."""
        length = self._check_announced_length()
        if length is None:
            return None
        start = self._offset
        end = start + HANDSHAKE_HEADER_LENGTH + length
        if end > len(self._buffer):
            return None
        raw = bytes(self._buffer[start:end])
        self._offset = end
        self._compact()
        return raw[0], raw[HANDSHAKE_HEADER_LENGTH:], raw

    def _compact(self) -> None:
        if self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        elif self._offset >= self._COMPACT_THRESHOLD and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0

    def has_buffered_data(self) -> bool:
        """True if any bytes wait that next_message() has not returned.

        RFC 8446 section 5.1: messages that precede a key change (ClientHello,
        ServerHello, EndOfEarlyData, Finished, KeyUpdate) "MUST be aligned
        with a record boundary": when the state machine changes keys, nothing
        at all may be left here, complete or not (else unexpected_message).
        """
        return self._offset < len(self._buffer)

    def has_partial_message(self) -> bool:
        """True if bytes are buffered that do not yet form a complete message."""
        if not self.has_buffered_data():
            return False
        length = self._check_announced_length()
        if length is None:
            return True
        return len(self._buffer) - self._offset < HANDSHAKE_HEADER_LENGTH + length
