"""What headless Chromium itself says it negotiated with our server, from its NetLog.

The key exchange group is read from Chromium's record (chromium_netlog.py),
not from our server: 29 is x25519, 4588 X25519MLKEM768, the share Chromium
sends first.  A server configured for classical groups only gets x25519;
with the defaults Chromium gets the hybrid, and a brotli-compressed
certificate (RFC 8879) in place of the Certificate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.chromium_netlog import (
    SslConnect,
    handshake_messages,
    read_netlog,
    run_chromium_with_netlog,
    sent_client_hellos,
    ssl_connects,
)
from tests.interop.harness import (
    ChainStore,
    InteropServer,
    ServerPool,
    assert_server_healthy,
    require_tool,
    run_interop_server,
    selected_engine,
)
from tests.interop.test_chromium import fresh_home, trust_root_in_nssdb
from tls_web_server.tls.tls13 import certificate_compression as cc
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ExtensionType, HandshakeType
from tls_web_server.tls.tls13.messages import ClientHello, CompressedCertificate

X25519 = 29
X25519MLKEM768 = 4588
TLS_AES_128_GCM_SHA256 = 0x1301


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    require_tool("chromium")


def chromium_connects(server: InteropServer, tmp_path: Path) -> tuple[list[SslConnect], dict]:
    home = fresh_home(tmp_path)
    trust_root_in_nssdb(home, server.root_cert)
    result, netlog_path = run_chromium_with_netlog(server, home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert server.marker in result.stdout, result.stderr
    assert_server_healthy(server)
    netlog = read_netlog(netlog_path)
    connects = ssl_connects(netlog)
    assert connects, "the NetLog records no finished TLS connection"
    return connects, netlog


def test_chromium_records_x25519_with_our_server_today(servers: ServerPool, tmp_path: Path):
    connects, netlog = chromium_connects(servers.get("ecdsa-p256"), tmp_path)
    assert {connect.version for connect in connects} == {"TLS 1.3"}
    assert {connect.cipher_suite for connect in connects} == {TLS_AES_128_GCM_SHA256}
    assert {connect.key_exchange_group for connect in connects} <= {X25519, X25519MLKEM768}
    # Chromium offers the hybrid, with its 1216-byte share first (what our
    # server takes with its defaults, below).
    hello = ClientHello.decode(sent_client_hellos(netlog)[0][4:])
    shares = ext.decode_client_key_shares(hello.extensions_by_type()[ExtensionType.key_share])
    sizes = {share.group: len(share.key_exchange) for share in shares}
    assert sizes[X25519MLKEM768] == 1216 and sizes[X25519] == 32
    # And it asks for a compressed certificate, brotli only (RFC 8879).
    compression = hello.extensions_by_type()[ExtensionType.compress_certificate]
    assert ext.decode_compress_certificate(compression) == (
        cc.CertificateCompressionAlgorithm.brotli,
    )


@pytest.fixture(scope="module")
def classical_server(
    tmp_path_factory: pytest.TempPathFactory, chains: ChainStore
) -> Iterator[InteropServer]:
    """Our server limited to classical groups, as an operator may configure it."""
    folder = tmp_path_factory.mktemp("classical-server")
    with run_interop_server(
        folder,
        chains.get("ecdsa-p256"),
        "ecdsa-p256",
        selected_engine(),
        ssl_directives="ssl_ecdh_curve X25519:prime256v1;",
    ) as server:
        yield server


def test_chromium_negotiates_x25519_with_a_classical_only_server(
    classical_server: InteropServer, tmp_path: Path
):
    connects, _netlog = chromium_connects(classical_server, tmp_path)
    # Every connection of the run agrees: x25519 (29), Chromium's second share.
    assert [connect.key_exchange_group for connect in connects] == [X25519] * len(connects)


def test_chromium_negotiates_x25519mlkem768_with_our_server(servers: ServerPool, tmp_path: Path):
    connects, _netlog = chromium_connects(servers.get("ecdsa-p256"), tmp_path)
    assert [connect.key_exchange_group for connect in connects] == [X25519MLKEM768] * len(connects)


def test_chromium_receives_a_brotli_compressed_certificate(servers: ServerPool, tmp_path: Path):
    _connects, netlog = chromium_connects(servers.get("ecdsa-p256"), tmp_path)
    received = handshake_messages(netlog, "RECEIVED", HandshakeType.compressed_certificate)
    assert received, "Chromium received no CompressedCertificate"
    for message in received:
        compressed = CompressedCertificate.decode(message[4:])
        assert compressed.algorithm == cc.CertificateCompressionAlgorithm.brotli
        body = cc.decompress_certificate(compressed, [cc.CertificateCompressionAlgorithm.brotli])
        assert len(body) == compressed.uncompressed_length
    # None of the connections got the certificate uncompressed.
    assert handshake_messages(netlog, "RECEIVED", 11) == []


@pytest.fixture(scope="module")
def traced_server(
    tmp_path_factory: pytest.TempPathFactory, chains: ChainStore
) -> Iterator[tuple[InteropServer, list[str]]]:
    """Our server with its defaults, drawing every TLS connection (`serve --trace`)."""
    folder = tmp_path_factory.mktemp("traced-server")
    diagrams: list[str] = []
    with run_interop_server(
        folder, chains.get("ecdsa-p256"), "ecdsa-p256", None, trace_output=diagrams.append
    ) as server:
        yield server, diagrams


def test_our_servers_trace_shows_the_hybrid_and_the_brotli_certificate_chromium_got(
    traced_server: tuple[InteropServer, list[str]], tmp_path: Path
):
    server, diagrams = traced_server
    connects, _netlog = chromium_connects(server, tmp_path)
    assert [connect.key_exchange_group for connect in connects] == [X25519MLKEM768] * len(connects)
    # Chromium's connections (its hello carries a GREASE encrypted_client_hello); the
    # harness's own readiness check connects with Python's ssl and is left out.
    chromium = [diagram for diagram in diagrams if "encrypted_client_hello" in diagram]
    assert chromium, "the server drew none of Chromium's connections"
    for diagram in chromium:
        # The server's own record: the share it took, and what it sent for the Certificate.
        assert "key share: X25519MLKEM768 " in diagram
        assert "ML-KEM-768 ciphertext (1088 bytes)" in diagram
        assert "CompressedCertificate [encrypted]" in diagram
        assert "algorithm: brotli, " in diagram
