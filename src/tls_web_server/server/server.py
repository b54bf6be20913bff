"""A running server: bind the listeners a config names, then run the event loop.

This module and its neighbours in server/ are the wiring: the one place where
the config, the sockets (tcp/), TLS (tls/) and HTTP (http/) meet.

Rules this module keeps:
- Everything that can fail because of the config (a certificate that does
  not parse, a port in use) fails here, before the first connection is
  accepted, with a message naming what to fix.
- The loop's clock, randomness and logs are set up here, at the edge, and
  passed down; nothing below reads them from the environment.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from tls_web_server.config import Config, ListenProtocol
from tls_web_server.server.accept import accept_connection
from tls_web_server.server.listeners import (
    TLS13Engine,
    build_listener_specs,
    new_ticket_secret,
    our_tls13_engine,
)
from tls_web_server.server.logs import LogFiles
from tls_web_server.server.settings import ListenerSpec
from tls_web_server.tcp.loop import EventLoop
from tls_web_server.tls.keylog import KeyLogFile

LISTEN_BACKLOG = 1024
PROTOCOL_LABELS = {
    ListenProtocol.PLAIN: "plain",
    ListenProtocol.TOYTLS: "toytls",
    ListenProtocol.SSL: "TLSv1.3",
}


class ServerStartError(Exception):
    """The server cannot start (an address in use, a permission denied)."""


@dataclass(frozen=True)
class BoundListener:
    spec: ListenerSpec
    host: str
    port: int
    sock: socket.socket

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.spec.scheme}://{host}:{self.port}"

    def describe(self) -> str:
        return f"listening on {self.url} ({PROTOCOL_LABELS[self.spec.protocol]})"

    def trace_pages_lines(self) -> list[str]:
        """With `tls_trace on;`: where the pages are, what they reveal, a warning off loopback."""
        pages = self.spec.trace_pages
        if pages is None:
            return []
        lines = [
            f"tls_trace on: {self.url}/_tls/this explains your own connection, "
            f"{self.url}/_tls/ lists the last {pages.keep}; these pages reveal the session "
            "secrets of past connections"
        ]
        try:
            loopback = ipaddress.ip_address(self.host.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            lines.append(
                f"warning: tls_trace is on for {self.host}, not a loopback address: anyone who "
                "reaches it can read the session secrets of the kept connections"
            )
        return lines


class Server:
    """Listeners from a Config, served by one event loop.  Raises ConfigError early.

    With worker processes (server/processes.py) the master builds one Server, binds
    it, and each forked worker serves the same sockets with a loop of its own.
    """

    def __init__(
        self,
        config: Config,
        *,
        tls13_engine: TLS13Engine | None = None,
        ticket_secret: bytes | None = None,
        trace_output: Callable[[str], None] | None = None,
        trust_command: str | None = None,
    ) -> None:
        self.config = config
        self.logs = LogFiles()
        if tls13_engine is None:
            # One ticket secret for the whole server (all listeners, all workers,
            # across reloads): every worker derives the same rotating ticket
            # keys from it, so any of them resumes any ticket.
            keylog_path = os.environ.get("SSLKEYLOGFILE")
            tls13_engine = our_tls13_engine(
                ticket_secret=ticket_secret or new_ticket_secret(),
                keylog=KeyLogFile(keylog_path) if keylog_path else None,
            )
        self.specs = build_listener_specs(
            config,
            self.logs,
            tls13_engine=tls13_engine,
            trace_output=trace_output,
            trust_command=trust_command,
        )
        self.loop = self._new_loop()
        self.bound: list[BoundListener] = []

    def _new_loop(self) -> EventLoop:
        loop = EventLoop(
            max_connections=self.config.worker_connections,
            error_log=self.logs.error(self.config.error_log),
        )
        loop.call_after_iteration(self.logs.flush)
        return loop

    def bind(self, reuse: dict[tuple, socket.socket] | None = None) -> list[BoundListener]:
        """Open every listening socket (port 0 picks a free one) and say where.

        `reuse` maps listen keys (see `listen_key`) to sockets already bound
        by an earlier configuration: a reload keeps them, so no connection
        attempt is refused while workers are replaced.
        """
        reuse = dict(reuse or {})
        for index, spec in enumerate(self.specs):
            sock = reuse.pop(listen_key(spec, index), None)
            if sock is None:
                sock = self._open_socket(spec)
            self.loop.add_listener(sock, partial(accept_connection, spec))
            host, port = sock.getsockname()[:2]
            self.bound.append(BoundListener(spec, host, port, sock))
        return self.bound

    def _open_socket(self, spec: ListenerSpec) -> socket.socket:
        family = socket.AF_INET6 if ":" in spec.address else socket.AF_INET
        try:
            return socket.create_server(
                (spec.address, spec.port), family=family, backlog=LISTEN_BACKLOG
            )
        except OSError as error:
            for listener in self.loop.listeners:
                listener.sock.close()
            reason = os.strerror(error.errno) if error.errno else str(error)
            reason = reason[:1].lower() + reason[1:]  # "address already in use"
            where = f"{spec.position.file}:{spec.position.line}: " if spec.position else ""
            raise ServerStartError(
                f"{where}cannot listen on {spec.address}:{spec.port}: {reason}"
            ) from error

    def sockets_by_key(self) -> dict[tuple, socket.socket]:
        return {listen_key(b.spec, index): b.sock for index, b in enumerate(self.bound)}

    def run(self, *, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            self.loop.install_signal_handlers()
        self.loop.run()

    def run_worker(self) -> None:
        """In a forked worker: a fresh loop (its own selector) on the inherited sockets."""
        inherited = self.loop
        self.loop = self._new_loop()
        for bound in self.bound:
            self.loop.add_listener(bound.sock, partial(accept_connection, bound.spec))
        inherited.selector.close()
        self.loop.install_signal_handlers()
        self.loop.run()

    def stop(self) -> None:
        """Graceful stop; safe from another thread."""
        self.loop.request_stop()


def listen_key(spec: ListenerSpec, index: int) -> tuple:
    """What identifies a listening socket across reloads (port 0: its position)."""
    return (spec.address, spec.port, index if spec.port == 0 else None)
