"""The glue: wire -> [TLS] -> HTTP -> [TLS] -> wire, and config -> TLS and HTTP settings.

This is the one module where the layers meet.  For each accepted socket it
builds an `HttpPipeline` that reads like the walkthrough's read path:

    plain:  socket bytes ----------------------------------> HTTP parser
    TLS:    socket bytes -> tls.feed_wire_data -> tls.read_plaintext -> HTTP parser

and the write path in reverse (`tls.protect_application_data` when there is
a TLS object).  There is exactly one code path for "TLS below HTTP": the
pipeline never asks which protocol the TLS object speaks (tls/api.py).

Rules this module keeps:
- Responses leave in request order.  While a body is still streaming, later
  pipelined requests wait in the parser; while the output queue is over its
  high-water mark, reading stops (back-pressure).
- Bodies are streamed: plain connections hand the open file to sendfile, TLS
  connections read it in whole-record slices as the socket drains.  A small
  file (up to SMALL_FILE_BODY) is read at once and leaves with its head, in
  one send: cheaper than a second system call.
- Timeouts follow nginx: the TLS handshake and a request head must complete
  within client_header_timeout (a trickling client is not rewarded), a body
  must keep moving within client_body_timeout, output within send_timeout,
  and an idle keep-alive connection lives keepalive_timeout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tls_web_server.config import Config, ConfigError, ServerConfig
from tls_web_server.http.messages import FileBody, HttpError, Request, Response
from tls_web_server.http.parser import HttpLimits, RequestParser
from tls_web_server.http.router import LocationSettings, SiteSettings, VirtualHosts
from tls_web_server.http.static import error_response, respond
from tls_web_server.http.writer import encode_head
from tls_web_server.tcp.connection import HIGH_WATER, Connection
from tls_web_server.tcp.logs import AccessLog, ErrorLog
from tls_web_server.tls import pki
from tls_web_server.tls.api import Observer, TLSConnection
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13.enums import CipherSuite, NamedGroup
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.toy.server import ToyTLSServerConnection
from tls_web_server.tls.trace import Trace, render_text

# A TLS record carries at most 16 KiB of plaintext (RFC 8446 section 5.1).  File
# bodies are read in slices of whole records so every record but the last is full.
TLS_RECORD_PAYLOAD = 16384
TLS_BODY_SLICE = 4 * TLS_RECORD_PAYLOAD

# File bodies up to this size are read with one pread and sent with the head;
# larger ones go out with sendfile (plain) or in TLS_BODY_SLICE slices (TLS).
SMALL_FILE_BODY = 16 * 1024


@dataclass(frozen=True)
class ConnectionSettings:
    """The per-connection limits of a listener (taken from its default server, as nginx does)."""

    keepalive_timeout: float
    keepalive_requests: int
    client_header_timeout: float
    client_body_timeout: float
    ssl_handshake_timeout: float
    send_timeout: float
    http_limits: HttpLimits


@dataclass
class ListenerSpec:
    """Everything needed to serve connections accepted on one address:port."""

    address: str
    port: int
    protocol: str  # "plain", "ssl" or "toytls"
    virtual_hosts: VirtualHosts
    default_site: SiteSettings
    settings: ConnectionSettings
    access_logs: dict[SiteSettings, AccessLog | None]
    new_tls: Callable[..., TLSConnection] | None = None
    error_log: ErrorLog = field(default_factory=lambda: ErrorLog("stderr"))
    # `serve --trace`: each TLS connection's diagram (tls/trace.py) goes here
    # when it closes.  Off by default: tracing keeps every record of a connection.
    trace_output: Callable[[str], None] | None = None
    # `access_logs` by id(site), filled in below: SiteSettings hashes all its
    # locations on every lookup, and the pipeline looks a log up per request.
    access_log_by_site_id: dict[int, AccessLog | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.access_log_by_site_id = {id(site): log for site, log in self.access_logs.items()}

    @property
    def scheme(self) -> str:
        return "http" if self.protocol == "plain" else "https"

    def on_accept(self, loop, sock, peer: str) -> None:
        connection = loop.new_connection(sock, peer)
        connection.error_log = self.error_log
        connection.send_timeout = self.settings.send_timeout
        if self.new_tls is None:
            connection.start(HttpPipeline(connection, self, None))
        elif self.trace_output is None:
            connection.start(HttpPipeline(connection, self, self.new_tls()))
        else:
            trace = Trace("server")
            trace.add_note(f"connection from {peer}")
            pipeline = HttpPipeline(connection, self, self.new_tls(observer=trace))
            pipeline.trace = trace
            connection.start(pipeline)


# ---------------------------------------------------------------------------
# config -> settings
# ---------------------------------------------------------------------------


def site_settings(server: ServerConfig) -> SiteSettings:
    return SiteSettings(
        server_names=server.server_names,
        locations=tuple(
            LocationSettings(location.prefix, str(location.root), location.index)
            for location in server.locations
        ),
    )


def connection_settings(server: ServerConfig) -> ConnectionSettings:
    return ConnectionSettings(
        keepalive_timeout=server.keepalive_timeout,
        keepalive_requests=server.keepalive_requests,
        client_header_timeout=server.client_header_timeout,
        ssl_handshake_timeout=server.ssl_handshake_timeout,
        client_body_timeout=server.client_body_timeout,
        send_timeout=server.send_timeout,
        http_limits=HttpLimits(max_body_size=server.client_max_body_size),
    )


def load_credentials(server: ServerConfig) -> pki.ServerCredentials:
    """The server block's certificate chain and key, or a ConfigError pointing at the directive."""
    assert server.ssl_certificate is not None and server.ssl_certificate_key is not None
    try:
        return pki.load_server_credentials(
            server.ssl_certificate, server.ssl_certificate_key, server.ssl_certificate_chain
        )
    except pki.PkiError as error:
        position = server.directive_positions.get("ssl_certificate", server.position)
        raise ConfigError(str(error), position) from error


class LogFiles:
    """Opens each log target once, however many server blocks name it."""

    def __init__(self) -> None:
        self._access: dict[str, AccessLog] = {}
        self._error: dict[str, ErrorLog] = {}

    def access(self, target) -> AccessLog | None:
        if target is None:
            return None
        key = str(target)
        if key not in self._access:
            self._access[key] = AccessLog(target)
        return self._access[key]

    def error(self, target) -> ErrorLog:
        key = str(target)
        if key not in self._error:
            self._error[key] = ErrorLog(target)
        return self._error[key]

    def flush(self) -> None:
        for log in self._access.values():
            log.flush()
        for log in self._error.values():
            log.flush()


# Builds the TLS 1.3 connection factory of one listener from the server blocks
# sharing it (the default server first).  The factory takes an optional
# `observer=` (used only by `serve --trace`).  Tests and benchmarks may plug in
# another engine (bench/ compares ours with OpenSSL's through this hook).
TLS13Engine = Callable[[list[ServerConfig]], Callable[..., TLSConnection]]


def our_tls13_engine(
    *,
    ticket_key: TicketKey,
    random_bytes: Callable[[int], bytes] = os.urandom,
    keylog: Callable[[str], None] | None = None,
) -> TLS13Engine:
    """Our own TLS 1.3 (tls/tls13/): one ServerSettings per listener, shared by its connections."""

    def engine(servers: list[ServerConfig]) -> Callable[..., TLSConnection]:
        default = servers[0]
        credentials = {id(server): load_credentials(server) for server in servers}
        by_name: dict[str, pki.ServerCredentials] = {}
        for server in servers:
            for name in server.server_names:
                by_name.setdefault(name, credentials[id(server)])
        settings = ServerSettings(
            credentials=credentials[id(default)],
            credentials_by_name=by_name,
            cipher_suites=tuple(CipherSuite[name] for name in default.ssl_ciphers),
            groups=tuple(NamedGroup[name] for name in default.ssl_ecdh_curve),
            ticket_key=ticket_key if default.ssl_session_tickets else None,
        )

        def new_connection(observer: Observer | None = None) -> TLSConnection:
            return TLS13ServerConnection(
                settings,
                random_bytes=random_bytes,
                clock=time.time,
                keylog=keylog,
                observer=observer,
            )

        return new_connection

    return engine


def build_listener_specs(
    config: Config,
    logs: LogFiles,
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
    tls13_engine: TLS13Engine | None = None,
    trace_output: Callable[[str], None] | None = None,
) -> list[ListenerSpec]:
    """Group the servers' `listen` directives by address:port into listener specs."""
    groups: dict[tuple, list[tuple[ServerConfig, bool, str]]] = {}
    for server in config.servers:
        for listen in server.listens:
            # Port 0 means "any free port": each such listen is a listener of its own.
            key = (listen.address, listen.port, id(listen) if listen.port == 0 else None)
            groups.setdefault(key, []).append((server, listen.default_server, listen.protocol))

    specs = []
    credentials_cache: dict[int, pki.ServerCredentials] = {}
    for (address, port, _), members in groups.items():
        protocol = members[0][2]
        default_server = next((s for s, is_default, _ in members if is_default), members[0][0])
        sites = {id(server): site_settings(server) for server, _, _ in members}
        default_site = sites[id(default_server)]
        access_logs = {
            sites[id(server)]: logs.access(server.access_log) for server, _, _ in members
        }
        new_tls = None
        if protocol == "toytls":
            if id(default_server) not in credentials_cache:
                credentials_cache[id(default_server)] = load_credentials(default_server)
            credentials = credentials_cache[id(default_server)]

            def new_tls(credentials=credentials, observer: Observer | None = None):
                return ToyTLSServerConnection(
                    credentials, random_bytes=random_bytes, observer=observer
                )

        elif protocol == "ssl":
            members_default_first = [default_server] + [
                server for server, _, _ in members if server is not default_server
            ]
            if tls13_engine is None:
                tls13_engine = our_tls13_engine(ticket_key=TicketKey.generate(random_bytes))
            new_tls = tls13_engine(members_default_first)
        specs.append(
            ListenerSpec(
                address=address,
                port=port,
                protocol=protocol,
                virtual_hosts=VirtualHosts(list(sites.values()), default_site),
                default_site=default_site,
                settings=connection_settings(default_server),
                access_logs=access_logs,
                new_tls=new_tls,
                error_log=logs.error(default_server.error_log),
                trace_output=trace_output if new_tls is not None else None,
            )
        )
    return specs


# ---------------------------------------------------------------------------
# one connection
# ---------------------------------------------------------------------------


class HttpPipeline:
    """The protocol object of one connection: TLS (optional) below, HTTP above."""

    __slots__ = (
        "_body_stream",
        "_close_after_response",
        "_handshake_done",
        "_input_closed",
        "_requests_served",
        "connection",
        "parser",
        "spec",
        "tls",
        "trace",
    )

    def __init__(self, connection: Connection, spec: ListenerSpec, tls: TLSConnection | None):
        self.connection = connection
        self.spec = spec
        self.tls = tls
        self.parser = RequestParser(spec.settings.http_limits)
        self._requests_served = 0
        self._body_stream: _BodyStream | None = None
        self._close_after_response = False
        self._input_closed = False
        self._handshake_done = False
        self.trace: Trace | None = None  # set by ListenerSpec.on_accept for `serve --trace`
        # The TLS handshake must end within ssl_handshake_timeout, then (as on a
        # plain connection) the first request must arrive within client_header_timeout.
        if tls is not None:
            connection.set_timeout(spec.settings.ssl_handshake_timeout, "ssl_handshake_timeout")
        else:
            connection.set_timeout(spec.settings.client_header_timeout, "client_header_timeout")

    # ------------------------------------------------- events from Connection

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        if tls is not None:
            try:
                tls.feed_wire_data(data)
            except TLSError as error:
                self._tls_failed(error)
                return
            self._send_tls_output()
            if not self._handshake_done and tls.is_established:
                self._handshake_done = True
                self.connection.set_timeout(
                    self.spec.settings.client_header_timeout, "client_header_timeout"
                )
            data = tls.read_plaintext()
            if tls.peer_closed:
                self._input_closed = True
        if data:
            self.parser.feed(data)
        self._serve_requests()

    def eof_received(self) -> None:
        self._input_closed = True
        self._serve_requests()

    def output_drained(self) -> None:
        if self._body_stream is None or self._pump_body():
            self._serve_requests()

    def timed_out(self, reason: str) -> None:
        connection = self.connection
        if reason == "send_timeout" and connection.output_size:
            connection.abort()  # the peer stopped reading; nothing polite can reach it
            return
        if reason != "keepalive_timeout":
            self.spec.error_log.write("info", f"client timed out ({reason})", peer=connection.peer)
        self._close()

    def connection_lost(self) -> None:
        if self._body_stream is not None:
            self._body_stream.file.close()
            self._body_stream = None
        trace, self.trace = self.trace, None
        if trace is not None and trace.events and self.spec.trace_output is not None:
            trace.add_note("connection closed")
            self.spec.trace_output(render_text(trace, color=False))

    def stop_gracefully(self) -> None:
        """Server shutdown: finish the response in flight, then close."""
        self._close_after_response = True
        if self._body_stream is None and not self.connection.output_size:
            self._close()

    # ---------------------------------------------------------- the HTTP side

    def _serve_requests(self) -> None:
        connection = self.connection
        parser = self.parser
        while (
            self._body_stream is None
            and not self._close_after_response
            and not connection.is_closing
            and connection.output_size < HIGH_WATER
        ):
            try:
                request = parser.next_request()
            except HttpError as error:
                self._refuse(error)  # the parser is dead now; the answer closes the connection
                break
            if request is None:
                break
            self._respond(request)
        if connection.is_closing:
            return
        if self._body_stream is None and (self._close_after_response or self._input_closed):
            # Either the last response is queued, or the peer will send nothing
            # more and whatever is buffered can never become a whole request.
            self._close()
            return
        if connection.output_size >= HIGH_WATER or self._body_stream is not None:
            connection.pause_reading()
        elif not self._input_closed:
            connection.resume_reading()
        self._update_timeout()

    def _respond(self, request: Request) -> None:
        spec = self.spec
        settings = spec.settings
        virtual_hosts = spec.virtual_hosts
        site = virtual_hosts.only_site or virtual_hosts.select(request.host)
        now = time.time()
        response = respond(request, site, now)
        self._requests_served += 1
        if response.keep_alive and (
            self._requests_served >= settings.keepalive_requests or self.connection.loop.stopping
        ):
            _make_closing(response)
        self._log_access(site, request, response, now)
        if self.trace is not None:
            self.trace.add_note(f"{request.method} {request.target} -> {response.status}")
        self._send_response(response)

    def _refuse(self, error: HttpError) -> None:
        now = time.time()
        self.spec.error_log.write("info", f"bad request: {error.reason}", peer=self.connection.peer)
        response = error_response(error.status, now)
        log = self.spec.access_logs.get(self.spec.default_site)
        if log is not None:
            log.write(
                remote_address=self.connection.peer,
                now=now,
                request_line="-",
                status=response.status,
                body_bytes=_body_length(response),
                referer=None,
                user_agent=None,
            )
        self._send_response(response)

    def _send_response(self, response: Response) -> None:
        head = encode_head(response)
        body = response.body
        if not response.keep_alive:
            self._close_after_response = True
        if body is None:
            self._write(head)
        elif isinstance(body, bytes):
            self._write(head + body)
        elif body.length <= SMALL_FILE_BODY:
            # A small file costs less to read than a second system call to send:
            # head and body leave together (one send; on TLS, as few records).
            data = os.pread(body.file.fileno(), body.length, body.offset)
            body.file.close()
            if len(data) < body.length:
                self._file_shrank()
                return
            self._write(head + data)
        elif self.tls is None:
            self.connection.write_head_and_file(head, body.file, body.offset, body.length)
        else:
            stream = _BodyStream(body)
            # The head rides in the first record(s) with the start of the body,
            # so every record but the last is full.
            first = _read_body(stream, TLS_BODY_SLICE - len(head) % TLS_RECORD_PAYLOAD)
            if first is None:
                stream.file.close()
                self._file_shrank()
                return
            self._write(head + first)
            if stream.remaining:
                self._body_stream = stream
                self._pump_body()
            else:
                stream.file.close()

    def _pump_body(self) -> bool:
        """Send more of a TLS body while the socket keeps up; True once it is all sent."""
        stream = self._body_stream
        assert stream is not None
        connection = self.connection
        while stream.remaining and connection.output_size < HIGH_WATER:
            chunk = _read_body(stream, TLS_BODY_SLICE)
            if chunk is None:
                stream.file.close()
                self._body_stream = None
                self._file_shrank()
                return False
            self._write(chunk)
            if self._body_stream is not stream:
                return False  # the write failed and the connection closed (and the file with it)
        if stream.remaining:
            self._update_timeout()
            return False
        stream.file.close()
        self._body_stream = None
        return True

    def _file_shrank(self) -> None:
        # The file got shorter after Content-Length was decided: the response
        # cannot be completed, and only closing tells the client so.
        peer = self.connection.peer
        self.spec.error_log.write("error", "file shrank while being sent", peer=peer)
        self.connection.abort()

    def _write(self, plaintext: bytes) -> None:
        if self.tls is not None:
            self.connection.write(self.tls.protect_application_data(plaintext))
        else:
            self.connection.write(plaintext)

    def _log_access(self, site: SiteSettings, request: Request, response: Response, now: float):
        log = self.spec.access_log_by_site_id.get(id(site))
        if log is None:
            return
        log.write(
            remote_address=self.connection.peer,
            now=now,
            request_line=f"{request.method} {request.target} {request.version}",
            status=response.status,
            body_bytes=_body_length(response),
            referer=request.header("referer"),
            user_agent=request.header("user-agent"),
        )

    # ----------------------------------------------------------- the TLS side

    def _send_tls_output(self) -> None:
        tls = self.tls
        assert tls is not None
        pending = tls.pop_pending_wire_data()
        if pending:
            self.connection.write(pending)

    def _tls_failed(self, error: TLSError) -> None:
        # The alert (if the protocol has one) is already queued: send it, shut
        # down our side and drain the peer before closing (connection.py).
        self.spec.error_log.write("info", f"TLS: {error}", peer=self.connection.peer)
        self._send_tls_output()
        if self._body_stream is not None:
            self._body_stream.file.close()
            self._body_stream = None
        self.connection.close()

    # ------------------------------------------------------------- lifecycle

    def _close(self) -> None:
        if self.tls is not None:
            self.tls.close()
            self._send_tls_output()
        self.connection.close()

    def _update_timeout(self) -> None:
        connection = self.connection
        settings = self.spec.settings
        if connection.output_size:
            if connection.timeout_reason != "send_timeout" or not connection.deadline:
                connection.set_timeout(settings.send_timeout, "send_timeout")
            return
        state = self.parser.state
        if self._requests_served == 0 and state != "body":
            pass  # handshake and first request head run on the deadline set at accept
        elif state == "head":
            if connection.timeout_reason != "client_header_timeout" or not connection.deadline:
                connection.set_timeout(settings.client_header_timeout, "client_header_timeout")
        elif state == "body":
            connection.set_timeout(settings.client_body_timeout, "client_body_timeout")
        else:
            connection.set_timeout(settings.keepalive_timeout, "keepalive_timeout")


class _BodyStream:
    """The unsent rest of a file body on a TLS connection."""

    __slots__ = ("file", "offset", "remaining")

    def __init__(self, body: FileBody) -> None:
        self.file = body.file
        self.offset = body.offset
        self.remaining = body.length


def _read_body(stream: _BodyStream, size: int) -> bytes | None:
    """The next slice of the body, or None when the file ended early."""
    size = min(size, stream.remaining)
    data = os.pread(stream.file.fileno(), size, stream.offset)
    if len(data) < size:
        return None
    stream.offset += size
    stream.remaining -= size
    return data


def _body_length(response: Response) -> int:
    body = response.body
    if body is None:
        return 0
    if isinstance(body, bytes):
        return len(body)
    return body.length


def _make_closing(response: Response) -> None:
    """Turn a keep-alive response into the last one on its connection."""
    response.headers = [
        (name, value) for name, value in response.headers if name.lower() != "connection"
    ]
    response.headers.append(("Connection", "close"))
    response.encoded_head = None  # the headers changed: encode them again
    response.keep_alive = False
