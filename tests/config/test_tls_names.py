"""config/tls_names.py: OpenSSL's group spellings, and their agreement with the TLS layer."""

from __future__ import annotations

import pytest

from tls_web_server.config import tls_names
from tls_web_server.tls.tls13.enums import NamedGroup
from tls_web_server.tls.tls13.negotiation import DEFAULT_GROUPS


def test_every_name_maps_to_a_named_group_and_every_default_group_has_a_spelling() -> None:
    # config may not import tls, so this test is what keeps the two tables in step.
    assert {canonical for canonical in tls_names.GROUP_SPELLINGS.values()} <= set(
        NamedGroup.__members__
    )
    assert {group.name for group in DEFAULT_GROUPS} <= set(tls_names.GROUP_SPELLINGS.values())


def test_nginx_style_lists_read_as_our_names_in_order() -> None:
    assert tls_names.read_group_list("X25519MLKEM768:X25519:prime256v1") == (
        "X25519MLKEM768",
        "x25519",
        "secp256r1",
    )
    assert tls_names.read_group_list("SecP256r1MLKEM768:SecP384r1MLKEM1024:P-384:X448") == (
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "secp384r1",
        "x448",
    )
    # Aliases of one group count once, at the first place they appear.
    assert tls_names.read_group_list("P-256:x25519:secp256r1:prime256v1") == (
        "secp256r1",
        "x25519",
    )


def test_auto_means_the_tls_layers_defaults() -> None:
    assert tls_names.read_group_list("auto") is None


@pytest.mark.parametrize(
    "value, bad",
    [
        ("X25519:ffdhe2048", "ffdhe2048"),
        ("SECP256R1", "SECP256R1"),  # OpenSSL's names are case-sensitive: it refuses this too
        ("x25519mlkem768", "x25519mlkem768"),
        ("X25519::P-256", ""),
        ("X25519:", ""),
        ("", ""),
        ("MLKEM768", "MLKEM768"),  # the pure ML-KEM groups are not implemented
    ],
)
def test_an_unknown_name_is_refused_with_the_name_and_the_choices(value: str, bad: str) -> None:
    with pytest.raises(tls_names.UnknownGroupName) as raised:
        tls_names.read_group_list(value)
    assert raised.value.name == bad
    assert repr(bad) in str(raised.value)
    assert "X25519MLKEM768" in str(raised.value)
    assert isinstance(raised.value, ValueError)
