"""Flight surgery: a real server's flight taken apart, one message changed, and sealed again.

The client tests need servers that misbehave in exactly one way: a ServerHello
naming a suite we never offered, an EncryptedExtensions carrying an extension
we never asked for, a CertificateVerify whose signature was touched.  Writing
such servers by hand would mean a second TLS implementation in the tests.
Instead a real TLS13ServerConnection answers the client's hello, and its flight
is operated on:

    client hello ──► TLS13ServerConnection ──► records
                                                  │ keylog callback: SERVER_HANDSHAKE_TRAFFIC_SECRET
                                                  ▼
    ServerFlight: clear messages (ServerHello or HelloRetryRequest), [CCS],
                  protected messages (EncryptedExtensions ... Finished), opened
                  with the project's record layer (record.RecordProtection)
                                                  │ a test replaces, inserts or removes messages
                                                  ▼
    ServerFlight.wire(): clear records, CCS, protected records sealed again under
                  the same secret (a fresh RecordProtection starts at sequence 0,
                  as the server's did)   ──► fed to the client by the test

`reauthenticated()` re-signs CertificateVerify and recomputes Finished over
the edited transcript, with the server's own key, so a test can also show
that an edit the client must accept (an extra CertificateRequest, a known
extension) is accepted.

What this module owns (tests only): capturing secrets from keylog lines,
splitting a server's output into messages, editing and resealing them, and
the small helpers the client tests share (deterministic randomness, a
client built from a demo PKI, pumping bytes between two TLS objects, reading
the alert a client sent).

What it must never do: decide what the client should do (the tests assert
that), feed the client on its own, or build a handshake message other than
through the project's codecs (messages.py, extensions.py).
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tls_web_server.tls import crypto, pki
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import key_schedule
from tls_web_server.tls.tls13.client import ClientSettings, TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.enums import (
    CIPHER_SUITE_PARAMETERS,
    CipherSuite,
    CipherSuiteParameters,
    ContentType,
    HandshakeType,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension
from tls_web_server.tls.tls13.messages import (
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    HandshakeBuffer,
    ServerHello,
)
from tls_web_server.tls.tls13.record import (
    MAX_PLAINTEXT_LENGTH,
    RecordProtection,
    RecordReader,
    encode_plaintext_record,
)
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.tls13.transcript import Transcript

if TYPE_CHECKING:
    from tests.tls.conftest import DemoPki

# RFC 8446 section 4.4.3: what the server's CertificateVerify signature covers.
SERVER_SIGNATURE_CONTEXT = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"

# Large enough for any flight of the demo chains, far below any real limit.
_MESSAGE_LIMIT = 1 << 20


# ---------------------------------------------------------------------------
# shared helpers for the client tests
# ---------------------------------------------------------------------------


def seeded_random(seed: int) -> Callable[[int], bytes]:
    """Repeatable "randomness": two clients built with the same seed send the same hello."""
    return random.Random(seed).randbytes


def new_client(
    demo: DemoPki,
    *,
    server_name: str = "localhost",
    clock: Callable[[], float] | None = None,
    random_bytes: Callable[[int], bytes] = os.urandom,
    roots: tuple[pki.Certificate, ...] | None = None,
    tickets: TicketStore | None = None,
    observer: Callable[[object], None] | None = None,
    **settings: object,
) -> TLS13ClientConnection:
    """Our client trusting `demo`'s root, at the moment `demo` was made (unless told otherwise)."""
    client_settings = ClientSettings(
        trusted_roots=demo.roots if roots is None else roots,
        tickets=tickets,
        **settings,  # type: ignore[arg-type]
    )
    return TLS13ClientConnection(
        server_name,
        client_settings,
        random_bytes=random_bytes,
        clock=clock or (lambda: demo.now),
        observer=observer,
    )


def new_server(
    demo: DemoPki,
    *,
    keylog: Callable[[str], None] | None = None,
    ticket_key: TicketKey | None = None,
    **settings: object,
) -> TLS13ServerConnection:
    """Our server with `demo`'s chain, issuing tickets (with a fresh key unless given one)."""
    server_settings = ServerSettings(
        credentials=demo.credentials,
        ticket_key=ticket_key or TicketKey.generate(os.urandom),
        **settings,  # type: ignore[arg-type]
    )
    return TLS13ServerConnection(
        server_settings, random_bytes=os.urandom, clock=lambda: demo.now, keylog=keylog
    )


class WirePeer(Protocol):
    """The two members of the tls/api.py contract that carry bytes (Python's ssl fits too)."""

    def feed_wire_data(self, data: bytes) -> None: ...

    def pop_pending_wire_data(self) -> bytes: ...


def pump(client: WirePeer, server: WirePeer, rounds: int = 6) -> None:
    """Carry bytes both ways until neither side has anything left to say."""
    for _ in range(rounds):
        to_server = client.pop_pending_wire_data()
        if to_server:
            server.feed_wire_data(to_server)
        to_client = server.pop_pending_wire_data()
        if to_client:
            client.feed_wire_data(to_client)
        if not to_server and not to_client:
            return


def clear_alert(wire: bytes) -> AlertDescription:
    """The alert in a client's output sent before it had write keys (so in clear)."""
    reader = RecordReader()
    reader.feed(wire)
    alerts = []
    while (record := reader.next_record()) is not None:
        if record.content_type == ContentType.alert:
            alerts.append(AlertDescription(record.fragment[1]))
    if len(alerts) != 1:
        raise AssertionError(f"expected one clear alert record, found {alerts} in {wire.hex()}")
    return alerts[0]


# ---------------------------------------------------------------------------
# the flight
# ---------------------------------------------------------------------------


class SecretLog:
    """A keylog callback keeping each secret by its NSS label (keylog.py writes the lines)."""

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}

    def __call__(self, line: str) -> None:
        label, _client_random, secret = line.split()
        self.secrets[label] = bytes.fromhex(secret)


@dataclass(frozen=True)
class ServerFlight:
    """One server flight as whole handshake messages (4-byte headers included)."""

    client_hello: bytes  # the hello it answers, for reauthenticated()
    clear: tuple[bytes, ...]  # ServerHello or HelloRetryRequest
    change_cipher_spec: bool
    protected: tuple[bytes, ...]  # EncryptedExtensions ... Finished, under handshake keys
    parameters: CipherSuiteParameters | None  # None when nothing is protected (an HRR flight)
    server_handshake_secret: bytes | None

    @property
    def message_types(self) -> tuple[int, ...]:
        return tuple(raw[0] for raw in (*self.clear, *self.protected))

    def message(self, msg_type: HandshakeType) -> bytes:
        """The first message of that type, whole."""
        for raw in (*self.clear, *self.protected):
            if raw[0] == msg_type:
                return raw
        raise KeyError(f"no {msg_type.name} in this flight")

    def replaced(self, msg_type: HandshakeType, new_raw: bytes) -> ServerFlight:
        """The flight with the first message of `msg_type` replaced by `new_raw`."""
        self.message(msg_type)  # KeyError if absent: a test asking for nothing is a test bug

        def swap(messages: tuple[bytes, ...]) -> tuple[bytes, ...]:
            return tuple(new_raw if raw[0] == msg_type else raw for raw in messages)

        return dataclasses.replace(self, clear=swap(self.clear), protected=swap(self.protected))

    def with_protected(self, messages: Iterable[bytes]) -> ServerFlight:
        return dataclasses.replace(self, protected=tuple(messages))

    def without(self, msg_type: HandshakeType) -> ServerFlight:
        return self.with_protected(raw for raw in self.protected if raw[0] != msg_type)

    def inserted_before(self, msg_type: HandshakeType, new_raw: bytes) -> ServerFlight:
        messages: list[bytes] = []
        for raw in self.protected:
            if raw[0] == msg_type:
                messages.append(new_raw)
            messages.append(raw)
        return self.with_protected(messages)

    def wire(self) -> bytes:
        """The flight as records again: clear hello, CCS, one sealed run of protected messages."""
        parts = []
        if self.clear:
            parts.append(encode_plaintext_record(ContentType.handshake, b"".join(self.clear)))
        if self.change_cipher_spec:
            parts.append(encode_plaintext_record(ContentType.change_cipher_spec, b"\x01"))
        if self.protected:
            if self.parameters is None or self.server_handshake_secret is None:
                raise ValueError("a flight without handshake keys cannot carry protected messages")
            protection = RecordProtection(self.parameters, self.server_handshake_secret)
            data = b"".join(self.protected)
            for start in range(0, len(data), MAX_PLAINTEXT_LENGTH):
                chunk = data[start : start + MAX_PLAINTEXT_LENGTH]
                parts.append(protection.seal(ContentType.handshake, chunk))
        return b"".join(parts)

    def reauthenticated(self, private_key: crypto.PrivateKey) -> ServerFlight:
        """CertificateVerify re-signed and Finished recomputed over the edited transcript.

        Only for a flight answering a first ClientHello (no HelloRetryRequest):
        the transcript is that hello, the clear messages, then the protected ones.
        """
        if self.parameters is None or self.server_handshake_secret is None:
            raise ValueError("only a flight with handshake keys can be re-authenticated")
        hash_name = self.parameters.hash_name
        transcript = Transcript(hash_name)
        for raw in (self.client_hello, *self.clear):
            transcript.add(raw)
        messages = []
        for raw in self.protected:
            if raw[0] == HandshakeType.certificate_verify:
                scheme = SignatureScheme(CertificateVerify.decode(raw[4:]).algorithm)
                content = SERVER_SIGNATURE_CONTEXT + transcript.digest()
                signature = crypto.sign(private_key, scheme.name, content)
                raw = CertificateVerify(scheme, signature).encode()
            elif raw[0] == HandshakeType.finished:
                verify_data = key_schedule.finished_verify_data(
                    hash_name, self.server_handshake_secret, transcript.digest()
                )
                raw = Finished(verify_data).encode()
            transcript.add(raw)
            messages.append(raw)
        return self.with_protected(messages)


class ObservedServer:
    """A real TLS13ServerConnection whose flights come back as ServerFlight objects."""

    def __init__(self, demo: DemoPki, **settings: object) -> None:
        self.secrets = SecretLog()
        # The tests edit the Certificate message by message: sent plain unless a
        # test asks for the CompressedCertificate our client would get (RFC 8879).
        settings.setdefault("certificate_compression", False)
        self.connection = new_server(demo, keylog=self.secrets, **settings)

    def answer(self, client_wire: bytes) -> ServerFlight:
        """Feed the client's bytes (clear hello records) and take the server's answer apart."""
        self.connection.feed_wire_data(client_wire)
        return split_flight(
            clear_messages(client_wire)[-1],
            self.connection.pop_pending_wire_data(),
            self.secrets.secrets.get("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        )


def client_hellos(wire: bytes) -> list[ClientHello]:
    """The ClientHellos in a client's clear output."""
    return [ClientHello.decode(raw[4:]) for raw in clear_messages(wire)]


def clear_messages(wire: bytes) -> list[bytes]:
    """The handshake messages in a run of clear records (CCS and alerts skipped)."""
    reader = RecordReader()
    reader.feed(wire)
    buffer = HandshakeBuffer(_MESSAGE_LIMIT)
    while (record := reader.next_record()) is not None:
        if record.content_type == ContentType.handshake:
            buffer.feed(record.fragment)
    messages = []
    while (message := buffer.next_message()) is not None:
        messages.append(message[2])
    return messages


def split_flight(client_hello: bytes, wire: bytes, server_secret: bytes | None) -> ServerFlight:
    """A server's output as messages: clear ones, whether a CCS came, protected ones opened."""
    reader = RecordReader()
    reader.feed(wire)
    clear_buffer = HandshakeBuffer(_MESSAGE_LIMIT)
    protected_buffer = HandshakeBuffer(_MESSAGE_LIMIT)
    clear: list[bytes] = []
    protected: list[bytes] = []
    change_cipher_spec = False
    protection: RecordProtection | None = None
    parameters: CipherSuiteParameters | None = None
    while (record := reader.next_record()) is not None:
        if record.content_type == ContentType.change_cipher_spec:
            change_cipher_spec = True
        elif record.content_type == ContentType.handshake:
            clear_buffer.feed(record.fragment)
            clear += _messages(clear_buffer)
        elif record.content_type == ContentType.application_data:
            if protection is None:
                # The keys follow from the ServerHello's suite and the logged secret.
                server_hello = ServerHello.decode(clear[-1][4:])
                parameters = CIPHER_SUITE_PARAMETERS[CipherSuite(server_hello.cipher_suite)]
                if server_secret is None:
                    raise AssertionError("protected records but no server handshake secret logged")
                protection = RecordProtection(parameters, server_secret)
            inner_type, content = protection.open(record.fragment, record.header)
            if inner_type != ContentType.handshake:
                raise AssertionError(f"inner content type {inner_type} in the server's flight")
            protected_buffer.feed(content)
            protected += _messages(protected_buffer)
        else:
            raise AssertionError(f"record type {record.content_type} in the server's flight")
    return ServerFlight(
        client_hello=client_hello,
        clear=tuple(clear),
        change_cipher_spec=change_cipher_spec,
        protected=tuple(protected),
        parameters=parameters,
        server_handshake_secret=server_secret if protection is not None else None,
    )


def _messages(buffer: HandshakeBuffer) -> Iterator[bytes]:
    """The whole messages complete so far (HandshakeBuffer returns each one once)."""
    while (message := buffer.next_message()) is not None:
        yield message[2]


# ---------------------------------------------------------------------------
# editing single messages
# ---------------------------------------------------------------------------


def edit_server_hello(raw: bytes, **changes: object) -> bytes:
    """A ServerHello (or HelloRetryRequest) with some fields changed, encoded again."""
    return dataclasses.replace(ServerHello.decode(raw[4:]), **changes).encode()  # type: ignore[arg-type]


def server_hello_extensions(raw: bytes) -> tuple[Extension, ...]:
    return ServerHello.decode(raw[4:]).extensions


def with_extension(extensions: Iterable[Extension], extension: Extension) -> tuple[Extension, ...]:
    """The extensions with `extension` replacing one of its type, or appended."""
    kept = [existing for existing in extensions if existing.type != extension.type]
    return (*kept, extension)


def without_extension(
    extensions: Iterable[Extension], extension_type: int
) -> tuple[Extension, ...]:
    return tuple(extension for extension in extensions if extension.type != extension_type)


def encrypted_extensions(raw: bytes) -> tuple[Extension, ...]:
    return EncryptedExtensions.decode(raw[4:]).extensions


# ---------------------------------------------------------------------------
# the two steps of every error test
# ---------------------------------------------------------------------------


def answered(
    demo: DemoPki, *, server_settings: dict[str, Any] | None = None, **client_options: Any
) -> tuple[TLS13ClientConnection, ObservedServer, ServerFlight]:
    """A fresh client, our server, and the server's first flight answering the client's hello."""
    client = new_client(demo, **client_options)
    server = ObservedServer(demo, **(server_settings or {}))
    return client, server, server.answer(client.pop_pending_wire_data())


def refused(client: TLS13ClientConnection, wire: bytes, alert: AlertDescription) -> TLSError:
    """Feed `wire`; the client must fail with `alert` and have queued exactly that alert."""
    with pytest.raises(TLSError) as caught:
        client.feed_wire_data(wire)
    error = caught.value
    assert error.alert is alert, error
    assert clear_alert(client.pop_pending_wire_data()) is alert
    assert not client.is_established
    return error
