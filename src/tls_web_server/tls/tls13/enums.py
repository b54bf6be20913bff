"""The numbers of TLS 1.3 (RFC 8446 appendix B), as IntEnums, plus what each cipher suite means.

Pure data: no I/O, no cryptography.  Names are spelled as in the RFC (or the
IANA registry, for code points other RFCs and drafts added) so that a reader
can grep the documents for any of them.  An enum lists every code point a
2026 browser sends, including those we never act on: a name costs nothing and
lets the trace say what a peer asked for.  A name here is no promise that we
implement it (the server's settings say what it negotiates).  Code that
receives a number from the wire keeps it as a plain int when it may be a
value we do not know (GREASE, a new group): converting unknown numbers to an
enum would raise.  tls/names.py `describe(enum, value)` names any number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# RFC 8446 section 4.1.3: legacy_version stays 0x0303 (TLS 1.2); the real
# version lives in the supported_versions extension.
LEGACY_VERSION = 0x0303
TLS13_VERSION = 0x0304


class ProtocolVersion(IntEnum):
    """RFC 8446 section 4.2.1: the versions a supported_versions list may name."""

    TLS_1_0 = 0x0301
    TLS_1_1 = 0x0302
    TLS_1_2 = 0x0303
    TLS_1_3 = 0x0304

    @property
    def display_name(self) -> str:
        """ "TLS 1.3", as people write it (tls/names.py uses it)."""
        return "TLS " + self.name[4:].replace("_", ".")


class ContentType(IntEnum):
    """RFC 8446 section 5.1."""

    invalid = 0
    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23


class HandshakeType(IntEnum):
    """RFC 8446 section 4."""

    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    certificate_request = 13
    certificate_verify = 15
    finished = 20
    key_update = 24
    compressed_certificate = 25  # RFC 8879 section 4: a Certificate, compressed
    message_hash = 254


class ExtensionType(IntEnum):
    """RFC 8446 section 4.2, the RFCs it cites for the older ones, and what browsers add.

    Beyond RFC 8446: compress_certificate (RFC 8879), delegated_credential
    (RFC 9345), application_settings (ALPS, draft-vvv-tls-alps; Chromium
    moved from 17513 to 17613 in 2024) and encrypted_client_hello
    (draft-ietf-tls-esni).  tls13/extension_registry.py explains each one.
    """

    server_name = 0
    max_fragment_length = 1
    status_request = 5
    supported_groups = 10
    ec_point_formats = 11
    signature_algorithms = 13
    use_srtp = 14
    heartbeat = 15
    application_layer_protocol_negotiation = 16
    signed_certificate_timestamp = 18
    client_certificate_type = 19
    server_certificate_type = 20
    padding = 21
    encrypt_then_mac = 22
    extended_master_secret = 23
    compress_certificate = 27
    record_size_limit = 28
    delegated_credential = 34
    session_ticket = 35
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    oid_filters = 48
    post_handshake_auth = 49
    signature_algorithms_cert = 50
    key_share = 51
    application_settings_old = 17513
    application_settings = 17613
    encrypted_client_hello = 0xFE0D
    renegotiation_info = 0xFF01


class CipherSuite(IntEnum):
    """RFC 8446 appendix B.4 (the three we implement)."""

    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303


class NamedGroup(IntEnum):
    """RFC 8446 section 4.2.7, and the hybrid post-quantum groups browsers send.

    The hybrids are draft-ietf-tls-ecdhe-mlkem: ML-KEM (FIPS 203) joined with
    an ECDH share.  Named here so that traces and errors can say what a
    client offered; the server negotiates only the groups its settings list.
    """

    secp256r1 = 0x0017
    secp384r1 = 0x0018
    x25519 = 0x001D
    x448 = 0x001E
    SecP256r1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SecP384r1MLKEM1024 = 0x11ED


class SignatureScheme(IntEnum):
    """RFC 8446 section 4.2.3 (those we sign or verify with, plus ones browsers send)."""

    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    ed25519 = 0x0807
    ed448 = 0x0808
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B
    # draft-ietf-tls-mldsa: post-quantum signatures Chromium 156 already accepts.
    mldsa44 = 0x0904
    mldsa65 = 0x0905
    mldsa87 = 0x0906


class CertificateCompressionAlgorithm(IntEnum):
    """RFC 8879 section 3: what compress_certificate offers."""

    zlib = 1
    brotli = 2
    zstd = 3


class ECPointFormat(IntEnum):
    """RFC 8422 section 5.1.2: ec_point_formats (a TLS 1.2 leftover clients still send)."""

    uncompressed = 0
    ansiX962_compressed_prime = 1
    ansiX962_compressed_char2 = 2


class CertificateStatusType(IntEnum):
    """RFC 6066 section 8: status_request asks for a stapled OCSP response."""

    ocsp = 1


class PskKeyExchangeMode(IntEnum):
    """RFC 8446 section 4.2.9."""

    psk_ke = 0
    psk_dhe_ke = 1


class KeyUpdateRequest(IntEnum):
    """RFC 8446 section 4.6.3."""

    update_not_requested = 0
    update_requested = 1


class NameType(IntEnum):
    """RFC 6066 section 3 (server_name): host_name is the only type defined."""

    host_name = 0


@dataclass(frozen=True)
class CipherSuiteParameters:
    """What a suite fixes: the AEAD for records and the hash for the key schedule."""

    suite: CipherSuite
    aead: str  # a name tls/crypto.py knows
    hash_name: str  # "sha256" or "sha384"
    key_length: int
    iv_length: int = 12

    @property
    def hash_length(self) -> int:
        return 48 if self.hash_name == "sha384" else 32


CIPHER_SUITE_PARAMETERS = {
    CipherSuite.TLS_AES_128_GCM_SHA256: CipherSuiteParameters(
        CipherSuite.TLS_AES_128_GCM_SHA256, "AES-128-GCM", "sha256", 16
    ),
    CipherSuite.TLS_AES_256_GCM_SHA384: CipherSuiteParameters(
        CipherSuite.TLS_AES_256_GCM_SHA384, "AES-256-GCM", "sha384", 32
    ),
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256: CipherSuiteParameters(
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "CHACHA20-POLY1305", "sha256", 32
    ),
}

# RFC 8446 section 4.1.3: the ServerHello.random that marks a HelloRetryRequest,
# SHA-256 of "HelloRetryRequest".
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
