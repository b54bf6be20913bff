"""The event loop: listening sockets, readiness, timeouts, the connection cap and graceful stop.

Rules this module keeps:
- One thread, one `selectors` selector, non-blocking sockets everywhere.  A
  slow or hostile client can only ever cost its own connection.
- It never looks inside the bytes and knows nothing of TLS, HTTP or the
  config.  Accepting a socket hands it to the listener's `on_accept` (the
  server's wiring, server/accept.py, builds the connection's protocol);
  readiness is passed to the Connection (tcp/connection.py).
- A connection asks the loop only for what `ConnectionHost` names; the loop
  calls only the connection's `handle_*` methods, `abort`, `close`, and its
  protocol's `stop_gracefully`.
- An exception raised while handling one connection is logged and closes that
  connection only; the loop and every other connection carry on.
- Timeouts live in one `Deadlines` heap (tcp/deadlines.py): one entry per
  connection, not one per reset.
"""

from __future__ import annotations

import selectors
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from tls_web_server.tcp.connection import Connection, ErrorSink
from tls_web_server.tcp.deadlines import Deadlines

STOP_GRACE_SECONDS = 10.0  # how long in-flight responses may take to finish on shutdown
ACCEPTS_PER_WAKEUP = 64  # accept in batches, but let established connections run in between


@dataclass
class Listener:
    sock: socket.socket
    on_accept: Callable[[EventLoop, socket.socket, str], None]
    address: str
    port: int


class EventLoop:
    """One thread's selector loop; it is the `ConnectionHost` of its connections."""

    def __init__(self, *, error_log: ErrorSink, max_connections: int = 512) -> None:
        self.selector = selectors.DefaultSelector()
        self.max_connections = max_connections
        self.error_log = error_log
        self.connections: set[Connection] = set()
        self.listeners: list[Listener] = []
        self.deadlines: Deadlines[Connection] = Deadlines(time.monotonic())
        self._accepting = False
        self._stopping = False
        self._stop_deadline = 0.0
        self._running = False
        self._stop_requested_elsewhere = False
        self._after_iteration: list[Callable[[], None]] = []
        # A socket pair wakes the selector for signals and for stop requests
        # from other threads (tests run servers in threads).
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        self._wakeup_reader.setblocking(False)
        self._wakeup_writer.setblocking(False)
        self.selector.register(self._wakeup_reader, selectors.EVENT_READ, None)

    # ------------------------------------------------------------ listeners

    def add_listener(
        self,
        sock: socket.socket,
        on_accept: Callable[[EventLoop, socket.socket, str], None],
    ) -> Listener:
        sock.setblocking(False)
        address, port = sock.getsockname()[:2]
        listener = Listener(sock, on_accept, address, port)
        self.listeners.append(listener)
        self.selector.register(sock, selectors.EVENT_READ, listener)
        self._accepting = True
        return listener

    def _set_accepting(self, accepting: bool) -> None:
        if accepting == self._accepting or self._stopping:
            return
        self._accepting = accepting
        for listener in self.listeners:
            if accepting:
                self.selector.register(listener.sock, selectors.EVENT_READ, listener)
            else:
                self.selector.unregister(listener.sock)

    def _accept(self, listener: Listener) -> None:
        for _ in range(ACCEPTS_PER_WAKEUP):
            if len(self.connections) >= self.max_connections:
                # worker_connections reached: leave the rest in the kernel's
                # backlog until a connection closes.
                self._set_accepting(False)
                return
            try:
                sock, address = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # EMFILE and friends: log, keep serving the others
                self.log_error(f"accept failed: {error}")
                return
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = address[0] if isinstance(address, tuple) else str(address)
            try:
                listener.on_accept(self, sock, peer)
            except Exception as error:
                self.log_error(f"could not set up connection: {error!r}", peer=peer)
                sock.close()

    # ----------------------------------------------------------- connections

    def new_connection(self, sock: socket.socket, peer: str) -> Connection:
        connection = Connection(self, sock, peer)
        self.connections.add(connection)
        return connection

    # ConnectionHost: what a Connection may ask of the loop (tcp/connection.py).

    def watch(self, connection: Connection, events: int) -> None:
        registered = connection.fileno in self.selector.get_map()
        if events == 0:
            if registered:
                self.selector.unregister(connection.fileno)
        elif registered:
            self.selector.modify(connection.fileno, events, connection)
        else:
            self.selector.register(connection.fileno, events, connection)

    def connection_closed(self, connection: Connection) -> None:
        if connection.fileno in self.selector.get_map():
            self.selector.unregister(connection.fileno)
        self.connections.discard(connection)
        if not self._accepting and len(self.connections) < self.max_connections:
            self._set_accepting(True)

    def _fire_deadlines(self) -> None:
        if not self.deadlines.any_due():  # most iterations: no generator to start
            return
        for timer in self.deadlines.expired():
            connection = timer.owner
            if not connection.closed:
                self._guarded(connection, connection.handle_timeout)

    # -------------------------------------------------------------- running

    def call_after_iteration(self, callback: Callable[[], None]) -> None:
        """Run `callback` at the end of every loop iteration (log flushing)."""
        self._after_iteration.append(callback)

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM stop the server gracefully (main thread only)."""
        signal.set_wakeup_fd(self._wakeup_writer.fileno(), warn_on_full_buffer=False)
        for signum in (signal.SIGINT, signal.SIGTERM):
            # The handler only sets a flag and wakes the selector; the stop
            # itself runs between iterations, never in the middle of one.
            signal.signal(signum, lambda _signum, _frame: self.request_stop())

    def request_stop(self) -> None:
        """Ask the loop to stop gracefully; safe to call from another thread."""
        self._stop_requested_elsewhere = True
        try:
            self._wakeup_writer.send(b"\0")
        except OSError:
            pass

    def run(self) -> None:
        self._running = True
        try:
            while True:
                events = self.selector.select(self.deadlines.seconds_until_next(1.0))
                self.deadlines.now = time.monotonic()
                for key, mask in events:
                    target = key.data
                    if target is None:
                        self._drain_wakeups()
                    elif isinstance(target, Listener):
                        if self._accepting:  # a stop earlier in this batch closed it
                            self._accept(target)
                    else:
                        self._dispatch(target, mask)
                self._fire_deadlines()
                for callback in self._after_iteration:
                    callback()
                if self._stopping and (
                    not self.connections or self.deadlines.now >= self._stop_deadline
                ):
                    break
        finally:
            self._running = False
            for connection in list(self.connections):
                connection.abort()
            for listener in self.listeners:
                listener.sock.close()
            for callback in self._after_iteration:
                callback()

    def _dispatch(self, connection: Connection, mask: int) -> None:
        # The same guard as _guarded, written out: this runs for every request,
        # and a bound method plus a call per handler is measurable there.
        try:
            if mask & selectors.EVENT_READ and not connection.closed:
                connection.handle_readable()
            if mask & selectors.EVENT_WRITE and not connection.closed:
                connection.handle_writable()
        except Exception as error:
            self._internal_error(connection, error)

    def _guarded(self, connection: Connection, handler: Callable[[], None]) -> None:
        try:
            handler()
        except Exception as error:
            self._internal_error(connection, error)

    def _internal_error(self, connection: Connection, error: Exception) -> None:
        connection.error_log.write(
            "error", f"internal error, closing connection: {error!r}", peer=connection.peer
        )
        connection.abort()

    def _drain_wakeups(self) -> None:
        try:
            while self._wakeup_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        if self._stop_requested_elsewhere:
            self._begin_stop()

    def _begin_stop(self) -> None:
        """Stop accepting; each protocol finishes what is in flight and closes (stop_gracefully).

        An HTTP session also answers a request already on its way on an idle
        connection (server/http1.py); STOP_GRACE_SECONDS bounds it all.
        """
        if self._stopping:
            return
        self._set_accepting(False)
        self._stopping = True
        self._stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
        for listener in self.listeners:
            if listener.sock.fileno() in self.selector.get_map():
                self.selector.unregister(listener.sock)
            listener.sock.close()
        for connection in list(self.connections):
            protocol = connection.protocol
            if protocol is None:
                connection.close()
            else:
                self._guarded(connection, protocol.stop_gracefully)

    def log_error(self, message: str, *, peer: str | None = None, level: str = "error") -> None:
        self.error_log.write(level, message, peer=peer)
