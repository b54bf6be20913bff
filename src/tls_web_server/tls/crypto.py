"""Every cryptographic primitive the TLS code uses, and the only door to `cryptography`.

Rules this module keeps:
- It is the only module (with pki.py, which handles certificates) that imports
  the `cryptography` package.  The protocol code above it speaks in names from
  the RFCs ("x25519", "ecdsa_secp256r1_sha256", "AES-128-GCM") and in bytes.
- It has no randomness of its own: ephemeral keys are built from bytes the
  caller supplies, so a handshake can be replayed byte for byte (RFC 8448).
  One exception: ML-KEM encapsulation (the server's half of a hybrid group)
  draws its 32-byte message inside OpenSSL, because `cryptography` offers no
  way to pass it in; a hybrid handshake replays byte for byte from the
  client's side only.
- A bad value from the peer never escapes as a library exception: key
  exchange raises `KeyExchangeError`, a failed decryption returns None and a
  failed signature check returns False, so callers decide which alert to send.
- Hot paths stay thin: `Aead.seal` *is* the library's encrypt method, and
  HMAC/HKDF run on the standard library's C HMAC (OpenSSL) with no Python
  layer in between.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import (
    ec,
    ed25519,
    mlkem,
    padding,
    rsa,
    x448,
    x25519,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RandomSource = Callable[[int], bytes]

# --------------------------------------------------------------------------
# HMAC and HKDF (RFC 5869), on the standard library's C implementation.
# --------------------------------------------------------------------------

HASH_LENGTHS = {"sha256": 32, "sha384": 48}

try:
    # The C HMAC object behind hmac.new.  Keyed and fed in one call it takes
    # about 0.9 us where hmac.digest takes 1.4 us (measured, OpenSSL 3+), and
    # a TLS 1.3 handshake computes some twenty HMACs.
    from _hashlib import hmac_new as _new_hmac
except ImportError:  # a Python built without OpenSSL
    _new_hmac = hmac.new


def hmac_digest(hash_name: str, key: bytes, data: bytes) -> bytes:
    """HMAC(key, data) with the named hash (RFC 2104)."""
    return _new_hmac(key, data, hash_name).digest()


def hkdf_extract(hash_name: str, salt: bytes, input_key_material: bytes) -> bytes:
    """HKDF-Extract: an empty salt means HashLen zero bytes (RFC 5869 section 2.2)."""
    if not salt:
        salt = bytes(HASH_LENGTHS[hash_name])
    return _new_hmac(salt, input_key_material, hash_name).digest()


def hkdf_expand(hash_name: str, pseudo_random_key: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 section 2.3)."""
    hash_length = HASH_LENGTHS[hash_name]
    if length > 255 * hash_length:
        raise ValueError("HKDF-Expand cannot produce that many bytes")
    output = b""
    block = b""
    counter = 1
    while len(output) < length:
        block = _new_hmac(pseudo_random_key, block + info + bytes((counter,)), hash_name).digest()
        output += block
        counter += 1
    return output[:length]


# --------------------------------------------------------------------------
# AEAD record protection.
# --------------------------------------------------------------------------

AEAD_KEY_LENGTHS = {"AES-128-GCM": 16, "AES-256-GCM": 32, "CHACHA20-POLY1305": 32}
AEAD_NONCE_LENGTH = 12
AEAD_TAG_LENGTH = 16

_AEAD_CLASSES = {
    "AES-128-GCM": AESGCM,
    "AES-256-GCM": AESGCM,
    "CHACHA20-POLY1305": ChaCha20Poly1305,
}


class Aead:
    """One direction's key, built once and reused for every record."""

    __slots__ = ("_decrypt", "algorithm", "seal")

    def __init__(self, algorithm: str, key: bytes) -> None:
        if len(key) != AEAD_KEY_LENGTHS[algorithm]:
            raise ValueError(f"{algorithm} needs a {AEAD_KEY_LENGTHS[algorithm]}-byte key")
        cipher = _AEAD_CLASSES[algorithm](key)
        self.algorithm = algorithm
        # seal(nonce, plaintext, associated_data) -> ciphertext || tag
        self.seal: Callable[[bytes, bytes, bytes], bytes] = cipher.encrypt
        self._decrypt = cipher.decrypt

    def open(self, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes | None:
        """The plaintext, or None when the tag does not verify (tampered or wrong key)."""
        try:
            return self._decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            return None


# --------------------------------------------------------------------------
# Ephemeral (EC)DH key exchange: the groups of RFC 8446 section 4.2.7.
# --------------------------------------------------------------------------


class KeyExchangeError(Exception):
    """The peer's public key share is malformed or a low-order point."""


# Private key sizes in bytes.  For the NIST curves the bytes are the scalar
# itself, drawn again in the rare case it is not in [1, order - 1] (rejection
# sampling is unbiased, and it reproduces the keys printed in RFC 8448).
_PRIVATE_KEY_SIZES = {"x25519": 32, "x448": 56, "secp256r1": 32, "secp384r1": 48}
_NIST_CURVES = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
# RFC 8446 section 4.2.8.2: NIST shares are uncompressed points, 0x04 || X || Y.
_NIST_SHARE_LENGTHS = {"secp256r1": 65, "secp384r1": 97}
_NIST_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}
CLASSICAL_GROUPS = tuple(_PRIVATE_KEY_SIZES)


class EphemeralKey:
    """A fresh key pair for one handshake, of one named group."""

    __slots__ = ("_private", "group", "public_bytes")

    def __init__(self, group: str, random_bytes: RandomSource) -> None:
        if group not in _PRIVATE_KEY_SIZES:
            raise ValueError(f"unsupported key exchange group {group!r}")
        seed = random_bytes(_PRIVATE_KEY_SIZES[group])
        self.group = group
        if group == "x25519":
            self._private = x25519.X25519PrivateKey.from_private_bytes(seed)
            self.public_bytes = self._private.public_key().public_bytes_raw()
        elif group == "x448":
            self._private = x448.X448PrivateKey.from_private_bytes(seed)
            self.public_bytes = self._private.public_key().public_bytes_raw()
        else:
            secret = int.from_bytes(seed, "big")
            while not 0 < secret < _NIST_ORDERS[group]:
                secret = int.from_bytes(random_bytes(len(seed)), "big")
            self._private = ec.derive_private_key(secret, _NIST_CURVES[group])
            self.public_bytes = self._private.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint
            )

    def private_bytes(self) -> bytes:
        """The raw private key (X25519/X448) or scalar: only for a learning-mode trace page."""
        private = self._private
        if isinstance(private, ec.EllipticCurvePrivateKey):
            size = _PRIVATE_KEY_SIZES[self.group]
            return private.private_numbers().private_value.to_bytes(size, "big")
        return private.private_bytes_raw()

    def exchange(self, peer_public_bytes: bytes) -> bytes:
        """The shared secret with the peer's share; KeyExchangeError if the share is bad."""
        group = self.group
        try:
            if group == "x25519":
                if len(peer_public_bytes) != 32:
                    raise KeyExchangeError("an x25519 key share is 32 bytes")
                peer = x25519.X25519PublicKey.from_public_bytes(peer_public_bytes)
                return self._private.exchange(peer)
            if group == "x448":
                if len(peer_public_bytes) != 56:
                    raise KeyExchangeError("an x448 key share is 56 bytes")
                peer = x448.X448PublicKey.from_public_bytes(peer_public_bytes)
                return self._private.exchange(peer)
            if len(peer_public_bytes) != _NIST_SHARE_LENGTHS[group] or peer_public_bytes[0] != 4:
                raise KeyExchangeError(f"a {group} key share is an uncompressed point")
            peer = ec.EllipticCurvePublicKey.from_encoded_point(
                _NIST_CURVES[group], peer_public_bytes
            )
            return self._private.exchange(ec.ECDH(), peer)
        except ValueError as error:
            # Not on the curve, or (X25519/X448) a low-order point giving all zeros.
            raise KeyExchangeError(f"invalid {group} key share") from error


# --------------------------------------------------------------------------
# Hybrid post-quantum key exchange (draft-ietf-tls-ecdhe-mlkem): one key
# share carries an ML-KEM (FIPS 203) part and an ECDH part, and the shared
# secret is the two secrets concatenated, fed unchanged into the key
# schedule as the (EC)DHE input (RFC 8446 section 7.1).  An attacker must
# break both: ML-KEM against a future quantum computer, ECDH in case ML-KEM,
# young as it is, turns out weaker than believed.
# --------------------------------------------------------------------------

# FIPS 203 key generation takes a 64-byte seed d || z; drawing it from the
# caller's random_bytes keeps the client's hybrid shares replayable.
MLKEM_SEED_LENGTH = 64
MLKEM_SECRET_LENGTH = 32

MlkemPrivateKey = mlkem.MLKEM768PrivateKey | mlkem.MLKEM1024PrivateKey
MlkemPublicKey = mlkem.MLKEM768PublicKey | mlkem.MLKEM1024PublicKey


class HybridLayout(NamedTuple):
    """Where each part of a hybrid group's shares and secret sits (draft section 4)."""

    ecdh_group: str  # the classical half, a group EphemeralKey implements
    ecdh_share_length: int  # 32 for X25519; an uncompressed point for P-256/P-384
    ecdh_secret_length: int
    encapsulation_key_length: int  # the ML-KEM public key, in the client's share
    ciphertext_length: int  # the ML-KEM ciphertext, in the server's share
    mlkem_first: bool  # X25519MLKEM768 puts ML-KEM first (FIPS order); the NIST hybrids ECDH
    mlkem_private_key: type[mlkem.MLKEM768PrivateKey] | type[mlkem.MLKEM1024PrivateKey]
    mlkem_public_key: type[mlkem.MLKEM768PublicKey] | type[mlkem.MLKEM1024PublicKey]

    @property
    def mlkem_name(self) -> str:
        """The FIPS 203 parameter set, as a trace names it: ML-KEM-768 or ML-KEM-1024."""
        return (
            "ML-KEM-1024" if self.mlkem_private_key is mlkem.MLKEM1024PrivateKey else "ML-KEM-768"
        )

    @property
    def client_share_length(self) -> int:
        return self.encapsulation_key_length + self.ecdh_share_length

    @property
    def server_share_length(self) -> int:
        return self.ciphertext_length + self.ecdh_share_length

    @property
    def secret_length(self) -> int:
        return MLKEM_SECRET_LENGTH + self.ecdh_secret_length

    def join(self, mlkem_part: bytes, ecdh_part: bytes) -> bytes:
        """A share or secret from its two parts, in this group's order."""
        return mlkem_part + ecdh_part if self.mlkem_first else ecdh_part + mlkem_part

    def split(self, data: bytes, mlkem_length: int) -> tuple[bytes, bytes]:
        """(ML-KEM part, ECDH part) of a share whose length the caller has checked."""
        if self.mlkem_first:
            return data[:mlkem_length], data[mlkem_length:]
        return data[self.ecdh_share_length :], data[: self.ecdh_share_length]


HYBRID_LAYOUTS = {
    "X25519MLKEM768": HybridLayout(
        ecdh_group="x25519",
        ecdh_share_length=32,
        ecdh_secret_length=32,
        encapsulation_key_length=1184,
        ciphertext_length=1088,
        mlkem_first=True,
        mlkem_private_key=mlkem.MLKEM768PrivateKey,
        mlkem_public_key=mlkem.MLKEM768PublicKey,
    ),
    "SecP256r1MLKEM768": HybridLayout(
        ecdh_group="secp256r1",
        ecdh_share_length=65,
        ecdh_secret_length=32,
        encapsulation_key_length=1184,
        ciphertext_length=1088,
        mlkem_first=False,
        mlkem_private_key=mlkem.MLKEM768PrivateKey,
        mlkem_public_key=mlkem.MLKEM768PublicKey,
    ),
    "SecP384r1MLKEM1024": HybridLayout(
        ecdh_group="secp384r1",
        ecdh_share_length=97,
        ecdh_secret_length=48,
        encapsulation_key_length=1568,
        ciphertext_length=1568,
        mlkem_first=False,
        mlkem_private_key=mlkem.MLKEM1024PrivateKey,
        mlkem_public_key=mlkem.MLKEM1024PublicKey,
    ),
}
HYBRID_GROUPS = tuple(HYBRID_LAYOUTS)
KEY_EXCHANGE_GROUPS = CLASSICAL_GROUPS + HYBRID_GROUPS


class HybridKey:
    """The client's half of a hybrid exchange: an ML-KEM key pair and an ECDH key pair.

    The same shape as EphemeralKey: `public_bytes` is the client's share,
    `exchange(server_share)` the shared secret.
    """

    __slots__ = ("_ecdh", "_layout", "_mlkem", "group", "public_bytes")

    def __init__(self, group: str, random_bytes: RandomSource) -> None:
        layout = HYBRID_LAYOUTS.get(group)
        if layout is None:
            raise ValueError(f"unsupported hybrid key exchange group {group!r}")
        self.group = group
        self._layout = layout
        self._ecdh = EphemeralKey(layout.ecdh_group, random_bytes)
        self._mlkem: MlkemPrivateKey = layout.mlkem_private_key.from_seed_bytes(
            random_bytes(MLKEM_SEED_LENGTH)
        )
        encapsulation_key = self._mlkem.public_key().public_bytes_raw()
        self.public_bytes = layout.join(encapsulation_key, self._ecdh.public_bytes)

    def private_bytes(self) -> bytes:
        """The ECDH half's private key, for a learning-mode trace page (ML-KEM's stays inside)."""
        return self._ecdh.private_bytes()

    def exchange(self, server_share: bytes) -> bytes:
        """Both secrets joined in the group's order; KeyExchangeError if the share is bad.

        The length is checked before anything is computed, and the cheap ECDH
        half (which also validates the point) before the decapsulation.
        """
        layout = self._layout
        if len(server_share) != layout.server_share_length:
            raise KeyExchangeError(
                f"a {self.group} server key share is {layout.server_share_length} bytes,"
                f" not {len(server_share)}"
            )
        ciphertext, ecdh_share = layout.split(server_share, layout.ciphertext_length)
        ecdh_secret = self._ecdh.exchange(ecdh_share)
        try:
            mlkem_secret = self._mlkem.decapsulate(ciphertext)
        except ValueError as error:  # unreachable with the length checked; kept as a guard
            raise KeyExchangeError(f"invalid {self.group} ciphertext") from error
        return layout.join(mlkem_secret, ecdh_secret)


ClientKeyShare = EphemeralKey | HybridKey


def client_key_share(group: str, random_bytes: RandomSource) -> ClientKeyShare:
    """A fresh key share of any supported group, for the client's key_share extension."""
    if group in HYBRID_LAYOUTS:
        return HybridKey(group, random_bytes)
    return EphemeralKey(group, random_bytes)


class ServerKeyExchange(NamedTuple):
    """The server's side of one exchange: what it sends, what both now share, its ECDH key."""

    share: bytes
    secret: bytes
    ecdh_key: EphemeralKey  # for a learning-mode trace page only (the ECDH half of a hybrid)


def server_key_share(
    group: str, client_share: bytes, random_bytes: RandomSource
) -> tuple[bytes, bytes]:
    """(server share, shared secret) for the client's share: server_key_exchange's answer."""
    exchange = server_key_exchange(group, client_share, random_bytes)
    return exchange.share, exchange.secret


def server_key_exchange(
    group: str, client_share: bytes, random_bytes: RandomSource
) -> ServerKeyExchange:
    """The server's side in one call, for the client's share of `group`.

    KeyExchangeError (illegal_parameter, RFC 8446 section 4.2.8) for a share
    of the wrong length, an invalid point, or an ML-KEM encapsulation key
    failing the FIPS 203 section 7.2 checks (`from_public_bytes` refuses a
    coefficient not reduced mod q).  Every part of a bad share is refused
    before the expensive encapsulation, and no part is computed on twice.
    """
    layout = HYBRID_LAYOUTS.get(group)
    if layout is None:
        ephemeral = EphemeralKey(group, random_bytes)
        return ServerKeyExchange(
            ephemeral.public_bytes, ephemeral.exchange(client_share), ephemeral
        )
    if len(client_share) != layout.client_share_length:
        raise KeyExchangeError(
            f"a {group} client key share is {layout.client_share_length} bytes,"
            f" not {len(client_share)}"
        )
    encapsulation_key, ecdh_share = layout.split(client_share, layout.encapsulation_key_length)
    try:
        mlkem_public: MlkemPublicKey = layout.mlkem_public_key.from_public_bytes(encapsulation_key)
    except ValueError as error:
        raise KeyExchangeError(f"invalid {group} ML-KEM encapsulation key") from error
    ephemeral = EphemeralKey(layout.ecdh_group, random_bytes)
    ecdh_secret = ephemeral.exchange(ecdh_share)
    mlkem_secret, ciphertext = mlkem_public.encapsulate()
    return ServerKeyExchange(
        layout.join(ciphertext, ephemeral.public_bytes),
        layout.join(mlkem_secret, ecdh_secret),
        ephemeral,
    )


# --------------------------------------------------------------------------
# Signatures: the schemes of RFC 8446 section 4.2.3 we sign and verify with.
# --------------------------------------------------------------------------

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}

# scheme name -> (key family, curve name or None, hash name or None)
_SIGNATURE_SCHEMES: dict[str, tuple[str, str | None, str | None]] = {
    "ecdsa_secp256r1_sha256": ("ecdsa", "secp256r1", "sha256"),
    "ecdsa_secp384r1_sha384": ("ecdsa", "secp384r1", "sha384"),
    "rsa_pss_rsae_sha256": ("rsa", None, "sha256"),
    "rsa_pss_rsae_sha384": ("rsa", None, "sha384"),
    "rsa_pss_rsae_sha512": ("rsa", None, "sha512"),
    "ed25519": ("ed25519", None, None),
}
SIGNATURE_SCHEMES = tuple(_SIGNATURE_SCHEMES)


def _key_family(key: PrivateKey | PublicKey) -> tuple[str, str | None]:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ecdsa", key.curve.name
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa", None
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519", None
    return type(key).__name__, None


def signature_schemes_for_key(key: PrivateKey | PublicKey) -> tuple[str, ...]:
    """The schemes this key can sign (or verify) with, strongest-compatible first."""
    family, curve = _key_family(key)
    return tuple(
        name
        for name, (scheme_family, scheme_curve, _hash) in _SIGNATURE_SCHEMES.items()
        if scheme_family == family and scheme_curve == curve
    )


def describe_key(key: PrivateKey | PublicKey) -> str:
    """A short human name: ecdsa-p256, ecdsa-p384, rsa-2048, ed25519."""
    family, curve = _key_family(key)
    if family == "ecdsa":
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}.get(curve or "", "ecdsa")
    if family == "rsa":
        return f"rsa-{key.key_size}"
    return family


def _pss(hash_name: str) -> padding.PSS:
    # RFC 8446 section 4.2.3: the PSS salt is as long as the digest.
    return padding.PSS(
        mgf=padding.MGF1(_HASHES[hash_name]), salt_length=_HASHES[hash_name].digest_size
    )


def signer(private_key: PrivateKey, scheme: str) -> Callable[[bytes], bytes]:
    """A function signing data with `private_key` under `scheme`; ValueError if they do not fit.

    The checks and the algorithm objects are made once, here: a server signs
    every handshake with the same key and one of a few schemes, so it keeps
    one signer per (key, scheme).
    """
    family, _curve, hash_name = _SIGNATURE_SCHEMES[scheme]
    if scheme not in signature_schemes_for_key(private_key):
        raise ValueError(f"a {describe_key(private_key)} key cannot sign with {scheme}")
    if family == "ecdsa":
        algorithm = ec.ECDSA(_HASHES[hash_name])
        return lambda data: private_key.sign(data, algorithm)
    if family == "rsa":
        pss, rsa_hash = _pss(hash_name), _HASHES[hash_name]
        return lambda data: private_key.sign(data, pss, rsa_hash)
    return private_key.sign


def sign(private_key: PrivateKey, scheme: str, data: bytes) -> bytes:
    """One signature of `data` with `private_key` under `scheme`."""
    return signer(private_key, scheme)(data)


def verify_signature(public_key: PublicKey, scheme: str, signature: bytes, data: bytes) -> bool:
    """True only if `signature` is a valid `scheme` signature of `data` by `public_key`."""
    if scheme not in _SIGNATURE_SCHEMES or scheme not in signature_schemes_for_key(public_key):
        return False
    family, _curve, hash_name = _SIGNATURE_SCHEMES[scheme]
    try:
        if family == "ecdsa":
            public_key.verify(signature, data, ec.ECDSA(_HASHES[hash_name]))
        elif family == "rsa":
            public_key.verify(signature, data, _pss(hash_name), _HASHES[hash_name])
        else:
            public_key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --------------------------------------------------------------------------
# toytls signatures: RSA-PSS salts as the walkthrough's implementation uses them.
# TLS 1.3 never calls these (RFC 8446 section 4.2.3: its salt is the digest's length).
# --------------------------------------------------------------------------


def sign_with_maximum_pss_salt(private_key: PrivateKey, scheme: str, data: bytes) -> bytes:
    """Like sign(), but an RSA-PSS salt as long as the key allows; other schemes as sign().

    The longest salt is emLen - hLen - 2 bytes (RFC 8017 section 9.1.1), 222
    for RSA-2048 with SHA-256: what the walkthrough's server uses and its
    client insists on.
    """
    family, _curve, hash_name = _SIGNATURE_SCHEMES[scheme]
    if family != "rsa" or not isinstance(private_key, rsa.RSAPrivateKey):
        return sign(private_key, scheme, data)
    if scheme not in signature_schemes_for_key(private_key):
        raise ValueError(f"a {describe_key(private_key)} key cannot sign with {scheme}")
    hash_algorithm = _HASHES[hash_name]
    longest_salt = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.MAX_LENGTH)
    return private_key.sign(data, longest_salt, hash_algorithm)


def verify_signature_any_pss_salt(
    public_key: PublicKey, scheme: str, signature: bytes, data: bytes
) -> bool:
    """Like verify_signature(), but an RSA-PSS signature verifies whatever its salt length.

    RFC 8017 section 9.1.2 takes the salt length as a parameter, but the
    encoding shows it: the salt is what follows the 0x01 that ends the zero
    padding, and OpenSSL's "auto" salt length reads it from there.
    """
    if scheme not in _SIGNATURE_SCHEMES or scheme not in signature_schemes_for_key(public_key):
        return False
    family, _curve, hash_name = _SIGNATURE_SCHEMES[scheme]
    if family != "rsa" or not isinstance(public_key, rsa.RSAPublicKey):
        return verify_signature(public_key, scheme, signature, data)
    hash_algorithm = _HASHES[hash_name]
    any_salt = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.AUTO)
    try:
        public_key.verify(signature, data, any_salt, hash_algorithm)
    except (InvalidSignature, ValueError):
        return False
    return True
