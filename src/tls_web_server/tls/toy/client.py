"""The toytls client: send ClientHello, then check who answered before trusting any key.

What this module owns:
- ExpectServerHello and ExpectServerAuth, and `ToyTLSClientConnection`,
  whose ClientHello is queued the moment it is built.
- The client's two checks, in the walkthrough's order: the certificate chain
  (pki_verification.verify_chain against the trusted roots, for the server name, at `now`),
  then the ServerAuth signature over both ephemeral public keys.  toytls
  announces no signature schemes; an Ed25519 chain is refused by the first
  check, as our TLS 1.3 client refuses it.

What it must never do:
- Derive session keys, or call itself established, before both checks pass:
  the keys are computed from values only the verified path produces.
- Read the clock or draw randomness itself: `now` and `random_bytes` are
  the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .. import crypto, pki, pki_verification
from ..api import Observer
from ..errors import TLSError
from ..handshake_states import Transition
from .connection import (
    KEY_EXCHANGE_GROUP,
    State,
    ToyConnection,
    Traffic,
    agreed,
    exchange,
    signed_content,
)
from .record import RecordOpener, RecordSealer, derive_session_keys
from .wire import MAX_RECORD_LENGTH_FROM_SERVER, ClientHello, ServerAuth, ServerHello

# (state, what arrives, next state): the client half of connection.py's diagram.
CLIENT_TRANSITIONS = (
    Transition("ExpectServerHello", "ServerHello", "ExpectServerAuth"),
    Transition("ExpectServerAuth", "ServerAuth", "Traffic"),
    Transition("Traffic", "application record", "Traffic"),
)


@dataclass(frozen=True)
class ExpectedServer:
    """Who the client means to reach, and what it trusts to vouch for that."""

    server_name: str
    trusted_roots: tuple[pki.Certificate, ...]
    now: float


class ExpectServerHello:
    """The client sent its ephemeral key and waits for the server's."""

    name: ClassVar[str] = "ExpectServerHello"

    def __init__(self, ephemeral: crypto.EphemeralKey, expected: ExpectedServer) -> None:
        self.ephemeral = ephemeral
        self.expected = expected

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        hello = ServerHello.decode(payload)
        connection.observe_received("ServerHello", payload, {"public_key": hello.public_key})
        shared_secret = exchange(self.ephemeral, hello.public_key)
        return ExpectServerAuth(
            self.ephemeral.public_bytes, hello.public_key, shared_secret, self.expected
        )


class ExpectServerAuth:
    """The client shares a secret with *someone*; ServerAuth must prove who."""

    name: ClassVar[str] = "ExpectServerAuth"

    def __init__(
        self,
        client_public_key: bytes,
        server_public_key: bytes,
        shared_secret: bytes,
        expected: ExpectedServer,
    ) -> None:
        self.client_public_key = client_public_key
        self.server_public_key = server_public_key
        self.shared_secret = shared_secret
        self.expected = expected

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        auth = ServerAuth.decode(payload)
        connection.observe_received(
            "ServerAuth", payload, {"certificates": auth.certificates, "signature": auth.signature}
        )
        expected = self.expected
        # Check 1: the chain leads from the leaf to a root we trust, for this name.
        try:
            verified = pki_verification.verify_chain(
                auth.certificates, expected.trusted_roots, expected.server_name, expected.now
            )
        except pki_verification.ChainError as error:
            raise TLSError(error.reason) from error
        connection.observe_verified("certificate chain", " <- ".join(verified.subjects))

        # Check 2: the sender holds the leaf's private key and signed *our* key
        # with its own, so nobody in the middle swapped either of them.
        # (verify_chain only accepts leaf keys that have a signature scheme.)
        # RSA-PSS: any salt length verifies; the walkthrough's server uses the longest.
        scheme = crypto.signature_schemes_for_key(verified.leaf_public_key)[0]
        signed = signed_content(self.client_public_key, self.server_public_key)
        if not crypto.verify_signature_any_pss_salt(
            verified.leaf_public_key, scheme, auth.signature, signed
        ):
            raise TLSError(
                f"the ServerAuth signature ({scheme}) does not verify: the sender does not"
                " hold the certificate's key, or the public keys were changed on the way"
            )
        connection.observe_verified("ServerAuth signature", scheme)

        keys = derive_session_keys(self.shared_secret)
        connection.observe_keys(self.shared_secret, keys)
        connection.agree(agreed(scheme, server_name=expected.server_name))
        return Traffic(
            sealer=RecordSealer(keys.client_write_key, connection.random_bytes),
            opener=RecordOpener(keys.server_write_key),
        )


class ToyTLSClientConnection(ToyConnection):
    """The client side of one toytls connection."""

    # The walkthrough's server sends a whole HTTP response as one record.
    max_received_record_length: ClassVar[int] = MAX_RECORD_LENGTH_FROM_SERVER

    def __init__(
        self,
        server_name: str,
        trusted_roots: Sequence[pki.Certificate],
        *,
        random_bytes: crypto.RandomSource,
        now: float,
        observer: Observer | None = None,
    ) -> None:
        ephemeral = crypto.EphemeralKey(KEY_EXCHANGE_GROUP, random_bytes)
        expected = ExpectedServer(server_name, tuple(trusted_roots), now)
        super().__init__(
            ExpectServerHello(ephemeral, expected), random_bytes=random_bytes, observer=observer
        )
        hello = ClientHello(ephemeral.public_bytes)
        self.send_message("ClientHello", hello.encode(), {"public_key": hello.public_key})
