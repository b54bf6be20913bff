"""What a TLS 1.3 server works out once and then reuses in every handshake.

A server answers thousands of ClientHellos a second with the same
certificate chain, the same signing key and one of a few EncryptedExtensions
messages.  Encoding those again for each handshake (and checking again that
the key can sign with the scheme) is pure repetition, so this module keeps:

- per certificate chain: the encoded Certificate message (RFC 8446 section
  4.4.2), its CompressedCertificate forms (RFC 8879, compressed on the first
  handshake that asks and kept) and one signer per signature scheme
  (section 4.4.3);
- per (server_name acknowledged, ALPN protocol): the encoded
  EncryptedExtensions message (section 4.3.1);
- `server_hello_bytes`, the one ServerHello layout a server sends.

Every encoding here is the codec's own: a kept message's `encode()`, kept
with the message so that an observer still sees the fields, and the
ServerHello's `pack()` (hellos.py), which the connection decodes back into
a message only for an observer (`send_packed`).

What it must never do: keep anything that depends on one connection (its
randomness, key shares, transcript or secrets), or grow with what peers send.
Every cache key comes from the server's own settings (its chains, its ALPN
list) or is a yes/no, so the caches stay as small as the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from .. import crypto, pki
from . import extensions as ext
from .certificate_compression import PrecompressedCertificate
from .enums import LEGACY_VERSION, TLS13_VERSION, CipherSuite, ExtensionType, NamedGroup
from .extension_block import Extension, pack_extension
from .messages import (
    HANDSHAKE_HEADER_LENGTH,
    Certificate,
    CertificateEntry,
    CompressedCertificate,
    EncryptedExtensions,
    ServerHello,
)


class EncodedMessage(NamedTuple):
    """A handshake message and its encoding, made once: `send_handshake(message, raw)`."""

    message: Certificate | CompressedCertificate | EncryptedExtensions
    raw: bytes


def _encoded(message: Certificate | CompressedCertificate | EncryptedExtensions) -> EncodedMessage:
    return EncodedMessage(message, message.encode())


class PreparedCredentials:
    """One certificate chain ready to send: its Certificate message and signers."""

    __slots__ = (
        "_compressed",
        "_precompressed",
        "_private_key",
        "_signers",
        "certificate",
        "credentials",
    )

    def __init__(self, credentials: pki.ServerCredentials) -> None:
        self.credentials = credentials
        # A server's chain carries no per-certificate extensions (no OCSP
        # stapling, no SCTs), and certificate_request_context is empty
        # outside post-handshake authentication (section 4.4.2).
        entries = tuple(CertificateEntry(der, ()) for der in credentials.chain_der)
        self.certificate = _encoded(Certificate(b"", entries))
        self._private_key = credentials.private_key
        self._signers: dict[str, Callable[[bytes], bytes]] = {}
        self._precompressed: PrecompressedCertificate | None = None
        self._compressed: dict[int, EncodedMessage] = {}

    def compressed_certificate(self, client_algorithms: Sequence[int]) -> EncodedMessage | None:
        """The CompressedCertificate for the client's first algorithm we have; None: none fits.

        The chain is compressed with every algorithm we have on the first
        handshake that asks, and the encoded messages kept: compressing per
        handshake would cost more than the rest of the handshake (RFC 8879
        section 4 leaves the when to the server).  Bounded: one entry per
        algorithm we implement.
        """
        precompressed = self._precompressed
        if precompressed is None:
            certificate_body = self.certificate.raw[HANDSHAKE_HEADER_LENGTH:]
            precompressed = self._precompressed = PrecompressedCertificate(certificate_body)
        message = precompressed.choose_for(client_algorithms)
        if message is None:
            return None
        encoded = self._compressed.get(message.algorithm)
        if encoded is None:
            encoded = self._compressed[message.algorithm] = _encoded(message)
        return encoded

    def sign(self, scheme: str, data: bytes) -> bytes:
        """A signature of `data` with this chain's key under `scheme` (a name of crypto.py)."""
        signer = self._signers.get(scheme)
        if signer is None:
            # Bounded: at most one entry per scheme the key can sign with.
            signer = self._signers[scheme] = crypto.signer(self._private_key, scheme)
        return signer(data)


class PreparedHandshakeParts:
    """The caches of one ServerSettings: filled on first use, never emptied."""

    __slots__ = ("_credentials", "_encrypted_extensions")

    def __init__(self) -> None:
        # Keyed by the certificate chain: a chain names its key (the leaf
        # carries the public half), so one chain is one prepared form.
        self._credentials: dict[tuple[bytes, ...], PreparedCredentials] = {}
        self._encrypted_extensions: dict[tuple[bool, bytes | None], EncodedMessage] = {}

    def credentials(self, credentials: pki.ServerCredentials) -> PreparedCredentials:
        """The prepared form of one of the settings' certificate chains."""
        chain = credentials.chain_der
        prepared = self._credentials.get(chain)
        if prepared is None:
            prepared = self._credentials[chain] = PreparedCredentials(credentials)
        return prepared

    def encrypted_extensions(
        self, acknowledge_server_name: bool, protocol: bytes | None
    ) -> EncodedMessage:
        """EncryptedExtensions for a handshake; `protocol` is one of the server's own ALPN names."""
        key = (acknowledge_server_name, protocol)
        encoded = self._encrypted_extensions.get(key)
        if encoded is None:
            extensions = []
            if acknowledge_server_name:
                # RFC 6066 section 3: an empty server_name says "I used your name".
                extensions.append(Extension(ExtensionType.server_name, ext.encode_empty()))
            if protocol is not None:
                extensions.append(
                    Extension(
                        ExtensionType.application_layer_protocol_negotiation,
                        ext.encode_application_protocols((protocol,)),
                    )
                )
            encoded = self._encrypted_extensions[key] = _encoded(
                EncryptedExtensions(tuple(extensions))
            )
        return encoded


# Section 4.2.1: every ServerHello and HelloRetryRequest selects TLS 1.3.
SELECTED_VERSION_TLS13 = Extension(
    ExtensionType.supported_versions, ext.encode_selected_version(TLS13_VERSION)
)
_PACKED_SELECTED_VERSION_TLS13 = pack_extension(*SELECTED_VERSION_TLS13)


def server_hello_bytes(
    server_random: bytes,
    legacy_session_id: bytes,
    suite: CipherSuite,
    group: NamedGroup,
    public_key: bytes,
    selected_identity: int | None,
) -> bytes:
    """The encoded ServerHello of a full handshake or a resumption (section 4.1.3).

    Its extensions: supported_versions, key_share (section 4.2.8) and, when
    resuming, pre_shared_key (section 4.2.11: the selected identity).  Packed
    by the codec (`ServerHello.pack`) from the fields; the server decodes it
    back into a message only when someone observes the handshake.
    """
    packed_extensions = _PACKED_SELECTED_VERSION_TLS13 + pack_extension(
        ExtensionType.key_share, ext.encode_key_share_entry(group, public_key)
    )
    if selected_identity is not None:
        packed_extensions += pack_extension(
            ExtensionType.pre_shared_key, ext.encode_selected_identity(selected_identity)
        )
    return ServerHello.pack(
        LEGACY_VERSION, server_random, legacy_session_id, suite, 0, packed_extensions
    )
