"""What happens when a listener accepts a socket: a connection, its transport, its session.

    plain listener:  Connection -> Http1Session (writing through a PlainTransport)
    TLS listener:    Connection -> TlsTransport -> the session of the negotiated ALPN protocol

`SESSIONS` is the table from an ALPN protocol name (RFC 7301) to the
session class that speaks it.  A connection that negotiated none (plain,
toytls, or a TLS client that offered no ALPN) speaks HTTP/1.1.  The TLS 1.3
server offers exactly the table's names (server/listeners.py), so an HTTP/2
session is added by writing its class and one line here.

What this module must never do: read the config (listeners.py did) or the
bytes of a connection (the transport and the session do).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from tls_web_server.server.http1 import Http1Session
from tls_web_server.server.settings import ListenerSpec, Timeout
from tls_web_server.server.trace_pages import KeptConnection
from tls_web_server.server.transport import PlainTransport, TlsTransport, Transport
from tls_web_server.tcp.connection import Connection, ConnectionProtocol
from tls_web_server.tcp.loop import EventLoop
from tls_web_server.tls.trace import Trace

# A session is a ConnectionProtocol over plaintext, made from the connection,
# the transport it writes through, and its listener's spec.
SessionClass = Callable[[Connection, Transport, ListenerSpec], ConnectionProtocol]

SESSIONS: Mapping[str, SessionClass] = MappingProxyType({"http/1.1": Http1Session})
WITHOUT_ALPN = "http/1.1"  # what a connection speaks when no protocol was negotiated


def accept_connection(spec: ListenerSpec, loop: EventLoop, sock: socket.socket, peer: str) -> None:
    """The listener's `on_accept` (tcp/loop.py): set up one accepted socket."""
    connection = loop.new_connection(sock, peer)
    connection.error_log = spec.error_log
    connection.set_send_timeout(spec.settings.send_timeout, Timeout.SEND)
    if spec.new_tls is None:
        connection.start(Http1Session(connection, PlainTransport(connection), spec))
        return
    pages = spec.trace_pages
    if spec.trace_output is None and pages is None:
        transport = TlsTransport(connection, spec.new_tls(), spec, _new_session)
    else:
        trace: Trace
        if pages is not None:  # tls_trace on: kept for the /_tls/ pages
            trace = pages.keep_connection(peer, time.time())
        else:
            trace = Trace("server")
            trace.add_note(f"connection from {peer}")
        tls = spec.new_tls(observer=trace)
        if isinstance(trace, KeptConnection):
            trace.attach(tls)
        transport = TlsTransport(connection, tls, spec, _new_session, trace)
    connection.start(transport)


def _new_session(transport: TlsTransport, alpn: str | None) -> ConnectionProtocol | None:
    session_class = SESSIONS.get(alpn or WITHOUT_ALPN)
    if session_class is None:
        return None
    return session_class(transport.connection, transport, transport.spec)
