"""The http2 fuzz harness reports what it promises to (tests/test_fuzz_smoke.py runs its corpus)."""

from __future__ import annotations

import pytest

from fuzz.harnesses import http2 as harness
from fuzz.support import CORPUS_DIR, HarnessFailure
from tls_web_server.http2 import hpack, server
from tls_web_server.http2.events import StreamReset


def seed(name: str) -> bytes:
    return (CORPUS_DIR / "http2" / name).read_bytes()


def test_the_seeds_reach_requests_and_streams() -> None:
    connection = server.ServerConnection()
    connection.initiate()
    events = connection.receive_data(seed("h2-client.bin"))
    names = {type(event).__name__ for event in events}
    assert {"RequestReceived", "DataReceived", "TrailersReceived", "StreamReset"} <= names
    assert "GoAwayReceived" in names and connection.failed is None


def test_a_wrong_error_code_from_hpack_is_reported(monkeypatch) -> None:
    def broken(self, block, representations=None):
        raise hpack.ConnectionFailure(hpack.ErrorCode.PROTOCOL_ERROR, "planted")

    monkeypatch.setattr(hpack.Decoder, "decode", broken)
    with pytest.raises(HarnessFailure, match="HPACK failed with PROTOCOL_ERROR"):
        harness.test_one_input(seed("hpack-c4.bin"))


def test_an_unforeseen_exception_escapes(monkeypatch) -> None:
    def broken(self, *args, **kwargs):
        raise KeyError("planted")

    monkeypatch.setattr(server.ServerConnection, "_open_stream", broken)
    with pytest.raises(KeyError, match="planted"):
        harness.test_one_input(seed("h2-client.bin"))


def test_a_reset_of_stream_zero_is_reported(monkeypatch) -> None:
    original = server.ServerConnection._fields_received

    def resets_zero(self, stream_id, fields, end_stream, too_large, events):
        events.append(StreamReset(0, 0, by_peer=False))
        original(self, stream_id, fields, end_stream, too_large, events)

    monkeypatch.setattr(server.ServerConnection, "_fields_received", resets_zero)
    with pytest.raises(HarnessFailure, match="stream 0"):
        harness.test_one_input(seed("h2-client.bin"))
