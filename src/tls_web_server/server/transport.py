"""Transports: what carries a session's plaintext over one connection, with TLS or without.

A session (server/http1.py) reads plaintext events and writes plaintext
through a `Transport`; it never knows whether TLS is below it:

    plain:  Connection ------------------------------------------> session
            (the session is the connection's protocol; PlainTransport only writes)
    TLS:    Connection -> TlsTransport: tls.feed_wire_data -> tls.read_plaintext -> session
            session -> TlsTransport.write: tls.protect_application_data -> Connection

`TlsTransport` is the connection's protocol on a TLS listener.  It feeds wire
bytes to the TLS object and sends what the object produces (handshake
flights, alerts, tickets); it runs the handshake on ssl_handshake_timeout;
when the handshake ends it asks for the session of the negotiated ALPN
protocol (server/accept.py) and from then on passes plaintext up and
events through.  There is exactly one code path for "TLS below HTTP": it
never asks which protocol the TLS object speaks (tls/api.py).

What this module must never do: parse HTTP, or look at the plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import BinaryIO, Protocol

from tls_web_server.server import tls_failures
from tls_web_server.server.settings import ListenerSpec, Timeout
from tls_web_server.server.trace_pages import KeptConnection
from tls_web_server.tcp.connection import Connection, ConnectionProtocol
from tls_web_server.tls.api import Negotiated, TLSConnection
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.trace import Trace, render_text

# A TLS record carries at most 16 KiB of plaintext (RFC 8446 section 5.1).  File
# bodies are written in slices of whole records so every record but the last is full.
TLS_RECORD_PAYLOAD = 16384
TLS_BODY_SLICE = 4 * TLS_RECORD_PAYLOAD


class Transport(Protocol):
    """The write side a session uses; its events come in through ConnectionProtocol."""

    # True when file ranges may be handed to `send_file` (the kernel's sendfile);
    # otherwise the session writes file bodies in slices of `body_slice` bytes,
    # each a whole number of `record_size` units except the last.
    sends_files: bool
    body_slice: int
    record_size: int
    # A note for the connection's trace, when one is kept (`serve --trace`).
    note: Callable[[str], None] | None
    # What TLS agreed on (for the access log's $ssl_* variables); None without TLS.
    # The session passes it on without reading it: it never knows which TLS is below.
    negotiated: Negotiated | None

    def write(self, plaintext: bytes) -> None: ...

    def send_file(self, head: bytes, file: BinaryIO, offset: int, length: int) -> None: ...

    def close(self) -> None:
        """Polite close: what the protocol says goodbye with, then the TCP close."""


class PlainTransport:
    """No TLS: plaintext is what goes on the wire, and file bodies leave with sendfile."""

    __slots__ = ("body_slice", "close", "connection", "note", "record_size", "write")

    sends_files = True
    negotiated = None

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        # The connection's own methods: a plain write costs no extra call.
        self.write = connection.write
        self.close = connection.close
        self.body_slice = TLS_BODY_SLICE  # unused while sends_files is True
        self.record_size = TLS_RECORD_PAYLOAD
        self.note = None

    def send_file(self, head: bytes, file: BinaryIO, offset: int, length: int) -> None:
        self.connection.write_head_and_file(head, file, offset, length)


# Makes the session for a negotiated ALPN protocol (None: none was negotiated);
# None when no session speaks it.  server/accept.py holds the table.
SessionFactory = Callable[["TlsTransport", "str | None"], ConnectionProtocol | None]


class TlsTransport:
    """The protocol of a connection on a TLS listener: TLS below, a session above."""

    __slots__ = (
        "_failed",
        "_handshake_started",
        "_new_session",
        "_peer_closed_told",
        "_stop_requested",
        "connection",
        "note",
        "session",
        "spec",
        "tls",
        "trace",
    )

    sends_files = False
    body_slice = TLS_BODY_SLICE
    record_size = TLS_RECORD_PAYLOAD

    def __init__(
        self,
        connection: Connection,
        tls: TLSConnection,
        spec: ListenerSpec,
        new_session: SessionFactory,
        trace: Trace | None = None,
    ) -> None:
        self.connection = connection
        self.tls = tls
        self.spec = spec
        self._new_session = new_session
        self.session: ConnectionProtocol | None = None  # once the handshake has ended
        self._failed = False
        self._handshake_started = False  # has the client sent anything yet?
        self._peer_closed_told = False
        self._stop_requested = False  # the server began stopping during the handshake
        self.trace = trace
        self.note = trace.add_note if trace is not None else None
        # The TLS handshake must end within ssl_handshake_timeout; the session
        # then sets its own deadline (the first request head).
        connection.set_timeout(spec.settings.ssl_handshake_timeout, Timeout.SSL_HANDSHAKE)

    @property
    def negotiated(self) -> Negotiated | None:
        return self.tls.negotiated

    # ------------------------------------------------ the session's write side

    def write(self, plaintext: bytes) -> None:
        self.connection.write(self.tls.protect_application_data(plaintext))

    def send_file(self, head: bytes, file: BinaryIO, offset: int, length: int) -> None:
        file.close()
        raise TypeError("a TLS transport encrypts file bodies: write them in slices")

    def close(self) -> None:
        """close_notify (where the protocol has one), then the connection's polite close."""
        if not self._failed:  # after a fatal alert nothing more is said
            self.tls.close()
            self._send_tls_output()
        self.connection.close()

    # ------------------------------------------------- events from Connection

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return
        tls = self.tls
        first_chunk = None if self._handshake_started else data
        self._handshake_started = True
        try:
            tls.feed_wire_data(data)
        except TLSError as error:
            self._tls_failed(error, first_chunk)
            return
        self._send_tls_output()
        session = self.session
        if session is None:
            if not tls.is_established:
                if tls.peer_closed:
                    self.close()
                return
            session = self._start_session()
            if session is None:
                return
        plaintext = tls.read_plaintext()
        if plaintext:
            session.data_received(plaintext)
        if tls.peer_closed and not self._peer_closed_told:
            # close_notify: for the session, the end of input, as a TCP FIN is.
            self._peer_closed_told = True
            session.eof_received()

    def eof_received(self) -> None:
        if self.session is None or self._failed:
            self.close()  # mid-handshake, or already closing after a failure
        elif not self._peer_closed_told:
            self._peer_closed_told = True
            self.session.eof_received()

    def output_drained(self) -> None:
        if self.session is not None and not self._failed:
            self.session.output_drained()

    def timed_out(self, reason: Enum) -> None:
        if self.session is not None and not self._failed:
            self.session.timed_out(reason)
            return
        connection = self.connection
        if reason is Timeout.SEND and connection.output_size:
            connection.abort()  # the peer stopped reading; nothing polite can reach it
            return
        self.spec.error_log.write("info", f"client timed out ({reason})", peer=connection.peer)
        self.close()

    def stop_gracefully(self) -> None:
        if self._failed:
            return  # already closing
        if self.session is not None:
            self.session.stop_gracefully()
        else:
            # Mid-handshake: the client is about to send a request, and closing
            # now would fail it.  The handshake finishes (on its own deadline)
            # and the session hears of the stop as it begins.
            self._stop_requested = True

    def connection_lost(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.connection_lost()
        trace, self.trace = self.trace, None
        if isinstance(trace, KeptConnection):
            trace.connection_closed()
        if trace is not None and trace.events and self.spec.trace_output is not None:
            trace.add_note("connection closed")
            self.spec.trace_output(render_text(trace, color=False))

    # --------------------------------------------------------------- details

    def _start_session(self) -> ConnectionProtocol | None:
        alpn = self.tls.negotiated.alpn if self.tls.negotiated is not None else None
        session = self._new_session(self, alpn)
        if session is None:
            # The TLS server only offers what server/accept.py's table holds, so
            # this is a mismatch between the two, not a client's fault.
            self.spec.error_log.write(
                "error", f"no session speaks ALPN protocol {alpn!r}", peer=self.connection.peer
            )
            self.close()
            self._failed = True  # nothing reaches a session from now on
            return None
        self.session = session
        if self._stop_requested:
            session.stop_gracefully()
        return session

    def _send_tls_output(self) -> None:
        pending = self.tls.pop_pending_wire_data()
        if pending:
            self.connection.write(pending)

    def _tls_failed(self, error: TLSError, first_chunk: bytes | None) -> None:
        # The alert (if the protocol has one) is already queued: send it, shut
        # down our side and drain the peer before closing (tcp/connection.py).
        # From now on the session hears nothing but connection_lost.
        spec = self.spec
        explained = tls_failures.explain(error, spec.protocol, first_chunk, spec.trust_command)
        spec.error_log.write("info", explained, peer=self.connection.peer)
        self._failed = True
        self._send_tls_output()
        self.connection.close()
