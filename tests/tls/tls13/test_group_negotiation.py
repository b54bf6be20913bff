"""The default groups and the server's choice of group (negotiation.py), hostile shapes included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tls_web_server.tls import crypto
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13 import negotiation
from tls_web_server.tls.tls13.enums import ExtensionType, NamedGroup, SignatureScheme
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.messages import ClientHello

GREASE = 0x0A0A
G = NamedGroup


def client_hello(groups: list[int], shares: list[tuple[int, bytes]]) -> ClientHello:
    """A ClientHello as bytes from the wire: through encode and decode, like a real one."""
    extensions = (
        Extension(ExtensionType.supported_versions, ext.encode_client_supported_versions([772])),
        Extension(ExtensionType.supported_groups, ext.encode_supported_groups(groups)),
        Extension(
            ExtensionType.key_share,
            ext.encode_client_key_shares(KeyShareEntry(g, data) for g, data in shares),
        ),
        Extension(
            ExtensionType.signature_algorithms,
            ext.encode_signature_algorithms([SignatureScheme.ecdsa_secp256r1_sha256]),
        ),
    )
    hello = ClientHello(0x0303, bytes(32), b"", (0x1301,), b"\x00", extensions)
    return ClientHello.decode(hello.encode()[4:])


def choose(groups: list[int], shares: list[tuple[int, bytes]]) -> negotiation.GroupChoice:
    offer = negotiation.read_client_offer(client_hello(groups, shares))
    return negotiation.choose_group(offer, negotiation.DEFAULT_GROUPS)


def test_the_defaults_are_the_issue_order_and_every_group_has_crypto() -> None:
    assert (
        G.X25519MLKEM768,
        G.SecP256r1MLKEM768,
        G.x25519,
        G.secp256r1,
        G.SecP384r1MLKEM1024,
        G.secp384r1,
        G.x448,
    ) == negotiation.DEFAULT_GROUPS
    assert (G.X25519MLKEM768, G.x25519) == negotiation.DEFAULT_KEY_SHARE_GROUPS
    assert set(negotiation.DEFAULT_KEY_SHARE_GROUPS) <= set(negotiation.DEFAULT_GROUPS)
    # Every group we would negotiate has a key exchange under the enum's name.
    assert {group.name for group in negotiation.DEFAULT_GROUPS} == set(crypto.KEY_EXCHANGE_GROUPS)
    assert (G.X25519MLKEM768, G.SecP256r1MLKEM768, G.SecP384r1MLKEM1024) == (0x11EC, 0x11EB, 0x11ED)


def test_chromiums_hello_gets_the_hybrid_with_no_retry() -> None:
    # Headless Chromium 156 lists GREASE, 0x11EC, x25519, secp256r1, secp384r1
    # and sends shares for GREASE, 0x11EC and x25519.
    groups = [GREASE, G.X25519MLKEM768, G.x25519, G.secp256r1, G.secp384r1]
    shares = [(GREASE, b"\x00"), (G.X25519MLKEM768, b"k" * 1216), (G.x25519, b"x" * 32)]
    assert choose(groups, shares) == (G.X25519MLKEM768, b"k" * 1216)


def test_a_share_the_client_sent_beats_a_preferred_group_it_sent_no_share_for() -> None:
    groups = [G.X25519MLKEM768, G.SecP256r1MLKEM768, G.x25519, G.x448]
    assert choose(groups, [(G.x25519, b"x" * 32)]) == (G.x25519, b"x" * 32)
    assert choose(groups, [(G.x448, b"y" * 56)]) == (G.x448, b"y" * 56)
    # Among several shares, our preference decides, not the client's order.
    shares = [(G.x448, b"y" * 56), (G.x25519, b"x" * 32), (G.SecP256r1MLKEM768, b"p" * 1249)]
    assert choose(groups, shares) == (G.SecP256r1MLKEM768, b"p" * 1249)


def test_a_retry_asks_for_our_favourite_of_the_groups_the_client_supports() -> None:
    groups = [GREASE, G.x448, G.SecP384r1MLKEM1024, G.secp256r1]
    assert choose(groups, [(GREASE, b"\x00")]) == (G.secp256r1, None)
    assert choose([G.x448, G.SecP384r1MLKEM1024], []) == (G.SecP384r1MLKEM1024, None)


def test_no_group_in_common_is_a_handshake_failure() -> None:
    with pytest.raises(TLSError) as raised:
        choose([GREASE, 0x0100, 0x0101], [(GREASE, b"\x00")])
    assert raised.value.alert == AlertDescription.handshake_failure


# --- a hostile ClientHello: 4,500 shares for unknown groups, 16,000 listed groups --------------


class CountingTuple(tuple):
    """A tuple that counts how often it is scanned whole: `in` and iteration."""

    scans: int = 0
    membership_tests: int = 0

    def __contains__(self, item: object) -> bool:
        type(self).membership_tests += 1
        return super().__contains__(item)

    def __iter__(self) -> Iterator[Any]:
        type(self).scans += 1
        return super().__iter__()


class CountedGroups(CountingTuple):
    pass


class CountedShares(CountingTuple):
    pass


UNKNOWN_GROUPS = [0x2000 + index for index in range(4_500)]


def hostile_shape(known_shares: list[tuple[int, bytes]], known_groups: list[int]) -> ClientHello:
    listed = UNKNOWN_GROUPS + known_groups
    # Repeats up to 16,000 entries: the RFC does not forbid them and nobody checks.
    groups = (listed * 4)[: 16_000 - len(known_groups)] + known_groups
    shares = [(group, b"\x01") for group in UNKNOWN_GROUPS] + known_shares
    return client_hello(groups, shares)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoded groups and shares come back as counting tuples."""
    real_groups, real_shares = ext.decode_supported_groups, ext.decode_client_key_shares
    monkeypatch.setattr(ext, "decode_supported_groups", lambda d: CountedGroups(real_groups(d)))
    monkeypatch.setattr(ext, "decode_client_key_shares", lambda d: CountedShares(real_shares(d)))
    for counter in (CountedGroups, CountedShares):
        monkeypatch.setattr(counter, "scans", 0)
        monkeypatch.setattr(counter, "membership_tests", 0)


@pytest.mark.usefixtures("counted")
def test_a_hostile_hello_with_a_known_share_is_answered_in_one_pass() -> None:
    hello = hostile_shape([(G.x25519, b"x" * 32)], [G.x448, G.x25519, G.x25519])
    offer = negotiation.read_client_offer(hello)
    assert len(offer.supported_groups) == 16_000 and len(offer.key_shares) == 4_501
    choice = negotiation.choose_group(offer, negotiation.DEFAULT_GROUPS)
    assert choice == (G.x25519, b"x" * 32)
    # Never `share.group in groups` over a tuple (4,501 x 16,000 comparisons):
    # the groups are read once into a set, the shares once for the check and
    # once into the dict.
    assert CountedGroups.membership_tests == 0
    assert CountedGroups.scans <= 1
    assert CountedShares.membership_tests == 0
    assert CountedShares.scans <= 2


@pytest.mark.usefixtures("counted")
def test_a_hostile_hello_with_no_usable_share_gets_the_right_retry_in_one_pass() -> None:
    hello = hostile_shape([], [G.x448, G.secp384r1, G.x448])
    offer = negotiation.read_client_offer(hello)
    choice = negotiation.choose_group(offer, negotiation.DEFAULT_GROUPS)
    assert choice == (G.secp384r1, None)
    assert CountedGroups.membership_tests == 0
    assert CountedGroups.scans <= 2  # once for the share check, once for the retry
    assert CountedShares.membership_tests == 0
    assert CountedShares.scans <= 2


def test_a_share_for_a_group_not_listed_is_still_refused_in_the_hostile_shape() -> None:
    hello = hostile_shape([(0x7777, b"\x01")], [G.x25519])
    with pytest.raises(TLSError) as raised:
        negotiation.read_client_offer(hello)
    assert raised.value.alert == AlertDescription.illegal_parameter
