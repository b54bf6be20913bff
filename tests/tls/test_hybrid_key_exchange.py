"""crypto.py's hybrid groups (draft-ietf-tls-ecdhe-mlkem) against independent computations.

The sizes below are the draft's, written out here rather than read from
crypto.HYBRID_LAYOUTS, so a wrong table fails these tests.  The combiner
order is checked by rebuilding the client's keys from the random bytes it
drew, straight on `cryptography`, and recomputing both halves of the secret.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from tls_web_server.tls import crypto

# group: (client share, server share, shared secret, ML-KEM first?, ECDH share length)
SIZES = {
    "X25519MLKEM768": (1216, 1120, 64, True, 32),
    "SecP256r1MLKEM768": (1249, 1153, 64, False, 65),
    "SecP384r1MLKEM1024": (1665, 1665, 80, False, 97),
}
MLKEM_KEYS = {
    "X25519MLKEM768": (mlkem.MLKEM768PrivateKey, 1184, 1088),
    "SecP256r1MLKEM768": (mlkem.MLKEM768PrivateKey, 1184, 1088),
    "SecP384r1MLKEM1024": (mlkem.MLKEM1024PrivateKey, 1568, 1568),
}
CURVES = {"SecP256r1MLKEM768": ec.SECP256R1(), "SecP384r1MLKEM1024": ec.SECP384R1()}


class RecordingRandom:
    """os.urandom that remembers every draw, so a test can rebuild the keys made from them."""

    def __init__(self) -> None:
        self.draws: list[bytes] = []

    def __call__(self, length: int) -> bytes:
        self.draws.append(os.urandom(length))
        return self.draws[-1]


def never_called(length: int) -> bytes:
    raise AssertionError("a bad share must be refused before any key is generated")


def test_every_hybrid_group_is_offered_beside_the_classical_ones() -> None:
    assert set(crypto.HYBRID_GROUPS) == set(SIZES)
    assert set(crypto.KEY_EXCHANGE_GROUPS) == set(SIZES) | {
        "x25519",
        "x448",
        "secp256r1",
        "secp384r1",
    }


@pytest.mark.parametrize("group", sorted(SIZES))
def test_a_hybrid_agrees_with_itself_both_ways_with_the_draft_sizes(group: str) -> None:
    client_length, server_length, secret_length, _order, _ecdh = SIZES[group]
    client = crypto.client_key_share(group, os.urandom)
    assert isinstance(client, crypto.HybridKey)
    assert client.group == group
    assert len(client.public_bytes) == client_length

    server_share, server_secret = crypto.server_key_share(group, client.public_bytes, os.urandom)
    assert len(server_share) == server_length
    assert len(server_secret) == secret_length
    assert client.exchange(server_share) == server_secret

    # A second server answer to the same share is a different, equally valid exchange.
    other_share, other_secret = crypto.server_key_share(group, client.public_bytes, os.urandom)
    assert other_secret != server_secret
    assert client.exchange(other_share) == other_secret


@pytest.mark.parametrize("group", sorted(SIZES))
def test_the_secret_is_both_parts_in_the_group_order(group: str) -> None:
    _client, _server, _secret, mlkem_first, ecdh_length = SIZES[group]
    private_key_class, encapsulation_key_length, ciphertext_length = MLKEM_KEYS[group]
    random = RecordingRandom()
    client = crypto.client_key_share(group, random)
    ecdh_draw, seed = random.draws[-2], random.draws[-1]
    assert len(seed) == 64

    # The client's keys, rebuilt from its random bytes without crypto.py.
    mlkem_private = private_key_class.from_seed_bytes(seed)
    encapsulation_key = mlkem_private.public_key().public_bytes_raw()
    if group == "X25519MLKEM768":
        ecdh_private = x25519.X25519PrivateKey.from_private_bytes(ecdh_draw)
        ecdh_public = ecdh_private.public_key().public_bytes_raw()
        assert client.public_bytes == encapsulation_key + ecdh_public
    else:
        ecdh_private = ec.derive_private_key(int.from_bytes(ecdh_draw, "big"), CURVES[group])
        ecdh_public = ecdh_private.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        assert len(ecdh_public) == ecdh_length
        assert client.public_bytes == ecdh_public + encapsulation_key
    assert len(encapsulation_key) == encapsulation_key_length

    server_share, secret = crypto.server_key_share(group, client.public_bytes, os.urandom)
    if mlkem_first:
        ciphertext, server_ecdh = server_share[:ciphertext_length], server_share[ciphertext_length:]
    else:
        server_ecdh, ciphertext = server_share[:ecdh_length], server_share[ecdh_length:]
    assert len(ciphertext) == ciphertext_length and len(server_ecdh) == ecdh_length
    mlkem_secret = mlkem_private.decapsulate(ciphertext)
    if group == "X25519MLKEM768":
        ecdh_secret = ecdh_private.exchange(x25519.X25519PublicKey.from_public_bytes(server_ecdh))
    else:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVES[group], server_ecdh)
        ecdh_secret = ecdh_private.exchange(ec.ECDH(), peer)
    assert len(mlkem_secret) == 32
    assert len(ecdh_secret) == (48 if group == "SecP384r1MLKEM1024" else 32)
    expected = mlkem_secret + ecdh_secret if mlkem_first else ecdh_secret + mlkem_secret
    assert secret == expected
    assert client.exchange(server_share) == expected


def test_the_client_share_replays_from_the_same_random_bytes() -> None:
    first = RecordingRandom()
    share = crypto.client_key_share("X25519MLKEM768", first)
    replay = iter(first.draws)
    again = crypto.client_key_share("X25519MLKEM768", lambda length: next(replay))
    assert again.public_bytes == share.public_bytes


def _ecdh_part(group: str, share: bytes) -> slice:
    ecdh_length = SIZES[group][4]
    if SIZES[group][3]:
        return slice(len(share) - ecdh_length, len(share))
    return slice(0, ecdh_length)


def _mlkem_part(group: str, share: bytes) -> slice:
    ecdh_length = SIZES[group][4]
    if SIZES[group][3]:
        return slice(0, len(share) - ecdh_length)
    return slice(ecdh_length, len(share))


def _malformed_client_shares(group: str, good: bytes) -> dict[str, bytes]:
    ecdh, kem = _ecdh_part(group, good), _mlkem_part(group, good)
    shares = {
        "truncated by one byte": good[:-1],
        "padded by one byte": good + b"\x00",
        "the ECDH part alone": good[ecdh],
        "the ML-KEM part alone": good[kem],
        "empty": b"",
    }
    # FIPS 203 section 7.2: each 12-bit coefficient must be below q = 3329; 0xFFF is not.
    unreduced = bytearray(good)
    unreduced[kem.start] = 0xFF
    unreduced[kem.start + 1] |= 0x0F
    shares["an encapsulation key coefficient not reduced mod q"] = bytes(unreduced)
    if group == "X25519MLKEM768":
        # A low-order point: the X25519 result would be all zeros (RFC 7748 section 6.1).
        shares["a low-order X25519 point"] = good[kem] + bytes(32)
    else:
        compressed = bytearray(good)
        compressed[0] = 0x02  # RFC 8446 section 4.2.8.2: only uncompressed points
        shares["a point not in uncompressed form"] = bytes(compressed)
        off_curve = bytearray(good)
        off_curve[ecdh.stop - 1] ^= 0x01  # y no longer matches x
        shares["a point not on the curve"] = bytes(off_curve)
    return shares


@pytest.mark.parametrize("group", sorted(SIZES))
def test_every_malformed_client_share_is_refused_before_any_key_is_made(group: str) -> None:
    good = crypto.client_key_share(group, os.urandom).public_bytes
    for what, share in _malformed_client_shares(group, good).items():
        # Lengths and the ML-KEM key are checked before the server draws its ECDH key.
        random = never_called if "point" not in what else os.urandom
        with pytest.raises(crypto.KeyExchangeError):
            crypto.server_key_share(group, share, random)
            pytest.fail(f"{group}: {what} was accepted")


@pytest.mark.parametrize("group", sorted(SIZES))
def test_every_malformed_server_share_is_refused(group: str) -> None:
    client = crypto.client_key_share(group, os.urandom)
    good, _secret = crypto.server_key_share(group, client.public_bytes, os.urandom)
    ecdh = _ecdh_part(group, good)
    bad_point = bytearray(good)
    if group == "X25519MLKEM768":
        bad_point[ecdh] = bytes(32)
    else:
        bad_point[ecdh.stop - 1] ^= 0x01
    for share in (good[:-1], good + b"\x00", b"", good[ecdh], bytes(bad_point)):
        with pytest.raises(crypto.KeyExchangeError):
            client.exchange(share)
    assert client.exchange(good) == _secret


@pytest.mark.parametrize("group", ["x25519", "x448", "secp256r1", "secp384r1"])
def test_the_one_call_server_side_serves_the_classical_groups_too(group: str) -> None:
    client = crypto.client_key_share(group, os.urandom)
    assert isinstance(client, crypto.EphemeralKey)
    server_share, secret = crypto.server_key_share(group, client.public_bytes, os.urandom)
    assert client.exchange(server_share) == secret
    with pytest.raises(crypto.KeyExchangeError):
        crypto.server_key_share(group, client.public_bytes + b"\x00", os.urandom)


def test_an_unknown_group_is_a_programming_error_not_a_key_exchange_error() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        crypto.HybridKey("x25519", os.urandom)
    with pytest.raises(ValueError, match="unsupported"):
        crypto.client_key_share("MLKEM768", os.urandom)


@settings(max_examples=60, deadline=None)
@given(
    group=st.sampled_from(sorted(SIZES)),
    share=st.one_of(
        st.binary(max_size=1800),
        st.sampled_from([1216, 1249, 1665, 1120, 1153]).flatmap(
            lambda size: st.binary(min_size=size, max_size=size)
        ),
    ),
)
def test_any_bytes_as_a_client_share_give_a_valid_answer_or_key_exchange_error(
    group: str, share: bytes
) -> None:
    try:
        server_share, secret = crypto.server_key_share(group, share, os.urandom)
    except crypto.KeyExchangeError:
        return
    # Accepted: then it had the exact length, and the answer has the draft's sizes.
    client_length, server_length, secret_length, _order, _ecdh = SIZES[group]
    assert len(share) == client_length
    assert (len(server_share), len(secret)) == (server_length, secret_length)
