"""What one listener gives each connection it accepts: sites, limits, logs, the TLS factory.

`ListenerSpec` is built from the config by server/listeners.py and read by
server/accept.py, server/transport.py and server/http1.py.  `Timeout` names
the deadlines a connection runs on, after the nginx directives that set them.

What this module must never do: read the server blocks of the config
(listeners.py translates them) or touch a socket.  It is data only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tls_web_server.config import ListenProtocol, Position
from tls_web_server.http.parser import HttpLimits
from tls_web_server.http.router import SiteSettings, VirtualHosts
from tls_web_server.server.logs import AccessLog, ErrorLog
from tls_web_server.server.trace_pages import TraceStore
from tls_web_server.tls.api import TLSConnection


class Timeout(StrEnum):
    """Why a connection's deadline was set; the value is the nginx directive that sets it."""

    SSL_HANDSHAKE = "ssl_handshake_timeout"  # the TLS handshake must end in time
    CLIENT_HEADER = "client_header_timeout"  # then a whole request head must arrive
    CLIENT_BODY = "client_body_timeout"  # a request body must keep moving
    SEND = "send_timeout"  # the client must keep taking our output
    KEEPALIVE = "keepalive_timeout"  # how long an idle connection is kept
    # A stopping worker waits this briefly (never longer than keepalive_timeout)
    # for a request that may already be on its way; not an nginx directive.
    DRAIN = "drain"


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
    protocol: ListenProtocol
    virtual_hosts: VirtualHosts
    default_site: SiteSettings
    settings: ConnectionSettings
    # One entry per site; SiteSettings hashes once (http/router.py), so the
    # per-request lookup is cheap.
    access_logs: dict[SiteSettings, AccessLog | None]
    # True when one of those logs writes $request_time: sessions then note when
    # each request began (a clock read the plain hot path does not otherwise pay).
    times_requests: bool = False
    new_tls: Callable[..., TLSConnection] | None = None
    error_log: ErrorLog = field(default_factory=lambda: ErrorLog("stderr"))
    # `serve --trace`: each TLS connection's diagram (tls/trace.py) goes here
    # when it closes.  Off by default: tracing keeps every record of a connection.
    trace_output: Callable[[str], None] | None = None
    # Where the `listen` directive is written, for messages such as a port in use.
    position: Position | None = None
    # The command that makes a browser trust our root (`serve DIR` prints it);
    # the log repeats it when a client rejects our certificate.
    trust_command: str | None = None
    # `tls_trace on;` (TLS listeners only): the kept traces and the /_tls/ pages.
    trace_pages: TraceStore | None = None

    @property
    def scheme(self) -> str:
        return "http" if self.protocol is ListenProtocol.PLAIN else "https"
