"""What a peer's first bytes say about the protocol it speaks, for messages that teach.

A learner who points a TLS client at a plain port, or the toytls client at a
TLS 1.3 port, should not read "record announces 352518912 bytes": the other
side spoke another protocol, and its first bytes say which one.

    16 03 0x ..   a TLS record header: handshake (RFC 8446 section 5.1)
    15 03 0x ..   a TLS record header: alert (RFC 8446 section 6)
    00 00 .. ..   a toytls record header: a uint32 length, always small (docs/toytls.md)
    GET / ..      HTTP/1.1: a method, or "HTTP/" for a response (RFC 9112 sections 3, 4)

What this module owns: that guess, from at most the first few bytes.
What it must never do: decide what to do about it (the client and the
server's log choose their words), or read more than FIRST_BYTES_NEEDED bytes.
"""

from __future__ import annotations

from enum import StrEnum

# Enough to tell the protocols apart and name a TLS alert: a record header
# (5 bytes) and the alert's level and description (RFC 8446 section 6).
FIRST_BYTES_NEEDED = 7

# TLS record content types (RFC 8446 section 5.1), and the legacy record
# versions a TLS 1.0 to 1.3 peer writes: 0x0301 (ClientHello) to 0x0303.
_TLS_ALERT = 0x15
_TLS_HANDSHAKE = 0x16
_TLS_APPLICATION_DATA = 0x17
_TLS_MAJOR_VERSION = 0x03
_HTTP_METHODS = (b"GET ", b"HEAD", b"POST", b"PUT ", b"DELET", b"OPTIO", b"PATCH", b"CONNE")


class FirstBytes(StrEnum):
    """What the first bytes look like; the value is a phrase for a sentence."""

    TLS_HANDSHAKE = "a TLS handshake record"
    TLS_ALERT = "a TLS alert record"
    TLS_RECORD = "a TLS record"
    TOYTLS = "a toytls record"
    HTTP_REQUEST = "a plain HTTP request"
    HTTP_RESPONSE = "a plain HTTP response"
    UNKNOWN = "bytes of no protocol we know"


def recognise(data: bytes) -> FirstBytes:
    """The protocol the first bytes of a stream look like (UNKNOWN if too few or none)."""
    if len(data) >= 2 and data[1] == _TLS_MAJOR_VERSION:
        if data[0] == _TLS_HANDSHAKE:
            return FirstBytes.TLS_HANDSHAKE
        if data[0] == _TLS_ALERT:
            return FirstBytes.TLS_ALERT
        if data[0] == _TLS_APPLICATION_DATA:
            return FirstBytes.TLS_RECORD
    if data.startswith(b"HTTP/"):
        return FirstBytes.HTTP_RESPONSE
    if data.startswith(_HTTP_METHODS):
        return FirstBytes.HTTP_REQUEST
    # A toytls record starts with its uint32 length; a handshake record is far
    # below 16 MiB, so its first byte is zero (tls/toy/wire.py MAX_RECORD_LENGTH).
    if len(data) >= 4 and data[0] == 0:
        return FirstBytes.TOYTLS
    return FirstBytes.UNKNOWN
