"""The toytls server: one ClientHello in, ServerHello and ServerAuth out, then application data.

What this module owns:
- ExpectClientHello, the server's only handshake state, and
  `ToyTLSServerConnection`, which starts there.

What it must never do:
- Send anything before a well-formed ClientHello arrived, or accept a second
  handshake: after ClientHello every record must be encrypted application data.
- Draw randomness itself: its ephemeral key and record nonces come from the
  caller's `random_bytes`.
"""

from __future__ import annotations

from typing import ClassVar

from .. import crypto, pki
from ..api import Observer
from ..errors import TLSUsageError
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
from .wire import FIELD_HEADER_LENGTH, MAX_RECORD_LENGTH, ClientHello, ServerAuth, ServerHello

# (state, what arrives, next state): the server half of connection.py's diagram.
SERVER_TRANSITIONS = (
    Transition("ExpectClientHello", "ClientHello", "Traffic"),
    Transition("Traffic", "application record", "Traffic"),
)

# RSA-4096 signatures are 512 bytes: a ServerAuth record must leave room for one.
LARGEST_SIGNATURE = 512


class ExpectClientHello:
    """The server has its credentials and waits for the client's ephemeral key."""

    name: ClassVar[str] = "ExpectClientHello"

    def __init__(self, credentials: pki.ServerCredentials) -> None:
        self.credentials = credentials

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        hello = ClientHello.decode(payload)
        connection.observe_received("ClientHello", payload, {"public_key": hello.public_key})
        ephemeral = crypto.EphemeralKey(KEY_EXCHANGE_GROUP, connection.random_bytes)
        shared_secret = exchange(ephemeral, hello.public_key)
        connection.observe_key_exchange(ephemeral.private_bytes(), hello.public_key)

        server_hello = ServerHello(ephemeral.public_bytes)
        connection.send_message(
            "ServerHello", server_hello.encode(), {"public_key": server_hello.public_key}
        )
        # The signature ties the certificate's key to *these* two ephemeral keys,
        # so a ServerAuth recorded from another handshake is useless here.
        # RSA keys sign with the longest PSS salt, as the walkthrough's server does.
        scheme = self.credentials.signature_schemes[0]
        signature = crypto.sign_with_maximum_pss_salt(
            self.credentials.private_key,
            scheme,
            signed_content(hello.public_key, ephemeral.public_bytes),
        )
        server_auth = ServerAuth(self.credentials.chain_der, signature)
        connection.send_message(
            "ServerAuth",
            server_auth.encode(),
            {
                "certificates": server_auth.certificates,
                "signature": signature,
                "signature_scheme": scheme,
            },
        )

        keys = derive_session_keys(shared_secret)
        connection.observe_keys(shared_secret, keys)
        connection.agree(agreed(scheme))
        # The server is established as soon as its flight is queued: it has
        # nothing to verify (toytls does not authenticate clients).
        return Traffic(
            sealer=RecordSealer(keys.server_write_key, connection.random_bytes),
            opener=RecordOpener(keys.client_write_key),
        )


class ToyTLSServerConnection(ToyConnection):
    """The server side of one toytls connection."""

    def __init__(
        self,
        credentials: pki.ServerCredentials,
        *,
        random_bytes: crypto.RandomSource,
        observer: Observer | None = None,
    ) -> None:
        if not credentials.signature_schemes:
            raise TLSUsageError("the server's key cannot sign toytls handshakes")
        fields_size = sum(FIELD_HEADER_LENGTH + len(der) for der in credentials.chain_der)
        if fields_size + FIELD_HEADER_LENGTH + LARGEST_SIGNATURE > MAX_RECORD_LENGTH:
            raise TLSUsageError("the certificate chain does not fit in one toytls record")
        super().__init__(
            ExpectClientHello(credentials), random_bytes=random_bytes, observer=observer
        )
