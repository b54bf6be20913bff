"""The key schedule against RFC 8448 (sections 3, 4 and 5) and values recorded from OpenSSL.

Every secret is derived the way a handshake would derive it: input secrets
from the trace, transcript hashes computed with Transcript from the trace's
messages, then compared with what the RFC prints.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.tls.crypto import hkdf_expand
from tls_web_server.tls.tls13.enums import CIPHER_SUITE_PARAMETERS, CipherSuite
from tls_web_server.tls.tls13.key_schedule import (
    EarlySecret,
    HandshakeSecret,
    MasterSecret,
    derive_secret,
    export_keying_material,
    finished_key,
    finished_verify_data,
    hkdf_expand_label,
    is_valid_finished,
    next_application_traffic_secret,
    resumption_psk,
    traffic_key_and_iv,
)
from tls_web_server.tls.tls13.transcript import Transcript

from .rfc8448 import step, trace

AES_128_GCM_SHA256 = CIPHER_SUITE_PARAMETERS[CipherSuite.TLS_AES_128_GCM_SHA256]
FULL_HANDSHAKE_SECTIONS = [3, 5]


def message(section: int, actor: str, name: str, occurrence: int = 0) -> bytes:
    return step(section, actor, f"construct a {name} handshake message", occurrence)[name]


def handshake_messages(section: int) -> dict[str, bytes]:
    """The section's handshake messages by name, in transcript order."""
    # Section 5 begins with ClientHello1 and the HelloRetryRequest (a ServerHello).
    later = 1 if section == 5 else 0
    return {
        "ClientHello": message(section, "client", "ClientHello", later),
        "ServerHello": message(section, "server", "ServerHello", later),
        "EncryptedExtensions": message(section, "server", "EncryptedExtensions"),
        "Certificate": message(section, "server", "Certificate"),
        "CertificateVerify": message(section, "server", "CertificateVerify"),
        "server Finished": message(section, "server", "Finished"),
        "client Finished": message(section, "client", "Finished"),
    }


def transcript_hashes(section: int) -> dict[str, bytes]:
    """Transcript-Hash up to and including each message, the way a handshake builds it."""
    transcript = Transcript()
    if section == 5:
        transcript.add(message(5, "client", "ClientHello", 0))
        transcript.set_hash("sha256")  # learnt from the HelloRetryRequest
        transcript.replace_first_client_hello_with_message_hash()
        transcript.add(message(5, "server", "ServerHello", 0))
    hashes = {}
    for name, raw in handshake_messages(section).items():
        transcript.add(raw)
        if transcript.hash_name is None:
            transcript.set_hash("sha256")  # learnt from the ServerHello
        if name != "ClientHello":
            hashes[name] = transcript.digest()
    return hashes


def expanded(section: int, title: str) -> bytes:
    return step(section, "server", title)["expanded"]


def full_schedule(section: int) -> tuple[EarlySecret, HandshakeSecret, MasterSecret]:
    early = EarlySecret("sha256")
    shared_secret = step(section, "server", 'extract secret "handshake"')["IKM"]
    handshake = early.handshake_secret(shared_secret)
    return early, handshake, handshake.master_secret()


@pytest.mark.parametrize("section", FULL_HANDSHAKE_SECTIONS)
def test_each_stage_secret_and_the_derived_salts_match_the_trace(section: int) -> None:
    early, handshake, master = full_schedule(section)
    assert early.secret == step(section, "server", 'extract secret "early"')["secret"]
    assert early.derived_secret == expanded(section, 'derive secret for handshake "tls13 derived"')
    assert early.derived_secret == step(section, "server", 'extract secret "handshake"')["salt"]
    assert handshake.secret == step(section, "server", 'extract secret "handshake"')["secret"]
    assert handshake.derived_secret == expanded(section, 'derive secret for master "tls13 derived"')
    assert master.secret == step(section, "server", 'extract secret "master"')["secret"]


@pytest.mark.parametrize("section", FULL_HANDSHAKE_SECTIONS)
def test_traffic_exporter_and_resumption_secrets_match_the_trace(section: int) -> None:
    _early, handshake, master = full_schedule(section)
    hashes = transcript_hashes(section)
    after_server_hello = hashes["ServerHello"]
    after_server_finished = hashes["server Finished"]
    after_client_finished = hashes["client Finished"]
    assert handshake.client_handshake_traffic_secret(after_server_hello) == expanded(
        section, 'derive secret "tls13 c hs traffic"'
    )
    assert handshake.server_handshake_traffic_secret(after_server_hello) == expanded(
        section, 'derive secret "tls13 s hs traffic"'
    )
    assert master.client_application_traffic_secret(after_server_finished) == expanded(
        section, 'derive secret "tls13 c ap traffic"'
    )
    assert master.server_application_traffic_secret(after_server_finished) == expanded(
        section, 'derive secret "tls13 s ap traffic"'
    )
    assert master.exporter_master_secret(after_server_finished) == expanded(
        section, 'derive secret "tls13 exp master"'
    )
    assert (
        master.resumption_master_secret(after_client_finished)
        == step(section, "client", 'derive secret "tls13 res master"')["expanded"]
    )


@pytest.mark.parametrize("section", FULL_HANDSHAKE_SECTIONS)
def test_traffic_keys_and_ivs_for_both_directions_match_the_trace(section: int) -> None:
    _early, handshake, master = full_schedule(section)
    hashes = transcript_hashes(section)
    secrets = {
        ("server", "derive write traffic keys for handshake data"): (
            handshake.server_handshake_traffic_secret(hashes["ServerHello"])
        ),
        ("server", "derive read traffic keys for handshake data"): (
            handshake.client_handshake_traffic_secret(hashes["ServerHello"])
        ),
        ("server", "derive write traffic keys for application data"): (
            master.server_application_traffic_secret(hashes["server Finished"])
        ),
        ("client", "derive write traffic keys for application data"): (
            master.client_application_traffic_secret(hashes["server Finished"])
        ),
    }
    for (actor, title), secret in secrets.items():
        printed = step(section, actor, title)
        assert secret == printed["PRK"], title
        assert traffic_key_and_iv(AES_128_GCM_SHA256, secret) == (
            printed["key expanded"],
            printed["iv expanded"],
        ), title


@pytest.mark.parametrize("section", FULL_HANDSHAKE_SECTIONS)
def test_both_finished_values_match_the_trace_and_the_messages(section: int) -> None:
    _early, handshake, _master = full_schedule(section)
    hashes = transcript_hashes(section)
    server_secret = handshake.server_handshake_traffic_secret(hashes["ServerHello"])
    client_secret = handshake.client_handshake_traffic_secret(hashes["ServerHello"])
    messages = handshake_messages(section)
    cases = [
        ("server", server_secret, hashes["CertificateVerify"], messages["server Finished"]),
        ("client", client_secret, hashes["server Finished"], messages["client Finished"]),
    ]
    for actor, base_key, transcript_hash, finished_message in cases:
        printed = step(section, actor, 'calculate finished "tls13 finished"')
        assert finished_key("sha256", base_key) == printed["expanded"]
        verify_data = finished_verify_data("sha256", base_key, transcript_hash)
        assert verify_data == printed["finished"]
        # The Finished message is its 4-byte header followed by verify_data.
        assert finished_message[4:] == verify_data
        assert is_valid_finished("sha256", base_key, transcript_hash, verify_data)


def test_a_finished_value_off_by_one_bit_is_refused() -> None:
    _early, handshake, _master = full_schedule(3)
    hashes = transcript_hashes(3)
    base_key = handshake.server_handshake_traffic_secret(hashes["ServerHello"])
    good = finished_verify_data("sha256", base_key, hashes["CertificateVerify"])
    for bit in range(len(good) * 8):
        forged = bytearray(good)
        forged[bit // 8] ^= 1 << (bit % 8)
        assert not is_valid_finished("sha256", base_key, hashes["CertificateVerify"], forged)
    assert not is_valid_finished("sha256", base_key, hashes["CertificateVerify"], good[:-1])
    assert not is_valid_finished("sha256", base_key, hashes["ServerHello"], good)


def test_the_resumption_psk_comes_from_the_new_session_ticket_nonce() -> None:
    _early, _handshake, master = full_schedule(3)
    resumption_master_secret = master.resumption_master_secret(
        transcript_hashes(3)["client Finished"]
    )
    ticket = message(3, "server", "NewSessionTicket")
    # NewSessionTicket body: ticket_lifetime(4) ticket_age_add(4) ticket_nonce<0..255> ...
    nonce_length = ticket[4 + 8]
    ticket_nonce = ticket[4 + 9 : 4 + 9 + nonce_length]
    printed = step(3, "server", 'generate resumption secret "tls13 resumption"')
    assert ticket_nonce == printed["hash"]
    psk = resumption_psk("sha256", resumption_master_secret, ticket_nonce)
    assert psk == printed["expanded"]
    # Section 4 of RFC 8448 resumes with exactly this PSK.
    assert psk == step(4, "client", 'extract secret "early"')["IKM"]


def test_the_early_stage_with_a_psk_matches_the_resumed_handshake() -> None:
    psk = step(4, "client", 'extract secret "early"')["IKM"]
    early = EarlySecret("sha256", psk)
    assert early.secret == step(4, "client", 'extract secret "early"')["secret"]

    # The binder is a Finished computed with the binder key over the
    # ClientHello truncated before its binders (RFC 8446 section 4.2.11.2).
    binder = step(4, "client", "calculate PSK binder")
    assert early.binder_key(resumption=True) == binder["PRK"]
    assert early.binder_key(resumption=False) != binder["PRK"]
    binder_hash = Transcript("sha256").digest_with(binder["ClientHello prefix"])
    assert binder_hash == binder["binder hash"]
    assert finished_verify_data("sha256", early.binder_key(), binder_hash) == binder["finished"]
    # RFC 8448 prints the truncated ClientHello as "construct"; the record carries it whole.
    client_hello = step(4, "client", "send handshake record")["payload"]
    assert client_hello.startswith(binder["ClientHello prefix"])
    assert client_hello.endswith(binder["finished"])

    client_hello_hash = Transcript("sha256").digest_with(client_hello)
    early_traffic = step(4, "client", 'derive secret "tls13 c e traffic"')
    assert client_hello_hash == early_traffic["hash"]
    assert early.client_early_traffic_secret(client_hello_hash) == early_traffic["expanded"]
    early_exporter = step(4, "client", 'derive secret "tls13 e exp master"')["expanded"]
    assert early.early_exporter_master_secret(client_hello_hash) == early_exporter
    keys = step(4, "client", "derive write traffic keys for early application data")
    assert traffic_key_and_iv(AES_128_GCM_SHA256, early_traffic["expanded"]) == (
        keys["key expanded"],
        keys["iv expanded"],
    )
    handshake = early.handshake_secret(step(4, "server", 'extract secret "handshake"')["IKM"])
    assert handshake.secret == step(4, "server", 'extract secret "handshake"')["secret"]


DERIVE_SECRET_TITLE = re.compile(r'^derive secret (?:for \w+ )?"tls13 ([a-z ]+)"$')


@pytest.mark.parametrize("section", [3, 4, 5, 6, 7])
def test_every_derive_secret_printed_in_the_rfc_is_reproduced(section: int) -> None:
    checked = 0
    for printed in trace(section):
        title = DERIVE_SECRET_TITLE.match(printed.title)
        if not title or "expanded" not in printed.values:
            continue
        label = title.group(1).encode()
        # The printed HkdfLabel is what hkdf_expand_label must have built.
        assert hkdf_expand("sha256", printed["PRK"], printed["info"], 32) == printed["expanded"]
        result = derive_secret("sha256", printed["PRK"], label, printed["hash"])
        assert result == printed["expanded"], printed.title
        checked += 1
    assert checked >= 8


# Recorded from OpenSSL 3.0.19: `openssl s_client -keylogfile ... -keymatexport LABEL
# -keymatexportlen N` against `openssl s_server`; EXPORTER_SECRET from the key log.
OPENSSL_EXPORTS = [
    (
        "sha256",
        "37db50b72adc91d84e4d777f2447c5f19a925183281facc9983bc2debceba5a1",
        b"EXPORTER-learning-test",
        32,
        "0a145c4ecf69c9663e09178de9c049579d65d6907cab0ad40902f241451aa509",
    ),
    (
        "sha384",
        "e62929656ce58004f61fe899552f60a368e1f15b7f133fb5"
        "14ada269f1e43184fc01858196ad875d5105b49ed4a9ef1b",
        b"EXPERIMENTAL-toy",
        40,
        "bd05550072ecdfec2978ee80b442786ba9d50938f735654a2bb18f78bc8b6bd98871cd74aea6a53d",
    ),
]


@pytest.mark.parametrize(("hash_name", "secret", "label", "length", "expected"), OPENSSL_EXPORTS)
def test_exported_keying_material_matches_openssl(
    hash_name: str, secret: str, label: bytes, length: int, expected: str
) -> None:
    # OpenSSL's command line exports without a context, which TLS 1.3 defines
    # to equal an empty context (RFC 8446 section 7.5).
    exported = export_keying_material(hash_name, bytes.fromhex(secret), label, b"", length)
    assert exported == bytes.fromhex(expected)
    other_context = export_keying_material(hash_name, bytes.fromhex(secret), label, b"x", length)
    assert other_context != exported


def test_the_next_application_traffic_secret_matches_openssl_key_update() -> None:
    # Recorded from OpenSSL 3.0.19 (s_server's "k" command sends KeyUpdate);
    # the key log printed SERVER_TRAFFIC_SECRET_0 and the updated secret.
    secret_0 = bytes.fromhex("9cf7ab7d13d0268dd2997f11f000b9c6b0eded8abe9014b0cda1f0eb5457e478")
    secret_1 = bytes.fromhex("dde247d948c254a9f6b08302b2065e0542629c3bd8221bf8e56d83e4cf217907")
    assert next_application_traffic_secret("sha256", secret_0) == secret_1
    assert next_application_traffic_secret("sha256", secret_1) not in (secret_0, secret_1)


def test_sha384_stages_have_sha384_lengths() -> None:
    early = EarlySecret("sha384")
    handshake = early.handshake_secret(bytes(range(48)))
    master = handshake.master_secret()
    transcript_hash = bytes(48)
    for secret in (
        early.secret,
        handshake.client_handshake_traffic_secret(transcript_hash),
        master.server_application_traffic_secret(transcript_hash),
        finished_verify_data("sha384", master.secret, transcript_hash),
    ):
        assert len(secret) == 48
    key, iv = traffic_key_and_iv(
        CIPHER_SUITE_PARAMETERS[CipherSuite.TLS_AES_256_GCM_SHA384], handshake.secret
    )
    assert (len(key), len(iv)) == (32, 12)


def test_a_stage_refuses_raw_messages_where_a_transcript_hash_belongs() -> None:
    _early, handshake, _master = full_schedule(3)
    with pytest.raises(ValueError, match="transcript hash"):
        handshake.client_handshake_traffic_secret(message(3, "client", "ClientHello"))


def test_stages_keep_their_secret_out_of_repr() -> None:
    early, handshake, master = full_schedule(3)
    for stage in (early, handshake, master):
        assert stage.secret.hex() not in repr(stage)
        assert "sha256" in repr(stage)


def test_labels_and_contexts_over_255_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="label"):
        hkdf_expand_label("sha256", bytes(32), b"x" * 250, b"", 32)
    with pytest.raises(ValueError, match="context"):
        hkdf_expand_label("sha256", bytes(32), b"key", b"x" * 256, 32)


@given(
    label=st.binary(min_size=1, max_size=249),
    context=st.binary(max_size=255),
    length=st.integers(min_value=1, max_value=255),
)
def test_hkdf_expand_label_encodes_the_hkdf_label_struct(
    label: bytes, context: bytes, length: int
) -> None:
    # RFC 8446 section 7.1: uint16 length, then "tls13 " + label and the
    # context, each with a one-byte length prefix.
    full_label = b"tls13 " + label
    info = (
        length.to_bytes(2, "big")
        + bytes([len(full_label)])
        + full_label
        + bytes([len(context)])
        + context
    )
    secret = bytes(range(32))
    assert hkdf_expand_label("sha256", secret, label, context, length) == hkdf_expand(
        "sha256", secret, info, length
    )


@pytest.mark.parametrize("suite", list(CipherSuite))
def test_traffic_keys_and_finished_keys_equal_the_generic_expand_label(suite: CipherSuite) -> None:
    # traffic_key_and_iv and finished_key use prebuilt one-block labels; they
    # must equal the general HKDF-Expand-Label for every suite (key and IV
    # lengths, SHA-256 and SHA-384).
    parameters = CIPHER_SUITE_PARAMETERS[suite]
    hash_name = parameters.hash_name
    secret = bytes(range(parameters.hash_length))
    key, iv = traffic_key_and_iv(parameters, secret)
    assert key == hkdf_expand_label(hash_name, secret, b"key", b"", parameters.key_length)
    assert iv == hkdf_expand_label(hash_name, secret, b"iv", b"", parameters.iv_length)
    assert finished_key(hash_name, secret) == hkdf_expand_label(
        hash_name, secret, b"finished", b"", parameters.hash_length
    )
    other_key, other_iv = traffic_key_and_iv(parameters, bytes(reversed(secret)))
    assert (other_key, other_iv) != (key, iv)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_the_early_secret_without_a_psk_is_extract_of_zeros(hash_name: str) -> None:
    # Computed once per hash and reused; it must be the RFC's value every time.
    length = {"sha256": 32, "sha384": 48}[hash_name]
    zeros = bytes(length)
    expected = hmac.new(zeros, zeros, hash_name).digest()  # HKDF-Extract(0, 0)
    expected_salt = derive_secret(
        hash_name, expected, b"derived", hashlib.new(hash_name, b"").digest()
    )
    for _ in range(2):
        early = EarlySecret(hash_name)
        assert early.secret == expected
        assert early.derived_secret == expected_salt
    # With a PSK (even an all-zero one of another length) the salt is derived afresh.
    with_psk = EarlySecret(hash_name, b"\x01" * length)
    assert with_psk.secret == hmac.new(zeros, b"\x01" * length, hash_name).digest()
    assert with_psk.derived_secret == derive_secret(
        hash_name, with_psk.secret, b"derived", hashlib.new(hash_name, b"").digest()
    )
    assert with_psk.derived_secret != expected_salt
