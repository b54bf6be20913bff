"""crypto.py's HMAC, HKDF and signers against independent computations."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls import crypto

from .conftest import DemoPki


@given(st.sampled_from(["sha256", "sha384"]), st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_digest_is_rfc_2104_hmac(hash_name: str, key: bytes, data: bytes) -> None:
    # Compare with HMAC written out from its definition, over hashlib alone.
    block_size = hashlib.new(hash_name).block_size
    padded_key = hashlib.new(hash_name, key).digest() if len(key) > block_size else key
    padded_key = padded_key.ljust(block_size, b"\x00")
    inner = hashlib.new(hash_name, bytes(b ^ 0x36 for b in padded_key) + data).digest()
    outer = hashlib.new(hash_name, bytes(b ^ 0x5C for b in padded_key) + inner).digest()
    assert crypto.hmac_digest(hash_name, key, data) == outer
    assert crypto.hmac_digest(hash_name, key, data) == hmac.new(key, data, hash_name).digest()


def test_hkdf_matches_rfc_5869_test_case_1() -> None:
    # RFC 5869 appendix A.1.
    input_key_material = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    pseudo_random_key = crypto.hkdf_extract("sha256", salt, input_key_material)
    assert pseudo_random_key.hex() == (
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    )
    assert crypto.hkdf_expand("sha256", pseudo_random_key, info, 42).hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_hkdf_extract_with_an_empty_salt_uses_hash_length_zeros() -> None:
    # RFC 5869 appendix A.3: salt not provided.
    pseudo_random_key = crypto.hkdf_extract("sha256", b"", bytes.fromhex("0b" * 22))
    assert pseudo_random_key.hex() == (
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"
    )


def test_a_signer_and_sign_agree_and_verify(any_pki: DemoPki) -> None:
    private_key = any_pki.credentials.private_key
    public_key = private_key.public_key()
    for scheme in crypto.signature_schemes_for_key(private_key):
        sign = crypto.signer(private_key, scheme)
        for data in (b"", b"a message", bytes(300)):
            assert crypto.verify_signature(public_key, scheme, sign(data), data)
            assert crypto.verify_signature(
                public_key, scheme, crypto.sign(private_key, scheme, data), data
            )
        assert not crypto.verify_signature(public_key, scheme, sign(b"one"), b"two")


def test_a_signer_is_refused_for_a_scheme_of_another_key_type(any_pki: DemoPki) -> None:
    private_key = any_pki.credentials.private_key
    usable = set(crypto.signature_schemes_for_key(private_key))
    for scheme in set(crypto.SIGNATURE_SCHEMES) - usable:
        with pytest.raises(ValueError, match=f"cannot sign with {scheme}"):
            crypto.signer(private_key, scheme)
