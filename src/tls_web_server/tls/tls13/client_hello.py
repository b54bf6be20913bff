"""The ClientHello our client sends: the first one, the one after a HelloRetryRequest, the PSK.

What this module owns: which extensions the client offers (RFC 8446 section
4.2), the second hello's changes after a HelloRetryRequest (section 4.1.2),
and the PSK binder over the hello (section 4.2.11.2).

What it must never do: send anything (client.py queues the hello and adds it
to its transcript), or draw randomness and read the clock except through the
`random_bytes` and `clock` it is given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import replace

from .. import crypto
from . import extensions as ext
from . import key_schedule
from .client_settings import CERTIFICATE_SCHEMES, ClientSettings, Ticket
from .enums import (
    CIPHER_SUITE_PARAMETERS,
    LEGACY_VERSION,
    TLS13_VERSION,
    ExtensionType,
    NamedGroup,
    PskKeyExchangeMode,
)
from .extensions import Extension
from .messages import ClientHello
from .transcript import Transcript

# Our key pairs by group: classical (EphemeralKey) or hybrid (HybridKey), one shape.
KeyShares = dict[NamedGroup, crypto.ClientKeyShare]


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def new_key_shares(groups: Iterable[NamedGroup], random_bytes: Callable[[int], bytes]) -> KeyShares:
    """A fresh key pair for each group, hybrid or classical (crypto.client_key_share)."""
    return {group: crypto.client_key_share(group.name, random_bytes) for group in groups}


def _encoded_key_shares(shares: KeyShares) -> bytes:
    return ext.encode_client_key_shares(
        ext.KeyShareEntry(group, key.public_bytes) for group, key in shares.items()
    )


def first_client_hello(
    settings: ClientSettings,
    server_name: str,
    shares: KeyShares,
    ticket: Ticket | None,
    *,
    random_bytes: Callable[[int], bytes],
    clock: Callable[[], float],
) -> ClientHello:
    """The hello that opens the handshake, offering `ticket` if there is one."""
    extensions = []
    if not _is_ip_address(server_name):  # RFC 6066 section 3: no IP literals in SNI
        extensions.append(Extension(ExtensionType.server_name, ext.encode_server_name(server_name)))
    extensions += [
        Extension(
            ExtensionType.supported_versions,
            ext.encode_client_supported_versions((TLS13_VERSION,)),
        ),
        Extension(ExtensionType.supported_groups, ext.encode_supported_groups(settings.groups)),
        Extension(
            ExtensionType.signature_algorithms,
            ext.encode_signature_algorithms(CERTIFICATE_SCHEMES),
        ),
        Extension(ExtensionType.key_share, _encoded_key_shares(shares)),
        Extension(
            ExtensionType.psk_key_exchange_modes,
            ext.encode_psk_key_exchange_modes((PskKeyExchangeMode.psk_dhe_ke,)),
        ),
    ]
    if settings.certificate_compression:
        # RFC 8879 section 3: the server may answer with a CompressedCertificate.
        extensions.append(
            Extension(
                ExtensionType.compress_certificate,
                ext.encode_compress_certificate(settings.certificate_compression),
            )
        )
    if settings.application_protocols:
        extensions.append(
            Extension(
                ExtensionType.application_layer_protocol_negotiation,
                ext.encode_application_protocols(settings.application_protocols),
            )
        )
    hello = ClientHello(
        LEGACY_VERSION,
        random_bytes(32),
        random_bytes(32),  # a session id puts middleboxes at ease (appendix D.4)
        tuple(settings.cipher_suites),
        b"\x00",
        tuple(extensions),
    )
    if ticket is not None:
        # Before any ServerHello the transcript has no hash: the binder covers just this hello.
        hello = _with_psk(hello, ticket, Transcript(), clock)
    return hello


def second_client_hello(
    previous: ClientHello,
    shares: KeyShares,
    ticket: Ticket | None,
    *,
    cookie: bytes | None,
    transcript: Transcript,
    clock: Callable[[], float],
) -> ClientHello:
    """Section 4.1.2: the same hello, with the new key share and the cookie."""
    key_shares = _encoded_key_shares(shares)
    extensions = [
        Extension(e.type, key_shares) if e.type == ExtensionType.key_share else e
        for e in previous.extensions
        if e.type not in (ExtensionType.pre_shared_key, ExtensionType.cookie)
    ]
    if cookie is not None:
        extensions.append(Extension(ExtensionType.cookie, ext.encode_cookie(cookie)))
    hello = replace(previous, extensions=tuple(extensions))
    if ticket is not None:
        # After a HelloRetryRequest the binder covers the whole exchange so far.
        hello = _with_psk(hello, ticket, transcript, clock)
    return hello


def _with_psk(
    hello: ClientHello, ticket: Ticket, transcript: Transcript, clock: Callable[[], float]
) -> ClientHello:
    """Offer the ticket, with its binder over the hello up to the binders (section 4.2.11.2)."""
    parameters = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite]
    age_ms = int((clock() - ticket.received_at) * 1000)
    identity = ext.PskIdentity(ticket.ticket, (age_ms + ticket.age_add) % (1 << 32))
    placeholder = ext.OfferedPsks((identity,), (bytes(parameters.hash_length),))
    offered = replace(
        hello,
        extensions=(
            *hello.extensions,
            Extension(ExtensionType.pre_shared_key, ext.encode_offered_psks(placeholder)),
        ),
    )
    partial = offered.encode()[: -placeholder.binders_length]
    binder_key = key_schedule.EarlySecret(parameters.hash_name, ticket.psk).binder_key(
        resumption=True
    )
    if transcript.hash_name is None:
        transcript = Transcript(parameters.hash_name)
    binder = key_schedule.finished_verify_data(
        parameters.hash_name, binder_key, transcript.digest_with(partial)
    )
    return offered.with_psk_binders((binder,))
