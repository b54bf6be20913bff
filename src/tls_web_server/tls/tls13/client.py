"""The TLS 1.3 client handshake (RFC 8446 section 4), small enough to read in one sitting.

    ExpectServerHello ──HelloRetryRequest──► (second ClientHello) ──► ExpectServerHello
          │ ServerHello: keys change
          ▼
    ExpectEncryptedExtensions ──(resumed)──────────────────────────────┐
          │                                                            │
          ▼                                                            │
    ExpectCertificate ──CertificateRequest──► ExpectCertificate        │
          │ Certificate: the chain is verified                         │
          ▼                                                            │
    ExpectCertificateVerify: the signature over the transcript         │
          │                                                            ▼
          └────────────────────────────────────────────────────► ExpectFinished
                        (we send [Certificate], Finished) ──► Traffic

CLIENT_TRANSITIONS holds this diagram as data.  Verification results are
handed forward: ExpectCertificateVerify can only be reached with the key of
a chain that verified, and ExpectFinished only after the signature (or the
PSK) authenticated the server.

What this module owns: the ClientHello we send, checking every server choice
against what we offered, certificate and signature verification (pki.py and
crypto.py do the work), and keeping tickets for resumption.

What it must never do: accept a server that skipped authentication, a
parameter we did not offer, or read the clock and randomness except through
the connection's `clock` and `random_bytes`.  Failures are TLSErrors whose
reason a learner understands ("server signature over the transcript is
invalid"), carrying the alert that went to the server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from .. import crypto, pki
from ..api import Negotiated, Observer
from ..errors import AlertDescription, TLSError
from ..names import describe
from . import extensions as ext
from . import key_schedule
from .connection import HandshakeInput, TLS13Connection, check_finished_length
from .enums import (
    CIPHER_SUITE_PARAMETERS,
    LEGACY_VERSION,
    TLS13_VERSION,
    CipherSuite,
    CipherSuiteParameters,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .extensions import Extension
from .messages import (
    SERVER_SIGNATURE_CONTEXT,
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    NewSessionTicket,
    ServerHello,
)
from .transcript import Transcript

DEFAULT_CIPHER_SUITES = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)
DEFAULT_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x448)
DEFAULT_KEY_SHARES = (NamedGroup.x25519, NamedGroup.secp256r1)
# What we can verify in CertificateVerify, strongest-first within each family.
VERIFIABLE_SCHEMES = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.ed25519,
)
# Certificates may still be signed with PKCS#1 v1.5 (section 4.2.3), which
# pki.py checks; CertificateVerify must never use it.
CERTIFICATE_SCHEMES = (
    *VERIFIABLE_SCHEMES,
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)

CLIENT_TRANSITIONS = (
    ("ExpectServerHello", "HelloRetryRequest", "ExpectServerHello"),
    ("ExpectServerHello", "ServerHello", "ExpectEncryptedExtensions"),
    ("ExpectEncryptedExtensions", "EncryptedExtensions", "ExpectCertificate"),
    ("ExpectEncryptedExtensions", "EncryptedExtensions (resumed)", "ExpectFinished"),
    ("ExpectCertificate", "CertificateRequest", "ExpectCertificate"),
    ("ExpectCertificate", "Certificate", "ExpectCertificateVerify"),
    ("ExpectCertificateVerify", "CertificateVerify", "ExpectFinished"),
    ("ExpectFinished", "Finished", "Traffic"),
    ("Traffic", "NewSessionTicket", "Traffic"),
    ("Traffic", "KeyUpdate", "Traffic"),
)

# RFC 8446 section 4.2: the extensions each kind of server hello may carry.
_SERVER_HELLO_EXTENSIONS = frozenset(
    {ExtensionType.supported_versions, ExtensionType.key_share, ExtensionType.pre_shared_key}
)
_HELLO_RETRY_EXTENSIONS = frozenset(
    {ExtensionType.supported_versions, ExtensionType.key_share, ExtensionType.cookie}
)
# Extensions a server may put in EncryptedExtensions in answer to our hello.
_ALLOWED_ENCRYPTED_EXTENSIONS = {
    ExtensionType.server_name,
    ExtensionType.application_layer_protocol_negotiation,
    ExtensionType.supported_groups,  # the server's preferences, informational (4.2.7)
    ExtensionType.max_fragment_length,
    ExtensionType.record_size_limit,
    ExtensionType.early_data,
}


@dataclass(frozen=True)
class Ticket:
    """What resuming with one NewSessionTicket needs (RFC 8446 section 4.6.1)."""

    scope: str  # which server it is for: "name:port"
    cipher_suite: CipherSuite
    psk: bytes
    ticket: bytes
    age_add: int
    lifetime: int
    received_at: float

    def __repr__(self) -> str:
        return f"Ticket({self.scope}, {self.cipher_suite.name}, <psk hidden>)"

    def is_valid_at(self, now: float) -> bool:
        return 0 <= now - self.received_at <= self.lifetime


class TicketStore:
    """Tickets by server; each ticket is used once (RFC 8446 appendix C.4)."""

    def __init__(self) -> None:
        self._tickets: dict[str, list[Ticket]] = {}

    def add(self, ticket: Ticket) -> None:
        self._tickets.setdefault(ticket.scope, []).append(ticket)

    def take(self, scope: str, now: float) -> Ticket | None:
        tickets = self._tickets.get(scope, [])
        while tickets:
            ticket = tickets.pop(0)
            if ticket.is_valid_at(now):
                return ticket
        return None

    def __len__(self) -> int:
        return sum(len(tickets) for tickets in self._tickets.values())


@dataclass(frozen=True)
class ClientSettings:
    trusted_roots: tuple[pki.Certificate, ...]
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_CIPHER_SUITES
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS
    key_share_groups: tuple[NamedGroup, ...] = DEFAULT_KEY_SHARES
    application_protocols: tuple[bytes, ...] = (b"http/1.1",)
    tickets: TicketStore | None = field(default=None, compare=False)


class TLS13ClientConnection(TLS13Connection):
    """The client side of one TLS 1.3 connection; its ClientHello is queued at once."""

    # Certificate chains of public servers can be large; still bounded.
    max_handshake_message_size: ClassVar[int] = 1 << 18

    def __init__(
        self,
        server_name: str,
        settings: ClientSettings,
        *,
        random_bytes: Callable[[int], bytes],
        clock: Callable[[], float],
        observer: Observer | None = None,
        keylog: Callable[[str], None] | None = None,
        ticket_scope: str | None = None,
    ) -> None:
        super().__init__(
            _Placeholder(),
            random_bytes=random_bytes,
            clock=clock,
            observer=observer,
            keylog=keylog,
        )
        self.server_name = server_name
        self.settings = settings
        self.resumption_master_secret = b""  # known once the handshake is done
        # Tickets are kept per server (name and port by default): one server's
        # ticket means nothing to another.
        self.ticket_scope = ticket_scope or server_name
        tickets = settings.tickets
        ticket = tickets.take(self.ticket_scope, clock()) if tickets is not None else None
        shares = {
            group: crypto.EphemeralKey(group.name, random_bytes)
            for group in settings.key_share_groups
        }
        hello = _client_hello(self, settings, server_name, shares, ticket, cookie=None)
        self._state = ExpectServerHello(hello, shares, ticket)

    def handle_post_handshake(self, message: HandshakeInput) -> None:
        if message[0] == HandshakeType.new_session_ticket:
            _store_ticket(self, message)
        else:
            super().handle_post_handshake(message)


class _Placeholder:
    """The state before the ClientHello is built (never sees a message)."""

    name: ClassVar[str] = "Start"
    expects: ClassVar[tuple[HandshakeType, ...]] = ()


# ---------------------------------------------------------------------------
# the ClientHello
# ---------------------------------------------------------------------------


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _client_hello(
    connection: TLS13ClientConnection,
    settings: ClientSettings,
    server_name: str,
    shares: dict[NamedGroup, crypto.EphemeralKey],
    ticket: Ticket | None,
    *,
    cookie: bytes | None,
    previous: ClientHello | None = None,
) -> ClientHello:
    """Build (and send) a ClientHello; after a HelloRetryRequest, `previous` is the first one."""
    key_shares = ext.encode_client_key_shares(
        ext.KeyShareEntry(group, key.public_bytes) for group, key in shares.items()
    )
    if previous is None:
        extensions = []
        if not _is_ip_address(server_name):  # RFC 6066 section 3: no IP literals in SNI
            extensions.append(
                Extension(ExtensionType.server_name, ext.encode_server_name(server_name))
            )
        extensions += [
            Extension(
                ExtensionType.supported_versions,
                ext.encode_client_supported_versions((TLS13_VERSION,)),
            ),
            Extension(ExtensionType.supported_groups, ext.encode_supported_groups(settings.groups)),
            Extension(
                ExtensionType.signature_algorithms,
                ext.encode_signature_algorithms(CERTIFICATE_SCHEMES),
            ),
            Extension(ExtensionType.key_share, key_shares),
            Extension(
                ExtensionType.psk_key_exchange_modes,
                ext.encode_psk_key_exchange_modes((PskKeyExchangeMode.psk_dhe_ke,)),
            ),
        ]
        if settings.application_protocols:
            extensions.append(
                Extension(
                    ExtensionType.application_layer_protocol_negotiation,
                    ext.encode_application_protocols(settings.application_protocols),
                )
            )
        hello = ClientHello(
            LEGACY_VERSION,
            connection.random_bytes(32),
            connection.random_bytes(32),  # a session id puts middleboxes at ease (appendix D.4)
            tuple(settings.cipher_suites),
            b"\x00",
            tuple(extensions),
        )
    else:
        # Section 4.1.2: the same hello, with the new key share and the cookie.
        extensions = [
            Extension(e.type, key_shares) if e.type == ExtensionType.key_share else e
            for e in previous.extensions
            if e.type not in (ExtensionType.pre_shared_key, ExtensionType.cookie)
        ]
        if cookie is not None:
            extensions.append(Extension(ExtensionType.cookie, ext.encode_cookie(cookie)))
        hello = replace(previous, extensions=tuple(extensions))
    if ticket is not None:
        hello = _with_psk(connection, hello, ticket)
    connection.client_random = hello.random
    connection.send_handshake(hello)
    return hello


def _with_psk(connection: TLS13ClientConnection, hello: ClientHello, ticket: Ticket) -> ClientHello:
    """Offer the ticket, with its binder over the hello up to the binders (section 4.2.11.2)."""
    parameters = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite]
    age_ms = int((connection.clock() - ticket.received_at) * 1000)
    identity = ext.PskIdentity(ticket.ticket, (age_ms + ticket.age_add) % (1 << 32))
    placeholder = ext.OfferedPsks((identity,), (bytes(parameters.hash_length),))
    offered = replace(
        hello,
        extensions=(
            *hello.extensions,
            Extension(ExtensionType.pre_shared_key, ext.encode_offered_psks(placeholder)),
        ),
    )
    partial = offered.encode()[: -placeholder.binders_length]
    binder_key = key_schedule.EarlySecret(parameters.hash_name, ticket.psk).binder_key(
        resumption=True
    )
    # Before any ServerHello the transcript has no hash yet: the binder covers
    # just this hello.  After a HelloRetryRequest it covers the whole exchange.
    transcript = connection.transcript
    if transcript.hash_name is None:
        transcript = Transcript(parameters.hash_name)
    binder = key_schedule.finished_verify_data(
        parameters.hash_name, binder_key, transcript.digest_with(partial)
    )
    return offered.with_psk_binders((binder,))


# ---------------------------------------------------------------------------
# states
# ---------------------------------------------------------------------------


def _illegal(reason: str) -> TLSError:
    return TLSError(reason, AlertDescription.illegal_parameter)


class ExpectServerHello:
    name: ClassVar[str] = "ExpectServerHello"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.server_hello,)

    def __init__(
        self,
        hello: ClientHello,
        shares: dict[NamedGroup, crypto.EphemeralKey],
        ticket: Ticket | None,
        retried: bool = False,
    ) -> None:
        self.hello = hello
        self.shares = shares
        self.ticket = ticket
        self.retried = retried

    def handle(self, connection: TLS13ClientConnection, message: HandshakeInput):
        _, body, raw = message
        server_hello = ServerHello.decode(body)
        is_retry = server_hello.is_hello_retry_request
        name = "HelloRetryRequest" if is_retry else "ServerHello"
        connection.observe_received(name, server_hello, raw)
        suite = self._check_common_fields(server_hello, is_retry)
        parameters = CIPHER_SUITE_PARAMETERS[suite]
        if connection.parameters is None:
            connection.parameters = parameters
            connection.transcript.set_hash(parameters.hash_name)
        elif connection.parameters.suite != parameters.suite:
            # Section 4.1.4: the ServerHello must keep the suite of the HelloRetryRequest.
            raise _illegal("the ServerHello changed the cipher suite of the HelloRetryRequest")
        if is_retry:
            return self._retry(connection, server_hello, suite, raw)
        return self._accept(connection, server_hello, parameters, raw)

    def _check_common_fields(self, server_hello: ServerHello, is_retry: bool) -> CipherSuite:
        if server_hello.legacy_session_id_echo != self.hello.legacy_session_id:
            raise _illegal("the server did not echo our legacy_session_id")
        if server_hello.cipher_suite not in self.hello.cipher_suites:
            raise _illegal(
                f"the server chose suite {server_hello.cipher_suite:#06x}, not one we offered"
            )
        if server_hello.legacy_compression_method != 0:
            raise _illegal("the server chose compression")
        allowed = _HELLO_RETRY_EXTENSIONS if is_retry else _SERVER_HELLO_EXTENSIONS
        kind = "HelloRetryRequest" if is_retry else "ServerHello"
        for extension in server_hello.extensions:
            if extension.type in allowed:
                continue
            name = describe(ExtensionType, extension.type)
            if extension.type in _SERVER_HELLO_EXTENSIONS | _HELLO_RETRY_EXTENSIONS:
                # Section 4.2: known, but not specified for this message.
                raise _illegal(f"the server sent {name} in a {kind}")
            raise TLSError(
                f"the server sent {name} in its hello", AlertDescription.unsupported_extension
            )
        version = server_hello.extension(ExtensionType.supported_versions)
        if version is None:
            # Without supported_versions the server chose TLS 1.2 or older (section 4.2.1).
            raise TLSError("the server did not choose TLS 1.3", AlertDescription.protocol_version)
        if ext.decode_selected_version(version) != TLS13_VERSION:
            # Section 4.2.1: a version we did not offer is illegal_parameter; the
            # hello's legacy_version is ignored once supported_versions is there.
            raise _illegal("the server did not choose TLS 1.3")
        return CipherSuite(server_hello.cipher_suite)

    def _retry(
        self, connection: TLS13ClientConnection, retry: ServerHello, suite: CipherSuite, raw: bytes
    ):
        if self.retried:
            raise TLSError("a second HelloRetryRequest", AlertDescription.unexpected_message)
        share_data = retry.extension(ExtensionType.key_share)
        cookie_data = retry.extension(ExtensionType.cookie)
        if share_data is None and cookie_data is None:
            # Section 4.1.4: a retry that would not change our hello is illegal_parameter.
            raise _illegal("a HelloRetryRequest that asks for neither a key share nor a cookie")
        cookie = ext.decode_cookie(cookie_data) if cookie_data is not None else None
        shares = self.shares  # a retry for the cookie alone keeps our key shares
        if share_data is not None:
            group_number = ext.decode_hello_retry_key_share(share_data)
            if group_number not in connection.settings.groups or group_number in self.shares:
                # Section 4.2.8: a group we did not offer, or one we already sent a share for.
                raise _illegal(f"the HelloRetryRequest asks for group {group_number:#06x}")
            group = NamedGroup(group_number)
            shares = {group: crypto.EphemeralKey(group.name, connection.random_bytes)}
        connection.transcript.replace_first_client_hello_with_message_hash()
        connection.transcript.add(raw)
        ticket = self.ticket
        if (
            ticket is not None
            and CIPHER_SUITE_PARAMETERS[ticket.cipher_suite].hash_name
            != CIPHER_SUITE_PARAMETERS[suite].hash_name
        ):
            ticket = None  # section 4.1.4: drop a PSK the chosen suite cannot use
        hello = _client_hello(
            connection,
            connection.settings,
            connection.server_name,
            shares,
            ticket,
            cookie=cookie,
            previous=self.hello,
        )
        return ExpectServerHello(hello, shares, ticket, retried=True)

    def _accept(
        self,
        connection: TLS13ClientConnection,
        server_hello: ServerHello,
        parameters: CipherSuiteParameters,
        raw: bytes,
    ):
        connection.transcript.add(raw)
        share_data = server_hello.extension(ExtensionType.key_share)
        if share_data is None:
            # We only offer psk_dhe_ke: every handshake has a key exchange.
            raise TLSError("the ServerHello has no key share", AlertDescription.missing_extension)
        share = ext.decode_server_key_share(share_data)
        if share.group not in self.shares:
            raise _illegal(
                f"the server's key share is for group {share.group:#06x}, not one we sent"
            )
        try:
            shared_secret = self.shares[NamedGroup(share.group)].exchange(share.key_exchange)
        except crypto.KeyExchangeError as error:
            raise _illegal(str(error)) from error

        psk = None
        selected = server_hello.extension(ExtensionType.pre_shared_key)
        if selected is not None:
            if self.ticket is None or ext.decode_selected_identity(selected) != 0:
                raise _illegal("the server selected a PSK we did not offer")
            if CIPHER_SUITE_PARAMETERS[self.ticket.cipher_suite].hash_name != parameters.hash_name:
                raise _illegal("the server resumed with a suite whose hash does not fit the ticket")
            psk = self.ticket.psk
        early = key_schedule.EarlySecret(parameters.hash_name, psk)
        handshake_secret = early.handshake_secret(shared_secret)
        connection.log_secret("shared_secret", shared_secret)
        connection.log_secret("early_secret", early.secret)
        connection.log_secret("handshake_secret", handshake_secret.secret)
        hello_hash = connection.transcript.digest()
        client_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
        server_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
        connection.set_read_secret("server_handshake_traffic_secret", server_secret)
        connection.log_secret("client_handshake_traffic_secret", client_secret)
        keys = _HandshakeKeys(
            parameters,
            handshake_secret,
            client_secret,
            server_secret,
            NamedGroup(share.group),
            resumed=psk is not None,
            hello_retry=self.retried,
            send_compatibility_ccs=bool(self.hello.legacy_session_id),
            offered_extensions=frozenset(extension.type for extension in self.hello.extensions),
        )
        return ExpectEncryptedExtensions(keys)


@dataclass
class _HandshakeKeys:
    """What the states after ServerHello share: the suite and the handshake secrets."""

    parameters: CipherSuiteParameters
    handshake_secret: key_schedule.HandshakeSecret
    client_secret: bytes
    server_secret: bytes
    group: NamedGroup
    resumed: bool
    hello_retry: bool
    send_compatibility_ccs: bool
    offered_extensions: frozenset[int]  # what the server may answer in EncryptedExtensions
    alpn: str | None = None
    certificate_request_context: bytes | None = None
    signature_scheme: str | None = None


class ExpectEncryptedExtensions:
    name: ClassVar[str] = "ExpectEncryptedExtensions"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.encrypted_extensions,)

    def __init__(self, keys: _HandshakeKeys) -> None:
        self.keys = keys

    def handle(self, connection: TLS13ClientConnection, message: HandshakeInput):
        _, body, raw = message
        encrypted = EncryptedExtensions.decode(body)
        connection.observe_received("EncryptedExtensions", encrypted, raw)
        for extension in encrypted.extensions:
            # Section 4.2: an answer to an extension we never sent is
            # unsupported_extension; one we sent that has no place in
            # EncryptedExtensions (key_share, say) is illegal_parameter.
            name = describe(ExtensionType, extension.type)
            if extension.type not in self.keys.offered_extensions:
                raise TLSError(
                    f"EncryptedExtensions carries {name}, which we did not offer",
                    AlertDescription.unsupported_extension,
                )
            if extension.type not in _ALLOWED_ENCRYPTED_EXTENSIONS:
                raise _illegal(f"EncryptedExtensions carries {name}, which belongs elsewhere")
        server_name = encrypted.extension(ExtensionType.server_name)
        if server_name is not None and server_name != b"":
            # RFC 6066 section 3: the server's acknowledgement of our name is empty.
            raise TLSError(
                "the server's server_name acknowledgement is not empty",
                AlertDescription.decode_error,
            )
        alpn = encrypted.extension(ExtensionType.application_layer_protocol_negotiation)
        if alpn is not None:
            protocol = ext.decode_selected_application_protocol(alpn)
            if protocol not in connection.settings.application_protocols:
                raise _illegal(f"the server chose protocol {protocol!r}, which we did not offer")
            self.keys.alpn = protocol.decode("latin-1")
        if encrypted.extension(ExtensionType.early_data) is not None:
            raise TLSError(
                "the server accepted early data we never sent",
                AlertDescription.unsupported_extension,
            )
        connection.transcript.add(raw)
        if self.keys.resumed:
            return ExpectFinished(self.keys)
        return ExpectCertificate(self.keys)


class ExpectCertificate:
    name: ClassVar[str] = "ExpectCertificate"
    expects: ClassVar[tuple[HandshakeType, ...]] = (
        HandshakeType.certificate,
        HandshakeType.certificate_request,
    )

    def __init__(self, keys: _HandshakeKeys) -> None:
        self.keys = keys

    def handle(self, connection: TLS13ClientConnection, message: HandshakeInput):
        msg_type, body, raw = message
        if msg_type == HandshakeType.certificate_request:
            request = CertificateRequest.decode(body)
            connection.observe_received("CertificateRequest", request, raw)
            if self.keys.certificate_request_context is not None:
                raise TLSError("a second CertificateRequest", AlertDescription.unexpected_message)
            # We have no client certificate: we will answer with an empty one (4.4.2).
            self.keys.certificate_request_context = request.certificate_request_context
            connection.transcript.add(raw)
            return self
        certificate = Certificate.decode(body)
        connection.observe_received("Certificate", certificate, raw)
        if certificate.certificate_request_context:
            raise _illegal("the server's Certificate has a request context")
        chain = [entry.cert_data for entry in certificate.entries]
        try:
            verified = pki.verify_chain(
                chain, connection.settings.trusted_roots, connection.server_name, connection.clock()
            )
        except pki.ChainError as error:
            raise TLSError(error.reason, error.alert) from error
        if connection.observer is not None:
            connection.observe(
                "verified", name="certificate chain", detail=" <- ".join(verified.subjects)
            )
        connection.transcript.add(raw)
        return ExpectCertificateVerify(self.keys, verified)


class ExpectCertificateVerify:
    name: ClassVar[str] = "ExpectCertificateVerify"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.certificate_verify,)

    def __init__(self, keys: _HandshakeKeys, verified: pki.VerifiedChain) -> None:
        self.keys = keys
        self.verified = verified

    def handle(self, connection: TLS13ClientConnection, message: HandshakeInput):
        _, body, raw = message
        verify = CertificateVerify.decode(body)
        connection.observe_received("CertificateVerify", verify, raw)
        try:
            scheme = SignatureScheme(verify.algorithm)
        except ValueError:
            scheme = None
        if scheme not in VERIFIABLE_SCHEMES:
            raise _illegal(
                f"the server signed with scheme {verify.algorithm:#06x}, which we did not offer"
            )
        content = SERVER_SIGNATURE_CONTEXT + connection.transcript.digest()
        if not crypto.verify_signature(
            self.verified.leaf_public_key, scheme.name, verify.signature, content
        ):
            raise TLSError(
                "server signature over the transcript is invalid", AlertDescription.decrypt_error
            )
        if connection.observer is not None:
            connection.observe("verified", name="CertificateVerify", detail=scheme.name)
        self.keys.signature_scheme = scheme.name
        connection.transcript.add(raw)
        return ExpectFinished(self.keys)


class ExpectFinished:
    name: ClassVar[str] = "ExpectFinished"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.finished,)

    def __init__(self, keys: _HandshakeKeys) -> None:
        self.keys = keys

    def handle(self, connection: TLS13ClientConnection, message: HandshakeInput):
        _, body, raw = message
        finished = Finished.decode(body)
        connection.observe_received("Finished", finished, raw)
        keys = self.keys
        hash_name = keys.parameters.hash_name
        check_finished_length(keys.parameters, finished.verify_data)
        transcript = connection.transcript
        if not key_schedule.is_valid_finished(
            hash_name, keys.server_secret, transcript.digest(), finished.verify_data
        ):
            raise TLSError("the server's Finished does not verify", AlertDescription.decrypt_error)
        transcript.add(raw)
        master = keys.handshake_secret.master_secret()
        connection.log_secret("master_secret", master.secret)
        finished_hash = transcript.digest()
        client_application = master.client_application_traffic_secret(finished_hash)
        server_application = master.server_application_traffic_secret(finished_hash)
        connection.log_secret(
            "exporter_master_secret", master.exporter_master_secret(finished_hash)
        )

        if keys.send_compatibility_ccs:
            connection.send_change_cipher_spec()
        connection.set_write_secret("client_handshake_traffic_secret", keys.client_secret)
        if keys.certificate_request_context is not None:
            connection.send_handshake(Certificate(keys.certificate_request_context, ()))
        verify_data = key_schedule.finished_verify_data(
            hash_name, keys.client_secret, transcript.digest()
        )
        connection.send_handshake(Finished(verify_data))
        connection.set_write_secret("client_application_traffic_secret_0", client_application)
        connection.set_read_secret("server_application_traffic_secret_0", server_application)
        connection.resumption_master_secret = master.resumption_master_secret(transcript.digest())
        connection.establish(
            Negotiated(
                protocol="TLSv1.3",
                cipher_suite=keys.parameters.suite.name,
                group=keys.group.name,
                alpn=keys.alpn,
                server_name=connection.server_name,
                signature_scheme=keys.signature_scheme,
                resumed=keys.resumed,
                hello_retry=keys.hello_retry,
            )
        )
        return None


def _store_ticket(connection: TLS13ClientConnection, message: HandshakeInput) -> None:
    _, body, raw = message
    ticket = NewSessionTicket.decode(body)
    connection.observe_received("NewSessionTicket", ticket, raw)
    store = connection.settings.tickets
    parameters = connection.parameters
    if store is None or parameters is None or ticket.ticket_lifetime == 0:
        return
    store.add(
        Ticket(
            scope=connection.ticket_scope,
            cipher_suite=parameters.suite,
            psk=key_schedule.resumption_psk(
                parameters.hash_name, connection.resumption_master_secret, ticket.ticket_nonce
            ),
            ticket=ticket.ticket,
            age_add=ticket.ticket_age_add,
            lifetime=min(ticket.ticket_lifetime, 7 * 24 * 3600),
            received_at=connection.clock(),
        )
    )
