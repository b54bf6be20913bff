"""A running server: bind the listeners a config names, then run the event loop.

Rules this module keeps:
- Everything that can fail because of the config (a certificate that does
  not parse, a port in use) fails here, before the first connection is
  accepted, with a message naming what to fix.
- The loop's clock, randomness and logs are set up here, at the edge, and
  passed down; nothing below reads them from the environment.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from tls_web_server.config import Config
from tls_web_server.tcp.loop import EventLoop
from tls_web_server.tcp.pipeline import (
    ListenerSpec,
    LogFiles,
    TLS13Engine,
    build_listener_specs,
    our_tls13_engine,
)
from tls_web_server.tls.keylog import KeyLogFile
from tls_web_server.tls.tls13.tickets import TicketKey

LISTEN_BACKLOG = 1024
PROTOCOL_LABELS = {"plain": "plain", "toytls": "toytls", "ssl": "TLSv1.3"}


class ServerStartError(Exception):
    """The server cannot start (an address in use, a permission denied)."""


@dataclass(frozen=True)
class BoundListener:
    spec: ListenerSpec
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.spec.scheme}://{host}:{self.port}"

    def describe(self) -> str:
        return f"listening on {self.url} ({PROTOCOL_LABELS[self.spec.protocol]})"


class Server:
    """Listeners from a Config, served by one event loop.  Raises ConfigError early."""

    def __init__(self, config: Config, *, tls13_engine: TLS13Engine | None = None) -> None:
        self.config = config
        self.logs = LogFiles()
        if tls13_engine is None:
            # One ticket key for the whole server, so any listener resumes any ticket.
            keylog_path = os.environ.get("SSLKEYLOGFILE")
            tls13_engine = our_tls13_engine(
                ticket_key=TicketKey.generate(os.urandom),
                keylog=KeyLogFile(keylog_path) if keylog_path else None,
            )
        self.specs = build_listener_specs(config, self.logs, tls13_engine=tls13_engine)
        self.loop = EventLoop(
            max_connections=config.worker_connections,
            error_log=self.logs.error(config.error_log),
        )
        self.loop.call_after_iteration(self.logs.flush)
        self.bound: list[BoundListener] = []

    def bind(self) -> list[BoundListener]:
        """Open every listening socket (port 0 picks a free one) and say where."""
        for spec in self.specs:
            family = socket.AF_INET6 if ":" in spec.address else socket.AF_INET
            try:
                sock = socket.create_server(
                    (spec.address, spec.port), family=family, backlog=LISTEN_BACKLOG
                )
            except OSError as error:
                for listener in self.loop.listeners:
                    listener.sock.close()
                raise ServerStartError(
                    f"cannot listen on {spec.address}:{spec.port}: {error.strerror or error}"
                ) from error
            self.loop.add_listener(sock, spec.on_accept)
            host, port = sock.getsockname()[:2]
            self.bound.append(BoundListener(spec, host, port))
        return self.bound

    def run(self, *, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            self.loop.install_signal_handlers()
        self.loop.run()

    def stop(self) -> None:
        """Graceful stop; safe from another thread."""
        self.loop.request_stop()


def run_server(
    config: Config, *, announce: Callable[[str], None] = print, install_signal_handlers=True
) -> None:
    server = Server(config)
    if install_signal_handlers:
        # Before the "listening on" lines: whoever reads them may signal at once.
        server.loop.install_signal_handlers()
    for bound in server.bind():
        announce(bound.describe())
    server.run(install_signal_handlers=False)
