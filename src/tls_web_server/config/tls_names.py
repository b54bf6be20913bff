"""OpenSSL's names for the key exchange groups, as nginx's `ssl_ecdh_curve` takes them.

What this module owns: the table from the spellings an nginx user writes
(`ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1;`, which nginx hands to
OpenSSL's SSL_CTX_set1_groups_list) to our one name per group, and the
reading of such a colon-separated list.

Our names are the member names of NamedGroup in tls/tls13/enums.py.  This
package may not import tls (DESIGN.md import rule 2), so the two are kept in
agreement by tests/config/test_tls_names.py rather than by an import.  For
the same reason the default list is not here: `auto` reads as None, "the
TLS layer's defaults" (tls/tls13/negotiation.py DEFAULT_GROUPS), resolved
where the configuration meets TLS (server/listeners.py).

What it must never do: import anything of ours, or accept a name OpenSSL
would refuse (the spellings are OpenSSL's, case and all: OpenSSL refuses
SECP256R1, so do we).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# nginx's default spelling for ssl_ecdh_curve: the built-in list.
AUTO = "auto"

# OpenSSL spelling -> our name.  The hybrids (draft-ietf-tls-ecdhe-mlkem) are
# spelled as OpenSSL 3.5 spells them; P-256/P-384 are OpenSSL's NIST aliases
# and prime256v1 is the X9.62 name of secp256r1.
GROUP_SPELLINGS: Mapping[str, str] = MappingProxyType(
    {
        "X25519MLKEM768": "X25519MLKEM768",
        "SecP256r1MLKEM768": "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024": "SecP384r1MLKEM1024",
        "X25519": "x25519",
        "x25519": "x25519",
        "prime256v1": "secp256r1",
        "secp256r1": "secp256r1",
        "P-256": "secp256r1",
        "secp384r1": "secp384r1",
        "P-384": "secp384r1",
        "X448": "x448",
        "x448": "x448",
    }
)


class UnknownGroupName(ValueError):
    """A name in a group list that OpenSSL's table (ours) does not have."""

    def __init__(self, name: str) -> None:
        self.name = name
        expected = ", ".join(GROUP_SPELLINGS)
        super().__init__(f"unknown group {name!r}, expected names from: {expected}")


def read_group_list(value: str) -> tuple[str, ...] | None:
    """`A:B:C` as our names in the order given, repeats dropped; None for `auto`.

    Raises UnknownGroupName for a name not in the table (an empty name, from
    `A::B` or a trailing colon, included), so the caller can attach the
    directive's position.
    """
    if value == AUTO:
        return None
    chosen: dict[str, None] = {}
    for name in value.split(":"):
        canonical = GROUP_SPELLINGS.get(name)
        if canonical is None:
            raise UnknownGroupName(name)
        chosen[canonical] = None
    return tuple(chosen)
