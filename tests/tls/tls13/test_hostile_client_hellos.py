"""Hostile ClientHellos cost the server work linear in their size, and get the right answer.

A ClientHello arrives before anyone is authenticated, so the work it causes
must be linear in what it carries (RFC 8446 leaves list lengths to the
peer: 32,000 cipher suites or signature schemes, thousands of key shares and
PSK identities are all legal).  Each shape below is answered as an honest
hello would be, and the negotiation's work is counted, not timed: the
lists the server negotiates over are wrapped in tuples that count every
element a membership test or an iteration may look at, and the total must
stay within a small multiple of the hello's entries.

A ClientHello as large as its grammar allows (128 KiB and a bit) is
accepted; one announcing more is refused before it is buffered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13 import server as server_module
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.server import LARGEST_CLIENT_HELLO, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey

from ..conftest import DemoPki
from .scripted_client import (
    ReceivedTicket,
    ScriptedClient,
    alert_record,
    new_server,
    plaintext_record,
)

# Code points no registry assigns (the real ones lie below 0x2000), distinct
# so that the hello's own rules (no two shares for one group) still hold.
UNKNOWN = range(0x3000, 0x3000 + 32767)


class CountingTuple(tuple):  # type: ignore[type-arg]
    """A tuple that adds to `work` every element a membership test or an iteration may visit."""

    work = 0

    def __contains__(self, value: object) -> bool:
        CountingTuple.work += len(self)
        return tuple.__contains__(self, value)

    def __iter__(self) -> Iterator[Any]:
        CountingTuple.work += len(self)
        return tuple.__iter__(self)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[CountingTuple]:
    """The server negotiates over counting tuples; returns the class holding the count."""
    original = server_module.read_client_offer

    def read_counted(hello: Any) -> Any:
        offer = original(hello)
        psks = offer.offered_psks
        if psks is not None:
            psks = dataclasses.replace(
                psks,
                identities=CountingTuple(psks.identities),
                binders=CountingTuple(psks.binders),
            )
        return offer._replace(
            cipher_suites=CountingTuple(offer.cipher_suites),
            supported_groups=CountingTuple(offer.supported_groups),
            key_shares=CountingTuple(offer.key_shares),
            signature_algorithms=CountingTuple(offer.signature_algorithms),
            offered_psks=psks,
        )

    monkeypatch.setattr(server_module, "read_client_offer", read_counted)
    CountingTuple.work = 0
    return CountingTuple


def entries(offer_lists: dict[str, int]) -> int:
    return sum(offer_lists.values())


def assert_linear(counted: type[CountingTuple], hello_entries: int) -> None:
    # Every list may be walked a few times (each set is built once, the
    # hello is decoded once, tickets are looked at twice); never once per
    # element of another list.
    assert counted.work <= 10 * hello_entries, (counted.work, hello_entries)


@pytest.fixture
def server(ecdsa_pki: DemoPki) -> TLS13ServerConnection:
    return new_server(ecdsa_pki.credentials)


@pytest.fixture
def client(ecdsa_pki: DemoPki) -> ScriptedClient:
    return ScriptedClient(roots=ecdsa_pki.roots, now=ecdsa_pki.now)


# ------------------------------------------------------------- each shape


def test_thousands_of_shares_behind_duplicate_groups(
    server: TLS13ServerConnection, client: ScriptedClient, counted: type[CountingTuple]
) -> None:
    # The hello: 4,500 shares for unknown groups, behind 16,000
    # supported_groups entries that repeat them, our x25519 last.
    unknown = UNKNOWN[:4500]
    groups = (*(tuple(unknown) * 4)[:16000], NamedGroup.x25519)
    shares = tuple(KeyShareEntry(group, b"\x01") for group in unknown)
    x25519 = client.client_hello().extension(ExtensionType.key_share)
    assert x25519 is not None
    hello = client.client_hello(
        supported_groups=groups,
        key_shares=shares + ext.decode_client_key_shares(x25519),
    )
    client.receive_from(server, client.hello_record(hello))
    assert client.server_hello is not None and client.server_finished_verified
    assert (
        ext.decode_server_key_share(
            client.server_hello.extension(ExtensionType.key_share) or b""
        ).group
        == NamedGroup.x25519
    )
    assert_linear(counted, len(groups) + len(shares) + 1)


def test_many_duplicate_groups_without_a_usable_share(
    server: TLS13ServerConnection, client: ScriptedClient, counted: type[CountingTuple]
) -> None:
    groups = (*(UNKNOWN[0],) * 30000, NamedGroup.secp384r1)
    hello = client.client_hello(
        supported_groups=groups, key_shares=(KeyShareEntry(UNKNOWN[0], b"\x01"),)
    )
    client.receive_from(server, client.hello_record(hello))
    retry = client.hello_retry_request
    assert retry is not None and client.server_hello is None
    asked = ext.decode_hello_retry_key_share(retry.extension(ExtensionType.key_share) or b"")
    assert asked == NamedGroup.secp384r1
    assert_linear(counted, len(groups) + 1)


def test_many_cipher_suites(
    server: TLS13ServerConnection, client: ScriptedClient, counted: type[CountingTuple]
) -> None:
    suites = (*UNKNOWN[:32000], CipherSuite.TLS_AES_256_GCM_SHA384)
    client.receive_from(server, client.hello_record(client.client_hello(cipher_suites=suites)))
    assert client.server_hello is not None and client.server_finished_verified
    assert client.server_hello.cipher_suite == CipherSuite.TLS_AES_256_GCM_SHA384
    assert_linear(counted, len(suites) + 5)


def test_many_signature_schemes(
    server: TLS13ServerConnection, client: ScriptedClient, counted: type[CountingTuple]
) -> None:
    schemes = (*UNKNOWN[:32000], SignatureScheme.ecdsa_secp256r1_sha256)
    client.handshake(server, signature_algorithms=schemes, alpn=None)
    assert server.is_established
    assert server.negotiated is not None
    assert_linear(counted, len(schemes) + 5)


def test_many_psk_identities_each_a_valid_ticket_for_a_suite_not_offered(
    ecdsa_pki: DemoPki, client: ScriptedClient, counted: type[CountingTuple]
) -> None:
    # The costly case of a per-identity check against the offered suites:
    # every identity opens (a real ticket, for AES-128), and the hello lists
    # 30,000 suites without AES-128.  The server must answer with a full
    # handshake, the tickets unused.
    key = TicketKey.generate(lambda size: bytes(range(size)))
    issuing = ScriptedClient()
    issuing.handshake(new_server(ecdsa_pki.credentials, ticket_key=key))
    ticket: ReceivedTicket = issuing.tickets[0]
    assert ticket.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    count = 60000 // (len(ticket.ticket) + 6 + 33)
    offered = ext.OfferedPsks(
        (ext.PskIdentity(ticket.ticket, ticket.ticket_age_add),) * count, (bytes(32),) * count
    )
    suites = (*UNKNOWN[:30000], CipherSuite.TLS_AES_256_GCM_SHA384)
    hello = client.client_hello(
        cipher_suites=suites,
        extra_extensions=(
            Extension(ExtensionType.pre_shared_key, ext.encode_offered_psks(offered)),
        ),
    )
    server = new_server(ecdsa_pki.credentials, ticket_key=key)
    client.receive_from(server, client.hello_record(hello))
    assert client.server_hello is not None and client.server_finished_verified
    assert client.server_hello.extension(ExtensionType.pre_shared_key) is None  # not resumed
    assert client.certificate is not None
    assert_linear(counted, len(suites) + 2 * count + 5)


# ------------------------------------------------------- the largest hellos


def test_a_signature_algorithms_list_of_32715_entries_is_accepted(
    server: TLS13ServerConnection, client: ScriptedClient
) -> None:
    # 65,430 bytes of schemes: with the other extensions the block nearly fills
    # its uint16, and the hello is larger than 64 KiB.
    schemes = (*UNKNOWN[:32714], SignatureScheme.ecdsa_secp256r1_sha256)
    hello = client.client_hello(signature_algorithms=schemes, alpn=None)
    assert len(hello.encode()) > 1 << 16
    client.handshake(server, signature_algorithms=schemes, alpn=None)
    assert server.is_established


def test_the_largest_client_hello_the_grammar_allows_is_buffered(
    server: TLS13ServerConnection,
) -> None:
    # A header announcing that many bytes is waited for, not refused.
    header = bytes((HandshakeType.client_hello,)) + LARGEST_CLIENT_HELLO.to_bytes(3, "big")
    server.feed_wire_data(plaintext_record(ContentType.handshake, header))
    assert server.pop_pending_wire_data() == b""
    assert server.state_name == "ExpectClientHello"


def test_one_byte_more_is_refused_before_it_is_buffered(server: TLS13ServerConnection) -> None:
    header = bytes((HandshakeType.client_hello,)) + (LARGEST_CLIENT_HELLO + 1).to_bytes(3, "big")
    with pytest.raises(TLSError) as failure:
        server.feed_wire_data(plaintext_record(ContentType.handshake, header))
    assert failure.value.alert is AlertDescription.decode_error
    assert server.pop_pending_wire_data() == alert_record(AlertDescription.decode_error)
