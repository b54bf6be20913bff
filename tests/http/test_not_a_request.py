"""A head whose first byte cannot start a method is refused at once, not after a timeout."""

from __future__ import annotations

import pytest

from tls_web_server.http.messages import HttpError
from tls_web_server.http.parser import RequestParser

CLIENT_HELLO_START = bytes.fromhex("16030100f4010000f00303")


def test_a_tls_client_hello_is_a_400_naming_tls_from_its_first_byte():
    parser = RequestParser()
    parser.feed(CLIENT_HELLO_START[:1])  # one byte is enough: no line end is awaited
    with pytest.raises(HttpError) as caught:
        parser.next_request()
    assert caught.value.status == 400
    assert "TLS handshake record on a plain HTTP port" in caught.value.reason


def test_a_toytls_record_is_a_400_naming_toytls():
    parser = RequestParser()
    parser.feed(bytes.fromhex("00000026") + bytes(34))
    with pytest.raises(HttpError) as caught:
        parser.next_request()
    assert caught.value.status == 400
    assert "toytls" in caught.value.reason


@pytest.mark.parametrize("start", [b"\r", b"\r\n", b"\n", b"\r\n\r"])
def test_empty_lines_before_a_request_still_wait_for_it(start):
    parser = RequestParser()
    parser.feed(start)
    assert parser.next_request() is None
    parser.feed(b"\n" if start.endswith(b"\r") else b"")
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    request = parser.next_request()
    assert request is not None and request.target == "/"
