"""What a TLS 1.3 handshake state may do, what it returns, and the proof that opens Traffic.

A handshake state (server.py, client.py) is an object named for the message it
waits for.  It receives each message with a *narrow context*, the only powers
a state has over its connection:

    send            queue a handshake message (or a ChangeCipherSpec) under the current keys
    install keys    from now on, protect what we send / open what we receive with a secret
    log a secret    to SSLKEYLOGFILE and the observer, named after the ClientHello.random
    random, clock   the connection's sources (states never reach for their own)
    observe         report a message or a verification to the observer, if any

and it returns what it decided: the next state.  Everything a later state needs
(the transcript, the suite, the secrets) travels inside the state objects, not
in the connection; once the handshake is over they are dropped.

`Traffic` is the state after the handshake.  It can only be built from a
`FinishedVerified`, which only `verify_finished` makes, after the peer's
Finished matched our transcript (RFC 8446 section 4.4.4), as rustls's
verification "proof" values do: a connection cannot become established on a
path that skipped that check.

What this module must never do: hold per-connection data, or touch records and
keys itself (connection.py does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from ..api import Negotiated
from ..errors import AlertDescription, TLSError
from ..handshake_states import TRAFFIC
from . import key_schedule
from .enums import CipherSuiteParameters, HandshakeType
from .handshake_framing import HandshakeMessageBase

HandshakeInput = tuple[int, bytes, bytes]  # (msg_type, body, whole message with header)


class HandshakeContext(Protocol):
    """The powers a state has over its connection (connection.py implements them)."""

    random_bytes: Callable[[int], bytes]
    clock: Callable[[], float]

    def send_handshake(
        self, message: Any, raw: bytes | None = None, *, log_name: str | None = None
    ) -> bytes:
        """Queue a handshake message (`raw`: its encoding, when prepared.py kept it);
        return its bytes, which the state adds to its transcript."""
        ...

    def send_packed(self, message_class: type[HandshakeMessageBase], raw: bytes) -> bytes:
        """Queue a message packed from its fields, with no message object (hot paths);
        an observer sees it decoded from `raw`.  Returns `raw`."""
        ...

    def send_unrecorded_handshake(self, message: Any) -> bytes:
        """Queue a post-handshake message (NewSessionTicket): it is in no transcript."""
        ...

    def send_change_cipher_spec(self) -> None:
        """Appendix D.4: the dummy ChangeCipherSpec middleboxes expect."""
        ...

    def install_write_keys(
        self, parameters: CipherSuiteParameters, name: str, secret: bytes
    ) -> None: ...

    def install_read_keys(
        self, parameters: CipherSuiteParameters, name: str, secret: bytes
    ) -> None: ...

    @property
    def logs_secrets(self) -> bool:
        """True if someone receives secrets (a key log or an observer)."""
        ...

    def name_secrets_after(self, client_random: bytes) -> None:
        """The key log names this connection's secrets after the ClientHello.random."""
        ...

    def log_secret(self, name: str, secret: bytes) -> None: ...

    def skip_refused_early_data(self, budget: int, *, in_the_clear: bool) -> None:
        """0-RTT data we refused is dropped, up to `budget` bytes (RFC 8446 section 4.2.10)."""
        ...

    def agree(self, negotiated: Negotiated) -> None:
        """Report what was agreed before the handshake is over (for logs and traces)."""
        ...

    @property
    def is_observed(self) -> bool: ...

    def observe_received(self, name: str, message: object, raw: bytes) -> None: ...

    def observe_verified(self, name: str, detail: str) -> None: ...

    def observe_key_exchange(self, group: str, private_key: bytes, peer_share: bytes) -> None: ...


class HandshakeState(Protocol):
    """One step of the handshake: what this side waits for next."""

    name: ClassVar[str]
    expects: ClassVar[tuple[HandshakeType, ...]]

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        """Process one expected message; return the next state (a Traffic when done)."""
        ...


def unexpected(state_name: str, msg_type: int) -> TLSError:
    try:
        name = HandshakeType(msg_type).name
    except ValueError:
        name = f"handshake message type {msg_type}"
    return TLSError(
        f"{name} is not expected in state {state_name}", AlertDescription.unexpected_message
    )


# ---------------------------------------------------------------------------
# the proof that Finished was verified
# ---------------------------------------------------------------------------

_ONLY_VERIFY_FINISHED = object()


class FinishedVerified:
    """Proof that the peer's Finished matched our transcript; only verify_finished makes one."""

    __slots__ = ("transcript_hash",)

    def __init__(self, token: object, transcript_hash: bytes) -> None:
        if token is not _ONLY_VERIFY_FINISHED:
            raise TypeError("a FinishedVerified comes only from verify_finished()")
        # Transcript-Hash(... peer's Finished): the messages this proof covers.
        self.transcript_hash = transcript_hash


def verify_finished(
    parameters: CipherSuiteParameters,
    peer_handshake_secret: bytes,
    transcript_hash: bytes,
    verify_data: bytes,
    *,
    peer: str,
) -> FinishedVerified:
    """Check the peer's Finished (RFC 8446 section 4.4.4); the proof, or a TLSError."""
    if len(verify_data) != parameters.hash_length:
        # Finished carries exactly Hash.length bytes.
        raise TLSError(
            f"Finished is {len(verify_data)} bytes, not {parameters.hash_length}",
            AlertDescription.decode_error,
        )
    if not key_schedule.is_valid_finished(
        parameters.hash_name, peer_handshake_secret, transcript_hash, verify_data
    ):
        # A wrong Finished is a decrypt_error.
        raise TLSError(f"the {peer}'s Finished does not verify", AlertDescription.decrypt_error)
    return FinishedVerified(_ONLY_VERIFY_FINISHED, transcript_hash)


# ---------------------------------------------------------------------------
# after the handshake
# ---------------------------------------------------------------------------


class Traffic:
    """The handshake is over: application data both ways; KeyUpdate is the connection's.

    The connection handles KeyUpdate itself (it changes record keys); a role
    adds the other post-handshake messages it takes (the client: NewSessionTicket).
    """

    name: ClassVar[str] = TRAFFIC
    expects: ClassVar[tuple[HandshakeType, ...]] = ()

    def __init__(self, proof: FinishedVerified, negotiated: Negotiated) -> None:
        if not isinstance(proof, FinishedVerified):
            raise TypeError("Traffic needs the proof that Finished was verified")
        self.negotiated = negotiated

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        raise unexpected(self.name, message[0])
