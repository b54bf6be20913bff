"""Fuzz the TLS 1.3 handshake codec: every message decoder, every extension decoder, the framing.

The input's first byte chooses a target (modulo the number of targets), the
rest is its payload:
- a handshake message body for `decode_handshake_message` of one type (all
  ten TLS 1.3 messages), or of the type named by the next byte (unknown types
  must be unexpected_message);
- an extension payload for one of the extension decoders;
- a ClientHello body, decoded and then read by negotiation.read_client_offer,
  the server's next step;
- a handshake byte stream for HandshakeBuffer, fed whole and in chunks.
Only TLSError may escape, never with internal_error.  What decodes must
encode back to the very bytes it came from (the codec is canonical), except
where a decoder documents that it drops something.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ExtensionType, HandshakeType
from tls_web_server.tls.tls13.messages import (
    ClientHello,
    HandshakeBuffer,
    decode_handshake_message,
)
from tls_web_server.tls.tls13.negotiation import read_client_offer
from tls_web_server.tls.tls13.wire import Reader

from ..support import fail, tcp_chunks

# The messages a TLS 1.3 peer may send, in the order the target byte picks them.
MESSAGE_TYPES = (
    HandshakeType.client_hello,
    HandshakeType.server_hello,
    HandshakeType.new_session_ticket,
    HandshakeType.end_of_early_data,
    HandshakeType.encrypted_extensions,
    HandshakeType.certificate,
    HandshakeType.certificate_request,
    HandshakeType.certificate_verify,
    HandshakeType.finished,
    HandshakeType.key_update,
)

_ALLOWED_ALERTS = {
    AlertDescription.decode_error,
    AlertDescription.illegal_parameter,
    AlertDescription.unexpected_message,
    AlertDescription.protocol_version,
    AlertDescription.missing_extension,
}


def _message_target(msg_type: int) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        message = decode_handshake_message(msg_type, body)
        encoded = message.encode()
        if encoded[0] != msg_type or int.from_bytes(encoded[1:4], "big") != len(encoded) - 4:
            raise fail(f"{type(message).__name__} encoded with header {encoded[:4].hex()}")
        if encoded[4:] != body and not _drops_bytes(msg_type, body):
            raise fail(
                f"{type(message).__name__} does not re-encode to its body:\n"
                f"  in:  {body.hex()}\n  out: {encoded[4:].hex()}"
            )
        again = decode_handshake_message(msg_type, encoded[4:])
        if again != message:
            raise fail(f"{type(message).__name__}: decode(encode(m)) != m:\n{message}\n{again}")

    return check


def _drops_bytes(msg_type: int, body: bytes) -> bool:
    """A ClientHello without an extensions block is read as one with none (messages.py)."""
    if msg_type != HandshakeType.client_hello:
        return False
    reader = Reader(body, "ClientHello")
    reader.read(2 + 32)
    reader.opaque(1)
    reader.opaque(2)
    reader.opaque(1)
    return reader.remaining == 0


def _any_message_type(payload: bytes) -> None:
    if not payload:
        return
    msg_type, body = payload[0], payload[1:]
    if msg_type in MESSAGE_TYPES:
        _message_target(msg_type)(body)
        return
    try:
        decode_handshake_message(msg_type, body)
    except TLSError as error:
        if error.alert is not AlertDescription.unexpected_message:
            raise fail(f"unknown message type {msg_type} answered {error}") from None
        return
    raise fail(f"message type {msg_type} decoded, but TLS 1.3 has no such message")


def _canonical(
    decode: Callable[[bytes], Any], encode: Callable[[Any], bytes]
) -> Callable[[bytes], None]:
    """An extension codec whose encoding is unique: encode(decode(data)) == data."""

    def check(data: bytes) -> None:
        value = decode(data)
        if encode(value) != data:
            raise fail(f"{decode.__name__}({data.hex()}) = {value!r} re-encodes differently")

    return check


def _server_name(data: bytes) -> None:
    # Entries of unknown name types are skipped, so only the name round-trips.
    host_name = ext.decode_server_name(data)
    if host_name is not None and ext.decode_server_name(ext.encode_server_name(host_name)) != (
        host_name
    ):
        raise fail(f"server name {host_name!r} does not round-trip")


def _empty(data: bytes) -> None:
    ext.decode_empty(data, ExtensionType.early_data)


def _single(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _client_offer(body: bytes) -> None:
    read_client_offer(ClientHello.decode(body))


def _handshake_stream(data: bytes) -> None:
    """HandshakeBuffer cuts the same messages from a stream however the records split it."""
    whole = _cut_messages([data])
    split = _cut_messages(tcp_chunks(data))
    if whole != split:
        raise fail(f"HandshakeBuffer: whole {whole} != chunked {split}")


def _cut_messages(chunks: list[bytes]) -> tuple[list[tuple[int, bytes, bytes]], bool, str | None]:
    buffer = HandshakeBuffer(max_message_size=4096)
    messages: list[tuple[int, bytes, bytes]] = []
    try:
        for chunk in chunks:
            buffer.feed(chunk)
            while (message := buffer.next_message()) is not None:
                msg_type, body, raw = message
                if raw[0] != msg_type or raw[4:] != body or len(body) > 4096:
                    raise fail(f"HandshakeBuffer returned an inconsistent message {raw[:8].hex()}")
                messages.append(message)
    except TLSError as error:
        if error.alert is not AlertDescription.decode_error:
            raise fail(f"HandshakeBuffer answered {error}") from None
        return messages, False, error.reason
    if b"".join(raw for _, _, raw in messages) != b"".join(chunks)[: _consumed(messages)]:
        raise fail("HandshakeBuffer messages are not the stream they came from")
    return messages, buffer.has_partial_message(), None


def _consumed(messages: list[tuple[int, bytes, bytes]]) -> int:
    return sum(len(raw) for _, _, raw in messages)


TARGETS: tuple[tuple[str, Callable[[bytes], None]], ...] = (
    *((f"message {t.name}", _message_target(t)) for t in MESSAGE_TYPES),
    ("message of any type", _any_message_type),
    ("client offer", _client_offer),
    ("handshake stream", _handshake_stream),
    ("server_name", _server_name),
    (
        "supported_groups",
        _canonical(ext.decode_supported_groups, ext.encode_supported_groups),
    ),
    (
        "signature_algorithms",
        _canonical(ext.decode_signature_algorithms, ext.encode_signature_algorithms),
    ),
    (
        "client supported_versions",
        _canonical(ext.decode_client_supported_versions, ext.encode_client_supported_versions),
    ),
    ("selected version", _canonical(ext.decode_selected_version, ext.encode_selected_version)),
    (
        "client key_share",
        _canonical(ext.decode_client_key_shares, ext.encode_client_key_shares),
    ),
    ("server key_share", _canonical(ext.decode_server_key_share, ext.encode_server_key_share)),
    (
        "hello retry key_share",
        _canonical(ext.decode_hello_retry_key_share, ext.encode_hello_retry_key_share),
    ),
    (
        "psk_key_exchange_modes",
        _canonical(ext.decode_psk_key_exchange_modes, ext.encode_psk_key_exchange_modes),
    ),
    ("offered pre_shared_key", _canonical(ext.decode_offered_psks, ext.encode_offered_psks)),
    (
        "selected pre_shared_key",
        _canonical(ext.decode_selected_identity, ext.encode_selected_identity),
    ),
    (
        "max_early_data_size",
        _canonical(ext.decode_max_early_data_size, ext.encode_max_early_data_size),
    ),
    ("cookie", _canonical(ext.decode_cookie, ext.encode_cookie)),
    (
        "application protocols",
        _canonical(ext.decode_application_protocols, ext.encode_application_protocols),
    ),
    (
        "selected application protocol",
        _canonical(
            ext.decode_selected_application_protocol,
            lambda name: ext.encode_application_protocols((name,)),
        ),
    ),
    ("record_size_limit", _canonical(ext.decode_record_size_limit, _single)),
    ("empty extension", _empty),
)

TARGET_NAMES = tuple(name for name, _check in TARGETS)


def target_byte(name: str) -> int:
    """The first input byte that selects the target called `name` (for building seeds)."""
    return TARGET_NAMES.index(name)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    name, check = TARGETS[data[0] % len(TARGETS)]
    try:
        check(data[1:])
    except TLSError as error:
        if error.alert not in _ALLOWED_ALERTS or not error.reason:
            raise fail(f"{name}: {error} (alert {error.alert!r})") from None
