"""Real connections, in memory, observed by a Trace on each side: the material the trace tests draw.

    session = tls13_session(demo)            # our TLS 1.3 client against our server
    session.client_trace, session.server_trace

Each helper runs a whole conversation (handshake, one HTTP request and
response, close_notify where the protocol has one) between sans-IO objects,
or against Python's ssl module over memory BIOs, so that what the traces
hold is exactly what the real code emits.  No sockets, no threads.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tests.tls.conftest import DemoPki
from tls_web_server.tls import crypto
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.client import ClientSettings, TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.enums import CipherSuite, ContentType, ExtensionType
from tls_web_server.tls.tls13.extensions import Extension, KeyShareEntry
from tls_web_server.tls.tls13.messages import ClientHello
from tls_web_server.tls.tls13.record import encode_plaintext_record
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection
from tls_web_server.tls.trace import Trace

REQUEST = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<h1>hello</h1>"


class WirePeer(Protocol):
    def feed_wire_data(self, data: bytes) -> None: ...

    def pop_pending_wire_data(self) -> bytes: ...


def pump(client: WirePeer, server: WirePeer, rounds: int = 8) -> None:
    """Carry bytes both ways until neither side has anything left to say."""
    for _ in range(rounds):
        to_server = client.pop_pending_wire_data()
        if to_server:
            server.feed_wire_data(to_server)
        to_client = server.pop_pending_wire_data()
        if to_client:
            client.feed_wire_data(to_client)
        if not to_server and not to_client:
            return


@dataclass
class Session:
    client_trace: Trace
    server_trace: Trace
    client: Any
    server: Any


def tls13_server(
    demo: DemoPki, observer: Callable[[Any], None] | None, **settings: Any
) -> TLS13ServerConnection:
    server_settings = ServerSettings(credentials=demo.credentials, **settings)
    return TLS13ServerConnection(
        server_settings, random_bytes=os.urandom, clock=lambda: demo.now, observer=observer
    )


def tls13_client(
    demo: DemoPki, observer: Callable[[Any], None] | None, **settings: Any
) -> TLS13ClientConnection:
    client_settings = ClientSettings(**{"trusted_roots": demo.roots, **settings})
    return TLS13ClientConnection(
        "localhost",
        client_settings,
        random_bytes=os.urandom,
        clock=lambda: demo.now,
        observer=observer,
    )


def tls13_session(
    demo: DemoPki,
    *,
    client_settings: dict[str, Any] | None = None,
    server_settings: dict[str, Any] | None = None,
    exchange: bool = True,
) -> Session:
    """Our client and our server, both traced: handshake, request, response, close_notify."""
    client_trace, server_trace = Trace("client"), Trace("server")
    server = tls13_server(demo, server_trace, **(server_settings or {}))
    client = tls13_client(demo, client_trace, **(client_settings or {}))
    pump(client, server)
    assert client.is_established and server.is_established
    if exchange:
        server.feed_wire_data(client.protect_application_data(REQUEST))
        assert server.read_plaintext() == REQUEST
        client.feed_wire_data(server.protect_application_data(RESPONSE))
        assert client.read_plaintext() == RESPONSE
        client.close()
        pump(client, server)
        assert server.peer_closed
    return Session(client_trace, server_trace, client, server)


def resumed_session(demo: DemoPki) -> tuple[Session, Session]:
    """A full handshake that leaves tickets, then a second one resuming with a ticket."""
    tickets = TicketStore()
    ticket_key = TicketKey.generate(os.urandom)
    first = tls13_session(
        demo, client_settings={"tickets": tickets}, server_settings={"ticket_key": ticket_key}
    )
    second = tls13_session(
        demo, client_settings={"tickets": tickets}, server_settings={"ticket_key": ticket_key}
    )
    return first, second


def toy_session(demo: DemoPki) -> Session:
    client_trace, server_trace = Trace("client"), Trace("server")
    server = ToyTLSServerConnection(
        demo.credentials, random_bytes=os.urandom, observer=server_trace
    )
    client = ToyTLSClientConnection(
        "localhost", demo.roots, random_bytes=os.urandom, now=demo.now, observer=client_trace
    )
    pump(client, server)
    assert client.is_established and server.is_established
    server.feed_wire_data(client.protect_application_data(REQUEST))
    assert server.read_plaintext() == REQUEST
    client.feed_wire_data(server.protect_application_data(RESPONSE))
    assert client.read_plaintext() == RESPONSE
    return Session(client_trace, server_trace, client, server)


def grease_client_hello(server_name: str = "localhost") -> bytes:
    """A ClientHello full of GREASE values (RFC 8701), as browsers send, as one record."""
    share = crypto.EphemeralKey("x25519", os.urandom)
    hello = ClientHello(
        0x0303,
        os.urandom(32),
        os.urandom(32),
        (0x0A0A, CipherSuite.TLS_AES_128_GCM_SHA256),
        b"\x00",
        (
            Extension(0x1A1A, b""),
            Extension(ExtensionType.server_name, ext.encode_server_name(server_name)),
            Extension(
                ExtensionType.supported_versions,
                ext.encode_client_supported_versions((0x2A2A, 0x0304)),
            ),
            Extension(ExtensionType.supported_groups, ext.encode_supported_groups((0x3A3A, 29))),
            Extension(
                ExtensionType.signature_algorithms, ext.encode_signature_algorithms((0x0403,))
            ),
            Extension(
                ExtensionType.key_share,
                ext.encode_client_key_shares(
                    (KeyShareEntry(0x3A3A, b"\x00"), KeyShareEntry(29, share.public_bytes))
                ),
            ),
            Extension(0x4A4A, b"\x00"),
        ),
    )
    return encode_plaintext_record(ContentType.handshake, hello.encode())


# ---------------------------------------------------------------------------
# Python's ssl module (OpenSSL) as the peer, over memory BIOs
# ---------------------------------------------------------------------------


class PythonSslPeer:
    """ssl.SSLObject behind feed/pop, like our objects; either role."""

    def __init__(self, context: ssl.SSLContext, *, server_side: bool) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        hostname = None if server_side else "localhost"
        self.tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=hostname
        )
        self.handshake_done = False
        self.received = bytearray()
        self._advance()

    def _advance(self) -> None:
        if not self.handshake_done:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                return
            self.handshake_done = True
        while True:
            try:
                chunk = self.tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                return
            if not chunk:
                return
            self.received += chunk

    def feed_wire_data(self, data: bytes) -> None:
        self._incoming.write(data)
        self._advance()

    def pop_pending_wire_data(self) -> bytes:
        return self._outgoing.read()

    def send(self, data: bytes) -> None:
        self.tls.write(data)


def _chain_file(demo: DemoPki, folder: Path) -> Path:
    chain = folder / f"{demo.key_type}-chain.pem"
    chain.write_bytes(
        demo.files.server_cert.read_bytes() + demo.files.intermediate_cert.read_bytes()
    )
    return chain


def python_ssl_server_session(demo: DemoPki, folder: Path) -> tuple[Trace, PythonSslPeer]:
    """Our traced client against Python's ssl as the server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(_chain_file(demo, folder), demo.files.server_key)
    context.set_alpn_protocols(["http/1.1"])
    server = PythonSslPeer(context, server_side=True)
    trace = Trace("client")
    client = tls13_client(demo, trace)
    pump(client, server)
    assert client.is_established and server.handshake_done
    server.feed_wire_data(client.protect_application_data(REQUEST))
    server.send(RESPONSE)
    client.feed_wire_data(server.pop_pending_wire_data())
    assert client.read_plaintext() == RESPONSE
    return trace, server


def python_ssl_client_session(demo: DemoPki) -> tuple[Trace, PythonSslPeer]:
    """Python's ssl as the client (TLS 1.2 offered too) against our traced server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(demo.files.root_cert)
    context.set_alpn_protocols(["http/1.1"])
    trace = Trace("server")
    server = tls13_server(demo, trace)
    client = PythonSslPeer(context, server_side=False)
    pump(client, server)
    assert client.handshake_done and server.is_established
    client.send(REQUEST)
    pump(client, server)
    assert server.read_plaintext() == REQUEST
    client.feed_wire_data(server.protect_application_data(RESPONSE))
    assert bytes(client.received) == RESPONSE
    return trace, client
