"""What toytls client and server share: the record loop, the api.py contract, the final states.

What this module owns:
- `ToyConnection`, the base of ToyTLSServerConnection (server.py) and
  ToyTLSClientConnection (client.py): buffers, feeding records to the current
  state, and the tls/api.py contract (feed_wire_data, pop_pending_wire_data,
  read_plaintext, protect_application_data, close, the state properties).
- The states both roles end in: Traffic (application records) and Failed.

Each state is a small object named for what it waits for, in the naming
scheme TLS 1.3 shares (tls/handshake_states.py).  It handles one record
payload and returns the next state, so a state holds only what exists at
that point of the conversation:

    server:  ExpectClientHello --ClientHello--> Traffic
    client:  ExpectServerHello --ServerHello--> ExpectServerAuth --ServerAuth--> Traffic
    both:    Traffic --application record--> Traffic
             any state --TLSError--> Failed

(server.SERVER_TRANSITIONS and client.CLIENT_TRANSITIONS hold this diagram as
data; docs/state-machines.md is generated from them, and tests check the
code's transitions and docs/toytls.md against them.)

What it must never do:
- Touch a socket, the clock or a random source of its own: bytes arrive
  through feed_wire_data, randomness is the caller's `random_bytes`.
- Raise anything but `TLSError` for what the peer sends (`TLSUsageError` is
  for our own caller's mistakes).  toytls has no alerts, so a failure queues
  nothing: the caller simply closes the TCP connection.
- Know about TLS 1.3 (tls/tls13): the two protocols share only crypto.py and pki.py.

Observer events (built only when an observer is given) follow the schema of
tls/trace.py, shared with TLS 1.3: "record" (every record as on the wire,
with its plaintext), "message" (each handshake message), "secret" (the
shared secret and both write keys), "verified" (the chain, the signature),
"state" (each handshake transition, previous -> next).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from .. import crypto
from ..api import Negotiated, Observer
from ..errors import TLSError, TLSUsageError
from ..handshake_states import FAILED, TRAFFIC
from .record import (
    AEAD_ALGORITHM,
    MAX_PLAINTEXT_PER_RECORD,
    RecordOpener,
    RecordSealer,
    SessionKeys,
)
from .wire import MAX_RECORD_LENGTH, RecordBuffer, frame_record, received_record

PROTOCOL_NAME = "toytls"
KEY_EXCHANGE_GROUP = "x25519"


class State(Protocol):
    """One step of the conversation: what the connection waits for next."""

    name: ClassVar[str]

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        """Process one record payload; return the state that waits for the next record."""
        ...


def exchange(ephemeral: crypto.EphemeralKey, peer_public_key: bytes) -> bytes:
    """The X25519 shared secret; a malformed or low-order peer key is a TLSError."""
    try:
        return ephemeral.exchange(peer_public_key)
    except crypto.KeyExchangeError as error:
        raise TLSError(f"the peer's X25519 public key is unusable: {error}") from error


def signed_content(client_public_key: bytes, server_public_key: bytes) -> bytes:
    """What ServerAuth's signature covers: both ephemeral public keys, the client's first."""
    return client_public_key + server_public_key


def agreed(signature_scheme: str, server_name: str | None = None) -> Negotiated:
    """toytls has nothing to negotiate but the certificate's signature scheme."""
    return Negotiated(
        protocol=PROTOCOL_NAME,
        cipher_suite=AEAD_ALGORITHM,
        group=KEY_EXCHANGE_GROUP,
        server_name=server_name,
        signature_scheme=signature_scheme,
    )


class Traffic:
    """Handshake done: every record is encrypted application data."""

    name: ClassVar[str] = TRAFFIC

    def __init__(self, sealer: RecordSealer, opener: RecordOpener) -> None:
        self.sealer = sealer
        self.opener = opener

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        sequence = self.opener.next_sequence
        plaintext = self.opener.open_record(payload)
        connection.deliver_plaintext(plaintext)
        if connection.observer is not None:
            connection.observe_record("received", received_record(payload), plaintext, sequence)
        return self


class Failed:
    """The peer broke the protocol; nothing it sends is read any more."""

    name: ClassVar[str] = FAILED

    def __init__(self, error: TLSError) -> None:
        self.error = error

    def handle(self, connection: ToyConnection, payload: bytes) -> State:
        raise TLSError(f"the connection already failed: {self.error.reason}")


class ToyConnection:
    """The record loop and the tls/api.py contract; the states do the protocol work."""

    # The largest record this side accepts (wire.py says why client and server differ).
    max_received_record_length: ClassVar[int] = MAX_RECORD_LENGTH

    def __init__(
        self, state: State, *, random_bytes: crypto.RandomSource, observer: Observer | None
    ) -> None:
        self._state = state
        self.random_bytes = random_bytes
        self.observer = observer
        self._incoming = RecordBuffer(self.max_received_record_length)
        self._outgoing = bytearray()
        self._plaintext = bytearray()
        self._negotiated: Negotiated | None = None
        self._closed = False

    # -- the tls/api.py contract ----------------------------------------------

    def feed_wire_data(self, data: bytes) -> None:
        if isinstance(self._state, Failed):
            self._state.handle(self, b"")  # a failed connection refuses every later chunk
        try:
            self._incoming.feed(data)
            while (payload := self._incoming.next_record()) is not None:
                state = self._state
                self._state = state.handle(self, payload)
                if self.observer is not None and not isinstance(state, Traffic):
                    self._observe("state", previous=state.name, next=self._state.name)
        except TLSError as error:
            self._state = Failed(error)
            raise

    def pop_pending_wire_data(self) -> bytes:
        pending = bytes(self._outgoing)
        self._outgoing.clear()
        return pending

    def read_plaintext(self) -> bytes:
        plaintext = bytes(self._plaintext)
        self._plaintext.clear()
        return plaintext

    def protect_application_data(self, data: bytes) -> bytes:
        state = self._state
        if self._closed:
            raise TLSUsageError("close() was called: no more application data may be sent")
        if not isinstance(state, Traffic):
            raise TLSUsageError(f"cannot send application data in state {state.name}")
        records: list[bytes] = []
        view = memoryview(data)
        for start in range(0, len(view), MAX_PLAINTEXT_PER_RECORD):
            chunk = view[start : start + MAX_PLAINTEXT_PER_RECORD]
            sequence = state.sealer.next_sequence
            record = state.sealer.seal_record(chunk)
            records.append(record)
            if self.observer is not None:
                self.observe_record("sent", record, bytes(chunk), sequence)
        return b"".join(records)

    def close(self) -> None:
        # toytls has no close_notify (docs/toytls.md explains the truncation
        # attack this allows): closing only stops us sending.
        self._closed = True

    @property
    def is_established(self) -> bool:
        return isinstance(self._state, Traffic)

    @property
    def peer_closed(self) -> bool:
        # Without close_notify the peer can never say it has finished.
        return False

    @property
    def negotiated(self) -> Negotiated | None:
        return self._negotiated

    @property
    def state_name(self) -> str:
        """ExpectClientHello, ExpectServerHello, ExpectServerAuth, Traffic or Failed."""
        return self._state.name

    # -- what the states call ---------------------------------------------------

    def send_message(self, name: str, payload: bytes, fields: dict[str, Any]) -> None:
        """Queue one handshake message as a record."""
        record = frame_record(payload)
        self._outgoing += record
        if self.observer is not None:
            self._observe_handshake("sent", name, payload, record, fields)

    def deliver_plaintext(self, plaintext: bytes) -> None:
        self._plaintext += plaintext

    def agree(self, negotiated: Negotiated) -> None:
        self._negotiated = negotiated

    def observe_received(self, name: str, payload: bytes, fields: dict[str, Any]) -> None:
        if self.observer is not None:
            self._observe_handshake("received", name, payload, received_record(payload), fields)

    def observe_keys(self, shared_secret: bytes, keys: SessionKeys) -> None:
        if self.observer is not None:
            for name, value in (
                ("shared_secret", shared_secret),
                ("client_write_key", keys.client_write_key),
                ("server_write_key", keys.server_write_key),
            ):
                self._observe("secret", name=name, value=value)

    def observe_key_exchange(self, private_key: bytes, peer_share: bytes) -> None:
        """Our ephemeral private key, for a trace page (learning mode) and nothing else."""
        if self.observer is not None:
            self._observe(
                "key_exchange", group="x25519", private_key=private_key, peer_share=peer_share
            )

    def observe_verified(self, name: str, detail: str) -> None:
        if self.observer is not None:
            self._observe("verified", name=name, detail=detail)

    def observe_record(
        self, direction: str, record: bytes, plaintext: bytes, sequence: int
    ) -> None:
        self._observe(
            "record",
            direction=direction,
            content_type="application_data",
            raw=record,
            plaintext=plaintext,
            protected=True,
            sequence=sequence,
        )

    def _observe_handshake(
        self, direction: str, name: str, payload: bytes, record: bytes, fields: dict[str, Any]
    ) -> None:
        # A toytls handshake message is exactly one unprotected record.
        self._observe(
            "record",
            direction=direction,
            content_type="handshake",
            raw=record,
            plaintext=payload,
            protected=False,
        )
        self._observe("message", direction=direction, name=name, fields=fields, raw=payload)

    def _observe(self, kind: str, **fields: Any) -> None:
        assert self.observer is not None
        self.observer({"kind": kind, "protocol": PROTOCOL_NAME, **fields})
