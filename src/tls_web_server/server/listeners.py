"""From the config to listeners: which sockets to open, and what each connection gets.

`build_listener_specs` groups the server blocks' `listen` directives by
address and port (nginx's rule: the first server block, or the one marked
default_server, answers requests for unknown names) and gives each listener
its sites, its per-connection limits (from the default server, as nginx
does), its logs, and for a TLS listener the factory that makes one TLS
object per accepted connection: toytls, or TLS 1.3 from a `TLS13Engine`.

The TLS 1.3 server offers, by ALPN, the protocols that have a session
(server/accept.py's SESSIONS): "h2" then "http/1.1" where the default
server says `http2 on` (or a `listen ... http2` of the address does, the
older spelling), "http/1.1" alone otherwise.

What this module must never do: touch a socket (server/server.py binds them)
or read a byte from a client (server/transport.py and server/http1.py do).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from tls_web_server.config import (
    Config,
    ConfigError,
    Listen,
    ListenProtocol,
    Position,
    ServerConfig,
)
from tls_web_server.http.parser import HttpLimits
from tls_web_server.http.router import LocationSettings, SiteSettings, VirtualHosts
from tls_web_server.http2.limits import Http2Limits
from tls_web_server.server.accept import offered_protocols
from tls_web_server.server.logs import AccessLog, LogFiles
from tls_web_server.server.settings import ConnectionSettings, ListenerSpec
from tls_web_server.server.trace_pages import TraceStore
from tls_web_server.tls import pki
from tls_web_server.tls.api import Observer, TLSConnection
from tls_web_server.tls.tls13 import negotiation
from tls_web_server.tls.tls13.client_authentication import ClientAuthentication, ClientVerifyMode
from tls_web_server.tls.tls13.enums import CipherSuite, NamedGroup
from tls_web_server.tls.tls13.server import ServerSettings, TLS13ServerConnection
from tls_web_server.tls.tls13.tickets import (
    SECRET_LENGTH,
    RotatingTicketKeys,
    TicketKey,
    TicketKeyRing,
    TicketSealer,
)
from tls_web_server.tls.toy.server import ToyTLSServerConnection


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


def http2_limits(server: ServerConfig) -> Http2Limits:
    """HTTP/2's limits from nginx's directives.

    As nginx (1.19.7+), large_client_header_buffers NUMBER SIZE bounds each
    header field of a request at SIZE bytes (one buffer) and its whole header
    section at NUMBER x SIZE (advertised as SETTINGS_MAX_HEADER_LIST_SIZE);
    more is answered 431.
    """
    number, size = server.large_client_header_buffers
    return Http2Limits(
        max_concurrent_streams=server.http2_max_concurrent_streams,
        max_field_section_size=number * size,
        max_field_size=size,
        # The CONTINUATION-flood bound follows the decoded one (limits.py says why 4x).
        max_header_block_bytes=4 * number * size,
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


def client_authentication(server: ServerConfig) -> ClientAuthentication | None:
    """ssl_verify_client and its CA files, for a TLS 1.3 server; None when it is off.

    Both CA files are trusted; only ssl_client_certificate's names are sent to
    clients in the CertificateRequest (nginx's meaning).  With mutual TLS the
    server issues no tickets (tls13/server.py says why).
    """
    verification = server.client_verification
    if not verification.requested:
        return None
    roots: list[pki.Certificate] = []
    advertised: tuple[pki.Certificate, ...] = ()
    for name in ("ssl_client_certificate", "ssl_trusted_certificate"):
        path = getattr(verification, name.removeprefix("ssl_"))
        if path is None:
            continue
        try:
            loaded = pki.load_trusted_roots(path)
        except pki.PkiError as error:
            position = server.directive_positions.get(name, server.position)
            raise ConfigError(str(error), position) from error
        roots.extend(loaded)
        if name == "ssl_client_certificate":
            advertised = loaded
    return ClientAuthentication(
        mode=ClientVerifyMode(verification.mode),
        trusted_roots=tuple(roots),
        authority_names=pki.certificate_subjects_der(advertised),
        max_intermediates=verification.depth,
    )


def key_exchange_groups(server: ServerConfig) -> tuple[NamedGroup, ...]:
    """ssl_ecdh_curve as groups; `auto` (None) is the TLS layer's own preference."""
    if server.ssl_ecdh_curve is None:
        # The TLS layer's preference: the post-quantum hybrids first.
        return negotiation.DEFAULT_GROUPS
    return tuple(NamedGroup[name] for name in server.ssl_ecdh_curve)


# Builds the TLS 1.3 connection factory of one listener from the server blocks
# sharing it (the default server first).  The factory takes an optional
# `observer=` (used only by `serve --trace`).  Tests and benchmarks may plug in
# another engine (bench/ compares ours with OpenSSL's through this hook).
TLS13Engine = Callable[[list[ServerConfig]], Callable[..., TLSConnection]]


def ticket_keys(server: ServerConfig, ticket_secret: bytes) -> TicketSealer | None:
    """The server block's session ticket keys: none, the operator's files, or our rotation.

    `ticket_secret` is made once per server (the master's, kept across
    reloads): every worker derives the same rotating keys from it.
    """
    if not server.ssl_session_tickets:
        return None
    if not server.ssl_session_ticket_key:
        period = server.ssl_session_ticket_key_rotation
        if period <= 0:
            position = server.directive_positions.get(
                "ssl_session_ticket_key_rotation", server.position
            )
            raise ConfigError("ssl_session_ticket_key_rotation must be longer than 0", position)
        return RotatingTicketKeys(ticket_secret, period, time.time)
    keys = []
    position = server.directive_positions.get("ssl_session_ticket_key", server.position)
    for path in server.ssl_session_ticket_key:
        try:
            keys.append(TicketKey.from_nginx_key_file(path.read_bytes()))
        except (OSError, ValueError) as error:
            raise ConfigError(f"session ticket key file '{path}': {error}", position) from None
    return TicketKeyRing(keys)


def new_ticket_secret(random_bytes: Callable[[int], bytes] = os.urandom) -> bytes:
    """The secret a server's rotating ticket keys derive from (never logged, never written)."""
    return random_bytes(SECRET_LENGTH)


def our_tls13_engine(
    *,
    ticket_secret: bytes,
    random_bytes: Callable[[int], bytes] = os.urandom,
    keylog: Callable[[str], None] | None = None,
) -> TLS13Engine:
    """Our own TLS 1.3 (tls/tls13/): one ServerSettings per listener, shared by its connections."""

    def engine(servers: list[ServerConfig]) -> Callable[..., TLSConnection]:
        default = servers[0]
        # A server block is known by where it starts in the config file.
        credentials = {server.position: load_credentials(server) for server in servers}
        by_name: dict[str, pki.ServerCredentials] = {}
        for server in servers:
            for name in server.server_names:
                by_name.setdefault(name, credentials[server.position])
        settings = ServerSettings(
            credentials=credentials[default.position],
            credentials_by_name=by_name,
            cipher_suites=tuple(CipherSuite[name] for name in default.ssl_ciphers),
            groups=key_exchange_groups(default),
            ticket_key=ticket_keys(default, ticket_secret),
            application_protocols=tuple(
                name.encode("ascii") for name in offered_protocols(default.http2)
            ),
            client_authentication=client_authentication(default),
            certificate_compression=default.ssl_certificate_compression,
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
    trust_command: str | None = None,
) -> list[ListenerSpec]:
    """Group the servers' `listen` directives by address:port into listener specs."""
    groups: dict[tuple[str, int, Position | None], list[tuple[ServerConfig, Listen]]] = {}
    for server in config.servers:
        for listen in server.listens:
            # Port 0 means "any free port": each such listen is a listener of its
            # own, known by where it is written.
            key = (listen.address, listen.port, listen.position if listen.port == 0 else None)
            groups.setdefault(key, []).append((server, listen))

    specs = []
    # A server block is known by where it starts in the config file.
    credentials_cache: dict[Position, pki.ServerCredentials] = {}
    # `tls_trace on;`: one store per server block, shared by its TLS listeners.
    trace_stores: dict[Position, TraceStore] = {}
    for (address, port, _), members in groups.items():
        protocol = members[0][1].protocol
        default_server = next(
            (server for server, listen in members if listen.default_server), members[0][0]
        )
        sites = {server.position: site_settings(server) for server, _ in members}
        default_site = sites[default_server.position]
        # Sites are keys by value: two server blocks with the same names and
        # locations are one site, and as with a name two sites claim
        # (http/router.py), the first block's access log is the one written.
        access_logs: dict[SiteSettings, AccessLog | None] = {}
        for server, _ in members:
            access_logs.setdefault(
                sites[server.position],
                logs.access(server.access_log, server.access_log_format),
            )
        new_tls = None
        if protocol is ListenProtocol.TOYTLS:
            if default_server.position not in credentials_cache:
                credentials_cache[default_server.position] = load_credentials(default_server)
            credentials = credentials_cache[default_server.position]

            def new_tls(credentials=credentials, observer: Observer | None = None):
                return ToyTLSServerConnection(
                    credentials, random_bytes=random_bytes, observer=observer
                )

        # `http2 on` in the default server, or `listen ... http2` on this address:port
        # (nginx's older spelling, which applies to the whole address).  Only TLS 1.3
        # offers it: ALPN is how a client asks (we do not speak h2c).
        http2 = protocol is ListenProtocol.SSL and (
            default_server.http2 or any(listen.http2 for _, listen in members)
        )
        if protocol is ListenProtocol.SSL:
            members_default_first = [dataclasses.replace(default_server, http2=http2)] + [
                server for server, _ in members if server is not default_server
            ]
            if tls13_engine is None:
                tls13_engine = our_tls13_engine(ticket_secret=new_ticket_secret(random_bytes))
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
                times_requests=any(log.times_requests for log in access_logs.values() if log),
                new_tls=new_tls,
                error_log=logs.error(default_server.error_log),
                trace_output=trace_output if new_tls is not None else None,
                position=members[0][1].position,
                trust_command=trust_command if new_tls is not None else None,
                trace_pages=_trace_store(default_server, trace_stores) if new_tls else None,
                http2=http2_limits(default_server) if http2 else None,
            )
        )
    return specs


def _trace_store(server: ServerConfig, stores: dict[Position, TraceStore]) -> TraceStore | None:
    """The server block's kept traces when it says `tls_trace on;` (TLS listeners only)."""
    if not server.tls_trace:
        return None
    if server.position not in stores:
        stores[server.position] = TraceStore(keep=server.tls_trace_connections)
    return stores[server.position]
