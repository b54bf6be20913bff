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
        (we send [Certificate, CertificateVerify], Finished) ──► Traffic

CLIENT_TRANSITIONS holds this diagram as data: docs/state-machines.md is
generated from it and tests compare it with the transitions a handshake
reports.  Verification results are handed forward: ExpectCertificateVerify
can only be reached with the key of a chain that verified, ExpectFinished
only after the signature (or the PSK) authenticated the server, and Traffic
only with the proof that the server's Finished verified.  Each state acts
through its narrow context (handshake_context.py) and returns the next one.

What this module owns: the client's states, checking every server choice
against what we offered, and keeping tickets.  Neighbours: client_settings.py,
client_hello.py, server_authentication.py, client_certificate.py (mutual TLS).

What it must never do: accept a server that skipped authentication, a parameter we
did not offer, or read the clock and randomness except through the context's `clock`
and `random_bytes`.  Failures are TLSErrors whose reason a learner understands
("server signature over the transcript is invalid"), with the alert sent to the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from .. import crypto, pki_verification
from ..api import Negotiated, Observer
from ..errors import AlertDescription, TLSError
from ..handshake_states import Transition
from ..names import describe
from . import extensions as ext
from . import key_schedule
from .client_certificate import read_certificate_request, send_client_certificate
from .client_hello import KeyShares, first_client_hello, new_key_shares, second_client_hello
from .client_settings import ClientSettings, Ticket, TicketStore
from .connection import TLS13Connection
from .enums import (
    CIPHER_SUITE_PARAMETERS,
    TLS13_VERSION,
    CipherSuite,
    CipherSuiteParameters,
    ExtensionType,
    HandshakeType,
    NamedGroup,
)
from .handshake_context import (
    FinishedVerified,
    HandshakeContext,
    HandshakeInput,
    HandshakeState,
    Traffic,
    verify_finished,
)
from .messages import (
    MAX_TICKET_LIFETIME,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    NewSessionTicket,
    ServerHello,
)
from .server_authentication import (
    check_certificate_entry_extensions,
    read_server_certificate,
    verify_server_chain,
    verify_server_signature,
)
from .transcript import Transcript

__all__ = ["ClientSettings", "TLS13ClientConnection", "Ticket", "TicketStore"]

CLIENT_TRANSITIONS = (
    Transition("ExpectServerHello", "HelloRetryRequest", "ExpectServerHello"),
    Transition("ExpectServerHello", "ServerHello", "ExpectEncryptedExtensions"),
    Transition("ExpectEncryptedExtensions", "EncryptedExtensions", "ExpectCertificate"),
    Transition("ExpectEncryptedExtensions", "EncryptedExtensions (resumed)", "ExpectFinished"),
    Transition("ExpectCertificate", "CertificateRequest", "ExpectCertificate"),
    Transition("ExpectCertificate", "Certificate", "ExpectCertificateVerify"),
    Transition("ExpectCertificate", "CompressedCertificate", "ExpectCertificateVerify"),
    Transition("ExpectCertificateVerify", "CertificateVerify", "ExpectFinished"),
    Transition("ExpectFinished", "Finished", "Traffic"),
    Transition("Traffic", "NewSessionTicket", "Traffic"),
    Transition("Traffic", "KeyUpdate", "Traffic"),
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
class _Setup:
    """What the client set out with: its settings, the name it asked for, where tickets go."""

    settings: ClientSettings
    server_name: str
    # Tickets are kept per server (name and port by default): one server's
    # ticket means nothing to another.
    ticket_scope: str


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
        setup = _Setup(settings, server_name, ticket_scope or server_name)
        tickets = settings.tickets
        ticket = tickets.take(setup.ticket_scope, clock()) if tickets is not None else None
        shares = new_key_shares(settings.key_share_groups, random_bytes)
        hello = first_client_hello(
            settings, server_name, shares, ticket, random_bytes=random_bytes, clock=clock
        )
        transcript = Transcript()
        super().__init__(
            ExpectServerHello(setup, hello, shares, ticket, transcript),
            random_bytes=random_bytes,
            clock=clock,
            observer=observer,
            keylog=keylog,
        )
        self._setup = setup
        self.name_secrets_after(hello.random)
        transcript.add(self.send_handshake(hello))

    @property
    def settings(self) -> ClientSettings:
        return self._setup.settings

    @property
    def server_name(self) -> str:
        return self._setup.server_name

    @property
    def ticket_scope(self) -> str:
        return self._setup.ticket_scope


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
        setup: _Setup,
        hello: ClientHello,
        shares: KeyShares,
        ticket: Ticket | None,
        transcript: Transcript,
        retry_suite: CipherSuite | None = None,
    ) -> None:
        self.setup = setup
        self.hello = hello
        self.shares = shares
        self.ticket = ticket
        self.transcript = transcript  # our hello (after a retry: and what came before)
        self.retry_suite = retry_suite  # the HelloRetryRequest's suite, if there was one

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        server_hello = ServerHello.decode(body)
        is_retry = server_hello.is_hello_retry_request
        name = "HelloRetryRequest" if is_retry else "ServerHello"
        context.observe_received(name, server_hello, raw)
        suite = self._check_common_fields(server_hello, is_retry)
        parameters = CIPHER_SUITE_PARAMETERS[suite]
        if self.retry_suite is None:
            self.transcript.set_hash(parameters.hash_name)
        elif self.retry_suite != suite:
            # Section 4.1.4: the ServerHello must keep the suite of the HelloRetryRequest.
            raise _illegal("the ServerHello changed the cipher suite of the HelloRetryRequest")
        if is_retry:
            return self._retry(context, server_hello, suite, raw)
        return self._accept(context, server_hello, parameters, raw)

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
        self, context: HandshakeContext, retry: ServerHello, suite: CipherSuite, raw: bytes
    ) -> ExpectServerHello:
        if self.retry_suite is not None:
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
            if group_number not in self.setup.settings.groups or group_number in self.shares:
                # Section 4.2.8: a group we did not offer, or one we already sent a share for.
                raise _illegal(f"the HelloRetryRequest asks for group {group_number:#06x}")
            group = NamedGroup(group_number)
            shares = new_key_shares((group,), context.random_bytes)
        transcript = self.transcript
        transcript.replace_first_client_hello_with_message_hash()
        transcript.add(raw)
        ticket = self.ticket
        if (
            ticket is not None
            and CIPHER_SUITE_PARAMETERS[ticket.cipher_suite].hash_name
            != CIPHER_SUITE_PARAMETERS[suite].hash_name
        ):
            ticket = None  # section 4.1.4: drop a PSK the chosen suite cannot use
        hello = second_client_hello(
            self.hello, shares, ticket, cookie=cookie, transcript=transcript, clock=context.clock
        )
        transcript.add(context.send_handshake(hello))
        return ExpectServerHello(self.setup, hello, shares, ticket, transcript, retry_suite=suite)

    def _accept(
        self,
        context: HandshakeContext,
        server_hello: ServerHello,
        parameters: CipherSuiteParameters,
        raw: bytes,
    ) -> ExpectEncryptedExtensions:
        transcript = self.transcript
        transcript.add(raw)
        share_data = server_hello.extension(ExtensionType.key_share)
        if share_data is None:
            # We only offer psk_dhe_ke: every handshake has a key exchange.
            raise TLSError("the ServerHello has no key share", AlertDescription.missing_extension)
        share = ext.decode_server_key_share(share_data)
        if share.group not in self.shares:
            raise _illegal(
                f"the server's key share is for group {share.group:#06x}, not one we sent"
            )
        own_share = self.shares[NamedGroup(share.group)]
        try:
            shared_secret = own_share.exchange(share.key_exchange)
        except crypto.KeyExchangeError as error:
            raise _illegal(str(error)) from error
        if context.is_observed:  # a trace page recomputes the shared secret from it
            context.observe_key_exchange(
                own_share.group, own_share.private_bytes(), share.key_exchange
            )

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
        context.log_secret("shared_secret", shared_secret)
        context.log_secret("early_secret", early.secret)
        context.log_secret("handshake_secret", handshake_secret.secret)
        hello_hash = transcript.digest()
        client_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
        server_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
        context.install_read_keys(parameters, "server_handshake_traffic_secret", server_secret)
        context.log_secret("client_handshake_traffic_secret", client_secret)
        handshake = _Handshake(
            self.setup,
            transcript,
            parameters,
            handshake_secret,
            client_secret,
            server_secret,
            NamedGroup(share.group),
            resumed=psk is not None,
            hello_retry=self.retry_suite is not None,
            send_compatibility_ccs=bool(self.hello.legacy_session_id),
            offered_extensions=frozenset(extension.type for extension in self.hello.extensions),
        )
        return ExpectEncryptedExtensions(handshake)


@dataclass(frozen=True)
class _Handshake:
    """What the states after ServerHello carry forward: the transcript, suite and secrets."""

    setup: _Setup
    transcript: Transcript  # the running hash, ClientHello..the last message handled
    parameters: CipherSuiteParameters
    handshake_secret: key_schedule.HandshakeSecret
    client_secret: bytes
    server_secret: bytes
    group: NamedGroup
    resumed: bool
    hello_retry: bool
    send_compatibility_ccs: bool
    offered_extensions: frozenset[int]  # what the server may answer in EncryptedExtensions


class _ServerAnswers(NamedTuple):
    """What the server's encrypted messages told us, handed forward state by state."""

    alpn: str | None = None  # EncryptedExtensions
    certificate_request: CertificateRequest | None = None  # answer it after Finished
    signature_scheme: str | None = None  # CertificateVerify (None when resumed)


class ExpectEncryptedExtensions:
    name: ClassVar[str] = "ExpectEncryptedExtensions"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.encrypted_extensions,)

    def __init__(self, handshake: _Handshake) -> None:
        self.handshake = handshake

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        encrypted = EncryptedExtensions.decode(body)
        context.observe_received("EncryptedExtensions", encrypted, raw)
        handshake = self.handshake
        for extension in encrypted.extensions:
            # Section 4.2: an answer to an extension we never sent is
            # unsupported_extension; one we sent that has no place in
            # EncryptedExtensions (key_share, say) is illegal_parameter.
            name = describe(ExtensionType, extension.type)
            if extension.type not in handshake.offered_extensions:
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
            if protocol not in handshake.setup.settings.application_protocols:
                raise _illegal(f"the server chose protocol {protocol!r}, which we did not offer")
            answers = _ServerAnswers(alpn=protocol.decode("latin-1"))
        else:
            answers = _ServerAnswers()
        if encrypted.extension(ExtensionType.early_data) is not None:
            raise TLSError(
                "the server accepted early data we never sent",
                AlertDescription.unsupported_extension,
            )
        handshake.transcript.add(raw)
        if handshake.resumed:
            return ExpectFinished(handshake, answers)
        return ExpectCertificate(handshake, answers)


class ExpectCertificate:
    name: ClassVar[str] = "ExpectCertificate"
    expects: ClassVar[tuple[HandshakeType, ...]] = (
        HandshakeType.certificate,
        HandshakeType.compressed_certificate,
        HandshakeType.certificate_request,
    )

    def __init__(self, handshake: _Handshake, answers: _ServerAnswers) -> None:
        self.handshake = handshake
        self.answers = answers

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        msg_type, body, raw = message
        handshake = self.handshake
        if msg_type == HandshakeType.certificate_request:
            request = read_certificate_request(body)
            context.observe_received("CertificateRequest", request, raw)
            if self.answers.certificate_request is not None:
                raise TLSError("a second CertificateRequest", AlertDescription.unexpected_message)
            handshake.transcript.add(raw)
            # Answered after the server's Finished (client_certificate.py).
            return ExpectCertificate(handshake, self.answers._replace(certificate_request=request))
        setup = handshake.setup
        certificate = read_server_certificate(
            context,
            message,
            setup.settings.certificate_compression,
            TLS13ClientConnection.max_handshake_message_size,
        )
        check_certificate_entry_extensions(certificate, handshake.offered_extensions)
        verified = verify_server_chain(
            certificate, setup.settings.trusted_roots, setup.server_name, context.clock()
        )
        if context.is_observed:
            context.observe_verified("certificate chain", " <- ".join(verified.subjects))
        handshake.transcript.add(raw)
        return ExpectCertificateVerify(handshake, self.answers, verified)


class ExpectCertificateVerify:
    name: ClassVar[str] = "ExpectCertificateVerify"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.certificate_verify,)

    def __init__(
        self,
        handshake: _Handshake,
        answers: _ServerAnswers,
        verified: pki_verification.VerifiedChain,
    ) -> None:
        self.handshake = handshake
        self.answers = answers
        self.verified = verified

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        verify = CertificateVerify.decode(body)
        context.observe_received("CertificateVerify", verify, raw)
        handshake = self.handshake
        scheme = verify_server_signature(self.verified, verify, handshake.transcript.digest())
        if context.is_observed:
            context.observe_verified("CertificateVerify", scheme.name)
        handshake.transcript.add(raw)
        return ExpectFinished(handshake, self.answers._replace(signature_scheme=scheme.name))


class ExpectFinished:
    name: ClassVar[str] = "ExpectFinished"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.finished,)

    def __init__(self, handshake: _Handshake, answers: _ServerAnswers) -> None:
        self.handshake = handshake
        self.answers = answers

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        finished = Finished.decode(body)
        context.observe_received("Finished", finished, raw)
        handshake = self.handshake
        parameters = handshake.parameters
        hash_name = parameters.hash_name
        transcript = handshake.transcript
        proof = verify_finished(
            parameters,
            handshake.server_secret,
            transcript.digest(),
            finished.verify_data,
            peer="server",
        )
        transcript.add(raw)
        master = handshake.handshake_secret.master_secret()
        context.log_secret("master_secret", master.secret)
        finished_hash = transcript.digest()
        client_application = master.client_application_traffic_secret(finished_hash)
        server_application = master.server_application_traffic_secret(finished_hash)
        context.log_secret("exporter_master_secret", master.exporter_master_secret(finished_hash))

        if handshake.send_compatibility_ccs:
            context.send_change_cipher_spec()
        context.install_write_keys(
            parameters, "client_handshake_traffic_secret", handshake.client_secret
        )
        answers, credentials = self.answers, handshake.setup.settings.client_credentials
        if answers.certificate_request is not None:
            send_client_certificate(context, transcript, answers.certificate_request, credentials)
        verify_data = key_schedule.finished_verify_data(
            hash_name, handshake.client_secret, transcript.digest()
        )
        transcript.add(context.send_handshake(Finished(verify_data)))
        context.install_write_keys(
            parameters, "client_application_traffic_secret_0", client_application
        )
        context.install_read_keys(
            parameters, "server_application_traffic_secret_0", server_application
        )
        negotiated = Negotiated(
            protocol="TLSv1.3",
            cipher_suite=parameters.suite.name,
            group=handshake.group.name,
            alpn=answers.alpn,
            server_name=handshake.setup.server_name,
            signature_scheme=answers.signature_scheme,
            resumed=handshake.resumed,
            hello_retry=handshake.hello_retry,
        )
        resumption_master_secret = master.resumption_master_secret(transcript.digest())
        return ClientTraffic(
            proof, negotiated, handshake.setup, parameters, resumption_master_secret
        )


class ClientTraffic(Traffic):
    """Traffic, where the client also takes NewSessionTicket (RFC 8446 section 4.6.1)."""

    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.new_session_ticket,)

    def __init__(
        self,
        proof: FinishedVerified,
        negotiated: Negotiated,
        setup: _Setup,
        parameters: CipherSuiteParameters,
        resumption_master_secret: bytes,
    ) -> None:
        super().__init__(proof, negotiated)
        self.setup = setup
        self.parameters = parameters
        self.resumption_master_secret = resumption_master_secret

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        ticket = NewSessionTicket.decode(body)
        context.observe_received("NewSessionTicket", ticket, raw)
        store = self.setup.settings.tickets
        if store is None or ticket.ticket_lifetime == 0:
            return self
        parameters = self.parameters
        store.add(
            Ticket(
                scope=self.setup.ticket_scope,
                cipher_suite=parameters.suite,
                psk=key_schedule.resumption_psk(
                    parameters.hash_name, self.resumption_master_secret, ticket.ticket_nonce
                ),
                ticket=ticket.ticket,
                age_add=ticket.ticket_age_add,
                lifetime=min(ticket.ticket_lifetime, MAX_TICKET_LIFETIME),
                received_at=context.clock(),
            )
        )
        return self
