"""Seeds made in memory: our own TLS 1.3 and toytls conversations, and what is cut from them.

What this module owns: every seed that needs no outside program.
- Handshakes between our client and server in the fixed world of
  support.py, recorded through the observer (which sees each record's
  plaintext), so that they become inputs in each harness's format: client
  first flights for tls13_server, sealing-framed server flights for
  tls13_client.  The client flights for tls13_server_after_hello are made
  from the Ed25519 server's own secrets (our client refuses that chain).
- toytls conversations with the fixed randomness.
- Seeds cut from any recorded traffic for tls13_codec (each handshake
  message and extension payload, behind its target byte) and tls13_record.
- HTTP requests and configuration files that real clients and the demo
  do not produce by themselves.
capture_seeds.py adds what real clients (curl, openssl, Chromium) send and
writes everything out.

What it must never do: touch the network or the file system (the caller
writes), or depend on anything but the fixed world, so that every seed
replays as recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from tls_web_server.demo import CONFIG_TEMPLATE
from tls_web_server.tls.tls13 import key_schedule
from tls_web_server.tls.tls13.client import Ticket, TicketStore
from tls_web_server.tls.tls13.enums import (
    CIPHER_SUITE_PARAMETERS,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
)
from tls_web_server.tls.tls13.extensions import Extension, decode_offered_psks
from tls_web_server.tls.tls13.messages import (
    ClientHello,
    Finished,
    HandshakeBuffer,
    KeyUpdate,
    decode_handshake_message,
)
from tls_web_server.tls.tls13.record import encode_plaintext_record
from tls_web_server.tls.tls13.transcript import Transcript

from .harnesses import toytls
from .harnesses.tls13_codec import target_byte
from .harnesses.tls13_server_after_hello import client_hello
from .support import (
    FIXED_NOW,
    SERVER_NAME,
    SERVER_READ_SECRETS,
    PeerReadKeys,
    feed_framed,
    framed_record,
    framed_units,
    new_tls13_client,
    new_tls13_server,
)

_HANDSHAKE = int(ContentType.handshake)
_ALERT = int(ContentType.alert)
_APPLICATION_DATA = int(ContentType.application_data)

HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: fuzz-seed\r\n\r\n"


@dataclass
class Corpus:
    """Seeds by harness name, then file name."""

    seeds: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def add(self, harness: str, name: str, data: bytes) -> None:
        self.seeds.setdefault(harness, {})[name] = data

    def files(self) -> Iterator[tuple[str, str, bytes]]:
        for harness, named in sorted(self.seeds.items()):
            for name, data in sorted(named.items()):
                yield harness, name, data


class Recorder:
    """An observer that keeps every record event, to replay a side's records in the framing."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        if event["kind"] == "record":
            self.events.append(event)

    def framed(self, direction: str) -> bytes:
        """The records that went `direction` ("sent"/"received"), protected ones as plaintext."""
        parts = []
        for event in self.events:
            if event["direction"] != direction:
                continue
            if event["protected"]:
                content_type = int(ContentType[event["content_type"]])
                parts.append(framed_record(content_type, event["plaintext"]))
            else:
                parts.append(event["raw"])
        return b"".join(parts)


def pump(client: Any, server: Any, rounds: int = 6) -> None:
    """Move bytes both ways until neither side has anything to say."""
    for _ in range(rounds):
        to_server = client.pop_pending_wire_data()
        if to_server:
            server.feed_wire_data(to_server)
        to_client = server.pop_pending_wire_data()
        if to_client:
            client.feed_wire_data(to_client)
        if not to_server and not to_client:
            return


# ---------------------------------------------------------------------------
# TLS 1.3 between our client and server
# ---------------------------------------------------------------------------


def add_tls13_seeds(corpus: Corpus) -> None:
    _add_first_flights(corpus)
    _add_client_second_flights(corpus)
    _add_server_flights(corpus)


def _add_first_flights(corpus: Corpus) -> None:
    """tls13_server: what clients send first, beyond the plain ClientHello."""
    corpus.add("tls13_server", "ours-clienthello.bin", new_tls13_client().pop_pending_wire_data())

    # No key share at all: the server must ask with a HelloRetryRequest.
    client = new_tls13_client(key_share_groups=())
    server = new_tls13_server()
    first = client.pop_pending_wire_data()
    server.feed_wire_data(first)
    client.feed_wire_data(server.pop_pending_wire_data())
    corpus.add(
        "tls13_server", "ours-hello-retry-both-hellos.bin", first + client.pop_pending_wire_data()
    )

    # A ticket from the fixed server, offered back with a real binder.
    tickets = TicketStore()
    pump(new_tls13_client(tickets=tickets), new_tls13_server())
    ticket = tickets.take(SERVER_NAME, FIXED_NOW)
    if ticket is None:
        raise ValueError("the fixed server sent no ticket")
    offering = TicketStore()
    offering.add(ticket)
    resuming = new_tls13_client(tickets=offering).pop_pending_wire_data()
    corpus.add("tls13_server", "ours-resumption-clienthello.bin", resuming)
    corpus.add("tls13_server", "ours-resumption-early-data.bin", _with_early_data(resuming, ticket))


def _with_early_data(hello_wire: bytes, ticket: Ticket) -> bytes:
    """The resuming hello with early_data added (binder recomputed) and two 0-RTT records."""
    buffer = HandshakeBuffer(1 << 16)
    buffer.feed(hello_wire[5:])
    message = buffer.next_message()
    if message is None:
        raise ValueError("the resuming hello is not one whole record")
    hello = ClientHello.decode(message[1])
    psk_data = hello.extension(ExtensionType.pre_shared_key)
    if psk_data is None:
        raise ValueError("the resuming hello offers no ticket")
    offered = decode_offered_psks(psk_data)
    *others, psk = hello.extensions
    with_early = replace(hello, extensions=(*others, Extension(ExtensionType.early_data, b""), psk))
    # RFC 8446 section 4.2.11.2: the binder covers the hello up to the binders.
    hash_name = CIPHER_SUITE_PARAMETERS[ticket.cipher_suite].hash_name
    binder_key = key_schedule.EarlySecret(hash_name, ticket.psk).binder_key(resumption=True)
    partial = with_early.encode()[: -offered.binders_length]
    binder = key_schedule.finished_verify_data(
        hash_name, binder_key, Transcript(hash_name).digest_with(partial)
    )
    encoded = with_early.with_psk_binders((binder,)).encode()
    early_records = b"".join(
        bytes((_APPLICATION_DATA, 3, 3)) + len(body).to_bytes(2, "big") + body
        for body in (bytes(range(40)), b"\x17" * 100)
    )
    return encode_plaintext_record(_HANDSHAKE, encoded, 0x0301) + early_records


def _add_client_second_flights(corpus: Corpus) -> None:
    """tls13_server_after_hello: a client's flights after its hello, in the framing.

    Made here rather than recorded from our client, which refuses the fixed
    server's Ed25519 chain: the client Finished is computed from the
    server's client_handshake_traffic_secret and the transcript its message
    events carry (RFC 8446 section 4.4.4), as a client that accepts Ed25519
    (OpenSSL, curl) would compute it.  The harness seals every framed record
    under the key the server reads with, so the rest is plaintext.
    """
    events: list[dict[str, Any]] = []
    server: Any = None
    keys = PeerReadKeys(SERVER_READ_SECRETS, lambda: server.parameters)

    def observer(event: dict[str, Any]) -> None:
        events.append(event)
        keys(event)

    server = new_tls13_server("ed25519", observer=observer)
    server.feed_wire_data(client_hello())
    server.pop_pending_wire_data()
    hash_name = server.parameters.hash_name
    secrets = {event["name"]: event["value"] for event in events if event["kind"] == "secret"}
    transcript = b"".join(event["raw"] for event in events if event["kind"] == "message")
    verify_data = key_schedule.finished_verify_data(
        hash_name,
        secrets["client_handshake_traffic_secret"],
        Transcript(hash_name).digest_with(transcript),
    )
    finished_only = framed_record(_HANDSHAKE, Finished(verify_data).encode())
    feed_framed(server, keys, finished_only)
    if not server.is_established:
        raise ValueError("the fixed server refused the Finished made for it")
    corpus.add("tls13_server_after_hello", "ours-finished.bin", finished_only)
    key_update = KeyUpdate(KeyUpdateRequest.update_requested).encode()
    corpus.add(
        "tls13_server_after_hello",
        "ours-finished-requests-keyupdate-close.bin",
        finished_only
        + framed_record(_APPLICATION_DATA, HTTP_REQUEST)
        + framed_record(_HANDSHAKE, key_update)
        + framed_record(_APPLICATION_DATA, HTTP_REQUEST.replace(b"/", b"/second"))
        + framed_record(_ALERT, b"\x01\x00"),  # close_notify, a warning
    )
    # Hand-made variations on the traffic after a good Finished.
    corpus.add(
        "tls13_server_after_hello",
        "ours-finished-padded-alert.bin",
        finished_only
        + framed_record(_APPLICATION_DATA, HTTP_REQUEST, padding=31)
        + framed_record(_ALERT, b"\x01\x5a")  # user_canceled, a warning
        + framed_record(_APPLICATION_DATA, b"")
        + framed_record(_ALERT, b"\x01\x00"),
    )
    corpus.add(
        "tls13_server_after_hello",
        "ours-finished-keyupdate-split.bin",
        finished_only
        + framed_record(_HANDSHAKE, KeyUpdate(KeyUpdateRequest.update_requested).encode()[:2])
        + framed_record(_HANDSHAKE, KeyUpdate(KeyUpdateRequest.update_requested).encode()[2:]),
    )


def _add_server_flights(corpus: Corpus) -> None:
    """tls13_client: what our server sends to the fixed client, in the framing.

    With the chains our client accepts: an Ed25519 server ends the handshake
    at its hello (it offers no ed25519).
    """
    for name, key_type, settings in (
        ("ours-ecdsa", "ecdsa-p256", {}),
        ("ours-hello-retry", "ecdsa-p256", {"groups": (NamedGroup.secp384r1,)}),
    ):
        recorder = Recorder()
        client = new_tls13_client(observer=recorder)
        server = new_tls13_server(key_type, **settings)
        pump(client, server)
        if not client.is_established:
            raise ValueError(f"{name}: the handshake did not complete")
        corpus.add("tls13_client", f"{name}-flight.bin", recorder.framed("received"))
        if name != "ours-ecdsa":
            continue
        wire = server.protect_application_data(HTTP_RESPONSE)
        server.request_key_update()
        wire += server.pop_pending_wire_data()
        wire += server.protect_application_data(HTTP_RESPONSE)
        server.close()
        wire += server.pop_pending_wire_data()
        client.feed_wire_data(wire)
        corpus.add(
            "tls13_client",
            f"{name}-flight-response-keyupdate-close.bin",
            recorder.framed("received"),
        )


# ---------------------------------------------------------------------------
# toytls
# ---------------------------------------------------------------------------


def add_toytls_seeds(corpus: Corpus) -> None:
    """One conversation per chain our toytls client accepts, cut into both roles' inputs.

    The Ed25519 server's inputs (role 0) come from the ECDSA conversation:
    with the same fixed randomness both sides draw the same ephemeral keys,
    and toytls keys come from those alone, so the client's records open there too.
    """
    for key_type, server_role, client_role, prefix in (
        ("ecdsa-p256", toytls.SERVER_ROLE, toytls.CLIENT_ROLE, ""),
        ("rsa-2048", toytls.RSA_SERVER_ROLE, toytls.RSA_CLIENT_ROLE, "rsa-"),
    ):
        client = toytls.new_client(key_type)
        server = toytls.new_server(key_type)
        hello = client.pop_pending_wire_data()
        server.feed_wire_data(hello)
        flight = server.pop_pending_wire_data()
        client.feed_wire_data(flight)
        request = client.protect_application_data(HTTP_REQUEST)
        response = server.protect_application_data(HTTP_RESPONSE) + server.protect_application_data(
            b"x" * 300
        )
        to_server = bytes((server_role,))
        to_client = bytes((client_role,))
        corpus.add("toytls", f"{prefix}server-clienthello.bin", to_server + hello)
        corpus.add("toytls", f"{prefix}server-clienthello-request.bin", to_server + hello + request)
        corpus.add("toytls", f"{prefix}client-flight.bin", to_client + flight)
        corpus.add("toytls", f"{prefix}client-flight-responses.bin", to_client + flight + response)


# ---------------------------------------------------------------------------
# cut from traffic: tls13_codec and tls13_record
# ---------------------------------------------------------------------------

# Extension payloads by where they were found: (message, extension type) -> codec target.
_EXTENSION_TARGETS: dict[tuple[int, int], str] = {
    (HandshakeType.client_hello, ExtensionType.server_name): "server_name",
    (HandshakeType.client_hello, ExtensionType.supported_groups): "supported_groups",
    (HandshakeType.client_hello, ExtensionType.signature_algorithms): "signature_algorithms",
    (HandshakeType.client_hello, ExtensionType.supported_versions): "client supported_versions",
    (HandshakeType.client_hello, ExtensionType.key_share): "client key_share",
    (HandshakeType.client_hello, ExtensionType.psk_key_exchange_modes): "psk_key_exchange_modes",
    (HandshakeType.client_hello, ExtensionType.pre_shared_key): "offered pre_shared_key",
    (HandshakeType.client_hello, ExtensionType.application_layer_protocol_negotiation): (
        "application protocols"
    ),
    (HandshakeType.client_hello, ExtensionType.record_size_limit): "record_size_limit",
    (HandshakeType.client_hello, ExtensionType.early_data): "empty extension",
    (HandshakeType.client_hello, ExtensionType.cookie): "cookie",
    (HandshakeType.server_hello, ExtensionType.supported_versions): "selected version",
    (HandshakeType.server_hello, ExtensionType.key_share): "server key_share",
    (HandshakeType.server_hello, ExtensionType.pre_shared_key): "selected pre_shared_key",
    (HandshakeType.encrypted_extensions, ExtensionType.application_layer_protocol_negotiation): (
        "selected application protocol"
    ),
    (HandshakeType.new_session_ticket, ExtensionType.early_data): "max_early_data_size",
    (HandshakeType.certificate_request, ExtensionType.signature_algorithms): (
        "signature_algorithms"
    ),
}


def handshake_messages(wire: bytes) -> list[tuple[int, bytes, bytes]]:
    """Every handshake message in raw or sealing-framed records (ciphertext is skipped)."""
    stream = bytearray()
    for unit in framed_units(wire):
        if unit.sealed:
            inner = unit.data.rstrip(b"\x00")
            if inner and inner[-1] == _HANDSHAKE:
                stream += inner[:-1]
        elif len(unit.data) > 5 and unit.data[0] == _HANDSHAKE:
            stream += unit.data[5:]
    buffer = HandshakeBuffer(1 << 20)
    buffer.feed(bytes(stream))
    messages = []
    while (message := buffer.next_message()) is not None:
        messages.append(message)
    return messages


def add_cut_seeds(corpus: Corpus, origin: str, wire: bytes) -> None:
    """tls13_codec seeds from every message and extension in `wire`; the wire for tls13_record."""
    corpus.add("tls13_record", f"{origin}.bin", wire)
    messages = handshake_messages(wire)
    if messages:
        stream = b"".join(raw for _, _, raw in messages)
        _add_codec(corpus, f"{origin}-stream", "handshake stream", stream)
    seen: dict[str, int] = {}
    for msg_type, body, _raw in messages:
        message_name = HandshakeType(msg_type).name
        target = f"message {message_name}"
        # A second message of a type (a second ClientHello, a HelloRetryRequest) gets a number.
        seen[message_name] = seen.get(message_name, 0) + 1
        if seen[message_name] > 1:
            message_name += f"-{seen[message_name]}"
        _add_codec(corpus, f"{origin}-{message_name}", target, body)
        message = decode_handshake_message(msg_type, body)
        if msg_type == HandshakeType.client_hello:
            _add_codec(corpus, f"{origin}-{message_name}-offer", "client offer", body)
        for extension in getattr(message, "extensions", ()):
            target = _EXTENSION_TARGETS.get((msg_type, extension.type))
            if (
                msg_type == HandshakeType.server_hello
                and message.is_hello_retry_request
                and extension.type == ExtensionType.key_share
            ):
                target = "hello retry key_share"
            if target is not None:
                name = f"{origin}-{message_name}-ext{extension.type}"
                _add_codec(corpus, name, target, extension.data)


def _add_codec(corpus: Corpus, name: str, target: str, payload: bytes) -> None:
    corpus.add("tls13_codec", f"{name}.bin", bytes((target_byte(target),)) + payload)


def add_record_seeds(corpus: Corpus) -> None:
    """Records whose fragments, sealed by the harness, are every kind of TLSInnerPlaintext."""
    key_update = KeyUpdate(KeyUpdateRequest.update_not_requested).encode()
    inner_plaintexts = {
        "application-data": HTTP_REQUEST + b"\x17",
        "padded-application-data": b"hello\x17" + bytes(40),
        "empty-application-data": b"\x17",
        "handshake-keyupdate": key_update + b"\x16",
        "alert-close-notify": b"\x01\x00\x15",
        "all-zeros": bytes(16),
        "protected-change-cipher-spec": b"\x01\x14",
    }
    for name, inner in inner_plaintexts.items():
        record = bytes((_APPLICATION_DATA, 3, 3)) + len(inner).to_bytes(2, "big") + inner
        corpus.add("tls13_record", f"inner-{name}.bin", record)
    corpus.add("tls13_record", "plain-http-on-tls-port.bin", HTTP_REQUEST)
    corpus.add(
        "tls13_record",
        "change-cipher-spec-and-alert.bin",
        b"\x14\x03\x03\x00\x01\x01\x15\x03\x03\x00\x02\x02\x28",
    )


# ---------------------------------------------------------------------------
# HTTP and configuration
# ---------------------------------------------------------------------------

HTTP_SEEDS = {
    "minimal-1.1": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "http-1.0-keep-alive": b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "pipelined": (
        b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
        b"HEAD /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    ),
    "chunked-trailers": (
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"
        b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n"
    ),
    "absolute-form-range": (
        b"GET http://localhost:8080/a%20b?x=1 HTTP/1.1\r\nHost: other\r\n"
        b'Range: bytes=0-10,-5\r\nIf-None-Match: "abc"\r\n\r\n'
    ),
    "bare-lf-obs-text": b"\r\nOPTIONS * HTTP/1.1\nHost: [::1]:80\nX-Name: caf\xe9\n\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

# A configuration that uses every directive of DESIGN.md, relative to the
# harness's scratch folder (which holds these certificate files and html/).
FULL_CONFIG = """worker_processes auto;
error_log stderr;
events { worker_connections 256; }
http {
    access_log off;
    keepalive_timeout 75s;
    client_header_timeout 500ms;
    client_max_body_size 1m;
    server {
        listen 127.0.0.1:8443 ssl default_server;
        listen [::1]:8443 ssl;
        listen 8444 toytls;
        server_name localhost *.example.com "quoted name";
        ssl_certificate server_cert.pem;
        ssl_certificate_key server_key.pem;
        ssl_certificate_chain intermediate_cert.pem;
        ssl_protocols TLSv1.3;
        ssl_ciphers TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256;
        ssl_ecdh_curve X25519:P-256;
        root html;
        index index.html index.htm;
        location / { root html; }
        location /static/ { root 'html'; index "a b.html"; }  # comment
    }
    server {
        listen 8080;
        server_name other.example;
        location / { }
    }
}
"""


def add_http_and_config_seeds(corpus: Corpus) -> None:
    for name, request in HTTP_SEEDS.items():
        corpus.add("http_parser", f"{name}.http", request)
    demo = CONFIG_TEMPLATE.format(
        http_port=8080, tls13_port=8443, toytls_port=8444, access_log="stdout"
    )
    corpus.add("config_parser", "demo-site.conf", demo.encode())
    corpus.add("config_parser", "every-directive.conf", FULL_CONFIG.encode())


def all_derived_seeds() -> Corpus:
    corpus = Corpus()
    for add in _ADDERS:
        add(corpus)
    for origin, harness, name in (
        ("ours-clienthello", "tls13_server", "ours-clienthello.bin"),
        ("ours-hello-retry", "tls13_server", "ours-hello-retry-both-hellos.bin"),
        ("ours-resumption", "tls13_server", "ours-resumption-early-data.bin"),
        ("ours-flight", "tls13_client", "ours-ecdsa-flight-response-keyupdate-close.bin"),
        ("ours-hello-retry-flight", "tls13_client", "ours-hello-retry-flight.bin"),
    ):
        add_cut_seeds(corpus, origin, corpus.seeds[harness][name])
    return corpus


_ADDERS: tuple[Callable[[Corpus], None], ...] = (
    add_tls13_seeds,
    add_toytls_seeds,
    add_record_seeds,
    add_http_and_config_seeds,
)
