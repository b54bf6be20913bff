"""The TLS 1.3 server handshake (RFC 8446 section 4), as states named for what they wait for.

    ExpectClientHello ──ClientHello, no usable key share──► ExpectSecondClientHello
          │                      (we sent HelloRetryRequest)          │
          │ ClientHello                                   ClientHello │
          ▼                                                           ▼
    (we send ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished)
          │
          ▼
    ExpectFinished ──client Finished verified──► Traffic (NewSessionTickets sent)

SERVER_TRANSITIONS holds this diagram as data: docs/state-machines.md is
generated from it and tests compare it with the transitions a handshake
reports.  Each state holds what exists at its point of the handshake (the
transcript, the suite, the secrets) and acts only through its narrow context
(handshake_context.py); Traffic is built from the proof that the client's
Finished verified.

What this module owns: the server's decisions (through negotiation.py), its
flight, its key schedule steps and its tickets.  Every group goes through
one call, crypto.server_key_share (a hybrid share gives back an ML-KEM
ciphertext with an ECDH key); the Certificate goes out as a
CompressedCertificate (RFC 8879) when the client asks for an algorithm we
have, compressed once per chain (prepared.py).  Records, alerts, KeyUpdate
and the tls/api.py contract live in connection.py.

What it must never do: release application data before the client's Finished
has been verified (connection.py refuses it before a Traffic state), accept
0-RTT data, or read the clock and randomness other than through the
context's `clock` and `random_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from .. import crypto, pki
from ..api import ClientCertificateCheck, Negotiated, Observer
from ..errors import AlertDescription, TLSError
from ..handshake_states import Transition
from . import extensions as ext
from . import key_schedule
from .client_authentication import (
    CLIENT_CERTIFICATE_TRANSITIONS,
    ClientAuthentication,
    ExpectCertificate,
)

# The server's states for a client certificate live beside its checks; named here
# too, since SERVER_TRANSITIONS names them.
from .client_authentication import ExpectCertificateVerify as ExpectCertificateVerify
from .connection import TLS13Connection
from .enums import (
    CIPHER_SUITE_PARAMETERS,
    HELLO_RETRY_REQUEST_RANDOM,
    LEGACY_VERSION,
    CipherSuite,
    CipherSuiteParameters,
    ExtensionType,
    HandshakeType,
    NamedGroup,
)
from .extensions import Extension
from .handshake_context import (
    HandshakeContext,
    HandshakeInput,
    HandshakeState,
    Traffic,
    verify_finished,
)
from .messages import (
    SERVER_SIGNATURE_CONTEXT,
    CertificateVerify,
    ClientHello,
    Finished,
    NewSessionTicket,
    ServerHello,
)
from .negotiation import (
    DEFAULT_CIPHER_SUITES,
    DEFAULT_GROUPS,
    ClientOffer,
    GroupChoice,
    check_second_client_hello,
    choose_application_protocol,
    choose_cipher_suite,
    choose_group,
    choose_signature_scheme,
    read_client_offer,
)
from .prepared import (
    SELECTED_VERSION_TLS13,
    PreparedHandshakeParts,
    server_hello_bytes,
)
from .tickets import TicketContents, TicketSealer
from .transcript import Transcript

# Refused 0-RTT data is skipped up to this many bytes, then it is an error.
EARLY_DATA_SKIP_LIMIT = 1 << 16

# The largest ClientHello body its grammar allows (section 4.1.2): version 2,
# random 32, session id 1+32, cipher suites 2+65,534, compression 1+255,
# extensions 2+65,535.  Real hellos come close (a signature_algorithms list of
# 32,715 entries is legal), so we accept every one the grammar can describe;
# this is also the most a client can make us buffer for one message.
LARGEST_CLIENT_HELLO = 2 + 32 + (1 + 32) + (2 + 65534) + (1 + 255) + (2 + 65535)

SERVER_TRANSITIONS = (
    Transition("ExpectClientHello", "ClientHello", "ExpectFinished"),
    Transition("ExpectClientHello", "ClientHello (no usable key share)", "ExpectSecondClientHello"),
    Transition("ExpectSecondClientHello", "ClientHello", "ExpectFinished"),
    Transition("ExpectFinished", "Finished", "Traffic"),
    Transition("Traffic", "KeyUpdate", "Traffic"),
    *CLIENT_CERTIFICATE_TRANSITIONS,  # ssl_verify_client: client_authentication.py
)


@dataclass(frozen=True)
class ServerSettings:
    """Everything a TLS 1.3 server needs that outlives one connection."""

    credentials: pki.ServerCredentials
    # Certificates chosen by SNI: exact lowercase names and "*.example.com" wildcards.
    credentials_by_name: Mapping[str, pki.ServerCredentials] = field(default_factory=dict)
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_CIPHER_SUITES
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS
    application_protocols: tuple[bytes, ...] = (b"http/1.1",)
    ticket_key: TicketSealer | None = None  # a TicketKey, or keys that rotate
    ticket_lifetime: int = 7200  # seconds
    tickets_per_handshake: int = 2  # as OpenSSL does
    # RFC 8879: send the Certificate compressed when the client asks for an
    # algorithm we have (each chain is compressed once, prepared.py).
    certificate_compression: bool = True
    # Mutual TLS: ask for a client certificate.  Tickets are then neither issued nor
    # accepted: a resumed handshake has no Certificate, and ours keep no client's.
    client_authentication: ClientAuthentication | None = None
    # Certificate messages, signers and EncryptedExtensions, encoded once (prepared.py).
    # Not an __init__ argument, so dataclasses.replace() starts with empty caches.
    prepared: PreparedHandshakeParts = field(
        default_factory=PreparedHandshakeParts, init=False, repr=False, compare=False
    )

    def credentials_for(self, server_name: str | None) -> pki.ServerCredentials:
        """The certificate for an SNI name; unknown names get the default (section 4.4.2.2)."""
        if server_name:
            name = server_name.lower().rstrip(".")
            found = self.credentials_by_name.get(name)
            if found is None and "." in name:
                found = self.credentials_by_name.get("*." + name.split(".", 1)[1])
            if found is not None:
                return found
        return self.credentials


class TLS13ServerConnection(TLS13Connection):
    """The server side of one TLS 1.3 connection, behind the tls/api.py contract."""

    # Memory per connection stays bounded: one message this large at most,
    # plus the record being read (record.py).
    max_handshake_message_size: ClassVar[int] = LARGEST_CLIENT_HELLO

    def __init__(
        self,
        settings: ServerSettings,
        *,
        random_bytes: Callable[[int], bytes],
        clock: Callable[[], float],
        observer: Observer | None = None,
        keylog: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(
            ExpectClientHello(settings),
            random_bytes=random_bytes,
            clock=clock,
            observer=observer,
            keylog=keylog,
        )


# ---------------------------------------------------------------------------
# states
# ---------------------------------------------------------------------------


class ExpectClientHello:
    name: ClassVar[str] = "ExpectClientHello"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.client_hello,)

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        hello = ClientHello.decode(body)
        context.name_secrets_after(hello.random)
        context.observe_received("ClientHello", hello, raw)
        offer = read_client_offer(hello)
        settings = self.settings
        ticket = _usable_ticket(context, settings, offer, None)
        suite = _choose_suite(offer, settings, ticket)
        group = choose_group(offer, settings.groups)
        parameters = CIPHER_SUITE_PARAMETERS[suite]
        transcript = Transcript(parameters.hash_name)

        if group.client_share is None:
            # Section 4.1.4: no acceptable key share, so ask for one.  Our
            # HelloRetryRequest carries no cookie: we keep the state ourselves.
            transcript.add(raw)
            transcript.replace_first_client_hello_with_message_hash()
            retry = ServerHello(
                LEGACY_VERSION,
                HELLO_RETRY_REQUEST_RANDOM,
                hello.legacy_session_id,
                suite,
                0,
                (
                    SELECTED_VERSION_TLS13,
                    Extension(
                        ExtensionType.key_share, ext.encode_hello_retry_key_share(group.group)
                    ),
                ),
            )
            transcript.add(context.send_handshake(retry, log_name="HelloRetryRequest"))
            if hello.legacy_session_id:
                context.send_change_cipher_spec()  # appendix D.4, once per handshake
            if offer.early_data:
                # Refused 0-RTT data now arrives in the clear as application_data.
                context.skip_refused_early_data(EARLY_DATA_SKIP_LIMIT, in_the_clear=True)
            return ExpectSecondClientHello(settings, hello, suite, group.group, transcript)

        if offer.early_data:
            # Refused 0-RTT data arrives under keys we do not have: skipped (4.2.10).
            context.skip_refused_early_data(EARLY_DATA_SKIP_LIMIT, in_the_clear=False)
        return _answer_client_hello(
            context,
            transcript,
            settings,
            hello,
            raw,
            offer,
            suite,
            group,
            hello_retry=False,
        )


class ExpectSecondClientHello:
    name: ClassVar[str] = "ExpectSecondClientHello"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.client_hello,)

    def __init__(
        self,
        settings: ServerSettings,
        first: ClientHello,
        suite: CipherSuite,
        group: NamedGroup,
        transcript: Transcript,
    ) -> None:
        self.settings = settings
        self.first = first
        self.suite = suite
        self.group = group
        self.transcript = transcript  # message_hash(first ClientHello), HelloRetryRequest

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        hello = ClientHello.decode(body)
        context.observe_received("ClientHello", hello, raw)
        check_second_client_hello(self.first, hello, self.group)
        offer = read_client_offer(hello)
        # Section 4.2.10: 0-RTT data belongs to the first hello only; from here
        # on a record that does not open is bad_record_mac, never skipped.
        context.skip_refused_early_data(0, in_the_clear=False)
        share = offer.key_shares[0].key_exchange
        return _answer_client_hello(
            context,
            self.transcript,
            self.settings,
            hello,
            raw,
            offer,
            self.suite,
            GroupChoice(self.group, share),
            hello_retry=True,
        )


class ExpectFinished:
    name: ClassVar[str] = "ExpectFinished"
    expects: ClassVar[tuple[HandshakeType, ...]] = (HandshakeType.finished,)

    def __init__(
        self,
        settings: ServerSettings,
        parameters: CipherSuiteParameters,
        client_handshake_secret: bytes,
        master: key_schedule.MasterSecret,
        server_finished_hash: bytes,
        negotiated: Negotiated,
        send_tickets: bool,
        transcript: Transcript,
    ) -> None:
        self.settings = settings
        self.parameters = parameters
        self.client_handshake_secret = client_handshake_secret
        self.master = master
        # Transcript-Hash(ClientHello..server Finished): the client's
        # application secret is derived from it only when its Finished is in.
        self.server_finished_hash = server_finished_hash
        self.negotiated = negotiated
        self.send_tickets = send_tickets
        self.transcript = transcript

    def with_client_certificate(
        self, context: HandshakeContext, check: ClientCertificateCheck
    ) -> ExpectFinished:
        """This state, once client_authentication.py has read the client's certificate."""
        self.negotiated = replace(self.negotiated, client_certificate=check)
        context.agree(self.negotiated)
        return self

    def handle(self, context: HandshakeContext, message: HandshakeInput) -> HandshakeState:
        _, body, raw = message
        finished = Finished.decode(body)
        context.observe_received("Finished", finished, raw)
        parameters = self.parameters
        transcript = self.transcript
        proof = verify_finished(
            parameters,
            self.client_handshake_secret,
            transcript.digest(),
            finished.verify_data,
            peer="client",
        )
        transcript.add(raw)
        resumption_master_secret = self.master.resumption_master_secret(transcript.digest())
        context.install_read_keys(
            parameters,
            "client_application_traffic_secret_0",
            self.master.client_application_traffic_secret(self.server_finished_hash),
        )
        if self.send_tickets:
            _send_tickets(context, self.settings, parameters, resumption_master_secret)
        # The transcript ends here: Traffic keeps nothing of the handshake but
        # what was agreed (10,000 idle connections must stay small).
        return Traffic(proof, self.negotiated)


# ---------------------------------------------------------------------------
# the server's flight
# ---------------------------------------------------------------------------


def _answer_client_hello(
    context: HandshakeContext,
    transcript: Transcript,
    settings: ServerSettings,
    hello: ClientHello,
    raw: bytes,
    offer: ClientOffer,
    suite: CipherSuite,
    group: GroupChoice,
    *,
    hello_retry: bool,
) -> HandshakeState:
    """ServerHello, EncryptedExtensions, [CertificateRequest, Certificate, CertificateVerify],
    Finished."""
    parameters = CIPHER_SUITE_PARAMETERS[suite]
    hash_name = parameters.hash_name

    # Resumption (section 4.2.11): verify the binder over the hello up to the binders.
    ticket = _usable_ticket(context, settings, offer, parameters)
    psk = None
    if ticket is not None:
        identity_index, contents = ticket
        assert offer.offered_psks is not None
        partial_hello = raw[: len(raw) - offer.offered_psks.binders_length]
        early = key_schedule.EarlySecret(hash_name, contents.psk)
        if not key_schedule.is_valid_finished(
            hash_name,
            early.binder_key(resumption=True),
            transcript.digest_with(partial_hello),
            offer.offered_psks.binders[identity_index],
        ):
            raise TLSError("the PSK binder does not verify", AlertDescription.decrypt_error)
        psk = contents.psk
    else:
        early = key_schedule.EarlySecret(hash_name)
    transcript.add(raw)

    assert group.client_share is not None
    group_name = group.group.name  # an enum's .name is a property: read it once
    try:
        # For a hybrid group the share is an ML-KEM ciphertext with an ECDH
        # key, the secret both secrets joined (draft-ietf-tls-ecdhe-mlkem).
        exchange = crypto.server_key_exchange(group_name, group.client_share, context.random_bytes)
    except crypto.KeyExchangeError as error:
        # Section 4.2.8: a share of the wrong length, an invalid point, an
        # encapsulation key failing the FIPS 203 checks.
        raise TLSError(str(error), AlertDescription.illegal_parameter) from error
    if context.is_observed:  # a trace page recomputes the shared secret (learning mode only)
        context.observe_key_exchange(
            group_name, exchange.ecdh_key.private_bytes(), group.client_share
        )
    shared_secret = exchange.secret
    context.log_secret("shared_secret", shared_secret)
    context.log_secret("early_secret", early.secret)

    credentials = scheme = scheme_name = None
    if psk is None:
        credentials = settings.credentials_for(offer.server_name)
        scheme = choose_signature_scheme(credentials.signature_schemes, offer.signature_algorithms)
    protocol = choose_application_protocol(
        offer.application_protocols, settings.application_protocols
    )

    raw_server_hello = server_hello_bytes(
        context.random_bytes(32),
        hello.legacy_session_id,
        suite,
        group.group,
        exchange.share,
        ticket[0] if ticket is not None else None,  # the selected PSK identity
    )
    transcript.add(context.send_packed(ServerHello, raw_server_hello))
    if hello.legacy_session_id and not hello_retry:
        context.send_change_cipher_spec()  # appendix D.4 (after HRR it was sent already)

    handshake_secret = early.handshake_secret(shared_secret)
    context.log_secret("handshake_secret", handshake_secret.secret)
    hello_hash = transcript.digest()
    client_handshake_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
    server_handshake_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
    context.install_write_keys(
        parameters, "server_handshake_traffic_secret", server_handshake_secret
    )
    # The ClientHello must have ended its record (section 5.1): checked here.
    context.install_read_keys(
        parameters, "client_handshake_traffic_secret", client_handshake_secret
    )

    # EncryptedExtensions: server_name acknowledged (RFC 6066 section 3) and ALPN.
    prepared = settings.prepared
    encrypted_extensions = prepared.encrypted_extensions(offer.server_name is not None, protocol)
    transcript.add(context.send_handshake(encrypted_extensions.message, encrypted_extensions.raw))
    client_authentication = settings.client_authentication
    if client_authentication is not None:
        # Section 4.3.2: after EncryptedExtensions; never in a PSK handshake (none is).
        transcript.add(context.send_handshake(client_authentication.request))

    if credentials is not None and scheme is not None:
        chain = prepared.credentials(credentials)
        certificate = chain.certificate
        if settings.certificate_compression and offer.certificate_compression_algorithms:
            # RFC 8879 section 4: sent in place of Certificate, hashed as sent.
            compressed = chain.compressed_certificate(offer.certificate_compression_algorithms)
            if compressed is not None:
                certificate = compressed
        transcript.add(context.send_handshake(certificate.message, certificate.raw))
        scheme_name = scheme.name
        signature = chain.sign(scheme_name, SERVER_SIGNATURE_CONTEXT + transcript.digest())
        transcript.add(
            context.send_packed(CertificateVerify, CertificateVerify.pack(scheme, signature))
        )

    verify_data = key_schedule.finished_verify_data(
        hash_name, server_handshake_secret, transcript.digest()
    )
    transcript.add(context.send_packed(Finished, Finished.pack(verify_data)))

    master = handshake_secret.master_secret()
    context.log_secret("master_secret", master.secret)
    finished_hash = transcript.digest()
    server_application_secret = master.server_application_traffic_secret(finished_hash)
    if context.logs_secrets:
        # Nothing here exports keying material; the secret is derived only to be logged.
        context.log_secret("exporter_master_secret", master.exporter_master_secret(finished_hash))
    # client_application_traffic_secret_0 is derived (and logged) when ExpectFinished needs it.
    context.install_write_keys(
        parameters, "server_application_traffic_secret_0", server_application_secret
    )

    negotiated = Negotiated(
        protocol="TLSv1.3",
        cipher_suite=suite.name,
        group=group_name,
        alpn=protocol.decode("latin-1") if protocol is not None else None,
        server_name=offer.server_name,
        signature_scheme=scheme_name,
        resumed=psk is not None,
        hello_retry=hello_retry,
    )
    context.agree(negotiated)
    expect_finished = ExpectFinished(
        settings,
        parameters,
        client_handshake_secret,
        master,
        finished_hash,
        negotiated,
        send_tickets=(
            settings.ticket_key is not None
            and client_authentication is None
            and offer.offers_psk_dhe
        ),
        transcript=transcript,
    )
    if client_authentication is not None:
        return ExpectCertificate(client_authentication, expect_finished)
    return expect_finished


# ---------------------------------------------------------------------------
# resumption
# ---------------------------------------------------------------------------


def _usable_ticket(
    context: HandshakeContext,
    settings: ServerSettings,
    offer: ClientOffer,
    parameters: CipherSuiteParameters | None,
) -> tuple[int, TicketContents] | None:
    """(identity index, contents) of the first offered ticket we can resume, if any.

    Only psk_dhe_ke is supported: resumption always runs a fresh (EC)DHE, so
    a stolen ticket alone never decrypts past traffic.  With `parameters`
    given, the ticket's hash must match the chosen suite's (section 4.2.11).
    """
    key = settings.ticket_key
    if key is None or offer.offered_psks is None or not offer.offers_psk_dhe:
        return None
    if settings.client_authentication is not None:
        return None  # a resumed handshake would skip the client's certificate
    now_ms = int(context.clock() * 1000)
    # Built once: a hostile hello may pair hundreds of identities with
    # 32,000 cipher suites, and a tuple's `in` per identity would multiply them.
    offered_suites = frozenset(offer.cipher_suites)
    for index, identity in enumerate(offer.offered_psks.identities):
        contents = key.open(identity.identity)
        if contents is None or not contents.is_valid_at(now_ms):
            continue
        suite = contents.cipher_suite
        if suite not in offered_suites or suite not in settings.cipher_suites:
            continue
        if (
            parameters is not None
            and CIPHER_SUITE_PARAMETERS[suite].hash_name != parameters.hash_name
        ):
            continue
        return index, contents
    return None


def _choose_suite(
    offer: ClientOffer, settings: ServerSettings, ticket: tuple[int, TicketContents] | None
) -> CipherSuite:
    if ticket is not None:
        return CipherSuite(ticket[1].cipher_suite)  # resume with the suite the ticket was made for
    return choose_cipher_suite(offer.cipher_suites, settings.cipher_suites)


def _send_tickets(
    context: HandshakeContext,
    settings: ServerSettings,
    parameters: CipherSuiteParameters,
    resumption_master_secret: bytes,
) -> None:
    key = settings.ticket_key
    assert key is not None
    issued_at_ms = int(context.clock() * 1000)
    for number in range(settings.tickets_per_handshake):
        nonce = bytes((number,))
        contents = TicketContents(
            cipher_suite=parameters.suite,
            issued_at_ms=issued_at_ms,
            lifetime=settings.ticket_lifetime,
            age_add=int.from_bytes(context.random_bytes(4), "big"),
            psk=key_schedule.resumption_psk(parameters.hash_name, resumption_master_secret, nonce),
        )
        context.send_unrecorded_handshake(
            NewSessionTicket(
                ticket_lifetime=settings.ticket_lifetime,
                ticket_age_add=contents.age_add,
                ticket_nonce=nonce,
                ticket=key.seal(contents, context.random_bytes),
            )
        )
