"""tcp/deadlines.py: one timer per connection, one heap, and the clock is the caller's."""

from __future__ import annotations

from enum import Enum

from tls_web_server.tcp.deadlines import Deadlines, Timer


class Why(Enum):
    FIRST = "first"
    SECOND = "second"


def test_a_timer_expires_at_its_deadline_and_not_before():
    deadlines: Deadlines[str] = Deadlines(now=100.0)
    timer = Timer("conn")
    deadlines.start(timer, 5.0, Why.FIRST)
    assert timer.pending_reason is Why.FIRST
    deadlines.now = 104.9
    assert list(deadlines.expired()) == []
    deadlines.now = 105.0
    assert list(deadlines.expired()) == [timer]
    assert timer.owner == "conn" and timer.reason is Why.FIRST
    assert timer.pending_reason is None  # disarmed once it expired
    assert list(deadlines.expired()) == []


def test_moving_a_deadline_later_costs_no_heap_entry_and_is_honoured():
    deadlines: Deadlines[str] = Deadlines(now=0.0)
    timer = Timer("conn")
    deadlines.start(timer, 10.0, Why.FIRST)
    for now in (1.0, 2.0, 3.0):  # a keep-alive connection resetting its deadline
        deadlines.now = now
        deadlines.start(timer, 10.0, Why.SECOND)
    assert len(deadlines._heap) == 1
    deadlines.now = 10.0  # the first entry comes up: the timer is filed again, not fired
    assert list(deadlines.expired()) == []
    assert len(deadlines._heap) == 1
    deadlines.now = 13.0
    assert [t.reason for t in deadlines.expired()] == [Why.SECOND]


def test_an_earlier_deadline_replaces_a_later_one():
    deadlines: Deadlines[str] = Deadlines(now=0.0)
    timer = Timer("conn")
    deadlines.start(timer, 60.0, Why.FIRST)
    deadlines.start(timer, 1.0, Why.SECOND)
    deadlines.now = 1.0
    assert [t.reason for t in deadlines.expired()] == [Why.SECOND]
    deadlines.now = 60.0  # the stale entry of the first setting fires nothing
    assert list(deadlines.expired()) == []


def test_a_cancelled_timer_never_expires():
    deadlines: Deadlines[str] = Deadlines(now=0.0)
    timer = Timer("conn")
    deadlines.start(timer, 1.0, Why.FIRST)
    deadlines.cancel(timer)
    assert timer.pending_reason is None
    deadlines.now = 5.0
    assert list(deadlines.expired()) == []


def test_timers_expire_earliest_first():
    deadlines: Deadlines[str] = Deadlines(now=0.0)
    late, early = Timer("late"), Timer("early")
    deadlines.start(late, 3.0, Why.FIRST)
    deadlines.start(early, 2.0, Why.FIRST)
    deadlines.now = 10.0
    assert [t.owner for t in deadlines.expired()] == ["early", "late"]


def test_the_loop_sleeps_until_the_next_deadline_at_most():
    deadlines: Deadlines[str] = Deadlines(now=0.0)
    assert deadlines.seconds_until_next(1.0) == 1.0
    deadlines.start(Timer("conn"), 0.25, Why.FIRST)
    assert deadlines.seconds_until_next(1.0) == 0.25
    deadlines.now = 7.0
    assert deadlines.seconds_until_next(1.0) == 0.0
