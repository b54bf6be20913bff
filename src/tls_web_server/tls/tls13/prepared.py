"""What a TLS 1.3 server works out once and then reuses in every handshake.

A server answers thousands of ClientHellos a second with the same
certificate chain, the same signing key and one of a few EncryptedExtensions
messages.  Encoding those again for each handshake (and checking again that
the key can sign with the scheme) is pure repetition, so this module keeps:

- per certificate chain: the encoded Certificate message (RFC 8446 section
  4.4.2) and one signer per signature scheme (section 4.4.3);
- per (server_name acknowledged, ALPN protocol): the encoded
  EncryptedExtensions message (section 4.3.1);
- the fixed bytes of ServerHello, CertificateVerify and Finished, which
  `server_hello_bytes` and friends join with one handshake's values: the same
  bytes as the message dataclasses' encode() (tests/tls/tls13/test_fast_paths.py
  checks), without building a Writer and a dataclass per message.

What it must never do: keep anything that depends on one connection (its
randomness, key shares, transcript or secrets), or grow with what peers send.
Every cache key comes from the server's own settings (its chains, its ALPN
list) or is a yes/no, so the caches stay as small as the configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import crypto, pki
from . import extensions as ext
from .enums import (
    LEGACY_VERSION,
    TLS13_VERSION,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    SignatureScheme,
)
from .extensions import Extension
from .messages import (
    Certificate,
    CertificateEntry,
    EncryptedExtensions,
    ServerHello,
    handshake_header,
)


class EncodedMessage:
    """A handshake message encoded once; `send_handshake` takes it like the message itself."""

    __slots__ = ("message", "raw")

    def __init__(self, message: Certificate | EncryptedExtensions) -> None:
        self.message = message  # for the observer: the fields, as for any other message
        self.raw = message.encode()

    def encode(self) -> bytes:
        return self.raw


class PreparedCredentials:
    """One certificate chain ready to send: its Certificate message and signers."""

    __slots__ = ("_private_key", "_signers", "certificate", "credentials")

    def __init__(self, credentials: pki.ServerCredentials) -> None:
        self.credentials = credentials  # held, so that its id() cannot be reused meanwhile
        # A server's chain carries no per-certificate extensions (no OCSP
        # stapling, no SCTs), and certificate_request_context is empty
        # outside post-handshake authentication (section 4.4.2).
        entries = tuple(CertificateEntry(der, ()) for der in credentials.chain_der)
        self.certificate = EncodedMessage(Certificate(b"", entries))
        self._private_key = credentials.private_key
        self._signers: dict[str, Callable[[bytes], bytes]] = {}

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
        # Keyed by id(): each entry holds its ServerCredentials alive, so an
        # id in this dict always names the object it was made for.
        self._credentials: dict[int, PreparedCredentials] = {}
        self._encrypted_extensions: dict[tuple[bool, bytes | None], EncodedMessage] = {}

    def credentials(self, credentials: pki.ServerCredentials) -> PreparedCredentials:
        """The prepared form of one of the settings' certificate chains."""
        prepared = self._credentials.get(id(credentials))
        if prepared is None:
            prepared = self._credentials[id(credentials)] = PreparedCredentials(credentials)
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
            encoded = self._encrypted_extensions[key] = EncodedMessage(
                EncryptedExtensions(tuple(extensions))
            )
        return encoded


# ---------------------------------------------------------------------------
# the server's own messages, joined from parts made once
# ---------------------------------------------------------------------------

# Section 4.2.1: every ServerHello and HelloRetryRequest selects TLS 1.3.
SELECTED_VERSION_TLS13 = Extension(
    ExtensionType.supported_versions, ext.encode_selected_version(TLS13_VERSION)
)
_SCHEME_BYTES = {scheme: scheme.to_bytes(2, "big") for scheme in SignatureScheme}
_SUITE_BYTES = {suite: suite.to_bytes(2, "big") for suite in CipherSuite}
_LEGACY_VERSION_BYTES = LEGACY_VERSION.to_bytes(2, "big")
_SELECTED_VERSION_EXTENSION_BYTES = b"".join(
    (
        ExtensionType.supported_versions.to_bytes(2, "big"),
        len(SELECTED_VERSION_TLS13.data).to_bytes(2, "big"),
        SELECTED_VERSION_TLS13.data,
    )
)
_KEY_SHARE_TYPE_BYTES = ExtensionType.key_share.to_bytes(2, "big")
_PRE_SHARED_KEY_HEADER_BYTES = ExtensionType.pre_shared_key.to_bytes(2, "big") + b"\x00\x02"


def server_hello_message(
    server_random: bytes,
    legacy_session_id: bytes,
    suite: CipherSuite,
    group: NamedGroup,
    public_key: bytes,
    selected_identity: int | None,
) -> ServerHello:
    """The ServerHello as a message object: what an observer sees, and what the bytes encode."""
    extensions = [
        SELECTED_VERSION_TLS13,
        Extension(
            ExtensionType.key_share,
            ext.encode_server_key_share(ext.KeyShareEntry(group, public_key)),
        ),
    ]
    if selected_identity is not None:
        extensions.append(
            Extension(ExtensionType.pre_shared_key, ext.encode_selected_identity(selected_identity))
        )
    return ServerHello(
        LEGACY_VERSION, server_random, legacy_session_id, suite, 0, tuple(extensions)
    )


def server_hello_bytes(
    server_random: bytes,
    legacy_session_id: bytes,
    suite: CipherSuite,
    group: NamedGroup,
    public_key: bytes,
    selected_identity: int | None,
) -> bytes:
    """server_hello_message(...).encode(), joined from prebuilt parts (a few us cheaper).

    Section 4.1.3: legacy_version, random, legacy_session_id_echo, cipher_suite,
    legacy_compression_method 0, then the extensions: supported_versions,
    key_share (section 4.2.8: group, opaque key_exchange<1..2^16-1>) and, when
    resuming, pre_shared_key (section 4.2.11: uint16 selected_identity).
    """
    share_length = len(public_key)
    extensions = [
        _SELECTED_VERSION_EXTENSION_BYTES,
        _KEY_SHARE_TYPE_BYTES,
        (share_length + 4).to_bytes(2, "big"),
        group.to_bytes(2, "big"),
        share_length.to_bytes(2, "big"),
        public_key,
    ]
    if selected_identity is not None:
        extensions += (_PRE_SHARED_KEY_HEADER_BYTES, selected_identity.to_bytes(2, "big"))
    extension_block = b"".join(extensions)
    body = b"".join(
        (
            _LEGACY_VERSION_BYTES,
            server_random,
            bytes((len(legacy_session_id),)),
            legacy_session_id,
            _SUITE_BYTES[suite],
            b"\x00",
            len(extension_block).to_bytes(2, "big"),
            extension_block,
        )
    )
    return handshake_header(HandshakeType.server_hello, len(body)) + body


def certificate_verify_bytes(scheme: SignatureScheme, signature: bytes) -> bytes:
    """CertificateVerify(scheme, signature).encode(), joined (section 4.4.3).

    struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; }
    """
    return b"".join(
        (
            handshake_header(HandshakeType.certificate_verify, 4 + len(signature)),
            _SCHEME_BYTES[scheme],
            len(signature).to_bytes(2, "big"),
            signature,
        )
    )


def finished_bytes(verify_data: bytes) -> bytes:
    """Finished(verify_data).encode(): the body is verify_data alone (section 4.4.4)."""
    return handshake_header(HandshakeType.finished, len(verify_data)) + verify_data
