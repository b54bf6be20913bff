"""Property tests: whatever bytes arrive, a toytls connection raises TLSError or waits."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection

from ..conftest import DemoPki
from .support import established_pair, make_pair

FUZZ = settings(max_examples=200, deadline=None)

# Chunks of random bytes, sometimes starting with a plausible small record header
# so the fuzzing reaches the message decoders, not only the length check.
small_header = st.integers(min_value=0, max_value=200).map(lambda n: n.to_bytes(4, "big"))
chunks = st.lists(
    st.one_of(
        st.binary(max_size=64), st.tuples(small_header, st.binary(max_size=200)).map(b"".join)
    ),
    min_size=1,
    max_size=8,
)


def feed_all(
    connection: ToyTLSServerConnection | ToyTLSClientConnection, data: list[bytes]
) -> None:
    """Feed every chunk; once one raises TLSError, every later one must raise it too."""
    failed = False
    for chunk in data:
        try:
            connection.feed_wire_data(chunk)
        except TLSError:
            failed = True
            continue
        assert not failed, "a failed connection accepted more bytes"


@FUZZ
@given(data=chunks)
def test_random_bytes_to_a_fresh_server_only_raise_tls_error(
    ecdsa_pki: DemoPki, data: list[bytes]
) -> None:
    server, _client = make_pair(ecdsa_pki)
    feed_all(server, data)
    assert server.read_plaintext() == b""


@FUZZ
@given(data=chunks)
def test_random_bytes_to_an_established_server_never_yield_plaintext(
    ecdsa_pki: DemoPki, data: list[bytes]
) -> None:
    server, _client = established_pair(ecdsa_pki)
    feed_all(server, data)
    assert server.read_plaintext() == b""


@FUZZ
@given(data=chunks)
def test_random_bytes_to_a_client_only_raise_tls_error(
    ecdsa_pki: DemoPki, data: list[bytes]
) -> None:
    _server, client = make_pair(ecdsa_pki)
    feed_all(client, data)
    assert not client.is_established


@FUZZ
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_corrupted_server_flight_never_establishes(
    ecdsa_pki: DemoPki, position: int, flip: int
) -> None:
    server, client = make_pair(ecdsa_pki)
    server.feed_wire_data(client.pop_pending_wire_data())
    flight = bytearray(server.pop_pending_wire_data())
    flight[position % len(flight)] ^= flip
    # Any single corrupted byte (a key, a certificate, the signature, a length)
    # must keep the client from trusting the connection.
    with contextlib.suppress(TLSError):
        client.feed_wire_data(bytes(flight))
    assert not client.is_established


def test_fuzz_helper_notices_a_connection_that_accepts_bytes_after_failing() -> None:
    class Lenient:
        calls = 0

        def feed_wire_data(self, data: bytes) -> None:
            self.calls += 1
            if self.calls == 1:
                raise TLSError("first chunk refused")

    with pytest.raises(AssertionError, match="accepted more bytes"):
        feed_all(Lenient(), [b"a", b"b"])  # type: ignore[arg-type]
