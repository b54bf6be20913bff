"""The shape of an explained key schedule, shared by both protocols' explainers.

    schedule = KeySchedule(prelude, stages)   # stages of steps; each step has a snippet

What this module owns: `Step` (a value, how it is made, its inputs, and a
Python snippet that remakes it), `Stage` (steps under one heading),
`KeySchedule` (the stages and the prelude every snippet runs after), and
`StepBuilder`, which compares each value with what the connection reported.
tls13/key_schedule_explained.py and toy/key_schedule_explained.py fill it;
tls/trace_html_schedule.py draws it.

What it must never do: compute anything itself (the explainers do), or mark
a value as agreeing with the connection without comparing the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One value of the key schedule: how it is made, from what, and the code that remakes it."""

    anchor: str  # a fragment id for the page
    name: str  # "client_handshake_traffic_secret"
    formula: str  # 'HKDF-Expand-Label(handshake_secret, "c hs traffic", ...)'
    inputs: tuple[tuple[str, bytes], ...]
    output: bytes
    snippet: str  # Python that prints output.hex(), run after the prelude
    agrees: bool | None = None  # compared with what the connection reported (None: nothing to)
    note: str = ""


@dataclass(frozen=True)
class Stage:
    anchor: str
    title: str
    explanation: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class KeySchedule:
    prelude: str  # the helpers every snippet uses
    stages: tuple[Stage, ...]


def hex_literal(data: bytes) -> str:
    """`bytes.fromhex("...")`: how a snippet spells a value shown on the page."""
    return f'bytes.fromhex("{data.hex()}")'


class StepBuilder:
    """Collects the steps of one stage at a time."""

    def __init__(self, reported: Mapping[str, bytes]) -> None:
        self.reported = reported
        self.steps: list[Step] = []
        self.stages: list[Stage] = []
        self._count = 0

    def add(
        self,
        name: str,
        formula: str,
        inputs: Sequence[tuple[str, bytes]],
        output: bytes,
        snippet: str,
        *,
        reported_as: str | None = None,
        note: str = "",
    ) -> bytes:
        self._count += 1
        agrees = None
        if reported_as is not None and reported_as in self.reported:
            agrees = self.reported[reported_as] == output
        self.steps.append(
            Step(f"step-{self._count}", name, formula, tuple(inputs), output, snippet, agrees, note)
        )
        return output

    def end_stage(self, anchor: str, title: str, explanation: str) -> None:
        if self.steps:
            self.stages.append(Stage(anchor, title, explanation, tuple(self.steps)))
        self.steps = []

    def schedule(self, prelude: str) -> KeySchedule:
        return KeySchedule(prelude, tuple(self.stages))
