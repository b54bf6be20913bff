"""The HTTP/1.1 session of one connection: requests in, responses out, in order.

It speaks plaintext only, and reads like the HTTP half of the walkthrough:

    plaintext -> RequestParser -> respond (router, static files) -> encode_head -> transport

It is a `ConnectionProtocol` over plaintext: on a plain listener it is the
connection's protocol itself, on a TLS listener the TLS transport
(server/transport.py) passes plaintext and events up to it once the
handshake has chosen HTTP/1.1 by ALPN.  It writes through a `Transport`
and never knows whether TLS is below it.

Rules this module keeps:
- Responses leave in request order.  While a body is still streaming, later
  pipelined requests wait in the parser; while the output queue is over its
  high-water mark, reading stops (back-pressure).
- Bodies are streamed: a transport that sends files gets the open file
  (sendfile); otherwise the body is read in slices as the socket drains.  A
  small file (up to SMALL_FILE_BODY) is read at once and leaves with its
  head, in one send: cheaper than a second system call.
- Timeouts follow nginx: a request head must arrive within
  client_header_timeout (counted from the end of the TLS handshake, if any;
  a trickling client is not rewarded), a body must keep moving within
  client_body_timeout, output within send_timeout, and an idle keep-alive
  connection lives keepalive_timeout.
- Whether a response is the connection's last is decided in http/
  (http/persistence.py); this module only acts on `response.keep_alive`.
- The access log (server/logs.py) gets each response as it is queued, with
  its request, the head's length and the transport's `negotiated` (None
  without TLS), handed on unread: the $ssl_* variables are the log's business.
- A stopping server (SIGTERM, or a SIGHUP reload replacing this worker)
  loses no request: the client may have sent its next request on an idle
  keep-alive connection just as the stop began, and closing would throw it
  away unanswered.  So the session keeps reading: the next request is
  answered with `Connection: close`, and an idle connection is closed only
  after DRAIN_WAIT_SECONDS (or keepalive_timeout, if shorter) of silence.
"""

from __future__ import annotations

import os
import time
from enum import Enum

from tls_web_server.http.messages import FileBody, HttpError, Request, Response
from tls_web_server.http.parser import RequestParser
from tls_web_server.http.persistence import limit_requests_per_connection, make_last
from tls_web_server.http.static import error_response, respond
from tls_web_server.http.writer import encode_head
from tls_web_server.server.settings import ListenerSpec, Timeout
from tls_web_server.server.trace_pages import respond_or_page
from tls_web_server.server.transport import Transport
from tls_web_server.tcp.connection import HIGH_WATER, Connection

# File bodies up to this size are read with one pread and sent with the head;
# larger ones go to the transport's send_file (sendfile) or out in slices.
SMALL_FILE_BODY = 16 * 1024
# How long a stopping server keeps an idle connection open for a request
# already on its way (a round trip, with room for a loaded machine).
DRAIN_WAIT_SECONDS = 3.0


class Http1Session:
    """HTTP/1.1 over one connection's plaintext: parser, responses in order, body streaming."""

    __slots__ = (
        "_body_stream",
        "_close_after_response",
        "_draining",
        "_input_closed",
        "_request_started",
        "_requests_served",
        "connection",
        "parser",
        "spec",
        "transport",
    )

    def __init__(self, connection: Connection, transport: Transport, spec: ListenerSpec):
        self.connection = connection
        self.transport = transport
        self.spec = spec
        self.parser = RequestParser(spec.settings.http_limits)
        self._requests_served = 0
        self._body_stream: _BodyStream | None = None
        self._close_after_response = False
        self._draining = False  # the server is stopping: the next response is the last
        self._input_closed = False
        self._request_started: float | None = None  # kept only for a log with $request_time
        # The first request head must arrive within client_header_timeout: from
        # the accept on a plain connection, from the end of the TLS handshake.
        connection.set_timeout(spec.settings.client_header_timeout, Timeout.CLIENT_HEADER)

    # ------------------------------------------- plaintext events from below

    def data_received(self, data: bytes) -> None:
        if self.spec.times_requests and self.parser.state == "idle":
            # nginx's $request_time counts from the request's first bytes; a request
            # pipelined behind another one counts from the chunk that began the first.
            self._request_started = time.time()
        self.parser.feed(data)
        self._serve_requests()

    def eof_received(self) -> None:
        self._input_closed = True
        self._serve_requests()

    def output_drained(self) -> None:
        if self._body_stream is None or self._pump_body():
            self._serve_requests()

    def timed_out(self, reason: Enum) -> None:
        connection = self.connection
        if reason is Timeout.SEND and connection.output_size:
            connection.abort()  # the peer stopped reading; nothing polite can reach it
            return
        if reason is not Timeout.KEEPALIVE and reason is not Timeout.DRAIN:
            self.spec.error_log.write("info", f"client timed out ({reason})", peer=connection.peer)
        self._close()

    def connection_lost(self) -> None:
        if self._body_stream is not None:
            self._body_stream.file.close()
            self._body_stream = None

    def stop_gracefully(self) -> None:
        """Server shutdown: finish the response in flight, answer the next request, close.

        The next request may already be on its way (the client cannot know we
        are stopping), so the connection is not closed while idle: its next
        response carries `Connection: close`, and silence ends it after
        DRAIN_WAIT_SECONDS.
        """
        if self._draining or self.connection.is_closing:
            return
        self._draining = True
        if self._body_stream is None and not self.connection.output_size:
            self._update_timeout()

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
        if spec.trace_pages is None:
            response = respond(request, site, now)
        else:  # tls_trace on
            trace = getattr(self.transport, "trace", None)
            response = respond_or_page(spec.trace_pages, trace, request, site, now)
        self._requests_served += 1
        limit_requests_per_connection(
            response,
            requests_served=self._requests_served,
            keepalive_requests=settings.keepalive_requests,
        )
        if self._draining and response.keep_alive:
            make_last(response)
        head = encode_head(response)
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
                self._request_started,
            )
        note = self.transport.note
        if note is not None:
            note(f"{request.method} {request.target} -> {response.status}")
        self._send_response(response, head)

    def _refuse(self, error: HttpError) -> None:
        now = time.time()
        self.spec.error_log.write("info", f"bad request: {error.reason}", peer=self.connection.peer)
        response = error_response(error.status, now)
        head = encode_head(response)
        site = self.spec.default_site
        log = self.spec.access_logs.get(site)
        if log is not None:
            log.write(
                self.connection.peer,
                now,
                None,
                response,
                len(head),
                site,
                self.transport.negotiated,
                self._request_started,
            )
        self._send_response(response, head)

    def _send_response(self, response: Response, head: bytes) -> None:
        body = response.body
        transport = self.transport
        if not response.keep_alive:
            self._close_after_response = True
        if body is None:
            transport.write(head)
        elif isinstance(body, bytes):
            transport.write(head + body)
        elif body.length <= SMALL_FILE_BODY:
            # A small file costs less to read than a second system call to send:
            # head and body leave together (one send; on TLS, as few records).
            data = os.pread(body.file.fileno(), body.length, body.offset)
            body.file.close()
            if len(data) < body.length:
                self._file_shrank()
                return
            transport.write(head + data)
        elif transport.sends_files:
            transport.send_file(head, body.file, body.offset, body.length)
        else:
            stream = _BodyStream(body)
            # The head rides in the first record(s) with the start of the body,
            # so every record but the last is full.
            first = _read_body(stream, transport.body_slice - len(head) % transport.record_size)
            if first is None:
                stream.file.close()
                self._file_shrank()
                return
            transport.write(head + first)
            if stream.remaining:
                self._body_stream = stream
                self._pump_body()
            else:
                stream.file.close()

    def _pump_body(self) -> bool:
        """Send more of a sliced body while the socket keeps up; True once it is all sent."""
        stream = self._body_stream
        assert stream is not None
        connection = self.connection
        transport = self.transport
        while stream.remaining and connection.output_size < HIGH_WATER:
            chunk = _read_body(stream, transport.body_slice)
            if chunk is None:
                stream.file.close()
                self._body_stream = None
                self._file_shrank()
                return False
            transport.write(chunk)
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

    # ------------------------------------------------------------- lifecycle

    def _close(self) -> None:
        self.transport.close()

    def _update_timeout(self) -> None:
        connection = self.connection
        settings = self.spec.settings
        if connection.output_size:
            if connection.pending_timeout is not Timeout.SEND:
                connection.set_timeout(settings.send_timeout, Timeout.SEND)
            return
        state = self.parser.state
        if self._draining and state != "body":
            # Stopping: wait briefly for a request already on its way, not for a new one.
            if connection.pending_timeout is not Timeout.DRAIN:
                wait = min(settings.keepalive_timeout, DRAIN_WAIT_SECONDS)
                connection.set_timeout(wait, Timeout.DRAIN)
        elif self._requests_served == 0 and state != "body":
            pass  # the first request head runs on the deadline set when the session began
        elif state == "head":
            if connection.pending_timeout is not Timeout.CLIENT_HEADER:
                connection.set_timeout(settings.client_header_timeout, Timeout.CLIENT_HEADER)
        elif state == "body":
            connection.set_timeout(settings.client_body_timeout, Timeout.CLIENT_BODY)
        else:
            connection.set_timeout(settings.keepalive_timeout, Timeout.KEEPALIVE)


class _BodyStream:
    """The unsent rest of a file body written in slices (a transport that cannot send files)."""

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
