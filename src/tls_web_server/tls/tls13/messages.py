"""TLS 1.3 handshake messages (RFC 8446 section 4, appendix B.3) as frozen dataclasses.

What this module owns: the layout of every handshake message after the
hellos (EncryptedExtensions, CertificateRequest, Certificate,
CompressedCertificate (RFC 8879), CertificateVerify, Finished, EndOfEarlyData,
NewSessionTicket, KeyUpdate),
decoding a message body into a dataclass and encoding a dataclass back into
the whole message (4-byte header included, exactly the bytes that go into the
transcript hash), and `decode_handshake_message`, which picks the decoder by
type for every message, hellos included.  The hellos are in hellos.py, the
header and `HandshakeBuffer` in handshake_framing.py; both are re-exported
here, so that a state machine imports its messages from one place.

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

import struct
from dataclasses import dataclass
from typing import ClassVar

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.enums import HandshakeType, KeyUpdateRequest
from tls_web_server.tls.tls13.extension_block import (
    UINT16_MAX,
    Extension,
    decode_extensions,
    encode_extensions,
)
from tls_web_server.tls.tls13.handshake_framing import (
    HANDSHAKE_HEADER_LENGTH as HANDSHAKE_HEADER_LENGTH,
)
from tls_web_server.tls.tls13.handshake_framing import (
    UINT24_MAX,
    HandshakeMessageBase,
    find_extension,
    handshake_header,
)
from tls_web_server.tls.tls13.handshake_framing import HandshakeBuffer as HandshakeBuffer
from tls_web_server.tls.tls13.hellos import ClientHello, ServerHello
from tls_web_server.tls.tls13.wire import Reader, Writer, decode_error, illegal_parameter

# --- EncryptedExtensions (RFC 8446 section 4.3.1) -------------------------------------------
#
#   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;


@dataclass(frozen=True, slots=True)
class EncryptedExtensions(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions

    extensions: tuple[Extension, ...]

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def read(cls, reader: Reader) -> EncryptedExtensions:
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
class CertificateRequest(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request

    certificate_request_context: bytes
    extensions: tuple[Extension, ...]

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def read(cls, reader: Reader) -> CertificateRequest:
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
class Certificate(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate

    certificate_request_context: bytes
    entries: tuple[CertificateEntry, ...]

    @classmethod
    def read(cls, reader: Reader) -> Certificate:
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


# --- CompressedCertificate (RFC 8879 section 4) --------------------------------------------
#
#   struct {
#       CertificateCompressionAlgorithm algorithm;
#       uint24 uncompressed_length;
#       opaque compressed_certificate_message<1..2^24-1>;
#   } CompressedCertificate;
#
# Sent in place of Certificate, and hashed into the transcript as sent (section
# 4); the body inside is a Certificate's.  Decompressing it, with its limits,
# is certificate_compression.py's job, not the codec's.


@dataclass(frozen=True, slots=True)
class CompressedCertificate(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.compressed_certificate

    algorithm: int  # an int: the peer may name one we do not know
    uncompressed_length: int
    compressed_certificate_message: bytes

    @classmethod
    def read(cls, reader: Reader) -> CompressedCertificate:
        algorithm = reader.uint16(name="algorithm")
        uncompressed_length = reader.uint24(name="uncompressed_length")
        compressed = reader.opaque(3, 1, UINT24_MAX, name="compressed_certificate_message")
        reader.expect_end()
        return cls(algorithm, uncompressed_length, compressed)

    def _write_body(self, writer: Writer) -> None:
        writer.uint16(self.algorithm)
        writer.uint24(self.uncompressed_length)
        writer.opaque(3, self.compressed_certificate_message)


# --- CertificateVerify (RFC 8446 section 4.4.3) ---------------------------------------------
#
#   struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; } CertificateVerify;


# Section 4.4.3: what a server's CertificateVerify signature covers is this
# prefix followed by the transcript hash (64 spaces keep it apart from any
# TLS 1.2 signed content; the context string keeps client and server apart).
SERVER_SIGNATURE_CONTEXT = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"
CLIENT_SIGNATURE_CONTEXT = b" " * 64 + b"TLS 1.3, client CertificateVerify\x00"


# The header (uint24 length as a high byte and a low uint16), algorithm and signature length.
_PACK_CERTIFICATE_VERIFY_START = struct.Struct(">BBHHH").pack


@dataclass(frozen=True, slots=True)
class CertificateVerify(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify

    algorithm: int
    signature: bytes

    @classmethod
    def read(cls, reader: Reader) -> CertificateVerify:
        algorithm = reader.uint16(name="algorithm")
        signature = reader.opaque(2, 0, UINT16_MAX, name="signature")
        reader.expect_end()
        return cls(algorithm, signature)

    def encode(self) -> bytes:
        return self.pack(self.algorithm, self.signature)

    @staticmethod
    def pack(algorithm: int, signature: bytes) -> bytes:
        """encode() from the fields (one per server handshake: no message object needed)."""
        body_length = 4 + len(signature)
        return (
            _PACK_CERTIFICATE_VERIFY_START(
                HandshakeType.certificate_verify,
                body_length >> 16,
                body_length & 0xFFFF,
                algorithm,
                len(signature),
            )
            + signature
        )


# --- Finished (RFC 8446 section 4.4.4) ------------------------------------------------------
#
#   struct { opaque verify_data[Hash.length]; } Finished;
#
# The length depends on the negotiated hash, which this module does not know:
# the caller compares it (a wrong length is a decode_error there).


@dataclass(frozen=True, slots=True)
class Finished(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.finished

    verify_data: bytes

    @classmethod
    def read(cls, reader: Reader) -> Finished:
        return cls(reader.read(reader.remaining, name="verify_data"))

    @classmethod
    def decode(cls, body: bytes) -> Finished:
        # The whole body is verify_data, as read() says: no Reader needed on
        # the path every handshake takes.
        return cls(bytes(body))

    def encode(self) -> bytes:
        return self.pack(self.verify_data)

    @staticmethod
    def pack(verify_data: bytes) -> bytes:
        """encode() from the field (one per handshake: no message object needed)."""
        return handshake_header(HandshakeType.finished, len(verify_data)) + verify_data


# --- EndOfEarlyData (RFC 8446 section 4.5) --------------------------------------------------
#
#   struct {} EndOfEarlyData;


@dataclass(frozen=True, slots=True)
class EndOfEarlyData(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data

    @classmethod
    def read(cls, reader: Reader) -> EndOfEarlyData:
        if reader.remaining:
            raise decode_error(
                f"EndOfEarlyData: expected an empty body, got {reader.remaining} bytes"
            )
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


# Section 4.6.1: "Servers MUST NOT use any value greater than 604800 seconds";
# a client takes a longer lifetime as this many.
MAX_TICKET_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class NewSessionTicket(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()

    def extension(self, extension_type: int) -> bytes | None:
        return find_extension(self.extensions, extension_type)

    @classmethod
    def read(cls, reader: Reader) -> NewSessionTicket:
        lifetime = reader.uint32(name="ticket_lifetime")
        age_add = reader.uint32(name="ticket_age_add")
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
class KeyUpdate(HandshakeMessageBase):
    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update

    request_update: KeyUpdateRequest

    @classmethod
    def read(cls, reader: Reader) -> KeyUpdate:
        value = reader.uint8(name="request_update")
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
    | CompressedCertificate
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
        CompressedCertificate,
        CertificateVerify,
        Finished,
        EndOfEarlyData,
        NewSessionTicket,
        KeyUpdate,
    )
}


def message_class(msg_type: int) -> type[HandshakeMessage] | None:
    """The dataclass of a TLS 1.3 message type, or None (see decode_handshake_message)."""
    return _MESSAGE_CLASSES.get(msg_type)


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
