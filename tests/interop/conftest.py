"""Fixtures of the interop suite: chains per key type, and servers shared by a module.

The engine behind `listen ... ssl;` is chosen in one place, harness.selected_engine,
from TLS_WEB_SERVER_TLS13_ENGINE (unset: our own TLS 1.3; `openssl`: OpenSSL).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.harness import ChainStore, ServerPool


@pytest.fixture(scope="session")
def chains(tmp_path_factory: pytest.TempPathFactory) -> ChainStore:
    return ChainStore(tmp_path_factory.mktemp("interop-pki"))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, chains: ChainStore) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory.mktemp("interop-servers"), chains)
    try:
        yield pool
    finally:
        pool.stop_all()
