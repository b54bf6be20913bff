"""Session ticket keys: rotation on a fake clock, nginx key files, rings, nothing secret in repr."""

from __future__ import annotations

import os

import pytest

from tls_web_server.tls.tls13.tickets import (
    RotatingTicketKeys,
    TicketContents,
    TicketKey,
    TicketKeyRing,
)

CONTENTS = TicketContents(
    cipher_suite=0x1301, issued_at_ms=1, lifetime=7200, age_add=5, psk=b"p" * 32
)
SECRET = bytes(range(32))
PERIOD = 12 * 3600.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_rotated_key_still_opens_for_one_more_period_then_never() -> None:
    clock = FakeClock(1_000 * PERIOD + 10)
    keys = RotatingTicketKeys(SECRET, PERIOD, clock)
    ticket = keys.seal(CONTENTS, os.urandom)
    assert keys.open(ticket) == CONTENTS
    clock.now += PERIOD  # the next period: a new key seals, the old one still opens
    assert keys.open(ticket) == CONTENTS
    newer = keys.seal(CONTENTS, os.urandom)
    assert newer[:16] != ticket[:16]  # another key name
    clock.now += PERIOD  # two periods on: the first key is gone
    assert keys.open(ticket) is None
    assert keys.open(newer) == CONTENTS


def test_workers_with_the_same_secret_agree_without_talking() -> None:
    clock = FakeClock(5 * PERIOD)
    first = RotatingTicketKeys(SECRET, PERIOD, clock)
    second = RotatingTicketKeys(SECRET, PERIOD, clock)  # another worker, after fork
    assert second.open(first.seal(CONTENTS, os.urandom)) == CONTENTS
    stranger = RotatingTicketKeys(bytes(32), PERIOD, clock)  # another server
    assert stranger.open(first.seal(CONTENTS, os.urandom)) is None
    other_period = RotatingTicketKeys(SECRET, PERIOD / 2, clock)
    assert other_period.open(first.seal(CONTENTS, os.urandom)) is None


def test_nginx_key_files_first_seals_all_open() -> None:
    files = [os.urandom(80), os.urandom(80)]
    ring = TicketKeyRing([TicketKey.from_nginx_key_file(data) for data in files])
    ticket = ring.seal(CONTENTS, os.urandom)
    assert ticket[:16] == files[0][:16]  # the key name is the file's first 16 bytes
    # An operator moves the new key first; tickets of the old one still open.
    rotated = TicketKeyRing([TicketKey.from_nginx_key_file(data) for data in reversed(files)])
    assert rotated.open(ticket) == CONTENTS
    assert rotated.seal(CONTENTS, os.urandom)[:16] == files[1][:16]
    alone = TicketKeyRing([TicketKey.from_nginx_key_file(files[1])])
    assert alone.open(ticket) is None


@pytest.mark.parametrize("length", [0, 48, 79, 81])
def test_a_key_file_of_another_length_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="80 bytes"):
        TicketKey.from_nginx_key_file(b"k" * length)


def test_key_material_never_appears_in_repr() -> None:
    data = bytes(range(80))
    key = TicketKey.from_nginx_key_file(data)
    clock = FakeClock(0.0)
    rotating = RotatingTicketKeys(SECRET, PERIOD, clock)
    for text in (repr(key), repr(TicketKeyRing([key])), repr(rotating)):
        assert data[48:].hex() not in text and SECRET.hex() not in text
        assert "hidden" in text
