"""Which protocol a peer's first bytes look like."""

from __future__ import annotations

import pytest

from tls_web_server.tls.first_bytes import FirstBytes, recognise


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (bytes.fromhex("16030100f4"), FirstBytes.TLS_HANDSHAKE),
        (bytes.fromhex("1603030002"), FirstBytes.TLS_HANDSHAKE),
        (bytes.fromhex("15030300020232"), FirstBytes.TLS_ALERT),
        (bytes.fromhex("1703030020"), FirstBytes.TLS_RECORD),
        (bytes.fromhex("0000002600"), FirstBytes.TOYTLS),
        (b"GET / HTTP/1.1\r\n", FirstBytes.HTTP_REQUEST),
        (b"HEAD /", FirstBytes.HTTP_REQUEST),
        (b"HTTP/1.1 400 Bad Request\r\n", FirstBytes.HTTP_RESPONSE),
        (b"", FirstBytes.UNKNOWN),
        (b"\x16", FirstBytes.UNKNOWN),
        (b"SSH-2.0-OpenSSH", FirstBytes.UNKNOWN),
    ],
)
def test_recognise(data, expected):
    assert recognise(data) is expected
