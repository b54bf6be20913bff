"""bench/instructions.py: the parsing and arithmetic its table rests on (no valgrind here)."""

import pytest

from bench.instructions import parse_listening_line, per_operation


def test_a_listening_line_gives_its_scheme_and_port() -> None:
    assert parse_listening_line("listening on https://127.0.0.1:41709 (TLSv1.3)\n") == (
        "https",
        41709,
    )
    assert parse_listening_line("listening on http://127.0.0.1:36755 (plain)") == ("http", 36755)
    assert parse_listening_line("warning: something else") is None


def test_one_operation_is_the_difference_of_two_runs() -> None:
    # What both runs share (the first connection, idle loop turns) cancels out.
    assert per_operation((200, 600), (1_000_000 + 200 * 150, 1_000_000 + 600 * 150)) == 150


@pytest.mark.parametrize("instructions", [(500, 500), (600, 400)])
def test_runs_that_did_not_grow_are_refused(instructions: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        per_operation((200, 600), instructions)
