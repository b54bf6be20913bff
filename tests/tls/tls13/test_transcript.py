"""Transcript against the hashes RFC 8448 prints, the HelloRetryRequest rewrite, and misuse."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls.errors import TLSUsageError
from tls_web_server.tls.tls13.transcript import Transcript

from .rfc8448 import step


def message(section: int, actor: str, name: str, occurrence: int = 0) -> bytes:
    return step(section, actor, f"construct a {name} handshake message", occurrence)[name]


def printed_hash(section: int, actor: str, label: str) -> bytes:
    return step(section, actor, f'derive secret "tls13 {label}"')["hash"]


def server_flight(section: int) -> list[bytes]:
    return [
        message(section, "server", "EncryptedExtensions"),
        message(section, "server", "Certificate"),
        message(section, "server", "CertificateVerify"),
        message(section, "server", "Finished"),
    ]


def test_simple_handshake_hashes_match_the_trace_when_the_hash_is_chosen_late() -> None:
    transcript = Transcript()
    # A client adds its ClientHello before it knows the suite's hash.
    transcript.add(message(3, "client", "ClientHello"))
    assert transcript.hash_name is None
    transcript.add(message(3, "server", "ServerHello"))
    transcript.set_hash("sha256")
    assert transcript.hash_name == "sha256"
    assert transcript.digest() == printed_hash(3, "server", "c hs traffic")
    assert transcript.digest() == printed_hash(3, "server", "s hs traffic")
    for raw in server_flight(3):
        transcript.add(raw)
    assert transcript.digest() == printed_hash(3, "server", "c ap traffic")
    assert transcript.digest() == printed_hash(3, "server", "exp master")
    transcript.add(message(3, "client", "Finished"))
    assert transcript.digest() == printed_hash(3, "client", "res master")
    assert transcript.message_count == 7


def test_a_hash_chosen_first_gives_the_same_digests() -> None:
    early = Transcript("sha256")
    late = Transcript()
    messages = [message(3, "client", "ClientHello"), message(3, "server", "ServerHello")]
    for raw in messages:
        early.add(raw)
        late.add(raw)
    late.set_hash("sha256")
    assert early.digest() == late.digest() == printed_hash(3, "server", "c hs traffic")


def test_hello_retry_request_replaces_client_hello1_with_message_hash() -> None:
    client_hello1 = message(5, "client", "ClientHello", 0)
    transcript = Transcript()
    transcript.add(client_hello1)
    transcript.set_hash("sha256")
    transcript.replace_first_client_hello_with_message_hash()
    # RFC 8446 section 4.4.1: message_hash(254) || 00 00 Hash.length || Hash(ClientHello1)
    synthetic = bytes([254, 0, 0, 32]) + hashlib.sha256(client_hello1).digest()
    assert transcript.digest() == hashlib.sha256(synthetic).digest()
    assert transcript.message_count == 1

    transcript.add(message(5, "server", "ServerHello", 0))  # the HelloRetryRequest
    transcript.add(message(5, "client", "ClientHello", 1))
    transcript.add(message(5, "server", "ServerHello", 1))
    assert transcript.digest() == printed_hash(5, "server", "c hs traffic")
    for raw in server_flight(5):
        transcript.add(raw)
    assert transcript.digest() == printed_hash(5, "server", "s ap traffic")
    transcript.add(message(5, "client", "Finished"))
    assert transcript.digest() == printed_hash(5, "client", "res master")


def test_without_the_rewrite_the_hello_retry_hashes_would_differ() -> None:
    transcript = Transcript("sha256")
    for raw in (
        message(5, "client", "ClientHello", 0),
        message(5, "server", "ServerHello", 0),
        message(5, "client", "ClientHello", 1),
        message(5, "server", "ServerHello", 1),
    ):
        transcript.add(raw)
    assert transcript.digest() != printed_hash(5, "server", "c hs traffic")


def test_sha384_message_hash_carries_a_48_byte_length() -> None:
    transcript = Transcript("sha384")
    transcript.add(b"\x01\x00\x00\x02ab")
    transcript.replace_first_client_hello_with_message_hash()
    synthetic = bytes([254, 0, 0, 48]) + hashlib.sha384(b"\x01\x00\x00\x02ab").digest()
    assert transcript.digest() == hashlib.sha384(synthetic).digest()


def test_digest_with_hashes_extra_bytes_without_adding_them() -> None:
    transcript = Transcript("sha256")
    transcript.add(b"first")
    before = transcript.digest()
    assert transcript.digest_with(b"second") == hashlib.sha256(b"firstsecond").digest()
    assert transcript.digest() == before == hashlib.sha256(b"first").digest()
    assert transcript.message_count == 1


def test_digest_does_not_disturb_the_running_hash() -> None:
    transcript = Transcript("sha256")
    transcript.add(b"one")
    assert transcript.digest() == transcript.digest()
    transcript.add(b"two")
    assert transcript.digest() == hashlib.sha256(b"onetwo").digest()


def test_asking_for_a_digest_before_the_hash_is_chosen_is_a_usage_error() -> None:
    transcript = Transcript()
    transcript.add(b"hello")
    with pytest.raises(TLSUsageError):
        transcript.digest()
    with pytest.raises(TLSUsageError):
        transcript.digest_with(b"x")
    with pytest.raises(TLSUsageError):
        transcript.replace_first_client_hello_with_message_hash()


def test_the_hash_is_chosen_once_and_must_be_a_tls13_hash() -> None:
    transcript = Transcript("sha256")
    with pytest.raises(TLSUsageError):
        transcript.set_hash("sha384")
    with pytest.raises(TLSUsageError):
        Transcript("md5")


@pytest.mark.parametrize("count", [0, 2])
def test_message_hash_replaces_only_a_lone_client_hello(count: int) -> None:
    transcript = Transcript("sha256")
    for index in range(count):
        transcript.add(bytes([index]) * 4)
    with pytest.raises(TLSUsageError):
        transcript.replace_first_client_hello_with_message_hash()


@given(
    messages=st.lists(st.binary(max_size=64), max_size=8),
    hash_name=st.sampled_from(["sha256", "sha384"]),
    choose_hash_after=st.integers(min_value=0, max_value=8),
)
def test_the_digest_is_the_hash_of_the_concatenation(
    messages: list[bytes], hash_name: str, choose_hash_after: int
) -> None:
    # However late the hash is chosen, Transcript-Hash(M1..Mn) = Hash(M1 || .. || Mn).
    transcript = Transcript()
    for index, raw in enumerate(messages):
        if index == choose_hash_after:
            transcript.set_hash(hash_name)
        transcript.add(bytearray(raw))
    if transcript.hash_name is None:
        transcript.set_hash(hash_name)
    assert transcript.digest() == hashlib.new(hash_name, b"".join(messages)).digest()
