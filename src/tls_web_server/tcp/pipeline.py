"""The glue: wire -> [TLS] -> HTTP -> [TLS] -> wire, for each accepted connection.

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
- Timeouts follow nginx: the TLS handshake must end within
  ssl_handshake_timeout and then a request head arrive within
  client_header_timeout (a trickling client is not rewarded), a body must
  keep moving within client_body_timeout, output within send_timeout, and an
  idle keep-alive connection lives keepalive_timeout.

What the listeners are, and what each connection gets (sites, limits, the TLS
factory, logs), is worked out from the config in tcp/listeners.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tls_web_server.http.messages import FileBody, HttpError, Request, Response
from tls_web_server.http.parser import HttpLimits, RequestParser
from tls_web_server.http.router import SiteSettings, VirtualHosts
from tls_web_server.http.static import error_response, respond
from tls_web_server.http.writer import encode_head
from tls_web_server.tcp.connection import HIGH_WATER, Connection
from tls_web_server.tcp.logs import AccessLog, ErrorLog
from tls_web_server.tls.api import TLSConnection
from tls_web_server.tls.errors import TLSError
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
