"""The fuzz harnesses' smoke pass: every seed, plus a few hundred mutants, without atheris.

`make fuzz` runs the harnesses under atheris for minutes; this runs the same
`test_one_input` functions as plain Python in every `make test`, so that
- a change that breaks a documented error type on a known input fails CI
  at once, without the fuzzer installed;
- the seed corpus stays valid: it exists for every harness, and its
  recorded conversations still reach the states they were recorded for
  (a change to what our client sends would silently turn the tls13_client
  and tls13_server_after_hello seeds into noise);
- the harnesses are not vacuous: a bug planted in our code is reported;
- fuzz/capture_seeds.py still captures ClientHellos from curl, openssl
  s_client and Chromium, and our server answers each.
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.capture_seeds import capture_client_hellos
from fuzz.derived_seeds import Corpus, handshake_messages
from fuzz.harnesses import HARNESS_NAMES
from fuzz.support import CORPUS_DIR, HarnessFailure, feed_framed, new_tls13_server
from tls_web_server.http import parser as http_parser_module
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13 import server as tls13_server_module
from tls_web_server.tls.tls13.enums import HandshakeType
from tls_web_server.tls.tls13.messages import ClientHello

# Random and mutated inputs per harness, on top of the corpus: enough to
# cross the seeds' edges, few enough that the whole file runs in seconds.
MUTANTS_PER_HARNESS = 250
RANDOM_INPUTS_PER_HARNESS = 50


def corpus_of(name: str) -> dict[str, bytes]:
    folder = CORPUS_DIR / name
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def harness(name: str) -> Callable[[bytes], None]:
    return importlib.import_module(f"fuzz.harnesses.{name}").test_one_input


def mutate(seed: bytes, chooser: random.Random, others: list[bytes]) -> bytes:
    """One to four edits of the kinds libFuzzer makes: bytes, lengths, cuts, splices."""
    data = bytearray(seed or b"\x00")
    for _ in range(chooser.randint(1, 4)):
        position = chooser.randrange(len(data)) if data else 0
        kind = chooser.choice(["flip", "set", "nudge", "truncate", "insert", "delete", "splice"])
        if not data:
            data += bytes((chooser.randrange(256),))
        elif kind == "flip":
            data[position] ^= 1 << chooser.randrange(8)
        elif kind == "set":
            data[position] = chooser.choice([0x00, 0x01, 0x7F, 0x80, 0xFF, chooser.randrange(256)])
        elif kind == "nudge":
            # Length fields are where parsers break: one up or one down.
            data[position] = (data[position] + chooser.choice([1, 255])) % 256
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = chooser.randbytes(chooser.randint(1, 16))
        elif kind == "delete":
            del data[position : position + chooser.randint(1, 16)]
        else:
            donor = chooser.choice(others)
            start = chooser.randrange(len(donor) + 1)
            data[position:] = donor[start : start + chooser.randint(1, 64)]
    return bytes(data)


# ---------------------------------------------------------------------------
# every harness: corpus, mutants, random bytes
# ---------------------------------------------------------------------------


def test_atheris_is_not_needed() -> None:
    for name in HARNESS_NAMES:
        importlib.import_module(f"fuzz.harnesses.{name}")
    assert "atheris" not in sys.modules


@pytest.mark.parametrize("name", HARNESS_NAMES)
def test_every_harness_has_a_seed_corpus(name: str) -> None:
    seeds = corpus_of(name)
    assert len(seeds) >= 2, f"fuzz/corpus/{name}/ needs seeds: python -m fuzz.capture_seeds"
    assert all(seeds.values()), "an empty seed file"


def test_the_corpus_stays_small() -> None:
    total = sum(path.stat().st_size for path in CORPUS_DIR.rglob("*") if path.is_file())
    assert total < 400_000


@pytest.mark.parametrize("name", HARNESS_NAMES)
def test_harness_accepts_its_corpus_and_mutants(name: str) -> None:
    test_one_input = harness(name)
    seeds = list(corpus_of(name).values())
    for seed in seeds:
        test_one_input(seed)
    chooser = random.Random(f"smoke-{name}")
    for _ in range(MUTANTS_PER_HARNESS):
        test_one_input(mutate(chooser.choice(seeds), chooser, seeds))
    for _ in range(RANDOM_INPUTS_PER_HARNESS):
        test_one_input(chooser.randbytes(chooser.randint(0, 300)))


# ---------------------------------------------------------------------------
# the recorded conversations still go where they were recorded to go
# ---------------------------------------------------------------------------


def test_server_seeds_get_an_answer() -> None:
    for name, seed in corpus_of("tls13_server").items():
        server = new_tls13_server()
        server.feed_wire_data(seed)
        assert server.state_name in ("ExpectFinished", "ExpectSecondClientHello"), name
        assert server.pop_pending_wire_data(), name


def test_client_flight_seeds_complete_the_handshake() -> None:
    from fuzz.harnesses.tls13_client import new_client

    for name, seed in corpus_of("tls13_client").items():
        client, keys = new_client()
        feed_framed(client, keys, seed)
        assert client.is_established, f"{name}: re-record with python -m fuzz.capture_seeds"


def test_client_second_flight_seeds_complete_the_handshake() -> None:
    from fuzz.harnesses.tls13_server_after_hello import new_answered_server

    for name, seed in corpus_of("tls13_server_after_hello").items():
        server, keys = new_answered_server()
        feed_framed(server, keys, seed)
        assert server.is_established, f"{name}: re-record with python -m fuzz.capture_seeds"


def test_toytls_seeds_complete_the_handshake() -> None:
    from fuzz.harnesses import toytls

    for name, seed in corpus_of("toytls").items():
        connection = toytls.new_connection(seed[0])
        connection.feed_wire_data(seed[1:])
        assert connection.is_established, name


# ---------------------------------------------------------------------------
# the harnesses catch what they claim to
# ---------------------------------------------------------------------------


def test_an_unforeseen_exception_in_the_server_is_reported(monkeypatch) -> None:
    def broken(hello: ClientHello) -> None:
        raise KeyError("planted bug")

    monkeypatch.setattr(tls13_server_module, "read_client_offer", broken)
    seed = corpus_of("tls13_server")["curl-clienthello.bin"]
    # connection.py turns the KeyError into internal_error; the harness reports that.
    with pytest.raises(HarnessFailure, match="internal_error"):
        harness("tls13_server")(seed)


def test_a_split_sensitive_parser_is_reported(monkeypatch) -> None:
    original_feed = http_parser_module.RequestParser.feed

    def drops_small_chunks(self, data: bytes) -> None:
        if len(data) > 3:
            original_feed(self, data)

    monkeypatch.setattr(http_parser_module.RequestParser, "feed", drops_small_chunks)
    seeds = corpus_of("http_parser")
    with pytest.raises(HarnessFailure, match="fed in chunks"):
        for seed in seeds.values():
            harness("http_parser")(seed)
            harness("http_parser")(seed[:1] + b"\r\n" + seed[1:])


def test_an_exception_of_another_type_escapes_the_harness(monkeypatch) -> None:
    def broken(self) -> None:
        raise ValueError("planted bug")

    monkeypatch.setattr(http_parser_module.RequestParser, "_advance", broken)
    with pytest.raises(ValueError, match="planted bug"):
        harness("http_parser")(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")


# ---------------------------------------------------------------------------
# real clients, captured the way fuzz/capture_seeds.py does it
# ---------------------------------------------------------------------------


def test_capture_seeds_records_real_client_hellos() -> None:
    corpus = Corpus()
    capture_client_hellos(corpus)
    hellos = {}
    for origin in ("curl", "openssl-s_client", "chromium"):
        wire = corpus.seeds["tls13_server"][f"{origin}-clienthello.bin"]
        ((msg_type, body, _raw),) = handshake_messages(wire)
        assert msg_type == HandshakeType.client_hello
        hellos[origin] = ClientHello.decode(body)
        server = new_tls13_server()
        try:
            server.feed_wire_data(wire)
        except TLSError as error:
            pytest.fail(f"our server refused {origin}'s ClientHello: {error}")
        assert server.negotiated is not None and server.negotiated.protocol == "TLSv1.3"
    # Three different clients: three different hellos (Chromium's is the only one with GREASE).
    assert len({hello.random for hello in hellos.values()}) == 3
    assert any(suite & 0x0F0F == 0x0A0A for suite in hellos["chromium"].cipher_suites)
    for origin in ("curl", "chromium"):
        request = corpus.seeds["http_parser"][f"{origin}-request.http"]
        assert request.startswith(b"GET / HTTP/1.1\r\n") and request.endswith(b"\r\n\r\n")
    committed = {path.name for path in Path(CORPUS_DIR / "tls13_server").iterdir()}
    assert {f"{origin}-clienthello.bin" for origin in hellos} <= committed
