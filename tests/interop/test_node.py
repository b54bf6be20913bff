"""Node.js 24 (OpenSSL 3.5) against our TLS 1.3, both ways: classical groups and the hybrids.

Node is the peer that speaks what browsers speak in 2026: by default its
ClientHello carries X25519MLKEM768 and x25519 key shares.  Each test reads
the negotiated group from both ends where it can: Node's
getEphemeralKeyInfo() on its client side, our client's `negotiated.group`
against Node's server, which is also limited to the one group under test
(its ecdhCurve), so a finished handshake can only have used that group.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.handshake_load import RECORD_HEADER_LENGTH
from bench.pq import capture_hellos
from tests.interop.harness import ChainStore, ServerPool, assert_server_healthy
from tests.interop.node_peer import (
    HYBRID_GROUPS,
    NODE_GROUP_NAMES,
    OPENSSL_GROUP_NAMES,
    node_https_get,
    node_https_server,
    node_versions,
    require_node,
)
from tests.interop.test_our_client import get
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ExtensionType, NamedGroup
from tls_web_server.tls.tls13.messages import ClientHello

CLASSICAL = ("x25519", "secp256r1")
NODE_USER_AGENT = "node-interop"


def test_the_node_binary_is_node_24_with_openssl_3_5() -> None:
    versions = node_versions()
    assert int(versions["node"].split(".")[0]) >= 24, versions
    major, minor = (int(part) for part in versions["openssl"].split(".")[:2])
    assert (major, minor) >= (3, 5), versions  # the first OpenSSL with the hybrid groups


# --- Node's client against our server --------------------------------------------------------


def assert_node_got_our_page(servers: ServerPool, group: str | None) -> str | None:
    server = servers.get("ecdsa-p256")
    groups = OPENSSL_GROUP_NAMES[group] if group is not None else None
    result = node_https_get(server.ssl_port, server.root_cert, groups=groups)
    assert result.error is None, result
    assert result.protocol == "TLSv1.3"
    assert result.status == 200
    assert server.marker in result.body
    server.wait_for_ssl_access(
        lambda line: NODE_USER_AGENT in line and '"GET / HTTP/1.1" 200' in line
    )
    assert_server_healthy(server)
    return result.group


@pytest.mark.parametrize("group", CLASSICAL)
def test_node_client_negotiates_a_classical_group_with_our_server(
    servers: ServerPool, group: str
) -> None:
    assert assert_node_got_our_page(servers, group) == NODE_GROUP_NAMES[group]


def test_node_client_with_its_defaults_gets_a_page_from_our_server(servers: ServerPool) -> None:
    # Node offers X25519MLKEM768 and x25519 shares; either way, no failure.
    assert assert_node_got_our_page(servers, None) in {"X25519", "X25519MLKEM768"}


def test_node_client_with_its_defaults_gets_the_hybrid_from_our_server(servers: ServerPool) -> None:
    assert assert_node_got_our_page(servers, None) == "X25519MLKEM768"


@pytest.mark.parametrize("group", HYBRID_GROUPS)
def test_node_client_negotiates_each_hybrid_with_our_server(
    servers: ServerPool, group: str
) -> None:
    # Node offers only this hybrid: our server must take it (no classical fallback).
    assert assert_node_got_our_page(servers, group) == group


# --- our client against Node's server --------------------------------------------------------


def assert_our_client_negotiates(chains: ChainStore, group: str) -> None:
    chain = chains.get("ecdsa-p256")
    with node_https_server(chain, groups=OPENSSL_GROUP_NAMES[group], body="node page") as port:
        result = get(port, chain.root_cert)
    assert result.response.status == 200
    assert result.response.body == b"node page"
    negotiated = result.negotiated
    assert negotiated is not None
    assert negotiated.protocol == "TLSv1.3"
    assert negotiated.group == group


@pytest.mark.parametrize("group", CLASSICAL)
def test_our_client_negotiates_a_classical_group_with_node(chains: ChainStore, group: str) -> None:
    assert_our_client_negotiates(chains, group)


@pytest.mark.parametrize("group", HYBRID_GROUPS)
def test_our_client_negotiates_each_hybrid_with_node(chains: ChainStore, group: str) -> None:
    # Node accepts only this hybrid: with our client's defaults (shares for
    # X25519MLKEM768 and x25519) the other two take a HelloRetryRequest.
    assert_our_client_negotiates(chains, group)


# --- the ClientHellos bench/pq.py replays ----------------------------------------------------


def test_the_bench_captures_nodes_client_hellos_with_the_shares_it_promises(
    chains: ChainStore, tmp_path: Path
) -> None:
    require_node()
    hellos = capture_hellos(chains.get("ecdsa-p256").root_cert, tmp_path)
    sizes = {}
    for group, captured in hellos.items():
        assert captured.path.read_bytes() == captured.record
        hello = ClientHello.decode(captured.record[RECORD_HEADER_LENGTH + 4 :])
        data = hello.extensions_by_type()[ExtensionType.key_share]
        (share,) = ext.decode_client_key_shares(data)
        assert NamedGroup(share.group).name == group
        sizes[group] = len(share.key_exchange)
    assert sizes == {"x25519": 32, "X25519MLKEM768": 1216}
