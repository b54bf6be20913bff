"""The TLS 1.3 server handshake (RFC 8446 section 4), as states named for what they wait for.

    ExpectClientHello ──ClientHello, no usable key share──► ExpectSecondClientHello
          │                      (we sent HelloRetryRequest)          │
          │ ClientHello                                   ClientHello │
          ▼                                                           ▼
    (we send ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished)
          │
          ▼
    ExpectFinished ──client Finished verified──► Traffic (NewSessionTickets sent)

SERVER_TRANSITIONS holds this diagram as data; docs and tests use it.

What this module owns: the server's decisions (through negotiation.py), its
flight, its key schedule steps and its tickets.  Records, alerts, KeyUpdate
and the tls/api.py contract live in connection.py.

What it must never do: release application data before the client's Finished
has been verified (connection.py refuses it while a state is pending), accept
0-RTT data, or read the clock and randomness other than through the
connection's `clock` and `random_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from .. import crypto, pki
from ..api import Negotiated, Observer
from ..errors import AlertDescription, TLSError
from . import extensions as ext
from . import key_schedule
from .connection import HandshakeInput, TLS13Connection, check_finished_length
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
from .messages import (
    SERVER_SIGNATURE_CONTEXT,
    CertificateVerify,
    ClientHello,
    Finished,
    NewSessionTicket,
    ServerHello,
)
from .negotiation import (
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
    server_hello,
)
from .tickets import TicketContents, TicketKey

DEFAULT_CIPHER_SUITES = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)
DEFAULT_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x448)

# Refused 0-RTT data is skipped up to this many bytes, then it is an error.
EARLY_DATA_SKIP_LIMIT = 1 << 16

SERVER_TRANSITIONS = (
    ("ExpectClientHello", "ClientHello", "ExpectFinished"),
    ("ExpectClientHello", "ClientHello (no usable key share)", "ExpectSecondClientHello"),
    ("ExpectSecondClientHello", "ClientHello", "ExpectFinished"),
    ("ExpectFinished", "Finished", "Traffic"),
    ("Traffic", "KeyUpdate", "Traffic"),
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
    ticket_key: TicketKey | None = None
    ticket_lifetime: int = 7200  # seconds
    tickets_per_handshake: int = 2  # as OpenSSL does
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

    def handle(self, connection: TLS13Connection, message: HandshakeInput):
        _, body, raw = message
        hello = ClientHello.decode(body)
        connection.client_random = hello.random
        connection.observe_received("ClientHello", hello, raw)
        offer = read_client_offer(hello)
        if offer.early_data:
            connection.early_data_to_skip = EARLY_DATA_SKIP_LIMIT
        settings = self.settings
        ticket = _usable_ticket(connection, settings, offer, None)
        suite = _choose_suite(offer, settings, ticket)
        group = choose_group(offer, settings.groups)
        parameters = CIPHER_SUITE_PARAMETERS[suite]
        connection.parameters = parameters
        connection.transcript.set_hash(parameters.hash_name)

        if group.client_share is None:
            # Section 4.1.4: no acceptable key share, so ask for one.  Our
            # HelloRetryRequest carries no cookie: we keep the state ourselves.
            connection.transcript.add(raw)
            connection.transcript.replace_first_client_hello_with_message_hash()
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
            connection.send_handshake(retry, log_name="HelloRetryRequest")
            if hello.legacy_session_id:
                connection.send_change_cipher_spec()  # appendix D.4, once per handshake
            # Refused 0-RTT data now arrives in the clear as application_data.
            connection.skip_unprotected_early_data = offer.early_data
            return ExpectSecondClientHello(settings, hello, suite, group.group)

        return _answer_client_hello(
            connection,
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
        self, settings: ServerSettings, first: ClientHello, suite: CipherSuite, group: NamedGroup
    ) -> None:
        self.settings = settings
        self.first = first
        self.suite = suite
        self.group = group

    def handle(self, connection: TLS13Connection, message: HandshakeInput):
        _, body, raw = message
        hello = ClientHello.decode(body)
        connection.observe_received("ClientHello", hello, raw)
        check_second_client_hello(self.first, hello, self.group)
        offer = read_client_offer(hello)
        # Section 4.2.10: 0-RTT data belongs to the first hello only; from here
        # on a record that does not open is bad_record_mac, never skipped.
        connection.skip_unprotected_early_data = False
        connection.early_data_to_skip = 0
        share = offer.key_shares[0].key_exchange
        return _answer_client_hello(
            connection,
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

    def handle(self, connection: TLS13Connection, message: HandshakeInput):
        _, body, raw = message
        finished = Finished.decode(body)
        connection.observe_received("Finished", finished, raw)
        parameters = self.parameters
        check_finished_length(parameters, finished.verify_data)
        if not key_schedule.is_valid_finished(
            parameters.hash_name,
            self.client_handshake_secret,
            connection.transcript.digest(),
            finished.verify_data,
        ):
            # Section 4.4.4: a wrong Finished is a decrypt_error.
            raise TLSError("the client's Finished does not verify", AlertDescription.decrypt_error)
        connection.transcript.add(raw)
        resumption_master_secret = self.master.resumption_master_secret(
            connection.transcript.digest()
        )
        connection.set_read_secret(
            "client_application_traffic_secret_0",
            self.master.client_application_traffic_secret(self.server_finished_hash),
        )
        connection.establish(self.negotiated)
        if self.send_tickets:
            _send_tickets(connection, self.settings, parameters, resumption_master_secret)
        return None


# ---------------------------------------------------------------------------
# the server's flight
# ---------------------------------------------------------------------------


def _answer_client_hello(
    connection: TLS13Connection,
    settings: ServerSettings,
    hello: ClientHello,
    raw: bytes,
    offer: ClientOffer,
    suite: CipherSuite,
    group: GroupChoice,
    *,
    hello_retry: bool,
):
    """ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished."""
    parameters = CIPHER_SUITE_PARAMETERS[suite]
    hash_name = parameters.hash_name
    transcript = connection.transcript

    # Resumption (section 4.2.11): verify the binder over the hello up to the binders.
    ticket = _usable_ticket(connection, settings, offer, parameters)
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
    ephemeral = crypto.EphemeralKey(group.group.name, connection.random_bytes)
    try:
        shared_secret = ephemeral.exchange(group.client_share)
    except crypto.KeyExchangeError as error:
        raise TLSError(str(error), AlertDescription.illegal_parameter) from error
    connection.log_secret("shared_secret", shared_secret)
    connection.log_secret("early_secret", early.secret)

    credentials = scheme = None
    if psk is None:
        credentials = settings.credentials_for(offer.server_name)
        scheme = choose_signature_scheme(credentials.signature_schemes, offer.signature_algorithms)
    protocol = choose_application_protocol(
        offer.application_protocols, settings.application_protocols
    )

    server_random = connection.random_bytes(32)
    connection.send_handshake(
        server_hello(
            server_random,
            hello.legacy_session_id,
            suite,
            group.group,
            ephemeral.public_bytes,
            ticket[0] if ticket is not None else None,  # the selected PSK identity
        )
    )
    if hello.legacy_session_id and not hello_retry:
        connection.send_change_cipher_spec()  # appendix D.4 (after HRR it was sent already)

    handshake_secret = early.handshake_secret(shared_secret)
    connection.log_secret("handshake_secret", handshake_secret.secret)
    hello_hash = transcript.digest()
    client_handshake_secret = handshake_secret.client_handshake_traffic_secret(hello_hash)
    server_handshake_secret = handshake_secret.server_handshake_traffic_secret(hello_hash)
    connection.set_write_secret("server_handshake_traffic_secret", server_handshake_secret)
    # The ClientHello must have ended its record (section 5.1): checked here.
    connection.set_read_secret("client_handshake_traffic_secret", client_handshake_secret)

    # EncryptedExtensions: server_name acknowledged (RFC 6066 section 3) and ALPN.
    prepared = settings.prepared
    encrypted_extensions = prepared.encrypted_extensions(offer.server_name is not None, protocol)
    connection.send_handshake(encrypted_extensions.message, encrypted_extensions.raw)

    if credentials is not None and scheme is not None:
        chain = prepared.credentials(credentials)
        connection.send_handshake(chain.certificate.message, chain.certificate.raw)
        signature = chain.sign(scheme.name, SERVER_SIGNATURE_CONTEXT + transcript.digest())
        connection.send_handshake(CertificateVerify(scheme, signature))

    verify_data = key_schedule.finished_verify_data(
        hash_name, server_handshake_secret, transcript.digest()
    )
    connection.send_handshake(Finished(verify_data))

    master = handshake_secret.master_secret()
    connection.log_secret("master_secret", master.secret)
    finished_hash = transcript.digest()
    server_application_secret = master.server_application_traffic_secret(finished_hash)
    if connection.logs_secrets:
        # Nothing here exports keying material; the secret is derived only to be logged.
        connection.log_secret(
            "exporter_master_secret", master.exporter_master_secret(finished_hash)
        )
    # client_application_traffic_secret_0 is derived (and logged) when ExpectFinished needs it.
    connection.set_write_secret("server_application_traffic_secret_0", server_application_secret)

    negotiated = Negotiated(
        protocol="TLSv1.3",
        cipher_suite=suite.name,
        group=group.group.name,
        alpn=protocol.decode("latin-1") if protocol is not None else None,
        server_name=offer.server_name,
        signature_scheme=scheme.name if scheme is not None else None,
        resumed=psk is not None,
        hello_retry=hello_retry,
    )
    connection.agree(negotiated)
    return ExpectFinished(
        settings,
        parameters,
        client_handshake_secret,
        master,
        finished_hash,
        negotiated,
        send_tickets=settings.ticket_key is not None and offer.offers_psk_dhe,
    )


# ---------------------------------------------------------------------------
# resumption
# ---------------------------------------------------------------------------


def _usable_ticket(
    connection: TLS13Connection,
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
    now_ms = int(connection.clock() * 1000)
    for index, identity in enumerate(offer.offered_psks.identities):
        contents = key.open(identity.identity)
        if contents is None or not contents.is_valid_at(now_ms):
            continue
        suite = contents.cipher_suite
        if suite not in offer.cipher_suites or suite not in settings.cipher_suites:
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
    connection: TLS13Connection,
    settings: ServerSettings,
    parameters: CipherSuiteParameters,
    resumption_master_secret: bytes,
) -> None:
    key = settings.ticket_key
    assert key is not None
    issued_at_ms = int(connection.clock() * 1000)
    for number in range(settings.tickets_per_handshake):
        nonce = bytes((number,))
        contents = TicketContents(
            cipher_suite=parameters.suite,
            issued_at_ms=issued_at_ms,
            lifetime=settings.ticket_lifetime,
            age_add=int.from_bytes(connection.random_bytes(4), "big"),
            psk=key_schedule.resumption_psk(parameters.hash_name, resumption_master_secret, nonce),
        )
        connection.send_unrecorded_handshake(
            NewSessionTicket(
                ticket_lifetime=settings.ticket_lifetime,
                ticket_age_add=contents.age_add,
                ticket_nonce=nonce,
                ticket=key.seal(contents, connection.random_bytes),
            )
        )
