"""The key schedule section of a trace page: every value, its inputs, and a snippet that remakes it.

    toc, section = key_schedule_html(trace.events)   # ("", "") for a trace without keys

What this module owns: the HTML of the stages tls13/key_schedule_explained.py
and toy/key_schedule_explained.py make (TLS 1.3 or toytls, by the trace).
Each step shows its formula, its inputs in full, its output in a
`<code class="output">`, and a `<pre class="snippet">` of Python; the page's
`<pre class="snippet-prelude">` holds the helpers every snippet uses, so
prelude + snippet, run with `cryptography` installed, prints the output shown
(tests/tls/test_trace_snippets.py runs them all).  A table of contents links
an anchor per stage.

What it must never do: put text into the page unescaped, or show a step as
agreeing with the connection when it does not.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .key_schedule_steps import Stage, Step
from .tls13.key_schedule_explained import explain_key_schedule
from .toy.key_schedule_explained import explain_toy_key_schedule

# Inputs longer than this are shown elided in the input list (the snippet has them whole).
LONGEST_INPUT_SHOWN = 96


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _input_html(name: str, value: bytes) -> str:
    shown = value[:LONGEST_INPUT_SHOWN].hex()
    if len(value) > LONGEST_INPUT_SHOWN:
        shown += f"… ({len(value)} bytes; whole in the snippet)"
    return f'<li><span class="input-name">{_e(name)}</span> <code>{_e(shown)}</code></li>'


def _step_html(step: Step) -> str:
    if step.agrees is None:
        check = ""
    elif step.agrees:
        check = ' <span class="agrees">✔ the value the connection used</span>'
    else:
        check = ' <span class="differs">✘ differs from the value the connection used</span>'
    note = f'<div class="explain">{_e(step.note)}</div>' if step.note else ""
    inputs = "".join(_input_html(name, value) for name, value in step.inputs)
    return (
        f'<details class="step" id="{step.anchor}"><summary><span class="field">'
        f'{_e(step.name)}</span> = <code class="output">{step.output.hex()}</code>{check}'
        f'</summary><div class="formula">{_e(step.formula)}</div>{note}'
        f'<ul class="inputs">{inputs}</ul>'
        f'<pre class="snippet">{_e(step.snippet)}</pre></details>'
    )


def _stage_html(stage: Stage) -> str:
    steps = "".join(_step_html(step) for step in stage.steps)
    return (
        f'<section class="stage" id="{stage.anchor}"><h3>{_e(stage.title)}</h3>'
        f'<p class="explain">{_e(stage.explanation)}</p>{steps}</section>'
    )


def key_schedule_html(events: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(table of contents entries, the section) for the trace's key schedule; empty if none."""
    schedule = explain_key_schedule(events) or explain_toy_key_schedule(events)
    if schedule is None or not schedule.stages:
        return "", ""
    stages = schedule.stages
    toy = any(event.get("protocol") == "toytls" for event in events)
    toc = "".join(
        f'<li><a href="#{stage.anchor}">Key schedule: {_e(stage.title)}</a></li>'
        for stage in stages
    )
    if toy:
        heading = "The toytls keys, recomputable (docs/toytls.md sections 4 and 5)"
    else:
        heading = (
            'The TLS 1.3 key schedule, recomputable (<a href="https://www.rfc-editor.org/rfc/'
            'rfc8446#section-7.1">RFC 8446 section 7</a>)'
        )
    section = (
        f'<section id="key-schedule"><h2>{heading}</h2>'
        "<p>Every secret of this connection, from the values on this page. Each value has a "
        "Python snippet: paste the helpers below once, then any snippet, and it prints the value "
        "shown (pip install cryptography).</p>"
        f'<pre class="snippet-prelude">{_e(schedule.prelude)}</pre>'
        + "".join(_stage_html(stage) for stage in stages)
        + "</section>"
    )
    return toc, section
