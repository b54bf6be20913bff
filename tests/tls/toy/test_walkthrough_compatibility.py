"""toytls is the walkthrough's protocol on the wire: each of its four measured points, pinned.

The walkthrough's reference implementation is played here by hand, from its
description and not from our encoder: records and fields are written out as
hex or packed with `struct`, keys come from the `cryptography` package's own
HKDF and X25519, records are sealed with its AES-GCM, and RSA-PSS salts are
read back from a signature with the arithmetic of RFC 8017 section 9.1.2.

1. A handshake field is `tag (2 bytes) || length (4 bytes, big-endian) || value`.
2. The keys are HKDF-SHA256, no salt, info "toy tls client write key" and
   "toy tls server write key", 32 bytes each.
3. ServerAuth's RSA signature is PSS, MGF1-SHA256, SHA-256, with the longest
   salt (222 bytes for RSA-2048); our client verifies any salt length.
4. Our client reads records up to 16 MiB (a whole response in one record);
   our server refuses records over 64 KiB and sends at most 16 KiB of plaintext.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tls_web_server.client.fetch import fetch, toytls_client_factory
from tls_web_server.tls import crypto
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection

from ..conftest import DemoPki

# The fixed keys of docs/toytls.md: client 00 01 .. 1f, server 20 21 .. 3f.
CLIENT_PRIVATE_KEY = bytes(range(0x00, 0x20))
SERVER_PRIVATE_KEY = bytes(range(0x20, 0x40))
CLIENT_PUBLIC_KEY = bytes.fromhex(
    "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
)
SERVER_PUBLIC_KEY = bytes.fromhex(
    "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
)
SHARED_SECRET = bytes.fromhex("9663aa1da97e848a914a436d04163dfbb89178f107f1b5b77ed3854203382854")
# HKDF-SHA256(salt none, SHARED_SECRET, info, 32); `openssl kdf` gives the same.
CLIENT_WRITE_KEY = bytes.fromhex("6eb10190da110cd0728969b8d01cedd6ae6d1bb3175662b602bfba6dee93140d")
SERVER_WRITE_KEY = bytes.fromhex("28ef149ccb505af591b1539773be0472ada9e9f5f71052a4d3b449d19103a3e4")

# ClientHello: record length 38 || tag 0x0010 || length 32 (4 bytes) || the key.
CLIENT_HELLO_RECORD = bytes.fromhex("00000026001000000020") + CLIENT_PUBLIC_KEY
SERVER_HELLO_RECORD = bytes.fromhex("00000026001000000020") + SERVER_PUBLIC_KEY

TAG_X25519_PUBLIC_KEY = 0x0010
TAG_CERTIFICATE = 0x0020
TAG_SIGNATURE = 0x0021
ONE_MIB = 1024 * 1024
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


# --------------------------------------------------------------------------
# The walkthrough's side, by hand.
# --------------------------------------------------------------------------


def field(tag: int, value: bytes) -> bytes:
    return struct.pack(">HI", tag, len(value)) + value


def framed(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def read_fields(payload: bytes) -> list[tuple[int, bytes]]:
    fields = []
    offset = 0
    while offset < len(payload):
        tag, length = struct.unpack_from(">HI", payload, offset)
        fields.append((tag, payload[offset + 6 : offset + 6 + length]))
        offset += 6 + length
    assert offset == len(payload)
    return fields


def read_records(wire: bytes) -> list[bytes]:
    payloads = []
    offset = 0
    while offset < len(wire):
        (length,) = struct.unpack_from(">I", wire, offset)
        payloads.append(wire[offset + 4 : offset + 4 + length])
        offset += 4 + length
    assert offset == len(wire)
    return payloads


def library_hkdf(shared_secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared_secret)


def seal(key: bytes, sequence: int, nonce: bytes, plaintext: bytes) -> bytes:
    """One application record: length || sequence || nonce || AES-256-GCM, sequence as AAD."""
    sequence_bytes = struct.pack(">Q", sequence)
    return framed(sequence_bytes + nonce + AESGCM(key).encrypt(nonce, plaintext, sequence_bytes))


def open_record(key: bytes, sequence: int, payload: bytes) -> bytes:
    assert payload[:8] == struct.pack(">Q", sequence)
    return AESGCM(key).decrypt(payload[8:20], payload[20:], payload[:8])


def mgf1_sha256(seed: bytes, length: int) -> bytes:
    """RFC 8017 appendix B.2.1."""
    output = b"".join(
        hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        for counter in range((length + 31) // 32)
    )
    return output[:length]


def pss_salt_length(public_key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> int:
    """The salt length inside an RSA-PSS/SHA-256 signature (RFC 8017 sections 8.1.2, 9.1.2)."""
    numbers = public_key.public_numbers()
    encoded_bits = public_key.key_size - 1
    encoded_length = (encoded_bits + 7) // 8
    representative = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n)
    encoded = representative.to_bytes(encoded_length, "big")
    assert encoded[-1] == 0xBC
    masked_block, digest = encoded[:-33], encoded[-33:-1]
    mask = mgf1_sha256(digest, len(masked_block))
    block = bytearray(a ^ b for a, b in zip(masked_block, mask, strict=True))
    block[0] &= 0xFF >> (8 * encoded_length - encoded_bits)
    separator = block.index(1)
    assert not any(block[:separator])
    salt = bytes(block[separator + 1 :])
    message_hash = hashlib.sha256(message).digest()
    assert hashlib.sha256(bytes(8) + message_hash + salt).digest() == digest
    return len(salt)


def fixed_random(*values: bytes) -> Any:
    """A random source returning the given values in order (then failing the test)."""
    queue = list(values)

    def random_bytes(count: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == count
        return value

    return random_bytes


@dataclass
class WalkthroughServer:
    """What the walkthrough's server sent, and the keys it holds afterwards."""

    flight: bytes
    client_write_key: bytes
    server_write_key: bytes


def walkthrough_server_flight(
    demo: DemoPki, client_hello_record: bytes, salt_length: int = 222
) -> WalkthroughServer:
    """ServerHello and ServerAuth as the walkthrough's server builds them, with an RSA key."""
    assert client_hello_record[:10] == bytes.fromhex("00000026001000000020")
    client_public_key = client_hello_record[10:]
    private_key = demo.credentials.private_key
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048
    signed = client_public_key + SERVER_PUBLIC_KEY
    signature = private_key.sign(
        signed,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length),
        hashes.SHA256(),
    )
    assert pss_salt_length(private_key.public_key(), signature, signed) == salt_length
    certificates = b"".join(field(TAG_CERTIFICATE, der) for der in demo.credentials.chain_der)
    server_auth = framed(certificates + field(TAG_SIGNATURE, signature))
    shared_secret = X25519PrivateKey.from_private_bytes(SERVER_PRIVATE_KEY).exchange(
        X25519PublicKey.from_public_bytes(client_public_key)
    )
    return WalkthroughServer(
        flight=SERVER_HELLO_RECORD + server_auth,
        client_write_key=library_hkdf(shared_secret, b"toy tls client write key"),
        server_write_key=library_hkdf(shared_secret, b"toy tls server write key"),
    )


def our_client(demo: DemoPki, observer: Any = None) -> ToyTLSClientConnection:
    # The client draws its X25519 key, then one nonce per record it seals.
    return ToyTLSClientConnection(
        "localhost",
        demo.roots,
        random_bytes=fixed_random(CLIENT_PRIVATE_KEY, bytes(12), bytes(12)),
        now=demo.now,
        observer=observer,
    )


def our_server(demo: DemoPki) -> ToyTLSServerConnection:
    nonces = [bytes([n]) * 12 for n in range(100)]
    return ToyTLSServerConnection(
        demo.credentials, random_bytes=fixed_random(SERVER_PRIVATE_KEY, *nonces)
    )


@pytest.fixture(scope="module")
def rsa_pki(demo_pki_factory: Any) -> DemoPki:
    return demo_pki_factory("rsa-2048")


# --------------------------------------------------------------------------
# 1. Field header: tag (2 bytes) || length (4 bytes, big-endian) || value.
# --------------------------------------------------------------------------


def test_our_client_hello_is_the_walkthrough_bytes(rsa_pki: DemoPki) -> None:
    assert our_client(rsa_pki).pop_pending_wire_data() == CLIENT_HELLO_RECORD


def test_our_server_reads_a_walkthrough_client_hello_and_answers_in_its_format(
    rsa_pki: DemoPki,
) -> None:
    server = our_server(rsa_pki)
    server.feed_wire_data(CLIENT_HELLO_RECORD)
    server_hello, server_auth = read_records(server.pop_pending_wire_data())
    assert framed(server_hello) == SERVER_HELLO_RECORD
    fields = read_fields(server_auth)
    assert [tag for tag, _value in fields] == [TAG_CERTIFICATE, TAG_CERTIFICATE, TAG_SIGNATURE]
    assert tuple(value for _tag, value in fields[:2]) == rsa_pki.credentials.chain_der
    assert server_auth[:6] == b"\x00\x20" + len(fields[0][1]).to_bytes(4, "big")


def test_a_two_byte_field_length_is_refused(rsa_pki: DemoPki) -> None:
    server = our_server(rsa_pki)
    old_format = bytes.fromhex("0000002400100020") + CLIENT_PUBLIC_KEY
    with pytest.raises(TLSError, match="ClientHello"):
        server.feed_wire_data(old_format)


# --------------------------------------------------------------------------
# 2. HKDF labels "toy tls client write key" / "toy tls server write key".
# --------------------------------------------------------------------------


def test_the_written_out_keys_are_hkdf_with_the_walkthrough_labels() -> None:
    assert library_hkdf(SHARED_SECRET, b"toy tls client write key") == CLIENT_WRITE_KEY
    assert library_hkdf(SHARED_SECRET, b"toy tls server write key") == SERVER_WRITE_KEY
    shared = X25519PrivateKey.from_private_bytes(CLIENT_PRIVATE_KEY).exchange(
        X25519PublicKey.from_public_bytes(SERVER_PUBLIC_KEY)
    )
    assert shared == SHARED_SECRET


def test_our_server_opens_and_seals_with_the_walkthrough_keys(rsa_pki: DemoPki) -> None:
    server = our_server(rsa_pki)
    server.feed_wire_data(CLIENT_HELLO_RECORD)
    server.pop_pending_wire_data()
    # The client's request, sealed by hand: sequence 0, any nonce.
    nonce = bytes.fromhex("404142434445464748494a4b")
    server.feed_wire_data(seal(CLIENT_WRITE_KEY, 0, nonce, REQUEST))
    assert server.read_plaintext() == REQUEST
    (response,) = read_records(server.protect_application_data(b"HTTP/1.1 200 OK\r\n\r\n"))
    assert open_record(SERVER_WRITE_KEY, 0, response) == b"HTTP/1.1 200 OK\r\n\r\n"


# --------------------------------------------------------------------------
# 3. RSA-PSS, MGF1-SHA256, SHA-256, the longest salt (222 bytes for RSA-2048).
# --------------------------------------------------------------------------


def test_our_client_verifies_an_rsa_2048_server_auth_with_a_222_byte_salt(
    rsa_pki: DemoPki,
) -> None:
    client = our_client(rsa_pki)
    server = walkthrough_server_flight(rsa_pki, client.pop_pending_wire_data(), salt_length=222)
    client.feed_wire_data(server.flight)
    assert client.is_established
    assert client.negotiated is not None
    assert client.negotiated.signature_scheme == "rsa_pss_rsae_sha256"
    assert server.client_write_key == CLIENT_WRITE_KEY
    (request,) = read_records(client.protect_application_data(REQUEST))
    assert open_record(CLIENT_WRITE_KEY, 0, request) == REQUEST


@pytest.mark.parametrize("salt_length", [0, 32, 100, 221])
def test_our_client_verifies_any_valid_salt_length(rsa_pki: DemoPki, salt_length: int) -> None:
    client = our_client(rsa_pki)
    server = walkthrough_server_flight(rsa_pki, client.pop_pending_wire_data(), salt_length)
    client.feed_wire_data(server.flight)
    assert client.is_established


def test_our_client_still_refuses_a_damaged_pss_signature(rsa_pki: DemoPki) -> None:
    client = our_client(rsa_pki)
    flight = bytearray(walkthrough_server_flight(rsa_pki, client.pop_pending_wire_data()).flight)
    flight[-100] ^= 0x01  # inside the 256-byte signature, the last field
    with pytest.raises(TLSError, match=r"ServerAuth signature \(rsa_pss_rsae_sha256\) does not"):
        client.feed_wire_data(bytes(flight))
    assert not client.is_established


def test_our_server_signs_with_a_222_byte_salt(rsa_pki: DemoPki) -> None:
    server = our_server(rsa_pki)
    server.feed_wire_data(CLIENT_HELLO_RECORD)
    _server_hello, server_auth = read_records(server.pop_pending_wire_data())
    signature = read_fields(server_auth)[-1][1]
    public_key = rsa_pki.credentials.private_key.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    signed = CLIENT_PUBLIC_KEY + SERVER_PUBLIC_KEY
    assert len(signature) == 256
    assert pss_salt_length(public_key, signature, signed) == 222
    # What the walkthrough's client does: verify expecting the longest salt.
    public_key.verify(
        signature,
        signed,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )


def test_tls13_keeps_the_digest_length_salt(rsa_pki: DemoPki) -> None:
    # RFC 8446 section 4.2.3: in TLS 1.3 the salt is as long as the digest, both ways.
    private_key = rsa_pki.credentials.private_key
    public_key = private_key.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    data = b"TLS 1.3 CertificateVerify content"
    tls13_signature = crypto.sign(private_key, "rsa_pss_rsae_sha256", data)
    assert pss_salt_length(public_key, tls13_signature, data) == 32
    toytls_signature = crypto.sign_with_maximum_pss_salt(private_key, "rsa_pss_rsae_sha256", data)
    assert pss_salt_length(public_key, toytls_signature, data) == 222
    assert not crypto.verify_signature(public_key, "rsa_pss_rsae_sha256", toytls_signature, data)
    for signature in (tls13_signature, toytls_signature):
        assert crypto.verify_signature_any_pss_salt(
            public_key, "rsa_pss_rsae_sha256", signature, data
        )
        assert not crypto.verify_signature_any_pss_salt(
            public_key, "rsa_pss_rsae_sha256", signature, data + b"!"
        )


# --------------------------------------------------------------------------
# 4. Record sizes: 16 MiB into our client, 64 KiB into our server, 16 KiB out.
# --------------------------------------------------------------------------


def test_our_client_reads_a_1_mib_response_in_one_record(rsa_pki: DemoPki) -> None:
    events: list[dict[str, Any]] = []
    client = our_client(rsa_pki, observer=events.append)
    server = walkthrough_server_flight(rsa_pki, client.pop_pending_wire_data())
    client.feed_wire_data(server.flight)
    body = bytes(range(256)) * (ONE_MIB // 256)
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + body
    record = seal(server.server_write_key, 0, bytes.fromhex("a0" * 12), response)
    assert record[:4] == (8 + 12 + len(response) + 16).to_bytes(4, "big")
    assert len(record) - 4 > 65536  # more than our server would take
    received = bytearray()
    for start in range(0, len(record), 4096):  # as a socket delivers it
        client.feed_wire_data(record[start : start + 4096])
        received += client.read_plaintext()
    assert bytes(received) == response
    last = events[-1]
    assert (last["kind"], last["sequence"], last["raw"]) == ("record", 0, record)


def test_our_client_takes_a_16_mib_record_header_but_not_one_byte_more(
    rsa_pki: DemoPki,
) -> None:
    for established in (False, True):
        waiting = our_client(rsa_pki)
        over = our_client(rsa_pki)
        for client in (waiting, over):
            hello = client.pop_pending_wire_data()
            if established:
                client.feed_wire_data(walkthrough_server_flight(rsa_pki, hello).flight)
        waiting.feed_wire_data(b"\x01\x00\x00\x00")  # 16 MiB announced: the client waits
        assert waiting.state_name != "FAILED"
        with pytest.raises(TLSError, match="announces 16777217 bytes, more than the 16777216"):
            over.feed_wire_data(b"\x01\x00\x00\x01")


def test_our_server_still_refuses_records_over_64_kib(rsa_pki: DemoPki) -> None:
    fresh = our_server(rsa_pki)
    with pytest.raises(TLSError, match="announces 65537 bytes, more than the 65536-byte limit"):
        fresh.feed_wire_data(b"\x00\x01\x00\x01")
    established = our_server(rsa_pki)
    established.feed_wire_data(CLIENT_HELLO_RECORD)
    established.feed_wire_data(b"\x00\x01\x00\x00")  # exactly 64 KiB: waits for it
    with pytest.raises(TLSError, match="announces 1048636 bytes"):
        our_server(rsa_pki).feed_wire_data(b"\x00\x10\x00\x3c")


def test_our_server_sends_at_most_16_kib_of_plaintext_per_record(rsa_pki: DemoPki) -> None:
    server = our_server(rsa_pki)
    server.feed_wire_data(CLIENT_HELLO_RECORD)
    server.pop_pending_wire_data()
    data = bytes(range(251)) * 4200  # 1,054,200 bytes
    records = read_records(server.protect_application_data(data))
    assert len(records) == 65  # 64 full records of 16384 bytes, then 5624
    assert all(len(payload) <= 8 + 12 + 16384 + 16 for payload in records)
    opened = b"".join(
        open_record(SERVER_WRITE_KEY, sequence, payload) for sequence, payload in enumerate(records)
    )
    assert opened == data


def receive_exactly(connection: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        assert chunk, "the client closed early"
        data += chunk
    return bytes(data)


def test_get_toytls_reads_a_walkthrough_server_sending_1_mib_in_one_record(
    rsa_pki: DemoPki,
) -> None:
    """`get --toytls` over a real socket, against a server that answers as the walkthrough's."""
    body = bytes(range(256)) * (ONE_MIB // 256)
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + body
    requests: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)

    def serve_one() -> None:
        connection, _address = listener.accept()
        with connection:
            connection.settimeout(30)
            server = walkthrough_server_flight(rsa_pki, receive_exactly(connection, 42))
            connection.sendall(server.flight)
            (length,) = struct.unpack(">I", receive_exactly(connection, 4))
            requests.append(
                open_record(server.client_write_key, 0, receive_exactly(connection, length))
            )
            connection.sendall(seal(server.server_write_key, 0, bytes(12), response))

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = fetch(
            f"https://localhost:{port}/big.bin",
            new_tls=toytls_client_factory(rsa_pki.files.root_cert),
            timeout=30,
        )
    finally:
        thread.join(30)
        listener.close()
    assert requests and requests[0].startswith(b"GET /big.bin HTTP/1.1\r\n")
    assert result.response.status == 200
    assert result.response.body == body
    assert result.negotiated is not None and result.negotiated.protocol == "toytls"
