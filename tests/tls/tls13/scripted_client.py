"""A scripted TLS 1.3 client for the server tests: it says exactly what a test tells it to.

What this module owns (tests only):
- `HelloOptions` and `ScriptedClient.client_hello`: ClientHellos built from
  the codec (messages.ClientHello, extensions.*), correct by default and
  wrong in exactly the way a test asks (an extension missing, a share for a
  group not offered, pre_shared_key not last, ...).  A ticket from an earlier
  connection becomes a pre_shared_key offer with a real binder.
- `ScriptedClient.receive`: follows the server's answer far enough to talk
  back: HelloRetryRequest, the key schedule, the server's Finished (checked),
  tickets, KeyUpdates, alerts and application data, decrypted with the
  project's own record layer (record.RecordProtection).
- Records to send: the ClientHello, the client Finished (right or wrong),
  protected records of any content type, 0-RTT records, KeyUpdate.

What it must never do: check the server's behaviour itself (the tests do
that), hide what it sends (every record is returned as bytes, the test feeds
it), or stand in for a real client: ssl.SSLObject is the real client.
It feeds the server only in `receive_from()` (feed, then take the answer)
and `handshake()`, the shortcut for tests that need an established connection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from tls_web_server.tls import crypto, pki, pki_verification
from tls_web_server.tls.api import Observer
from tls_web_server.tls.errors import AlertDescription, AlertLevel
from tls_web_server.tls.names import describe
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13 import key_schedule
from tls_web_server.tls.tls13.enums import (
    CIPHER_SUITE_PARAMETERS,
    LEGACY_VERSION,
    TLS13_VERSION,
    CipherSuite,
    CipherSuiteParameters,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.messages import (
    Certificate,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    HandshakeBuffer,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
)
from tls_web_server.tls.tls13.record import RecordProtection, RecordReader, encode_plaintext_record
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.tls13.transcript import Transcript

# Code points we do not implement, which a server must skip (RFC 8446 section 4.2.7, RFC 8701):
# secp521r1, named by RFC 8446 and left out here, and a GREASE value.
UNKNOWN_GROUP = 0x0019
GREASE_GROUP = 0x0A0A

ALL_CIPHER_SUITES = tuple(int(suite) for suite in CipherSuite)
DEFAULT_SIGNATURE_ALGORITHMS = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.ed25519,
    SignatureScheme.rsa_pss_rsae_sha384,
)

# The CertificateVerify context string of RFC 8446 section 4.4.3.
_SERVER_SIGNATURE_CONTEXT = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"


def plaintext_record(content_type: int, fragment: bytes) -> bytes:
    """One TLSPlaintext record, header written by hand so that any content may be framed."""
    return bytes((content_type, 3, 3)) + len(fragment).to_bytes(2, "big") + fragment


def alert_record(description: int, level: int = AlertLevel.fatal) -> bytes:
    """A plaintext alert record: what a server sends before it has keys."""
    return plaintext_record(ContentType.alert, bytes((level, description)))


def new_server(
    credentials: pki.ServerCredentials,
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
    clock: Callable[[], float] = time.time,
    ticket_key: TicketKey | None = None,
    keylog: Callable[[str], None] | None = None,
    observer: Observer | None = None,
    **settings: object,
) -> TLS13ServerConnection:
    """A server connection with a ticket key (a fresh one unless given) and any other settings."""
    key = ticket_key if ticket_key is not None else TicketKey.generate(os.urandom)
    server_settings = ServerSettings(credentials=credentials, ticket_key=key, **settings)  # type: ignore[arg-type]
    return TLS13ServerConnection(
        server_settings, random_bytes=random_bytes, clock=clock, keylog=keylog, observer=observer
    )


@dataclass(frozen=True)
class ReceivedTicket:
    """A NewSessionTicket and the resumption PSK it stands for (RFC 8446 section 4.6.1)."""

    ticket: bytes
    psk: bytes
    cipher_suite: CipherSuite
    ticket_age_add: int
    ticket_lifetime: int


@dataclass(frozen=True)
class HelloOptions:
    """What goes into a ClientHello.  None for an extension means "leave it out"."""

    cipher_suites: tuple[int, ...] = ALL_CIPHER_SUITES
    supported_groups: tuple[int, ...] | None = (
        NamedGroup.x25519,
        NamedGroup.secp256r1,
        NamedGroup.secp384r1,
    )
    # Groups to send a real key share for (unknown groups get random bytes).
    key_share_groups: tuple[int, ...] | None = (NamedGroup.x25519,)
    # Explicit shares, sent as they are instead of key_share_groups (for broken ones).
    key_shares: tuple[KeyShareEntry, ...] | None = None
    signature_algorithms: tuple[int, ...] | None = DEFAULT_SIGNATURE_ALGORITHMS
    server_name: str | None = "localhost"
    alpn: tuple[bytes, ...] | None = (b"http/1.1",)
    supported_versions: tuple[int, ...] | None = (TLS13_VERSION, LEGACY_VERSION)
    psk_modes: tuple[int, ...] | None = (PskKeyExchangeMode.psk_dhe_ke,)
    ticket: ReceivedTicket | None = None
    early_data: bool = False
    extra_extensions: tuple[Extension, ...] = ()
    compression_methods: bytes = b"\x00"
    legacy_session_id: bytes | None = None  # None: the client's own 32 random bytes
    random: bytes | None = None  # None: the client's own random


def _server_public_key(
    chain: list[bytes], roots: tuple[pki.Certificate, ...], server_name: str, now: float
) -> crypto.PublicKey:
    """The leaf's key of a chain our verifier accepts.

    An Ed25519 chain, which our clients refuse (pki_verification.py) but
    OpenSSL and curl accept, gives its leaf's key unverified: the server tests
    still check every signature the server makes with it.
    """
    try:
        return pki_verification.verify_chain(chain, roots, server_name, now).leaf_public_key
    except pki.ChainError as error:
        if error.alert is not AlertDescription.unsupported_certificate or "Ed25519" not in str(
            error
        ):
            raise
        return pki_verification.read_client_leaf(chain[0]).public_key


class ScriptedClient:
    """One client connection, driven step by step by a test."""

    def __init__(
        self,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
        roots: tuple[pki.Certificate, ...] | None = None,
        now: float | None = None,
    ) -> None:
        self.random_bytes = random_bytes
        self.random = random_bytes(32)
        self.session_id = random_bytes(32)
        self.roots = roots  # when given, the server's chain and signature are checked
        self.now = now
        self.transcript = Transcript()
        self.options = HelloOptions()
        self.private_keys: dict[int, crypto.ClientKeyShare] = {}
        self.parameters: CipherSuiteParameters | None = None
        self.first_hello_raw = b""
        self._records = RecordReader()
        self._handshake_buffer = HandshakeBuffer(1 << 24)
        self.read: RecordProtection | None = None
        self.write: RecordProtection | None = None
        # What the server sent, in order.
        self.messages: list[object] = []
        self.hello_retry_request: ServerHello | None = None
        self.server_hello: ServerHello | None = None
        self.encrypted_extensions: EncryptedExtensions | None = None
        self.certificate: Certificate | None = None
        self.change_cipher_specs = 0
        self.alerts: list[tuple[int, int]] = []
        self.protected_alerts: list[bool] = []  # for each alert: did it come encrypted?
        self.tickets: list[ReceivedTicket] = []
        self.key_updates: list[KeyUpdateRequest] = []
        self.application_data = bytearray()
        self.server_finished_verified = False
        self.resumed = False
        # Key schedule state, filled in as the handshake goes.
        self._client_handshake_secret = b""
        self._server_handshake_secret = b""
        self._client_application_secret = b""
        self._master: key_schedule.MasterSecret | None = None
        self.client_finished_verify_data = b""
        self._resumption_master_secret = b""

    # ----------------------------------------------------------- ClientHello

    def client_hello(self, options: HelloOptions | None = None, **changes: object) -> ClientHello:
        """A ClientHello from `options` (default: the last ones used) with `changes` applied."""
        chosen = dataclasses.replace(options or self.options, **changes)  # type: ignore[arg-type]
        self.options = chosen
        extensions: list[Extension] = []
        if chosen.server_name is not None:
            extensions.append(
                Extension(ExtensionType.server_name, ext.encode_server_name(chosen.server_name))
            )
        if chosen.supported_groups is not None:
            extensions.append(
                Extension(
                    ExtensionType.supported_groups,
                    ext.encode_supported_groups(chosen.supported_groups),
                )
            )
        if chosen.signature_algorithms is not None:
            extensions.append(
                Extension(
                    ExtensionType.signature_algorithms,
                    ext.encode_signature_algorithms(chosen.signature_algorithms),
                )
            )
        if chosen.alpn is not None:
            extensions.append(
                Extension(
                    ExtensionType.application_layer_protocol_negotiation,
                    ext.encode_application_protocols(chosen.alpn),
                )
            )
        if chosen.supported_versions is not None:
            extensions.append(
                Extension(
                    ExtensionType.supported_versions,
                    ext.encode_client_supported_versions(chosen.supported_versions),
                )
            )
        if chosen.psk_modes is not None:
            extensions.append(
                Extension(
                    ExtensionType.psk_key_exchange_modes,
                    ext.encode_psk_key_exchange_modes(chosen.psk_modes),
                )
            )
        shares = chosen.key_shares
        if shares is None and chosen.key_share_groups is not None:
            shares = tuple(self._key_share(group) for group in chosen.key_share_groups)
        if shares is not None:
            extensions.append(
                Extension(ExtensionType.key_share, ext.encode_client_key_shares(shares))
            )
        extensions.extend(chosen.extra_extensions)
        if chosen.early_data:
            extensions.append(Extension(ExtensionType.early_data, ext.encode_empty()))
        ticket = chosen.ticket
        if ticket is not None:
            hash_length = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite].hash_length
            offer = ext.OfferedPsks(
                (ext.PskIdentity(ticket.ticket, ticket.ticket_age_add),),
                (bytes(hash_length),),  # a placeholder of the right length (section 4.2.11.2)
            )
            extensions.append(
                Extension(ExtensionType.pre_shared_key, ext.encode_offered_psks(offer))
            )
        session_id = chosen.legacy_session_id
        hello = ClientHello(
            LEGACY_VERSION,
            chosen.random if chosen.random is not None else self.random,
            session_id if session_id is not None else self.session_id,
            chosen.cipher_suites,
            chosen.compression_methods,
            tuple(extensions),
        )
        if ticket is not None:
            hello = hello.with_psk_binders((self._binder(hello, ticket),))
        return hello

    def _key_share(self, group: int) -> KeyShareEntry:
        name = describe(NamedGroup, group)
        if name not in crypto.KEY_EXCHANGE_GROUPS:
            # A group we cannot compute (GREASE, secp521r1): bytes of a plausible
            # size (a secp521r1 point is 133 bytes).
            size = 133 if group == UNKNOWN_GROUP else 32
            return KeyShareEntry(group, self.random_bytes(size))
        key = crypto.client_key_share(name, self.random_bytes)  # hybrid groups too
        self.private_keys[group] = key
        return KeyShareEntry(group, key.public_bytes)

    def _binder(self, hello: ClientHello, ticket: ReceivedTicket) -> bytes:
        """Section 4.2.11.2: an HMAC over the transcript up to the binders."""
        hash_name = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite].hash_name
        offered = ext.decode_offered_psks(hello.extensions[-1].data)
        partial = hello.encode()[: -offered.binders_length]
        if self.transcript.hash_name is None:
            # The first ClientHello: nothing precedes it in the transcript.
            partial_hash = hashlib.new(hash_name, partial).digest()
        else:
            partial_hash = self.transcript.digest_with(partial)
        binder_key = key_schedule.EarlySecret(hash_name, ticket.psk).binder_key(resumption=True)
        return key_schedule.finished_verify_data(hash_name, binder_key, partial_hash)

    def hello_record(self, hello: ClientHello, *, record_version: int = 0x0301) -> bytes:
        """The record carrying `hello`; the hello enters the client's transcript."""
        raw = hello.encode()
        self.transcript.add(raw)
        if not self.first_hello_raw:
            self.first_hello_raw = raw
        return encode_plaintext_record(ContentType.handshake, raw, record_version)

    def early_data_record(self, data: bytes) -> bytes:
        """A 0-RTT record under client_early_traffic_secret (section 4.2.10)."""
        ticket = self.options.ticket
        if ticket is None:
            raise ValueError("0-RTT data needs a ticket")
        parameters = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite]
        hello_hash = hashlib.new(parameters.hash_name, self.first_hello_raw).digest()
        early = key_schedule.EarlySecret(parameters.hash_name, ticket.psk)
        protection = RecordProtection(parameters, early.client_early_traffic_secret(hello_hash))
        return protection.seal(ContentType.application_data, data)

    # ---------------------------------------------------------- the server's answer

    def receive(self, data: bytes) -> None:
        """Process everything the server sent; results land in the attributes above."""
        self._records.feed(data)
        while (record := self._records.next_record()) is not None:
            content_type, header, fragment = record
            if content_type == ContentType.change_cipher_spec:
                self.change_cipher_specs += 1
                continue
            protected = content_type == ContentType.application_data
            if protected:
                if self.read is None:
                    raise AssertionError("a protected record before the client has keys")
                content_type, fragment = self.read.open(fragment, header)
            if content_type == ContentType.alert:
                self.alerts.append((fragment[0], fragment[1]))
                self.protected_alerts.append(protected)
            elif content_type == ContentType.application_data:
                self.application_data += fragment
            elif content_type == ContentType.handshake:
                self._handshake_buffer.feed(fragment)
                while (message := self._handshake_buffer.next_message()) is not None:
                    self._handle_message(*message)
            else:
                raise AssertionError(f"record of type {content_type} from the server")

    def _handle_message(self, msg_type: int, body: bytes, raw: bytes) -> None:
        if msg_type == HandshakeType.server_hello:
            self._on_server_hello(ServerHello.decode(body), raw)
        elif msg_type == HandshakeType.encrypted_extensions:
            self.encrypted_extensions = EncryptedExtensions.decode(body)
            self.messages.append(self.encrypted_extensions)
            self.transcript.add(raw)
        elif msg_type == HandshakeType.certificate:
            self.certificate = Certificate.decode(body)
            self.messages.append(self.certificate)
            self.transcript.add(raw)
        elif msg_type == HandshakeType.certificate_verify:
            self._on_certificate_verify(CertificateVerify.decode(body), raw)
        elif msg_type == HandshakeType.finished:
            self._on_server_finished(Finished.decode(body), raw)
        elif msg_type == HandshakeType.new_session_ticket:
            self._on_ticket(NewSessionTicket.decode(body))
        elif msg_type == HandshakeType.key_update:
            self._on_key_update(KeyUpdate.decode(body))
        else:
            raise AssertionError(f"handshake message {msg_type} from the server")

    def _on_server_hello(self, hello: ServerHello, raw: bytes) -> None:
        self.messages.append(hello)
        parameters = CIPHER_SUITE_PARAMETERS[CipherSuite(hello.cipher_suite)]
        self.parameters = parameters
        if hello.is_hello_retry_request:
            self.hello_retry_request = hello
            self.transcript.set_hash(parameters.hash_name)
            self.transcript.replace_first_client_hello_with_message_hash()
            self.transcript.add(raw)
            return
        self.server_hello = hello
        if self.transcript.hash_name is None:
            self.transcript.set_hash(parameters.hash_name)
        self.transcript.add(raw)
        key_share = hello.extension(ExtensionType.key_share)
        if key_share is None:
            raise AssertionError("a ServerHello without key_share")
        share = ext.decode_server_key_share(key_share)
        shared_secret = self.private_keys[share.group].exchange(share.key_exchange)
        psk = None
        selected = hello.extension(ExtensionType.pre_shared_key)
        if selected is not None:
            ticket = self.options.ticket
            if ticket is None or ext.decode_selected_identity(selected) != 0:
                raise AssertionError("the server selected a PSK we did not offer")
            psk = ticket.psk
            self.resumed = True
        early = key_schedule.EarlySecret(parameters.hash_name, psk)
        handshake_secret = early.handshake_secret(shared_secret)
        hello_hash = self.transcript.digest()
        self._client_handshake_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
        self._server_handshake_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
        self._master = handshake_secret.master_secret()
        self.read = RecordProtection(parameters, self._server_handshake_secret)
        self.write = RecordProtection(parameters, self._client_handshake_secret)

    def _on_certificate_verify(self, verify: CertificateVerify, raw: bytes) -> None:
        self.messages.append(verify)
        if self.roots is not None and self.certificate is not None and self.now is not None:
            chain = [entry.cert_data for entry in self.certificate.entries]
            public_key = _server_public_key(
                chain, self.roots, self.options.server_name or "localhost", self.now
            )
            signed = _SERVER_SIGNATURE_CONTEXT + self.transcript.digest()
            scheme = SignatureScheme(verify.algorithm).name
            if not crypto.verify_signature(public_key, scheme, verify.signature, signed):
                raise AssertionError("the server's CertificateVerify does not verify")
        self.transcript.add(raw)

    def _on_server_finished(self, finished: Finished, raw: bytes) -> None:
        self.messages.append(finished)
        parameters = self.parameters
        assert parameters is not None and self._master is not None
        hash_name = parameters.hash_name
        self.server_finished_verified = key_schedule.is_valid_finished(
            hash_name, self._server_handshake_secret, self.transcript.digest(), finished.verify_data
        )
        self.transcript.add(raw)
        finished_hash = self.transcript.digest()
        self._client_application_secret = self._master.client_application_traffic_secret(
            finished_hash
        )
        server_application_secret = self._master.server_application_traffic_secret(finished_hash)
        self.read = RecordProtection(parameters, server_application_secret)
        self.client_finished_verify_data = key_schedule.finished_verify_data(
            hash_name, self._client_handshake_secret, finished_hash
        )

    def _on_ticket(self, ticket: NewSessionTicket) -> None:
        self.messages.append(ticket)
        parameters = self.parameters
        assert parameters is not None
        psk = key_schedule.resumption_psk(
            parameters.hash_name, self._resumption_master_secret, ticket.ticket_nonce
        )
        self.tickets.append(
            ReceivedTicket(
                ticket.ticket,
                psk,
                parameters.suite,
                ticket.ticket_age_add,
                ticket.ticket_lifetime,
            )
        )

    def _on_key_update(self, key_update: KeyUpdate) -> None:
        self.messages.append(key_update)
        self.key_updates.append(key_update.request_update)
        read = self.read
        assert read is not None and self.parameters is not None
        next_secret = key_schedule.next_application_traffic_secret(
            self.parameters.hash_name, read.traffic_secret
        )
        self.read = RecordProtection(self.parameters, next_secret)

    # -------------------------------------------------------- records to send

    def finished_record(self, verify_data: bytes | None = None) -> bytes:
        """The client Finished (the right one unless `verify_data` is given); then app keys."""
        if self.write is None or self.parameters is None or self._master is None:
            raise AssertionError("no handshake keys yet")
        finished = Finished(
            self.client_finished_verify_data if verify_data is None else verify_data
        )
        raw = finished.encode()
        record = self.write.seal(ContentType.handshake, raw)
        self.transcript.add(raw)
        self._resumption_master_secret = self._master.resumption_master_secret(
            self.transcript.digest()
        )
        self.write = RecordProtection(self.parameters, self._client_application_secret)
        return record

    def protected_record(self, content_type: int, content: bytes, padding: int = 0) -> bytes:
        """A record under the client's current write keys (handshake or application)."""
        if self.write is None:
            raise AssertionError("no write keys yet")
        return self.write.seal(content_type, content, padding)

    def application_data_record(self, data: bytes) -> bytes:
        return self.protected_record(ContentType.application_data, data)

    def key_update_record(self, request: KeyUpdateRequest) -> bytes:
        """A KeyUpdate under the current keys; the client then writes with the next ones."""
        write = self.write
        if write is None or self.parameters is None:
            raise AssertionError("no write keys yet")
        record = write.seal(ContentType.handshake, KeyUpdate(request).encode())
        next_secret = key_schedule.next_application_traffic_secret(
            self.parameters.hash_name, write.traffic_secret
        )
        self.write = RecordProtection(self.parameters, next_secret)
        return record

    # ------------------------------------------------------------ shortcut

    def handshake(self, server: TLS13ServerConnection, **changes: object) -> None:
        """A whole handshake (with a HelloRetryRequest if the server asks): hello to tickets."""
        self.receive_from(server, self.hello_record(self.client_hello(**changes)))
        retry = self.hello_retry_request
        if retry is not None and self.server_hello is None:
            selected_group = ext.decode_hello_retry_key_share(
                retry.extension(ExtensionType.key_share) or b""
            )
            second = self.client_hello(key_share_groups=(selected_group,), early_data=False)
            self.receive_from(server, self.hello_record(second))
        if not self.server_finished_verified:
            raise AssertionError("the server's Finished did not arrive or did not verify")
        self.receive_from(server, self.finished_record())

    def receive_from(self, server: TLS13ServerConnection, data: bytes) -> None:
        """Feed `data` to the server and take in whatever it answers."""
        server.feed_wire_data(data)
        self.receive(server.pop_pending_wire_data())
