"""The HTTP/2 session of one connection: streams in, responses out, side by side.

It is HTTP/1.1's session (server/http1.py) for a connection whose TLS
handshake chose "h2" by ALPN, and it reads the same way:

    plaintext -> http2 ServerConnection -> events -> respond (router, static files)
              -> exchange.send_http_response -> data_to_send -> transport

The protocol is the sans-IO package http2/; this module only drives it: it
feeds the plaintext in, acts on the events, and writes what the connection
has to send whenever the socket can take more.

Rules this module keeps:
- Every request is answered by the same code as HTTP/1.1 (http/static.py,
  through http2/exchange.py), and logged by the same access log, whose
  $request and $server_protocol then say "HTTP/2.0".
- Bodies are streamed: a file is read a frame at a time as the peer's
  windows and our socket allow (http2/scheduler.py), never whole.  Whoever
  sends a FileBody closes it (http/messages.py): this session does, when its
  stream is done or the connection is lost.
- Output is written while the connection's queue is under its high-water
  mark; above it, reading pauses (the peer is not reading either).
- Timeouts follow nginx's HTTP/2 module: the preface and first request within
  client_header_timeout, an idle connection lives keepalive_timeout (then
  GOAWAY and close), output must keep moving within send_timeout, and so
  must a response waiting on a window the peer keeps at zero.
- keepalive_requests counts streams (as nginx does): after that many, and
  once every open stream is answered, GOAWAY and close.
- stop_gracefully sends GOAWAY; streams in flight finish, then close.

What this module must never do: parse frames or HPACK (http2/ does), or
know whether the bytes below are TLS (the transport does).
"""

from __future__ import annotations

import time
from enum import Enum

from tls_web_server.http.messages import FileBody, Request, Response
from tls_web_server.http.router import SiteSettings
from tls_web_server.http.static import error_response
from tls_web_server.http2.errors import ErrorCode
from tls_web_server.http2.events import (
    ConnectionFailed,
    DataReceived,
    Event,
    GoAwayReceived,
    RequestReceived,
    RequestRejected,
    StreamEnded,
    StreamReset,
)
from tls_web_server.http2.exchange import request_from_fields, send_http_response
from tls_web_server.http2.limits import Http2Limits
from tls_web_server.http2.server import ServerConnection
from tls_web_server.server.settings import ListenerSpec, Timeout
from tls_web_server.server.trace_pages import respond_or_page
from tls_web_server.server.transport import Transport
from tls_web_server.tcp.connection import HIGH_WATER, Connection


class Http2Session:
    """HTTP/2 over one connection's plaintext: many streams, one connection."""

    __slots__ = (
        "_body_bytes",
        "_files",
        "_last_request_served",
        "_output",
        "_requests",
        "_started",
        "_streams_served",
        "connection",
        "protocol",
        "spec",
        "transport",
    )

    def __init__(self, connection: Connection, transport: Transport, spec: ListenerSpec):
        self.connection = connection
        self.transport = transport
        self.spec = spec
        self.protocol = ServerConnection(spec.http2 or Http2Limits())
        # Streams whose request head arrived and whose body has not ended yet.
        self._requests: dict[int, Request] = {}
        # Body bytes received so far per stream, against client_max_body_size.
        self._body_bytes: dict[int, int] = {}
        # Open files being sent, by stream: closed when the stream is done.
        self._files: dict[int, FileBody] = {}
        self._started: dict[int, float] = {}  # only kept for a log with $request_time
        self._streams_served = 0
        self._last_request_served = False  # keepalive_requests reached: GOAWAY when idle
        # Frames made while handling one read, written together: one TLS record
        # for ten small responses costs far less than ten.
        self._output: list[bytes] = []
        self.protocol.initiate()  # our SETTINGS go out with the first flush
        # The preface and a first request must arrive within client_header_timeout.
        connection.set_timeout(spec.settings.client_header_timeout, Timeout.CLIENT_HEADER)
        self._send()

    # ------------------------------------------- plaintext events from below

    def data_received(self, data: bytes) -> None:
        for event in self.protocol.receive_data(data):
            self._handle(event)
        self._send()

    def eof_received(self) -> None:
        # The peer will send nothing more, not even WINDOW_UPDATE: nothing
        # still queued could finish, so the connection ends here (as nginx's).
        self._close()

    def output_drained(self) -> None:
        self._send()

    def timed_out(self, reason: Enum) -> None:
        connection = self.connection
        if reason is Timeout.SEND and connection.output_size:
            connection.abort()  # the peer stopped reading; nothing polite can reach it
            return
        if reason is not Timeout.KEEPALIVE:
            # CLIENT_HEADER: no preface or no request; SEND without output: a window
            # the peer kept at zero for send_timeout, so a response could not move.
            self.spec.error_log.write("info", f"client timed out ({reason})", peer=connection.peer)
        self.protocol.close(ErrorCode.NO_ERROR)
        self._take_pending()
        self._write_output()
        self._close()

    def connection_lost(self) -> None:
        files, self._files = self._files, {}
        for body in files.values():
            body.file.close()

    def stop_gracefully(self) -> None:
        """Server shutdown: GOAWAY; the streams already opened finish, then close."""
        self.protocol.close(ErrorCode.NO_ERROR)
        self._send()

    # ---------------------------------------------------------- the HTTP side

    def _handle(self, event: Event) -> None:
        if isinstance(event, RequestReceived):
            if self.spec.times_requests:
                self._started[event.stream_id] = time.time()
            request = request_from_fields(event.fields)
            if event.end_stream:
                self._respond(event.stream_id, request)
            else:
                # A request body: a static server has no use for it, but the answer
                # waits for its end (RFC 9113 section 8.1).  The connection credits
                # the windows back, so nothing is buffered here.
                self._requests[event.stream_id] = request
                announced = request.header("content-length")
                if announced is not None and announced.isdecimal():
                    self._count_body(event.stream_id, int(announced))
        elif isinstance(event, StreamEnded):
            self._body_bytes.pop(event.stream_id, None)
            request = self._requests.pop(event.stream_id, None)
            if request is not None:
                self._respond(event.stream_id, request)
        elif isinstance(event, RequestRejected):
            # The head was too large to read (large_client_header_buffers): 431.
            self.spec.error_log.write(
                "info", f"bad request: {event.reason}", peer=self.connection.peer
            )
            now = time.time()
            response = error_response(event.status, now)
            self._send_response(event.stream_id, None, response, self.spec.default_site, now)
        elif isinstance(event, StreamReset):
            self._stream_done(event.stream_id)
            if not event.by_peer:
                self.spec.error_log.write(
                    "info", f"HTTP/2 stream error: {event.reason}", peer=self.connection.peer
                )
        elif isinstance(event, ConnectionFailed):
            self.spec.error_log.write(
                "info", f"HTTP/2 connection error: {event.reason}", peer=self.connection.peer
            )
        elif isinstance(event, GoAwayReceived):
            pass  # the connection stops opening streams; is_finished says when to close
        elif isinstance(event, DataReceived) and event.stream_id in self._requests and event.data:
            # Request bodies are not kept (see above), only counted against the limit.
            seen = self._body_bytes.get(event.stream_id, 0) + len(event.data)
            self._body_bytes[event.stream_id] = seen
            self._count_body(event.stream_id, seen)

    def _count_body(self, stream_id: int, size: int) -> None:
        """client_max_body_size, as for HTTP/1.1: a larger body is answered 413 at once."""
        limit = self.spec.settings.http_limits.max_body_size
        if limit and size > limit:
            self._requests.pop(stream_id, None)
            self._body_bytes.pop(stream_id, None)
            self.spec.error_log.write(
                "info",
                f"bad request: a body of at least {size} bytes; client_max_body_size is {limit}",
                peer=self.connection.peer,
            )
            now = time.time()
            response = error_response(413, now)
            self._send_response(stream_id, None, response, self.spec.default_site, now)

    def _respond(self, stream_id: int, request: Request) -> None:
        virtual_hosts = self.spec.virtual_hosts
        site = virtual_hosts.only_site or virtual_hosts.select(request.host)
        now = time.time()
        trace = getattr(self.transport, "trace", None)
        response = respond_or_page(self.spec.trace_pages, trace, request, site, now)
        self._send_response(stream_id, request, response, site, now)

    def _send_response(
        self,
        stream_id: int,
        request: Request | None,
        response: Response,
        site: SiteSettings,
        now: float,
    ) -> None:
        spec = self.spec
        protocol = self.protocol
        if stream_id not in protocol.streams:
            # The connection failed in the same bytes that carried this request
            # (its streams are gone and GOAWAY is queued): nothing can be sent.
            if isinstance(response.body, FileBody):
                response.body.file.close()
            return
        self._take_pending()  # so that what data_to_send returns next is this head alone
        send_http_response(protocol, stream_id, response)
        head = protocol.data_to_send(0)  # no DATA: the HEADERS (+ CONTINUATION) frames
        self._output.append(head)
        if isinstance(response.body, FileBody):
            if stream_id in protocol.streams:
                self._files[stream_id] = response.body
            else:
                response.body.file.close()  # an empty range: the head ended the stream
        self._streams_served += 1
        log = spec.access_logs.get(site)
        if log is not None:
            log.write(
                self.connection.peer,
                now,
                request,
                response,
                len(head),
                site,
                self.transport.negotiated,
                self._started.pop(stream_id, None),
            )
        note = self.transport.note
        if note is not None and request is not None:
            note(f"stream {stream_id}: {request.method} {request.target} -> {response.status}")
        if self._streams_served >= spec.settings.keepalive_requests:
            # nginx counts streams against keepalive_requests.  The GOAWAY waits
            # until no stream is open (_send): some clients (python-hyper's h2)
            # drop the DATA that follows a GOAWAY.
            self._last_request_served = True

    def _stream_done(self, stream_id: int) -> None:
        self._requests.pop(stream_id, None)
        self._body_bytes.pop(stream_id, None)
        self._started.pop(stream_id, None)
        body = self._files.pop(stream_id, None)
        if body is not None:
            body.file.close()

    # ------------------------------------------------------------- output

    def _take_pending(self) -> None:
        """Frames already queued (SETTINGS answers, heads, RST_STREAM, GOAWAY), no DATA."""
        data = self.protocol.data_to_send(0)
        if data:
            self._output.append(data)

    def _write_output(self) -> None:
        output = self._output
        if output:
            data = output[0] if len(output) == 1 else b"".join(output)
            output.clear()
            self.transport.write(data)

    def _send(self) -> None:
        """Write frames while the socket keeps up; then decide what the connection waits for."""
        connection = self.connection
        if connection.is_closing:
            return
        protocol = self.protocol
        output = self._output
        exhausted = False
        while not exhausted and connection.output_size < HIGH_WATER:
            # Gather up to the high-water mark, write it in one piece; the kernel
            # may take it all at once (no output_drained will follow), so go on.
            queued = connection.output_size
            while queued < HIGH_WATER:
                data = protocol.data_to_send()
                if not data:
                    exhausted = True
                    break
                output.append(data)
                queued += len(data)
            self._write_output()
            if connection.is_closing:
                return
        self._write_output()  # heads made while the queue was above its mark
        if self._files:
            for stream_id in [s for s in self._files if s not in protocol.streams]:
                self._files.pop(stream_id).file.close()  # its last DATA frame is written
        if self._last_request_served and not protocol.streams:
            protocol.close(ErrorCode.NO_ERROR)
            self._take_pending()
            self._write_output()
        if protocol.is_finished:
            self._close()
            return
        if connection.output_size >= HIGH_WATER:
            connection.pause_reading()
        else:
            connection.resume_reading()
        self._update_timeout()

    def _update_timeout(self) -> None:
        connection = self.connection
        settings = self.spec.settings
        protocol = self.protocol
        if connection.output_size:
            if connection.pending_timeout is not Timeout.SEND:
                connection.set_timeout(settings.send_timeout, Timeout.SEND)
        elif any(stream.body is not None for stream in protocol.streams.values()):
            # A response waits for the peer's WINDOW_UPDATE: a zero window must
            # not hold the connection for ever (send_timeout, as nginx).
            if connection.pending_timeout is not Timeout.SEND:
                connection.set_timeout(settings.send_timeout, Timeout.SEND)
        elif protocol.streams:
            # Streams whose request body is still coming.
            connection.set_timeout(settings.client_body_timeout, Timeout.CLIENT_BODY)
        elif self._streams_served == 0 and protocol.highest_peer_stream_id == 0:
            pass  # the first request runs on the deadline set when the session began
        elif connection.pending_timeout is not Timeout.KEEPALIVE:
            connection.set_timeout(settings.keepalive_timeout, Timeout.KEEPALIVE)

    def _close(self) -> None:
        self.transport.close()
