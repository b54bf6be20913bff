"""What the fuzz harnesses share: fixed keys, clocks and randomness, TCP splits, sealed records.

What this module owns:
- The fixed world every harness runs in, so that one input always takes one
  path: the test PKIs in fuzz/keys/ (made once with a fixed date, kept in the
  repository because recorded server flights carry their certificates), a
  fixed clock inside their validity, and randomness from a seeded PRNG.
- `tcp_chunks`: an input cut into TCP-sized pieces at points derived from the
  input itself, so a crash reproduces from its file alone.
- The sealing framing used by the harnesses that talk to a TLS 1.3 endpoint
  past its key change (tls13_server_after_hello, tls13_client).  A fuzzer
  cannot forge AEAD tags, so mutated encrypted records would all stop at
  bad_record_mac.  Instead, in those harnesses a record written as
  `17 03 03 length inner-plaintext` is sealed by the harness, just before it
  is fed, under the key the connection is reading with at that moment (the
  connection's observer reports every secret it installs).  Anything else,
  including a type-23 record whose version bytes are not 03 03, goes on the
  wire verbatim.
- `check_tls_error`: what "failed properly" means for a TLS object.

What it must never do: import atheris (the smoke test runs without it), or
read the wall clock or os.urandom (an input must replay byte for byte).
"""

from __future__ import annotations

import functools
import itertools
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tls_web_server.tls import crypto, pki
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.client import ClientSettings, TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.enums import CipherSuiteParameters, ContentType, NamedGroup
from tls_web_server.tls.tls13.key_schedule import traffic_key_and_iv
from tls_web_server.tls.tls13.record import RECORD_HEADER_LENGTH
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

FUZZ_DIR = Path(__file__).resolve().parent
KEYS_DIR = FUZZ_DIR / "keys"
CORPUS_DIR = FUZZ_DIR / "corpus"

# fuzz/keys/ was generated with pki.generate_pki(now=PKI_CREATED); the
# certificates are valid from an hour before that for 397 days.  Every clock
# in the harnesses reads FIXED_NOW, inside that window whatever the date.
PKI_CREATED = 1_750_000_000.0
FIXED_NOW = PKI_CREATED + 3600.0
SERVER_NAME = "localhost"

# One seed per role, so that a client and a server built here always send the
# same bytes: a recorded server flight answers every fresh fuzz client.
CLIENT_RANDOM_SEED = 8446
SERVER_RANDOM_SEED = 8447
TICKET_KEY_SEED = 5077

# An input is fed in at most this many TCP chunks.
MAX_TCP_CHUNKS = 8

_APPLICATION_DATA = int(ContentType.application_data)
_SEALED_RECORD_PREFIX = bytes((_APPLICATION_DATA, 0x03, 0x03))


class HarnessFailure(Exception):
    """A property the harness checks does not hold: a bug, reported as a fuzzer crash."""


def fail(reason: str) -> HarnessFailure:
    return HarnessFailure(reason)


def seeded_random(seed: int) -> Callable[[int], bytes]:
    """A `random_bytes` that gives the same bytes for the same seed (never for secrets)."""
    return random.Random(seed).randbytes


def fixed_clock() -> float:
    return FIXED_NOW


def input_random(data: bytes) -> random.Random:
    """A PRNG seeded from the input, for choices that must replay with the input."""
    return random.Random(zlib.crc32(data))


def tcp_chunks(data: bytes, max_chunks: int = MAX_TCP_CHUNKS) -> list[bytes]:
    """`data` cut into 1 to `max_chunks` pieces; the cut points depend only on `data`."""
    if len(data) < 2:
        return [data]
    chooser = input_random(data)
    cut_count = chooser.randrange(max_chunks)
    cuts = sorted({chooser.randrange(1, len(data)) for _ in range(cut_count)})
    bounds = [0, *cuts, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


# ---------------------------------------------------------------------------
# the fixed PKIs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzPki:
    key_type: str
    folder: Path
    credentials: pki.ServerCredentials
    root: pki.Certificate


@functools.cache
def fuzz_pki(key_type: str) -> FuzzPki:
    """The chain in fuzz/keys/KEY_TYPE: ecdsa-p256 (every client accepts it), ed25519 or rsa-2048.

    rsa-2048 is the walkthrough's kind of key, for the toytls harness.

    Ed25519 signatures are deterministic, so a server with that chain sends
    the same flight every time: that is what lets a recorded client Finished
    verify in tls13_server_after_hello.  Our clients refuse that chain (as
    browsers do), so only servers use it.
    """
    folder = KEYS_DIR / key_type
    credentials = pki.load_server_credentials(
        folder / "server_cert.pem", folder / "server_key.pem", folder / "intermediate_cert.pem"
    )
    (root,) = pki.load_trusted_roots(folder / "root_cert.pem")
    return FuzzPki(key_type, folder, credentials, root)


# ---------------------------------------------------------------------------
# TLS 1.3 endpoints in the fixed world
# ---------------------------------------------------------------------------


@functools.cache
def ticket_key() -> TicketKey:
    return TicketKey.generate(seeded_random(TICKET_KEY_SEED))


def new_tls13_server(
    key_type: str = "ecdsa-p256",
    *,
    observer: Callable[[Any], None] | None = None,
    **settings: Any,
) -> TLS13ServerConnection:
    """A server with the fixed chain, clock, randomness and ticket key."""
    server_settings = ServerSettings(
        credentials=fuzz_pki(key_type).credentials, ticket_key=ticket_key(), **settings
    )
    return TLS13ServerConnection(
        server_settings,
        random_bytes=seeded_random(SERVER_RANDOM_SEED),
        clock=fixed_clock,
        observer=observer,
    )


_FUZZ_CLIENT_OFFER: dict[str, Any] = {
    "groups": (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x448),
    "key_share_groups": (NamedGroup.x25519, NamedGroup.secp256r1),
    "certificate_compression": (),
}


def new_tls13_client(
    *,
    observer: Callable[[Any], None] | None = None,
    tickets: TicketStore | None = None,
    **settings: Any,
) -> TLS13ClientConnection:
    """A client that trusts both fixed roots; with the same settings, the same ClientHello.

    Its hello stays the classical one the corpus was recorded against:
    x25519 and secp256r1 shares, no compress_certificate.  A hybrid share would make the
    server's answer unrepeatable (ML-KEM encapsulation draws its randomness
    inside OpenSSL, crypto.py), and the tls13_server_after_hello seeds are
    sealed under the keys that answer makes.
    """
    for name, value in _FUZZ_CLIENT_OFFER.items():
        settings.setdefault(name, value)
    client_settings = ClientSettings(
        trusted_roots=(fuzz_pki("ecdsa-p256").root, fuzz_pki("ed25519").root),
        tickets=tickets if tickets is not None else TicketStore(),
        **settings,
    )
    return TLS13ClientConnection(
        SERVER_NAME,
        client_settings,
        random_bytes=seeded_random(CLIENT_RANDOM_SEED),
        clock=fixed_clock,
        observer=observer,
    )


def check_tls_error(error: TLSError, connection: Any) -> None:
    """A TLS 1.3 failure must name one alert (sent or received) and never be internal_error.

    internal_error is what connection.py turns an unforeseen exception into:
    for us it is a bug, not an answer to bad input.  The alert we name must
    also be queued for the peer (RFC 8446 section 6.2), unless the peer's own
    alert ended the connection.
    """
    if not isinstance(error.reason, str) or not error.reason:
        raise fail(f"a TLSError without a reason: {error!r}")
    if error.alert is AlertDescription.internal_error:
        raise fail(f"internal_error, i.e. a bug: {error.reason}")
    if (error.alert is None) == (error.received_alert is None):
        raise fail(f"a TLSError must name exactly one alert, sent or received: {error}")
    if error.alert is not None and not isinstance(error.alert, AlertDescription):
        raise fail(f"alert {error.alert!r} is not an AlertDescription")
    if error.alert is not None and not connection.pop_pending_wire_data():
        raise fail(f"the {error.alert.name} alert was not queued for the peer")


def check_refuses_after_failure(connection: Any) -> None:
    """A failed connection refuses every later byte with TLSError (tls/api.py contract)."""
    try:
        connection.feed_wire_data(b"\x16\x03\x03\x00\x01\x01")
    except TLSError:
        return
    raise fail("a failed connection accepted more bytes")


# ---------------------------------------------------------------------------
# the sealing framing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WireUnit:
    """One piece of a framed input: sent verbatim, or (`sealed`) a TLSInnerPlaintext to seal."""

    data: bytes
    sealed: bool


def framed_units(data: bytes) -> Iterator[WireUnit]:
    """Cut a framed input into records: `17 03 03 len inner` to seal, anything else verbatim."""
    offset = 0
    end = len(data)
    while offset < end:
        if end - offset < RECORD_HEADER_LENGTH:
            yield WireUnit(data[offset:], sealed=False)
            return
        length = int.from_bytes(data[offset + 3 : offset + 5], "big")
        record_end = min(end, offset + RECORD_HEADER_LENGTH + length)
        if data[offset : offset + 3] == _SEALED_RECORD_PREFIX:
            yield WireUnit(data[offset + RECORD_HEADER_LENGTH : record_end], sealed=True)
        else:
            yield WireUnit(data[offset:record_end], sealed=False)
        offset = record_end


def framed_record(content_type: int, content: bytes, padding: int = 0) -> bytes:
    """A record in the framing: the harness seals `content`, its type and `padding` zeros."""
    inner = content + bytes((content_type,)) + bytes(padding)
    return _SEALED_RECORD_PREFIX + len(inner).to_bytes(2, "big") + inner


class PeerReadKeys:
    """Seals records under whatever key a connection currently reads with.

    Pass it as the connection's observer: every secret the connection
    installs for reading arrives as a "secret" event, and sealing starts over
    at sequence number 0 under it (RFC 8446 section 5.3).
    """

    def __init__(self, read_secret_names: frozenset[str], connection_parameters: Callable) -> None:
        self._names = read_secret_names
        self._parameters = connection_parameters
        self._secret: bytes | None = None
        self._aead: crypto.Aead | None = None
        self._iv = 0
        self._sequence = 0

    def __call__(self, event: dict[str, Any]) -> None:
        if event["kind"] == "secret" and event["name"] in self._names:
            self._secret = event["value"]
            self._aead = None
            self._sequence = 0

    def seal(self, inner_plaintext: bytes) -> bytes:
        """One TLSCiphertext record, or the inner plaintext in clear if no key exists yet."""
        parameters: CipherSuiteParameters | None = self._parameters()
        if self._secret is None or parameters is None:
            # No read key yet: the record goes out as application data in
            # clear, which the connection must refuse.
            return _SEALED_RECORD_PREFIX + len(inner_plaintext).to_bytes(2, "big") + inner_plaintext
        # The framing's length field allows 65535 bytes; leave room for the tag.
        inner_plaintext = inner_plaintext[: 0xFFFF - crypto.AEAD_TAG_LENGTH]
        if self._aead is None:
            key, iv = traffic_key_and_iv(parameters, self._secret)
            self._aead = crypto.Aead(parameters.aead, key)
            self._iv = int.from_bytes(iv, "big")
        length = len(inner_plaintext) + crypto.AEAD_TAG_LENGTH
        header = _SEALED_RECORD_PREFIX + length.to_bytes(2, "big")
        nonce = (self._iv ^ self._sequence).to_bytes(crypto.AEAD_NONCE_LENGTH, "big")
        self._sequence += 1
        return header + self._aead.seal(nonce, inner_plaintext, header)


CLIENT_READ_SECRETS = frozenset(
    {
        "server_handshake_traffic_secret",
        "server_application_traffic_secret_0",
        "next_read_application_traffic_secret",
    }
)
SERVER_READ_SECRETS = frozenset(
    {
        "client_handshake_traffic_secret",
        "client_application_traffic_secret_0",
        "next_read_application_traffic_secret",
    }
)


def feed_framed(connection: Any, keys: PeerReadKeys, data: bytes) -> None:
    """Feed a framed input record by record, each cut into TCP chunks; TLSError propagates.

    Output is drained after every record, as the event loop does, and
    application data must never appear before the handshake is complete.
    """
    for unit in framed_units(data):
        wire = keys.seal(unit.data) if unit.sealed else unit.data
        for chunk in tcp_chunks(wire, max_chunks=3):
            connection.feed_wire_data(chunk)
        connection.pop_pending_wire_data()
        if connection.read_plaintext() and not connection.is_established:
            raise fail("application data released before the handshake was complete")
