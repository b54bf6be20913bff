"""Fuzzing the TLS 1.3 server: whatever arrives, only TLSError escapes, and never internal_error.

The server turns any exception it did not foresee into TLSError with
internal_error (connection.py), so "only TLSError escapes" alone would
hide bugs: an internal_error alert is our bug, and these tests fail on it.

Inputs, each split into random TCP chunks:
- random bytes, and random records (valid headers, random contents);
- real ClientHellos (one recorded from OpenSSL, others from the scripted
  client) with single-byte changes, truncations, insertions and deletions;
- random sequences of records after a valid ClientHello, plaintext and
  protected under the client's real keys, so they reach the state machine.
And one exact property: a valid handshake fed in two pieces, split at every
byte boundary, gives byte for byte what feeding it whole gives.
"""

from __future__ import annotations

import functools
import itertools
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    CipherSuiteParameters,
    ContentType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
)
from tls_web_server.tls.tls13.record import RecordProtection, RecordReader
from tls_web_server.tls.tls13.server import TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

from ..conftest import DemoPki
from .scripted_client import (
    GREASE_GROUP,
    UNKNOWN_GROUP,
    ReceivedTicket,
    ScriptedClient,
    new_server,
    plaintext_record,
)

FUZZ_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A fixed moment for servers whose output must be reproducible.
FIXED_TIME = 1_700_000_000.0


def feed_checked(server: TLS13ServerConnection, chunks: list[bytes]) -> TLSError | None:
    """Feed chunk by chunk; the first TLSError ends it and is returned.

    Any other exception propagates and fails the test; an internal_error
    alert fails it here.  Output is drained after every chunk, as the event
    loop does.
    """
    for chunk in chunks:
        try:
            server.feed_wire_data(chunk)
        except TLSError as error:
            assert error.alert is not AlertDescription.internal_error, error.reason
            server.pop_pending_wire_data()
            return error
        server.pop_pending_wire_data()
    return None


def split(data: bytes, cut_points: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (taken modulo its length, sorted, deduplicated)."""
    if not data:
        return [data]
    cuts = sorted({point % len(data) for point in cut_points} | {0, len(data)})
    return [data[start:end] for start, end in itertools.pairwise(cuts)]


# ------------------------------------------------------------ seed ClientHellos


@functools.cache
def openssl_client_hello() -> bytes:
    """The first flight of Python's ssl (OpenSSL) client: one ClientHello record."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


@functools.cache
def scripted_client_hellos() -> tuple[bytes, ...]:
    """Scripted hellos that reach other paths: PSK offer + early data, HRR, unknown groups."""
    fake_ticket = ReceivedTicket(
        bytes(range(60)), bytes(32), CipherSuite.TLS_AES_128_GCM_SHA256, 7, 7200
    )
    plain = ScriptedClient()
    with_psk = ScriptedClient()
    retry = ScriptedClient()
    return (
        plain.hello_record(plain.client_hello()),
        with_psk.hello_record(with_psk.client_hello(ticket=fake_ticket, early_data=True)),
        retry.hello_record(
            retry.client_hello(
                supported_groups=(UNKNOWN_GROUP, GREASE_GROUP, NamedGroup.secp256r1),
                key_share_groups=(UNKNOWN_GROUP, GREASE_GROUP),
            )
        ),
    )


@functools.cache
def ticket_key() -> TicketKey:
    return TicketKey.generate(random.Random(1).randbytes)


_tickets: dict[str, ReceivedTicket] = {}


def real_ticket(demo: DemoPki) -> ReceivedTicket:
    if demo.key_type not in _tickets:
        client = ScriptedClient()
        client.handshake(new_server(demo.credentials, ticket_key=ticket_key()))
        _tickets[demo.key_type] = client.tickets[0]
    return _tickets[demo.key_type]


_resuming_hellos: dict[str, bytes] = {}


def resuming_hello(demo: DemoPki) -> bytes:
    """A hello offering a ticket that `ticket_key()` servers accept, with a real binder."""
    if demo.key_type not in _resuming_hellos:
        client = ScriptedClient()
        hello = client.client_hello(ticket=real_ticket(demo))
        _resuming_hellos[demo.key_type] = client.hello_record(hello)
    return _resuming_hellos[demo.key_type]


@functools.cache
def retry_hellos() -> tuple[bytes, bytes]:
    """A first hello that draws a HelloRetryRequest for secp256r1, and the right second one."""
    client = ScriptedClient()
    first = client.client_hello(
        supported_groups=(UNKNOWN_GROUP, NamedGroup.secp256r1),
        key_share_groups=(UNKNOWN_GROUP,),
    )
    first_record = client.hello_record(first)
    second = client.client_hello(key_share_groups=(NamedGroup.secp256r1,))
    return first_record, client.hello_record(second)


def seed_hellos(demo: DemoPki) -> list[bytes]:
    return [openssl_client_hello(), *scripted_client_hellos(), resuming_hello(demo)]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with one random change: a byte replaced, cut short, bytes inserted or removed."""
    kind = draw(st.sampled_from(["replace", "truncate", "insert", "delete", "xor-length"]))
    position = draw(st.integers(0, len(seed) - 1))
    data = bytearray(seed)
    if kind == "replace":
        data[position] = draw(st.integers(0, 255))
    elif kind == "truncate":
        del data[position:]
    elif kind == "insert":
        data[position:position] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        del data[position : position + draw(st.integers(1, 8))]
    else:
        # Length fields are where parsers break: nudge a byte up or down by one.
        data[position] = (data[position] + draw(st.sampled_from([1, 255]))) % 256
    return bytes(data)


# ------------------------------------------------------------------ the tests


@FUZZ_SETTINGS
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=6))
def test_random_bytes(ecdsa_pki: DemoPki, data: bytes, cuts: list[int]) -> None:
    feed_checked(new_server(ecdsa_pki.credentials), split(data, cuts))


RECORD_TYPES = [0, 20, 21, 22, 23, 24, 0x47, 255]


@FUZZ_SETTINGS
@given(
    records=st.lists(
        st.tuples(st.sampled_from(RECORD_TYPES), st.binary(max_size=300)), min_size=1, max_size=5
    ),
    cuts=st.lists(st.integers(0, 2000), max_size=4),
)
def test_random_records(
    ecdsa_pki: DemoPki, records: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    data = b"".join(plaintext_record(content_type, body) for content_type, body in records)
    feed_checked(new_server(ecdsa_pki.credentials), split(data, cuts))


@FUZZ_SETTINGS
@given(
    handshake=st.tuples(st.sampled_from([*HandshakeType, 0, 3, 99, 255]), st.binary(max_size=400)),
    cuts=st.lists(st.integers(0, 500), max_size=4),
)
def test_random_handshake_messages(
    ecdsa_pki: DemoPki, handshake: tuple[int, bytes], cuts: list[int]
) -> None:
    msg_type, body = handshake
    message = bytes((msg_type,)) + len(body).to_bytes(3, "big") + body
    data = plaintext_record(ContentType.handshake, message)
    feed_checked(new_server(ecdsa_pki.credentials), split(data, cuts))


@FUZZ_SETTINGS
@given(st.data())
def test_mutated_client_hellos(ecdsa_pki: DemoPki, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(seed_hellos(ecdsa_pki)), label="seed")
    hello = data.draw(mutated(seed), label="mutated hello")
    cuts = data.draw(st.lists(st.integers(0, len(hello) + 1), max_size=5), label="cuts")
    feed_checked(fuzz_server(ecdsa_pki), split(hello, cuts))


@FUZZ_SETTINGS
@given(st.data())
def test_mutated_second_client_hellos(ecdsa_pki: DemoPki, data: st.DataObject) -> None:
    first, second = retry_hellos()
    server = fuzz_server(ecdsa_pki)
    server.feed_wire_data(first)
    assert server.pop_pending_wire_data()  # the HelloRetryRequest
    hello = data.draw(mutated(second), label="mutated second hello")
    cuts = data.draw(st.lists(st.integers(0, len(hello) + 1), max_size=5), label="cuts")
    feed_checked(server, split(hello, cuts))


def fuzz_server(demo: DemoPki) -> TLS13ServerConnection:
    """x25519 first, then secp256r1: the retry seeds ask for the second."""
    return new_server(
        demo.credentials,
        ticket_key=ticket_key(),
        groups=(NamedGroup.x25519, NamedGroup.secp256r1),
    )


@FUZZ_SETTINGS
@given(st.data())
def test_client_hellos_with_several_changes(ecdsa_pki: DemoPki, data: st.DataObject) -> None:
    hello = data.draw(st.sampled_from(seed_hellos(ecdsa_pki)), label="seed")
    for _ in range(data.draw(st.integers(2, 6), label="changes")):
        if len(hello) < 2:
            break
        hello = data.draw(mutated(hello))
    feed_checked(fuzz_server(ecdsa_pki), [hello])


def test_the_seed_hellos_are_valid(ecdsa_pki: DemoPki) -> None:
    # The mutations start from hellos the server accepts: else they prove little.
    for hello in [*seed_hellos(ecdsa_pki), retry_hellos()[0]]:
        server = fuzz_server(ecdsa_pki)
        server.feed_wire_data(hello)
        answer = server.pop_pending_wire_data()
        assert answer[0] == ContentType.handshake and answer[5] == HandshakeType.server_hello
    resumed = fuzz_server(ecdsa_pki)
    resumed.feed_wire_data(resuming_hello(ecdsa_pki))
    assert resumed.negotiated is not None and resumed.negotiated.resumed
    retried = fuzz_server(ecdsa_pki)
    for hello in retry_hellos():
        retried.feed_wire_data(hello)
    assert retried.negotiated is not None and retried.negotiated.hello_retry


# ------------------------------------------------- records after a valid hello

# One step the client may take after its hello: each builds its record from the
# client's current keys, so protected records decrypt and reach the handshake.
Action = tuple[Any, ...]


# Steps a well-behaved client may take; most runs should get past a few of them.
LEGAL_ACTIONS = st.one_of(
    st.tuples(st.just("application data"), st.binary(max_size=100)),
    st.tuples(st.just("key update"), st.sampled_from([0, 1])),
    st.tuples(
        st.just("protected"), st.just(23), st.binary(min_size=1, max_size=60), st.integers(0, 20)
    ),
    st.tuples(st.just("alert"), st.sampled_from([1, 2]), st.sampled_from([0, 90])),
)
# Steps that break a rule (or may: random contents).
HOSTILE_ACTIONS = st.one_of(
    st.tuples(st.just("plain"), st.sampled_from(RECORD_TYPES), st.binary(max_size=40)),
    st.tuples(
        st.just("protected"),
        st.sampled_from([0, 20, 21, 22, 23, 24, 99]),
        st.binary(min_size=1, max_size=60),
        st.integers(0, 20),
    ),
    st.tuples(
        st.just("handshake message"),
        st.sampled_from([*HandshakeType, 0, 99]),
        st.binary(max_size=40),
    ),
    st.tuples(st.just("finished"), st.booleans()),
    st.tuples(st.just("key update"), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("change cipher spec")),
    st.tuples(st.just("alert"), st.integers(0, 3), st.integers(0, 255)),
    st.tuples(st.just("raw"), st.binary(min_size=1, max_size=30)),
)
ACTIONS = st.one_of(LEGAL_ACTIONS, LEGAL_ACTIONS, HOSTILE_ACTIONS)


def record_for(client: ScriptedClient, action: Action) -> bytes:
    kind = action[0]
    if kind == "plain":
        return plaintext_record(action[1], action[2])
    if kind == "protected":
        return client.protected_record(action[1], action[2], action[3])
    if kind == "handshake message":
        _, msg_type, body = action
        message = bytes((msg_type,)) + len(body).to_bytes(3, "big") + body
        return client.protected_record(ContentType.handshake, message)
    if kind == "finished":
        if action[1]:
            return client.finished_record()
        return client.finished_record(bytes(len(client.client_finished_verify_data)))
    if kind == "key update":
        if action[1] in (0, 1):
            return client.key_update_record(KeyUpdateRequest(action[1]))
        return client.protected_record(ContentType.handshake, bytes((24, 0, 0, 1, action[1])))
    if kind == "application data":
        return client.application_data_record(action[1])
    if kind == "change cipher spec":
        return plaintext_record(ContentType.change_cipher_spec, b"\x01")
    if kind == "alert":
        return client.protected_record(ContentType.alert, bytes((action[1], action[2])))
    return action[1]


def application_data_in(action: Action) -> bytes:
    """The application bytes a record made for `action` carries once decrypted (section 5.4)."""
    if action[0] == "application data":
        return action[1]
    if action[0] == "protected":
        _, content_type, content, _padding = action
        # The real type is the last non-zero byte of content + type (padding is zeros).
        inner = (content + bytes((content_type,))).rstrip(b"\x00")
        if inner and inner[-1] == ContentType.application_data:
            return inner[:-1]
    return b""


@FUZZ_SETTINGS
@given(
    actions=st.lists(ACTIONS, min_size=1, max_size=8),
    finished_first=st.booleans(),
    resume=st.booleans(),
    whole=st.booleans(),
)
def test_random_records_after_a_valid_client_hello(
    ecdsa_pki: DemoPki, actions: list[Action], finished_first: bool, resume: bool, whole: bool
) -> None:
    server = new_server(ecdsa_pki.credentials, ticket_key=ticket_key())
    client = ScriptedClient()
    ticket = real_ticket(ecdsa_pki) if resume else None
    client.receive_from(server, client.hello_record(client.client_hello(ticket=ticket)))
    assert client.server_finished_verified
    if finished_first:
        # Half the runs start from an established connection, to fuzz the traffic state.
        actions = [("finished", True), *actions]

    expected_plaintext = bytearray()
    records: list[bytes] = []
    finished: bool | None = None  # was the first Finished sent the right one?
    for action in actions:
        records.append(record_for(client, action))
        if action[0] == "finished" and finished is None:
            finished = action[1]
        if finished:
            expected_plaintext += application_data_in(action)
    error = feed_checked(server, [b"".join(records)] if whole else records)
    delivered = server.read_plaintext()
    # Only authenticated application data, after a verified Finished, in order.
    assert bytes(expected_plaintext).startswith(delivered)
    if delivered:
        assert server.negotiated is not None
    if error is not None:
        assert not server.is_established


# ------------------------------------------------- splitting changes nothing


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def deterministic_server(
    demo: DemoPki, observer: Callable[[Any], None] | None = None
) -> TLS13ServerConnection:
    """A server whose every output byte is fixed: seeded randomness, fixed clock, Ed25519."""
    return new_server(
        demo.credentials,
        random_bytes=seeded(1),
        clock=lambda: FIXED_TIME,
        ticket_key=TicketKey(bytes(32), bytes(16)),
        observer=observer,
    )


_recorded_streams: dict[str, bytes] = {}


def recorded_client_stream(demo: DemoPki) -> bytes:
    """Everything a client sends in a whole connection, recorded against a deterministic server.

    Hello, CCS, Finished, data, a KeyUpdate asking for ours, more data, close_notify.
    """
    if demo.key_type in _recorded_streams:
        return _recorded_streams[demo.key_type]
    server = deterministic_server(demo)
    client = ScriptedClient(random_bytes=seeded(2))
    sent: list[bytes] = []

    def send(record: bytes) -> None:
        sent.append(record)
        client.receive_from(server, record)

    send(client.hello_record(client.client_hello()))
    send(plaintext_record(ContentType.change_cipher_spec, b"\x01"))
    send(client.finished_record())
    send(client.application_data_record(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
    send(client.key_update_record(KeyUpdateRequest.update_requested))
    send(client.application_data_record(b"after the update"))
    send(client.protected_record(ContentType.alert, b"\x01\x00"))
    assert server.peer_closed
    _recorded_streams[demo.key_type] = b"".join(sent)
    return _recorded_streams[demo.key_type]


@dataclass(frozen=True)
class Outcome:
    """What a server made of its input, independent of how its records were cut.

    Records are not compared byte for byte: a KeyUpdate answered in the same
    feed as the client Finished shares a record with the NewSessionTickets,
    in another feed it gets its own; both are right (RFC 8446 section 5.1).
    What must not change is every byte of content, its type and the keys
    that protected it, which `content_runs` recovers.
    """

    content_runs: tuple[tuple[int, int, bytes], ...]  # (key epoch, content type, bytes)
    secrets: tuple[tuple[str, bytes], ...]
    plaintext: bytes
    negotiated: object
    peer_closed: bool
    state: str


def run_in_pieces(demo: DemoPki, pieces: list[bytes]) -> Outcome:
    secrets: list[tuple[str, bytes]] = []

    def observer(event: dict[str, Any]) -> None:
        if event["kind"] == "secret":
            secrets.append((event["name"], event["value"]))

    server = deterministic_server(demo, observer)
    output = bytearray()
    for piece in pieces:
        server.feed_wire_data(piece)
        output += server.pop_pending_wire_data()
    assert server.parameters is not None
    return Outcome(
        content_runs=content_runs(bytes(output), server.parameters, secrets),
        secrets=tuple(secrets),
        plaintext=server.read_plaintext(),
        negotiated=server.negotiated,
        peer_closed=server.peer_closed,
        state=server.state_name,
    )


def content_runs(
    output: bytes, parameters: CipherSuiteParameters, secrets: list[tuple[str, bytes]]
) -> tuple[tuple[int, int, bytes], ...]:
    """The server's records decrypted, with runs of one type under one key joined."""
    write_secrets = [value for name, value in secrets if name.startswith(("server_", "next_write"))]
    epoch = -1  # -1: in the clear
    protection: RecordProtection | None = None
    runs: list[tuple[int, int, bytes]] = []
    reader = RecordReader()
    reader.feed(output)
    while (record := reader.next_record()) is not None:
        content_type, content = record.content_type, record.fragment
        if content_type == ContentType.application_data:
            # Try the current key, else the next one: a wrong key never authenticates.
            while True:
                try:
                    assert protection is not None
                    content_type, content = protection.open(record.fragment, record.header)
                    break
                except (TLSError, AssertionError):
                    epoch += 1
                    protection = RecordProtection(parameters, write_secrets[epoch])
        if runs and runs[-1][:2] == (epoch, content_type):
            runs[-1] = (epoch, content_type, runs[-1][2] + content)
        else:
            runs.append((epoch, content_type, content))
    return tuple(runs)


def test_a_handshake_split_at_every_byte_boundary_changes_nothing(
    demo_pki_factory: Callable[[str], DemoPki],
) -> None:
    # Ed25519 signatures are deterministic, so the whole server output is.
    demo = demo_pki_factory("ed25519")
    stream = recorded_client_stream(demo)
    whole = run_in_pieces(demo, [stream])
    assert whole.plaintext == b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nafter the update"
    assert whole.peer_closed and whole.state == "Traffic"
    # Hello, CCS, then handshake, tickets + KeyUpdate, under three server keys.
    assert [run[:2] for run in whole.content_runs] == [
        (-1, ContentType.handshake),
        (-1, ContentType.change_cipher_spec),
        (0, ContentType.handshake),
        (1, ContentType.handshake),
    ]
    assert len(whole.secrets) == 11  # four schedule stages and seven traffic/exporter secrets
    for cut in range(1, len(stream)):
        assert run_in_pieces(demo, [stream[:cut], stream[cut:]]) == whole, f"split at {cut}"


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, 5000), min_size=1, max_size=60))
def test_a_handshake_in_random_pieces_changes_nothing(
    demo_pki_factory: Callable[[str], DemoPki], cuts: list[int]
) -> None:
    demo = demo_pki_factory("ed25519")
    stream = recorded_client_stream(demo)
    assert run_in_pieces(demo, split(stream, cuts)) == run_in_pieces(demo, [stream])


def test_a_handshake_one_byte_at_a_time(demo_pki_factory: Callable[[str], DemoPki]) -> None:
    demo = demo_pki_factory("ed25519")
    stream = recorded_client_stream(demo)
    pieces = [stream[index : index + 1] for index in range(len(stream))]
    assert run_in_pieces(demo, pieces) == run_in_pieces(demo, [stream])
