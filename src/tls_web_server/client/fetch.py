"""A small blocking HTTP client over the same pieces the server uses.

It is the other half of the walkthrough's picture, and what `tls-web-server
get`, the demo and many tests use:

    request bytes -> [tls.protect_application_data] -> socket
    socket -> [tls.feed_wire_data -> tls.read_plaintext] -> ResponseReader

The TLS object is any client-side object of the tls/api.py contract; this
module drives it with a blocking socket and never asks which protocol it is.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from tls_web_server.client.failures import (
    explain_handshake_eof,
    explain_plain_failure,
    explain_tls_failure,
)
from tls_web_server.http.messages import HttpError
from tls_web_server.http.response_reader import HttpResponse, ResponseReader
from tls_web_server.tls import pki
from tls_web_server.tls.api import Negotiated, TLSConnection
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.first_bytes import FIRST_BYTES_NEEDED
from tls_web_server.tls.tls13.client import ClientSettings, TicketStore, TLS13ClientConnection
from tls_web_server.tls.tls13.client_settings import key_share_groups_for
from tls_web_server.tls.tls13.enums import NamedGroup
from tls_web_server.tls.toy.client import ToyTLSClientConnection

READ_SIZE = 65536


class ClientError(Exception):
    """The request could not be completed; the message says which step failed.

    `alert` is the TLS alert we sent when our own check failed (unknown_ca:
    the chain leads to a root we do not trust), so a caller can add its hint.
    """

    def __init__(self, message: str, alert: AlertDescription | None = None) -> None:
        super().__init__(message)
        self.alert = alert


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"not an http:// or https:// URL: {url}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:
            raise ClientError(f"bad port in {url}: {error}") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.scheme, parts.hostname, port, path)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


@dataclass
class FetchResult:
    response: HttpResponse
    negotiated: Negotiated | None


def build_request(target: Target, method: str = "GET", close: bool = True) -> bytes:
    lines = [
        f"{method} {target.path} HTTP/1.1",
        f"Host: {target.host_header}",
        "User-Agent: tls-web-server-client",
        "Accept: */*",
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


# A TLS client factory makes a client object for (server name, port), with an
# optional observer (a tls/trace.py Trace) to record the connection.
TLSClientFactory = Callable[..., TLSConnection]


def toytls_client_factory(cafile: Path | None) -> TLSClientFactory:
    """A function making a learning-protocol client for a server name."""
    roots = pki.load_trusted_roots(cafile)

    def new_client(server_name: str, port: int = 0, observer=None) -> TLSConnection:
        return ToyTLSClientConnection(
            server_name, roots, random_bytes=os.urandom, now=time.time(), observer=observer
        )

    return new_client


def tls13_client_factory(
    cafile: Path | None,
    *,
    tickets: TicketStore | None = None,
    keylog: Callable[[str], None] | None = None,
    groups: tuple[NamedGroup, ...] | None = None,
    application_protocols: tuple[str, ...] = ("http/1.1",),
    client_credentials: pki.ServerCredentials | None = None,
) -> TLSClientFactory:
    """A function making our TLS 1.3 client for a server name (roots: cafile or the system's).

    `application_protocols`: what it offers by ALPN, best first (http2_fetch.py adds "h2");
    `client_credentials` (get --cert --key) answer a server's CertificateRequest.
    """
    settings = ClientSettings(
        pki.load_trusted_roots(cafile),
        application_protocols=tuple(name.encode("ascii") for name in application_protocols),
        tickets=tickets,
        client_credentials=client_credentials,
    )
    if groups:  # `get --groups`: offered in this order (client_settings.py picks the shares)
        settings = replace(settings, groups=groups, key_share_groups=key_share_groups_for(groups))

    def new_client(server_name: str, port: int = 443, observer=None) -> TLSConnection:
        return TLS13ClientConnection(
            server_name,
            settings,
            ticket_scope=f"{server_name}:{port}",
            random_bytes=os.urandom,
            clock=time.time,
            keylog=keylog,
            observer=observer,
        )

    return new_client


class FirstBytesSeen:
    """The first bytes each way: what they look like explains a failure (client/failures.py)."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.sent = b""
        self.received = b""

    def add_sent(self, data: bytes) -> None:
        if len(self.sent) < FIRST_BYTES_NEEDED:
            self.sent = (self.sent + data)[:FIRST_BYTES_NEEDED]

    def add_received(self, data: bytes) -> None:
        if len(self.received) < FIRST_BYTES_NEEDED:
            self.received = (self.received + data)[:FIRST_BYTES_NEEDED]


class BlockingTLS:
    """Drives a sans-IO TLS client object over a blocking socket."""

    def __init__(
        self, sock: socket.socket, tls: TLSConnection, seen: FirstBytesSeen | None = None
    ) -> None:
        self.sock = sock
        self.tls = tls
        self.seen = seen if seen is not None else FirstBytesSeen()

    def handshake(self) -> None:
        self._send_pending()
        seen = self.seen
        while not self.tls.is_established:
            data = self.sock.recv(READ_SIZE)
            if not data:
                raise ClientError(explain_handshake_eof(seen.sent, seen.received))
            seen.add_received(data)
            self.tls.feed_wire_data(data)
            self._send_pending()

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.tls.protect_application_data(data))

    def receive(self) -> tuple[bytes, bool]:
        """Plaintext received next, and whether the peer has finished sending."""
        data = self.sock.recv(READ_SIZE)
        if not data:
            return b"", True
        self.tls.feed_wire_data(data)
        self._send_pending()
        return self.tls.read_plaintext(), self.tls.peer_closed

    def close(self) -> None:
        self.tls.close()
        try:
            self._send_pending()
        except OSError:
            pass

    def _send_pending(self) -> None:
        pending = self.tls.pop_pending_wire_data()
        if pending:
            self.seen.add_sent(pending)
            self.sock.sendall(pending)


def fetch(
    url: str,
    *,
    new_tls: TLSClientFactory | None = None,
    method: str = "GET",
    timeout: float = 10.0,
    observer=None,
) -> FetchResult:
    """One request on a new connection.  https:// URLs need `new_tls` (a TLS client factory)."""
    target = Target.from_url(url)
    if target.scheme == "https" and new_tls is None:
        raise ClientError("https:// needs a TLS client")
    try:
        sock = socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as error:
        raise ClientError(f"cannot connect to {target.host}:{target.port}: {error}") from None
    seen = FirstBytesSeen()
    with sock:
        try:
            return _exchange(
                sock, target, new_tls if target.scheme == "https" else None, method, observer, seen
            )
        except TLSError as error:
            today = datetime.fromtimestamp(time.time(), tz=UTC).date()
            explained = explain_tls_failure(error, seen.sent, seen.received, today)
            raise ClientError(explained, error.alert) from None
        except HttpError as error:
            explained = explain_plain_failure(seen.received) if new_tls is None else None
            raise ClientError(explained or f"bad response: {error.reason}") from None
        except TimeoutError:
            raise ClientError("timed out waiting for the server") from None
        except OSError as error:
            raise ClientError(f"connection failed: {error}") from None


def _exchange(
    sock: socket.socket,
    target: Target,
    new_tls: TLSClientFactory | None,
    method: str,
    observer=None,
    seen: FirstBytesSeen | None = None,
) -> FetchResult:
    seen = seen if seen is not None else FirstBytesSeen()
    reader = ResponseReader(method)
    request = build_request(target, method)
    if new_tls is None:
        sock.sendall(request)
        while not reader.complete:
            data = sock.recv(READ_SIZE)
            if not data:
                reader.feed_eof()
                break
            seen.add_received(data)
            reader.feed(data)
        return FetchResult(reader.response, None)

    channel = BlockingTLS(sock, new_tls(target.host, target.port, observer=observer), seen)
    channel.handshake()
    channel.send(request)
    while not reader.complete:
        data, finished = channel.receive()
        if data:
            reader.feed(data)
        if finished and not reader.complete:
            reader.feed_eof()
    channel.close()
    return FetchResult(reader.response, channel.tls.negotiated)
