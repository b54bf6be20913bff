"""The narrow context: what the TLS 1.3 states may use of their connection, and nothing more.

The states (server.py, client.py) are typed against HandshakeContext; these
tests make that binding hold without a type checker: the states reach their
connection only through a parameter named `context`, use only the members the
protocol declares, and TLS13Connection provides every one of them.  And the
connection is established only through Traffic, which needs the proof that
Finished verified.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import client, server
from tls_web_server.tls.tls13.connection import TLS13Connection
from tls_web_server.tls.tls13.enums import CIPHER_SUITE_PARAMETERS, CipherSuite
from tls_web_server.tls.tls13.handshake_context import (
    FinishedVerified,
    HandshakeContext,
    verify_finished,
)
from tls_web_server.tls.tls13.key_schedule import finished_verify_data

from ..conftest import DemoPki
from .flight_surgery import new_server

STATE_MODULES = (server, client)
SHA256 = CIPHER_SUITE_PARAMETERS[CipherSuite.TLS_AES_128_GCM_SHA256]


def context_members() -> set[str]:
    members = set(HandshakeContext.__annotations__)
    members |= {
        name
        for name, value in vars(HandshakeContext).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    }
    return members


def module_tree(module: object) -> ast.Module:
    return ast.parse(Path(inspect.getfile(module)).read_text())  # type: ignore[arg-type]


def test_the_connection_provides_every_member_of_the_context(ecdsa_pki: DemoPki) -> None:
    members = context_members()
    assert {
        "send_handshake",
        "install_write_keys",
        "log_secret",
        "random_bytes",
        "clock",
    } <= members
    connection = new_server(ecdsa_pki)
    for name in members:
        assert hasattr(connection, name), name


@pytest.mark.parametrize("module", STATE_MODULES, ids=lambda m: m.__name__)
def test_states_use_only_the_narrow_context(module: object) -> None:
    used = {
        node.attr
        for node in ast.walk(module_tree(module))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "context"
    }
    assert used, "the states act through `context`"
    assert used <= context_members(), used - context_members()


@pytest.mark.parametrize("module", STATE_MODULES, ids=lambda m: m.__name__)
def test_no_state_takes_its_connection(module: object) -> None:
    for node in ast.walk(module_tree(module)):
        if isinstance(node, ast.ClassDef) and node.name.startswith("Expect"):
            handle = next(
                item
                for item in node.body
                if isinstance(item, ast.FunctionDef) and item.name == "handle"
            )
            assert [arg.arg for arg in handle.args.args] == ["self", "context", "message"]


def test_nothing_outside_the_connection_can_establish_it() -> None:
    assert not hasattr(TLS13Connection, "establish")
    assert not hasattr(TLS13Connection, "transcript")
    with pytest.raises(TypeError, match="verify_finished"):
        FinishedVerified(object(), bytes(32))


def test_verify_finished_gives_the_proof_only_for_the_right_mac() -> None:
    secret, transcript_hash = bytes(range(32)), bytes(32)
    right = finished_verify_data("sha256", secret, transcript_hash)
    proof = verify_finished(SHA256, secret, transcript_hash, right, peer="client")
    assert isinstance(proof, FinishedVerified) and proof.transcript_hash == transcript_hash

    wrong = bytes([right[0] ^ 1]) + right[1:]
    with pytest.raises(TLSError) as caught:
        verify_finished(SHA256, secret, transcript_hash, wrong, peer="client")
    assert caught.value.alert is AlertDescription.decrypt_error
    assert "client's Finished" in caught.value.reason
    with pytest.raises(TLSError) as caught:
        verify_finished(SHA256, secret, transcript_hash, right[:-1], peer="server")
    assert caught.value.alert is AlertDescription.decode_error
