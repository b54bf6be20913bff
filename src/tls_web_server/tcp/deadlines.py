"""Deadlines: one timer per connection, one heap of them for the event loop.

A `Timer` is a connection's single deadline and the reason it was set (an
enum member chosen by whoever set it; this module never looks at it).
`Deadlines` owns the heap the loop waits on, and is the only code that
reads or writes a timer's fields.

Rules this module keeps:
- A timer costs one heap entry, not one per reset.  Moving a deadline later
  (every keep-alive request does) pushes nothing: the old entry stays, and
  when it comes up the timer is filed again at its new deadline.  Only a
  deadline earlier than the one filed needs a new entry.
- The clock is the caller's: the loop sets `now` once per iteration, so
  every deadline set during one iteration counts from the same instant.
- It knows nothing of sockets, TLS or HTTP.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from enum import Enum
from typing import Generic, TypeVar

Owner = TypeVar("Owner")


class Timer(Generic[Owner]):
    """One owner's deadline: armed (deadline > 0) or not, and the reason it was set."""

    __slots__ = ("deadline", "filed_at", "owner", "reason")

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.deadline = 0.0  # 0.0: not armed
        self.filed_at = 0.0  # the deadline of this timer's live heap entry; 0.0: none
        self.reason: Enum | None = None

    @property
    def pending_reason(self) -> Enum | None:
        """Why the timer is armed, or None when it is not."""
        return self.reason if self.deadline else None


class Deadlines(Generic[Owner]):
    """The heap of armed timers, earliest first."""

    __slots__ = ("_heap", "_tiebreak", "now")

    def __init__(self, now: float) -> None:
        self.now = now
        self._heap: list[tuple[float, int, Timer[Owner]]] = []
        self._tiebreak = itertools.count()

    def start(self, timer: Timer[Owner], seconds: float, reason: Enum) -> None:
        """Arm `timer` to expire `seconds` from now, replacing any earlier setting."""
        deadline = self.now + seconds
        timer.deadline = deadline
        timer.reason = reason
        if not timer.filed_at or deadline < timer.filed_at:
            self._file(timer, deadline)

    def cancel(self, timer: Timer[Owner]) -> None:
        """Disarm `timer`; its heap entry, if any, is skipped when it comes up."""
        timer.deadline = 0.0

    def any_due(self) -> bool:
        """True if the earliest heap entry has come up (it may be stale: expired() sorts it)."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= self.now

    def expired(self) -> Iterator[Timer[Owner]]:
        """Yield each timer whose deadline has passed, disarmed, earliest first."""
        heap = self._heap
        while heap and heap[0][0] <= self.now:
            filed_at, _, timer = heapq.heappop(heap)
            if timer.filed_at != filed_at:
                continue  # a stale entry: the timer was filed again earlier
            timer.filed_at = 0.0
            if not timer.deadline:
                continue  # cancelled
            if timer.deadline > self.now:
                self._file(timer, timer.deadline)  # moved later: file it again
                continue
            timer.deadline = 0.0
            yield timer

    def seconds_until_next(self, ceiling: float) -> float:
        """How long the loop may sleep: until the earliest entry, at most `ceiling`."""
        heap = self._heap
        if not heap:
            return ceiling
        # min(ceiling, max(0.0, ...)) written out: the loop asks once per iteration.
        seconds = heap[0][0] - self.now
        return ceiling if seconds > ceiling else seconds if seconds > 0.0 else 0.0

    def _file(self, timer: Timer[Owner], deadline: float) -> None:
        timer.filed_at = deadline
        heapq.heappush(self._heap, (deadline, next(self._tiebreak), timer))
