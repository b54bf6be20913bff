"""Read the example handshakes of RFC 8448 (tests/tls/tls13/data/rfc8448.txt) as data.

The RFC prints each handshake as a list of steps such as

    {server}  derive secret "tls13 c hs traffic":
       PRK (32 octets):  f2 c6 6e ...
       expanded (32 octets):  d7 c2 8b ...

`trace(section)` returns those steps in order, each with its actor, its title
and its labelled byte strings, so tests can say
`step("server", 'derive secret "tls13 c hs traffic"')["expanded"]` instead of
pasting hex into the test code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

RFC8448_PATH = Path(__file__).parent / "data" / "rfc8448.txt"

_SECTION_HEADING = re.compile(r"^(\d+)\.  (\S.*)$")
_STEP = re.compile(r"^   \{(client|server)\}  (.*?):?$")
_VALUE = re.compile(r"^      (\S[^:(]*?)(?: \((\d+) octets\))?:  (.*)$")
_PAGE_FURNITURE = re.compile(r"^(Thomson .*\[Page \d+\]|Internet-Draft .*TLS 1\.3 Traces.*)$")


@dataclass
class Step:
    actor: str
    title: str
    values: dict[str, bytes] = field(default_factory=dict)

    def __getitem__(self, label: str) -> bytes:
        return self.values[label]


@cache
def trace(section: int) -> tuple[Step, ...]:
    """The steps of one numbered section of the RFC (3 = Simple 1-RTT, 5 = HelloRetryRequest)."""
    steps: list[Step] = []
    in_section = False
    label: str | None = None
    length = 0
    hex_parts: list[str] = []

    def finish_value() -> None:
        nonlocal label
        if label is not None and steps:
            data = bytes.fromhex("".join(hex_parts))
            if length and len(data) != length:
                raise ValueError(f"{label}: expected {length} octets, read {len(data)}")
            steps[-1].values[label] = data
        label = None

    for line in RFC8448_PATH.read_text().replace("\f", "").splitlines():
        heading = _SECTION_HEADING.match(line)
        if heading:
            finish_value()
            if in_section:
                break
            in_section = int(heading.group(1)) == section
            continue
        if not in_section or _PAGE_FURNITURE.match(line):
            continue
        step = _STEP.match(line)
        if step:
            finish_value()
            steps.append(Step(step.group(1), step.group(2).rstrip(":")))
            continue
        value = _VALUE.match(line)
        if value and steps:
            finish_value()
            label, length = value.group(1), int(value.group(2) or 0)
            text = value.group(3)
            # "salt:  0 (all zero octets)" and "hash (0 octets):  (empty)" carry no hex.
            hex_parts = (
                [] if text.startswith(("0 (all zero", "(empty)")) else [text.replace(" ", "")]
            )
            continue
        stripped = line.strip()
        if label is not None and stripped and re.fullmatch(r"[0-9a-f ]+", stripped):
            hex_parts.append(stripped.replace(" ", ""))
        elif not stripped:
            continue
        else:
            finish_value()
    finish_value()
    return tuple(steps)


def step(section: int, actor: str, title: str, occurrence: int = 0) -> Step:
    """The `occurrence`-th step of `section` done by `actor` whose title is `title`."""
    matches = [s for s in trace(section) if s.actor == actor and s.title == title]
    if len(matches) <= occurrence:
        raise KeyError(f"no step {{{actor}}} {title!r} #{occurrence} in section {section}")
    return matches[occurrence]
