"""Shared TLS fixtures: one demo PKI per key type, generated once per test session.

    demo_pki_factory("rsa-2048") -> DemoPki   # cached: each key type is generated once
    ecdsa_pki                    -> DemoPki   # the ecdsa-p256 one, for tests that need just one
    any_pki                      -> DemoPki   # parametrized: the test runs once per key type
    accepted_pki                 -> DemoPki   # the same, for the key types our clients accept

A DemoPki bundles the files generate_pki wrote, the server credentials loaded
from them (leaf + intermediate), the trusted root, and `now`, the moment the
PKI was made: pass it as the verifier's clock so tests do not depend on the
wall clock (the certificates are valid from `now - 1 h` for 397 days).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tls_web_server.tls import pki

DEMO_NAMES = ("localhost",)

# What our clients accept: no Ed25519, which they refuse as browsers do
# (pki_verification.py).  Tests where our client verifies the chain use these.
ACCEPTED_KEY_TYPES = tuple(key_type for key_type in pki.KEY_TYPES if key_type != "ed25519")


@dataclass(frozen=True)
class DemoPki:
    key_type: str
    files: pki.GeneratedPki
    credentials: pki.ServerCredentials
    roots: tuple[pki.Certificate, ...]
    now: float


def make_demo_pki(directory: Path, key_type: str, now: float | None = None) -> DemoPki:
    """Generate a PKI into `directory` and load it the way server and client would."""
    moment = time.time() if now is None else now
    files = pki.generate_pki(directory, DEMO_NAMES, key_type=key_type, now=moment)
    credentials = pki.load_server_credentials(
        files.server_cert, files.server_key, files.intermediate_cert
    )
    return DemoPki(key_type, files, credentials, pki.load_trusted_roots(files.root_cert), moment)


@pytest.fixture(scope="session")
def demo_pki_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], DemoPki]:
    made: dict[str, DemoPki] = {}

    def demo_pki(key_type: str) -> DemoPki:
        if key_type not in made:
            made[key_type] = make_demo_pki(tmp_path_factory.mktemp(f"pki-{key_type}"), key_type)
        return made[key_type]

    return demo_pki


@pytest.fixture(scope="session")
def ecdsa_pki(demo_pki_factory: Callable[[str], DemoPki]) -> DemoPki:
    return demo_pki_factory("ecdsa-p256")


@pytest.fixture(scope="session", params=pki.KEY_TYPES)
def any_pki(request: pytest.FixtureRequest, demo_pki_factory: Callable[[str], DemoPki]) -> DemoPki:
    return demo_pki_factory(request.param)


@pytest.fixture(scope="session", params=ACCEPTED_KEY_TYPES)
def accepted_pki(
    request: pytest.FixtureRequest, demo_pki_factory: Callable[[str], DemoPki]
) -> DemoPki:
    return demo_pki_factory(request.param)
