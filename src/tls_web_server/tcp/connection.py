"""One accepted socket: reading, an ordered output queue, back-pressure and closing manners.

Rules this module keeps:
- It is the only code that calls recv, send, sendfile, shutdown and close on a
  client socket.  It knows nothing of HTTP, TLS or the config: it moves bytes
  (and, for plain connections, file segments) for its `protocol` (the
  server's TLS transport or HTTP session, server/) and tells the protocol
  what happened, in the style of asyncio's transports.
- What it may ask of the event loop is `ConnectionHost`, and nothing more:
  the deadlines, the error log, which readiness events to watch, and that it
  has closed.  The loop, in turn, calls the `handle_*` methods, `abort` and
  `close`, and tells the protocol `stop_gracefully` when the server stops.
- One deadline at a time (a Timer in the loop's Deadlines, tcp/deadlines.py),
  set by the protocol with a reason of its own (an enum member) that comes
  back to it in `timed_out(reason)`.
- Output leaves in the order it was queued.  When more than HIGH_WATER bytes
  wait, the protocol is expected to stop producing and reading stops; once the
  queue falls under LOW_WATER, or empties, the protocol hears `output_drained()`.
- While output waits, the peer must keep taking it: each time the kernel
  accepts some, the deadline moves to the protocol's send timeout from now
  (`set_send_timeout`; nginx's send_timeout is "between two successive write
  operations").
- Closing is polite by default: flush what is queued, shut down our write
  side, then read and discard for a short while before closing.  A close with
  unread bytes in the kernel makes Linux send a TCP reset, and a reset can
  destroy a response or TLS alert the peer has not read yet.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
from collections import deque
from enum import Enum
from typing import Protocol

from tls_web_server.tcp.deadlines import Deadlines, Timer

READ_SIZE = 256 * 1024
HIGH_WATER = 256 * 1024  # queued output above which producers pause
LOW_WATER = 64 * 1024  # ... and below which they resume
LINGER_SECONDS = 2.0  # how long a closing connection keeps draining the peer's bytes
SENDFILE_CHUNK = 1 << 20

_DISCONNECT_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ETIMEDOUT}


class ConnectionProtocol(Protocol):
    """What a Connection tells the code above it (server/transport.py and server/http1.py)."""

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> None: ...

    def output_drained(self) -> None: ...

    def timed_out(self, reason: Enum) -> None:
        """The deadline set with `Connection.set_timeout(seconds, reason)` passed."""

    def stop_gracefully(self) -> None:
        """The server is stopping: finish what is in flight, then close."""

    def connection_lost(self) -> None: ...


class ErrorSink(Protocol):
    """Where a connection reports what went wrong (server/logs.py's ErrorLog is one)."""

    def write(self, level: str, message: str, *, peer: str | None = None) -> None: ...


class ConnectionHost(Protocol):
    """What a Connection may ask of the event loop that owns it (tcp/loop.py)."""

    @property
    def deadlines(self) -> Deadlines[Connection]: ...

    @property
    def error_log(self) -> ErrorSink: ...

    def watch(self, connection: Connection, events: int) -> None:
        """Wait for these selector events (0: none) on the connection's socket."""

    def connection_closed(self, connection: Connection) -> None:
        """The socket is closed; forget the connection."""


class ClosingTimeout(Enum):
    """The connection's own deadline, set while it closes (never seen by a protocol)."""

    LINGER = "linger"


class FileSegment:
    """Part of an open file still to be sent with sendfile (plain connections only)."""

    __slots__ = ("file", "offset", "remaining")

    def __init__(self, file, offset: int, length: int) -> None:
        self.file = file
        self.offset = offset
        self.remaining = length


class Connection:
    """One accepted socket, moving bytes for its protocol and telling it what happened."""

    __slots__ = (
        "_closing",
        "_deadlines",
        "_events",
        "_host",
        "_linger_until",
        "_output",
        "_output_size",
        "_paused",
        "_send_timeout",
        "_send_timeout_reason",
        "_shut_down",
        "_timer",
        "_was_over_high_water",
        "closed",
        "error_log",
        "fileno",
        "peer",
        "protocol",
        "sock",
    )

    def __init__(self, host: ConnectionHost, sock: socket.socket, peer: str) -> None:
        self._host = host
        self._deadlines = host.deadlines
        self.sock = sock
        self.fileno = sock.fileno()
        self.peer = peer
        self.protocol: ConnectionProtocol | None = None
        self.error_log: ErrorSink = host.error_log  # the listener's server block may name another
        self._output: deque[bytes | memoryview | FileSegment] = deque()
        self._output_size = 0
        self._events = 0
        self._paused = False
        self._closing = False  # close once the output queue is empty
        self._shut_down = False  # our write side is shut; only draining now
        self._linger_until = 0.0
        self._was_over_high_water = False
        self.closed = False
        self._timer: Timer[Connection] = Timer(self)  # filed in the loop's Deadlines
        # While output waits, each bit of progress restarts this timeout (set_send_timeout);
        # until a protocol sets one there is none.
        self._send_timeout = 0.0
        self._send_timeout_reason: Enum | None = None

    def start(self, protocol: ConnectionProtocol) -> None:
        self.protocol = protocol
        self._set_reading(True)

    # ----------------------------------------------------------------- state

    @property
    def output_size(self) -> int:
        """Bytes queued and not yet accepted by the kernel (file segments count in full)."""
        return self._output_size

    @property
    def is_closing(self) -> bool:
        return self._closing or self.closed

    @property
    def pending_timeout(self) -> Enum | None:
        """The reason of the armed timeout, or None when none is armed."""
        timer = self._timer
        return timer.reason if timer.deadline else None

    def set_timeout(self, seconds: float | None, reason: Enum) -> None:
        """Tell the protocol `timed_out(reason)` unless reset within `seconds`; None cancels."""
        if seconds is None:
            self._deadlines.cancel(self._timer)
        else:
            self._deadlines.start(self._timer, seconds, reason)

    def set_send_timeout(self, seconds: float, reason: Enum) -> None:
        """While output waits, the peer must take some every `seconds` (nginx's send_timeout)."""
        self._send_timeout = seconds
        self._send_timeout_reason = reason

    # ------------------------------------------------------- events from loop

    def handle_readable(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._lost(error)
            return
        if self._shut_down:
            # Lingering: the peer's bytes are read only to be thrown away.
            if not data:
                self._finish_close()
            return
        if not data:
            self._set_reading(False)
            if self.protocol is not None:
                self.protocol.eof_received()
            return
        if self.protocol is not None:
            self.protocol.data_received(data)

    def handle_writable(self) -> None:
        self._flush(notify=True)

    def handle_timeout(self) -> None:
        if self._shut_down:
            self._finish_close()
        elif self.protocol is not None:
            reason = self._timer.reason
            assert reason is not None  # a timer only expires once set
            self.protocol.timed_out(reason)
        else:
            self.abort()

    # ------------------------------------------------------ calls from above

    def write(self, data: bytes | memoryview) -> None:
        if self.closed or self._shut_down or not data:
            return
        output = self._output
        if output:
            output.append(data)  # behind queued output: it goes when the socket drains
            self._output_size += len(data)
            self._check_high_water()
            return
        # Nothing queued (a response on a keep-alive connection, nearly always):
        # send at once, and queue only what the kernel does not take.  The same
        # steps as _flush, without the queue round trip.
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as error:
            self._lost(error)
            return
        if sent == len(data):
            return
        rest = memoryview(data)[sent:]
        output.append(rest)
        self._output_size += len(rest)
        self._set_writing(True)
        if sent:
            self._restart_send_timeout()  # progress: the peer reads
        self._check_high_water()

    def write_head_and_file(self, head: bytes, file, offset: int, length: int) -> None:
        """A response head followed by a file range, with one attempt to send both."""
        if self.closed or self._shut_down:
            file.close()
            return
        output = self._output
        was_empty = not output
        output.append(head)
        self._output_size += len(head)
        if length > 0:
            output.append(FileSegment(file, offset, length))
            self._output_size += length
        else:
            file.close()
        if was_empty:
            self._flush()
        self._check_high_water()

    def pause_reading(self) -> None:
        self._paused = True
        self._set_reading(False)

    def resume_reading(self) -> None:
        if not self._paused and self._events & selectors.EVENT_READ:
            return  # already reading: called after every request, so no work here
        self._paused = False
        if not self._closing and not self.closed:
            self._set_reading(True)

    def close(self) -> None:
        """Flush the queue, shut down our side, drain the peer briefly, close."""
        if self.closed or self._closing:
            return
        self._closing = True
        if not self._output:
            self._start_linger()

    def abort(self) -> None:
        """Close at once, dropping anything queued."""
        if self.closed:
            return
        self.closed = True
        for item in self._output:
            if isinstance(item, FileSegment):
                item.file.close()
        self._output.clear()
        self._output_size = 0
        self._deadlines.cancel(self._timer)
        self._host.connection_closed(self)
        try:
            self.sock.close()
        except OSError:
            pass
        if self.protocol is not None:
            protocol, self.protocol = self.protocol, None
            protocol.connection_lost()

    # --------------------------------------------------------------- details

    def _check_high_water(self) -> None:
        if self._output_size > HIGH_WATER:
            self._was_over_high_water = True

    def _flush(self, notify: bool = False) -> None:
        """Send what the kernel takes; `notify` only from the loop, so a
        protocol's own write() never re-enters it through output_drained()."""
        output = self._output
        sock = self.sock
        size_before = self._output_size
        try:
            while output:
                item = output[0]
                if isinstance(item, FileSegment):
                    count = min(item.remaining, SENDFILE_CHUNK)
                    sent = os.sendfile(self.fileno, item.file.fileno(), item.offset, count)
                    if sent == 0:
                        # The file shrank after its length was announced: the
                        # response cannot be completed, only cut off.
                        self.error_log.write(
                            "error", "file shrank while being sent", peer=self.peer
                        )
                        self.abort()
                        return
                    item.offset += sent
                    item.remaining -= sent
                    self._output_size -= sent
                    if item.remaining == 0:
                        output.popleft()
                        item.file.close()
                    continue
                # More queued behind this chunk: MSG_MORE lets the kernel fill
                # whole segments (a response head followed by its sendfile body).
                flags = socket.MSG_MORE if len(output) > 1 else 0
                sent = sock.send(item, flags)
                self._output_size -= sent
                if sent == len(item):
                    output.popleft()
                else:
                    output[0] = memoryview(item)[sent:]
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as error:
            self._lost(error)
            return
        self._set_writing(bool(output))
        if not output and self._closing:
            self._start_linger()
            return
        if output and self._output_size < size_before:
            self._restart_send_timeout()  # progress: the peer reads
        if notify and (
            (self._was_over_high_water and self._output_size < LOW_WATER)
            or (not output and size_before)
        ):
            self._was_over_high_water = False
            if self.protocol is not None:
                self.protocol.output_drained()

    def _restart_send_timeout(self) -> None:
        if self._send_timeout_reason is not None:
            self._deadlines.start(self._timer, self._send_timeout, self._send_timeout_reason)

    def _start_linger(self) -> None:
        if self._shut_down or self.closed:
            return
        self._shut_down = True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._finish_close()
            return
        self._set_writing(False)
        self._set_reading(True)
        self._deadlines.start(self._timer, LINGER_SECONDS, ClosingTimeout.LINGER)

    def _finish_close(self) -> None:
        self.abort()

    def _lost(self, error: OSError) -> None:
        if error.errno not in _DISCONNECT_ERRNOS and self.protocol is not None:
            self.error_log.write("error", f"socket error: {error}", peer=self.peer)
        self.abort()

    def _set_reading(self, on: bool) -> None:
        if on and self._paused and not self._shut_down:
            on = False
        self._update_events(on, bool(self._events & selectors.EVENT_WRITE))

    def _set_writing(self, on: bool) -> None:
        self._update_events(bool(self._events & selectors.EVENT_READ), on)

    def _update_events(self, reading: bool, writing: bool) -> None:
        events = (selectors.EVENT_READ if reading else 0) | (
            selectors.EVENT_WRITE if writing else 0
        )
        if events != self._events and not self.closed:
            self._events = events
            self._host.watch(self, events)
