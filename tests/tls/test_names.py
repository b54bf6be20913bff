"""tls/names.py: every wire number gets one spelling, and none raises."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.names import describe, is_grease, is_grease_protocol
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)


def test_known_values_read_as_their_rfc_names() -> None:
    assert describe(NamedGroup, 0x11EC) == "X25519MLKEM768"
    assert describe(ExtensionType, 0xFE0D) == "encrypted_client_hello"
    assert describe(ExtensionType, 17513) == "application_settings_old"
    assert describe(ProtocolVersion, 0x0304) == "TLS 1.3"
    assert describe(AlertDescription, 40) == "handshake_failure"


def test_grease_and_unknown_values_say_so_with_their_number() -> None:
    assert describe(CipherSuite, 0x0A0A) == "GREASE 0x0a0a"
    assert describe(ExtensionType, 0xCA34) == "unknown 0xca34"
    assert describe(NamedGroup, 0x0100) == "unknown 0x0100"
    # uint8 code points read in decimal, as their RFCs write them.
    assert describe(HandshakeType, 99) == "unknown 99"
    assert describe(AlertDescription, 0xAA) == "unknown 170"
    assert str(TLSError("x", received_alert=0xAA)) == "x (alert received: unknown 170)"


def test_the_sixteen_grease_values_and_no_others() -> None:
    grease = [value for value in range(0x10000) if is_grease(value)]
    assert grease == [0x0A0A + 0x1010 * step for step in range(16)]
    assert is_grease_protocol(b"\x5a\x5a") and not is_grease_protocol(b"h2")
    assert not is_grease_protocol(b"\x5a\x6a") and not is_grease_protocol(b"\x5a\x5a\x5a")


@given(st.integers(0, 0xFFFF))
def test_describe_never_raises(value: int) -> None:
    for enum in (CipherSuite, ExtensionType, NamedGroup, ProtocolVersion, HandshakeType):
        assert describe(enum, value)
