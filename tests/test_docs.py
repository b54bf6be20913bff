"""The docs are checked like code: links to functions must resolve, generated files must match."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from tls_web_server.config.directives import RULES
from tls_web_server.config.log_format import VARIABLES
from tls_web_server.tls.tls13 import client as tls13_client
from tls_web_server.tls.tls13 import server as tls13_server

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "DEVELOPERS.md"]
CODE_LINK = re.compile(r"\]\((\.\./)?src/tls_web_server/([\w/]+\.py)#([\w.]+)\)")
DOC_LINK = re.compile(r"\]\(([\w-]+\.md)\)")


def defined_names(path: Path) -> set[str]:
    """`function`, `Class` and `Class.method` names defined at the top of a module."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_code_link_points_at_something_that_exists(doc):
    text = doc.read_text()
    for _, module, name in CODE_LINK.findall(text):
        path = ROOT / "src" / "tls_web_server" / module
        assert path.exists(), f"{doc.name} links to missing {module}"
        assert name in defined_names(path), f"{doc.name} links to {module}#{name}, not defined"
    for linked in DOC_LINK.findall(text):
        assert (doc.parent / linked).exists(), f"{doc.name} links to missing {linked}"


def test_the_configuration_doc_lists_every_directive_and_log_variable():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for directive in RULES:
        assert f"| `{directive} " in text or f"| `{directive};` " in text, directive
    for variable in VARIABLES:
        assert f"| `${variable}` |" in text, variable


def test_the_walkthrough_links_many_steps():
    assert len(CODE_LINK.findall((ROOT / "docs" / "walkthrough.md").read_text())) >= 40


def test_state_machine_doc_is_generated_from_the_code():
    spec = importlib.util.spec_from_file_location(
        "state_machines", ROOT / "scripts" / "state_machines.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "state-machines.md").read_text() == module.render(), (
        "run: python scripts/state_machines.py"
    )


@pytest.mark.parametrize(
    ("module", "transitions"),
    [
        (tls13_server, tls13_server.SERVER_TRANSITIONS),
        (tls13_client, tls13_client.CLIENT_TRANSITIONS),
    ],
)
def test_tls13_transition_tables_name_real_states_expecting_those_messages(module, transitions):
    for state, event, next_state in transitions:
        for name in (state, next_state):
            assert name == "Traffic" or hasattr(module, name), name
        if state == "Traffic":
            continue
        message = event.split(" (")[0]
        if message == "HelloRetryRequest":
            message = "ServerHello"
        expected = {t.name for t in getattr(module, state).expects}
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", message).lower()
        assert snake in expected, (state, message, expected)
