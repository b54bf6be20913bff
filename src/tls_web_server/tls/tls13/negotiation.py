"""What the client offers, and what the server picks from it (RFC 8446 sections 4.1.1 and 4.2).

What this module owns:
- `ClientOffer`: the parts of a ClientHello that negotiation needs, decoded
  once and checked against the rules RFC 8446 places on a ClientHello
  (supported_versions, the extension pairs of section 9.2, key shares only
  for offered groups, compression).  Each violation raises TLSError with
  the alert the RFC names.
- Pure choice functions: cipher suite, key exchange group, signature
  scheme, ALPN protocol.  The server's preference order always wins.
- The default key exchange groups, server and client (`DEFAULT_GROUPS`,
  `DEFAULT_KEY_SHARE_GROUPS`): the one definition for both sides and for the
  configuration's `ssl_ecdh_curve auto` (resolved in server/listeners.py, since
  config/ may not import tls).

What it must never do: hold keys, touch the transcript or the clock, or send
anything; or spend more than linear time on a ClientHello (a hostile one may
list 16,000 groups and thousands of shares: membership tests go through sets
built once).  Unknown values (GREASE, groups we do not implement) are
skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..errors import AlertDescription, TLSError
from . import extensions as ext
from .enums import (
    TLS13_VERSION,
    CipherSuite,
    ExtensionType,
    NamedGroup,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .messages import ClientHello

# The server's preference: at each security level the post-quantum hybrids
# (draft-ietf-tls-ecdhe-mlkem) before the classical groups, so a client that
# sends both shares gets the hybrid.  The 192-bit level comes after the
# 128-bit one, as in OpenSSL: SecP384r1MLKEM1024's shares are the largest
# (1,665 bytes each way) for a margin few clients ask for.  Our client offers
# all of them, in the same order.
# Both sides' cipher suites, in our order of preference: the three RFC 8446
# section 9.1 asks for or recommends (the config's `ssl_ciphers` may narrow them).
DEFAULT_CIPHER_SUITES = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)
DEFAULT_GROUPS = (
    NamedGroup.X25519MLKEM768,
    NamedGroup.SecP256r1MLKEM768,
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.SecP384r1MLKEM1024,
    NamedGroup.secp384r1,
    NamedGroup.x448,
)
# The client's key shares in its first ClientHello: what Chromium and OpenSSL 3.5
# send.  A server that knows the hybrid takes it; one that does not takes x25519
# with no HelloRetryRequest; any other group costs one round trip (RFC 8446 4.1.1).
DEFAULT_KEY_SHARE_GROUPS = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)


# TLS 1.0: the lowest legacy_version a ClientHello may carry (appendix D.5).
LOWEST_LEGACY_VERSION = 0x0301


class ClientOffer(NamedTuple):
    """A ClientHello's negotiation-relevant extensions, decoded and checked.

    Immutable like a frozen dataclass; a NamedTuple because one is built per
    handshake and its constructor runs in C (a frozen dataclass sets each of
    these eleven fields through object.__setattr__).
    """

    cipher_suites: tuple[int, ...]
    supported_groups: tuple[int, ...]
    key_shares: tuple[ext.KeyShareEntry, ...]
    signature_algorithms: tuple[int, ...]
    server_name: str | None
    application_protocols: tuple[bytes, ...] | None
    psk_modes: tuple[int, ...]
    offered_psks: ext.OfferedPsks | None
    early_data: bool
    cookie: bytes | None
    # RFC 8879 section 3: what the client can decompress, in its preference order.
    certificate_compression_algorithms: tuple[int, ...]

    @property
    def offers_psk_dhe(self) -> bool:
        return PskKeyExchangeMode.psk_dhe_ke in self.psk_modes


def read_client_offer(hello: ClientHello) -> ClientOffer:
    """Decode and check what negotiation needs; TLSError with the RFC's alert otherwise."""
    # One dict instead of a scan of the extension list per lookup; types are
    # unique (messages.py refused duplicates), so nothing is lost.
    if hello.legacy_version < LOWEST_LEGACY_VERSION:
        # Appendix D.5: a ClientHello whose legacy_version is SSL 3.0 (0x0300)
        # or below MUST be refused with protocol_version; values that name no
        # version at all (0x0000, 0x0102, 0x0200) are older still.
        raise TLSError(
            f"the ClientHello's legacy_version {hello.legacy_version:#06x} is below TLS 1.0",
            AlertDescription.protocol_version,
        )
    extensions = hello.extensions_by_type()
    versions_data = extensions.get(ExtensionType.supported_versions)
    if versions_data is None or TLS13_VERSION not in ext.decode_client_supported_versions(
        versions_data
    ):
        # Section 4.2.1: a client that cannot speak TLS 1.3 gets protocol_version
        # (we implement no earlier version to fall back to).
        raise TLSError("the client does not offer TLS 1.3", AlertDescription.protocol_version)
    if hello.legacy_compression_methods != b"\x00":
        # Section 4.1.2: "exactly one byte, set to zero".
        raise TLSError("compression methods other than null", AlertDescription.illegal_parameter)

    # Only the extensions negotiation uses are decoded; the others were
    # framed and checked for duplicates when the ClientHello was decoded.
    groups_data = extensions.get(ExtensionType.supported_groups)
    groups = None if groups_data is None else ext.decode_supported_groups(groups_data)
    shares_data = extensions.get(ExtensionType.key_share)
    shares = None if shares_data is None else ext.decode_client_key_shares(shares_data)
    algorithms_data = extensions.get(ExtensionType.signature_algorithms)
    signature_algorithms = (
        None if algorithms_data is None else ext.decode_signature_algorithms(algorithms_data)
    )
    psk_data = extensions.get(ExtensionType.pre_shared_key)
    modes_data = extensions.get(ExtensionType.psk_key_exchange_modes)
    psk_modes = () if modes_data is None else ext.decode_psk_key_exchange_modes(modes_data)

    # Section 9.2: supported_groups and key_share come together; without a PSK
    # both signature_algorithms and supported_groups are required.
    if (groups is None) != (shares is None):
        missing = "key_share" if shares is None else "supported_groups"
        raise TLSError(f"ClientHello lacks {missing}", AlertDescription.missing_extension)
    if psk_data is None and (signature_algorithms is None or groups is None):
        missing = "signature_algorithms" if signature_algorithms is None else "supported_groups"
        raise TLSError(f"ClientHello lacks {missing}", AlertDescription.missing_extension)
    if psk_data is not None and not psk_modes:
        # Section 4.2.9: a client offering a PSK MUST send psk_key_exchange_modes.
        raise TLSError(
            "pre_shared_key without psk_key_exchange_modes", AlertDescription.missing_extension
        )
    groups = groups or ()
    shares = shares or ()
    # One set, so that thousands of shares against thousands of listed groups
    # stay linear (a tuple's `in` would make this shares x groups).
    listed_groups = frozenset(groups)
    for share in shares:
        # Section 4.2.8: no key share for a group the client did not list.
        if share.group not in listed_groups:
            raise TLSError(
                f"a key share for group {share.group:#06x}, which supported_groups does not list",
                AlertDescription.illegal_parameter,
            )
    alpn_data = extensions.get(ExtensionType.application_layer_protocol_negotiation)
    alpn = None if alpn_data is None else ext.decode_application_protocols(alpn_data)
    name_data = extensions.get(ExtensionType.server_name)
    server_name = None if name_data is None else ext.decode_server_name(name_data)
    cookie_data = extensions.get(ExtensionType.cookie)
    cookie = None if cookie_data is None else ext.decode_cookie(cookie_data)
    early_data = ExtensionType.early_data in extensions
    compression_data = extensions.get(ExtensionType.compress_certificate)
    compression = (
        () if compression_data is None else ext.decode_compress_certificate(compression_data)
    )
    return ClientOffer(
        cipher_suites=hello.cipher_suites,
        supported_groups=groups,
        key_shares=shares,
        signature_algorithms=signature_algorithms or (),
        server_name=server_name,
        application_protocols=alpn,
        psk_modes=psk_modes,
        offered_psks=ext.decode_offered_psks(psk_data) if psk_data is not None else None,
        early_data=early_data,
        cookie=cookie,
        certificate_compression_algorithms=compression,
    )


def choose_cipher_suite(offered: Sequence[int], preferred: Sequence[CipherSuite]) -> CipherSuite:
    """The server's most preferred suite the client also offers."""
    offered_set = frozenset(offered)  # built once: the client may list 32,000 suites
    for suite in preferred:
        if suite in offered_set:
            return suite
    raise TLSError("no cipher suite in common", AlertDescription.handshake_failure)


class GroupChoice(NamedTuple):
    group: NamedGroup
    client_share: bytes | None  # None: the client sent no share for it, ask again (HRR)


def choose_group(offer: ClientOffer, preferred: Sequence[NamedGroup]) -> GroupChoice:
    """A group with a key share if possible, else one to ask for with a HelloRetryRequest.

    Among the client's key shares we take the one we prefer most; only when
    none is acceptable do we spend a round trip asking for our favourite of
    the groups the client supports (section 4.1.1).  Linear in the
    ClientHello: one dict of the shares, one set of the listed groups (built
    only when no share fits), each looked up once per group we prefer.
    """
    shares = {share.group: share.key_exchange for share in offer.key_shares}
    for group in preferred:
        share = shares.get(group)
        if share is not None:
            return GroupChoice(group, share)
    supported = frozenset(offer.supported_groups)
    for group in preferred:
        if group in supported:
            return GroupChoice(group, None)
    raise TLSError("no key exchange group in common", AlertDescription.handshake_failure)


def choose_signature_scheme(key_schemes: Sequence[str], offered: Sequence[int]) -> SignatureScheme:
    """The first scheme our certificate key can sign with that the client accepts."""
    offered_set = frozenset(offered)  # built once: the client may list 32,000 schemes
    for name in key_schemes:
        scheme = SignatureScheme[name]
        if scheme in offered_set:
            return scheme
    raise TLSError(
        "the client accepts no signature scheme our certificate key can make",
        AlertDescription.handshake_failure,
    )


def choose_application_protocol(
    offered: tuple[bytes, ...] | None, supported: Sequence[bytes]
) -> bytes | None:
    """RFC 7301 section 3.2: pick ours in our order; no overlap is no_application_protocol."""
    if offered is None or not supported:
        return None
    for protocol in supported:
        if protocol in offered:
            return protocol
    raise TLSError(
        f"the client offers only {', '.join(p.decode('latin-1') for p in offered)}",
        AlertDescription.no_application_protocol,
    )


# Section 4.1.2: what the second ClientHello may change after a HelloRetryRequest.
_MAY_CHANGE_AFTER_RETRY = {
    ExtensionType.key_share,
    ExtensionType.early_data,
    ExtensionType.cookie,
    ExtensionType.pre_shared_key,
    ExtensionType.padding,
}


def check_second_client_hello(first: ClientHello, second: ClientHello, group: NamedGroup) -> None:
    """The retried ClientHello must be the first one but for what section 4.1.2 allows."""
    same_fields = (
        first.legacy_version == second.legacy_version
        and first.random == second.random
        and first.legacy_session_id == second.legacy_session_id
        and first.cipher_suites == second.cipher_suites
        and first.legacy_compression_methods == second.legacy_compression_methods
    )
    if not same_fields:
        raise TLSError(
            "the second ClientHello changed fields a HelloRetryRequest does not allow",
            AlertDescription.illegal_parameter,
        )

    def kept(hello: ClientHello) -> list[tuple[int, bytes]]:
        return [(e.type, e.data) for e in hello.extensions if e.type not in _MAY_CHANGE_AFTER_RETRY]

    if kept(first) != kept(second):
        raise TLSError(
            "the second ClientHello changed extensions a HelloRetryRequest does not allow",
            AlertDescription.illegal_parameter,
        )
    if second.extension(ExtensionType.early_data) is not None:
        raise TLSError("early_data in the second ClientHello", AlertDescription.illegal_parameter)
    if second.extension(ExtensionType.cookie) is not None:
        # Section 4.2.2: the client echoes a cookie from the HelloRetryRequest;
        # ours never carries one, so any cookie here is made up.
        raise TLSError(
            "the second ClientHello carries a cookie we never sent",
            AlertDescription.illegal_parameter,
        )
    if (
        second.extension(ExtensionType.pre_shared_key) is not None
        and first.extension(ExtensionType.pre_shared_key) is None
    ):
        # Section 4.1.2: the client may update or remove pre_shared_key after a
        # HelloRetryRequest, never add one the first ClientHello lacked.
        raise TLSError(
            "the second ClientHello offers a pre_shared_key the first one lacked",
            AlertDescription.illegal_parameter,
        )
    shares_data = second.extension(ExtensionType.key_share)
    shares = ext.decode_client_key_shares(shares_data) if shares_data is not None else ()
    if len(shares) != 1 or shares[0].group != group:
        raise TLSError(
            f"the second ClientHello must carry exactly one key share, for {group.name}",
            AlertDescription.illegal_parameter,
        )
