"""Running a server: in this process, or as a master with worker processes (nginx's model).

    worker_processes 1;      one process: the event loop runs here (the default)
    worker_processes 4;      a master binds the listeners and forks 4 workers
    worker_processes auto;   one worker per CPU

The master never serves a request.  It binds every listening socket and
loads every certificate *before* forking, so a mistake is reported once and
the workers share the sockets (the kernel hands each new connection to one
worker blocked in accept) and the session-ticket secret (each worker derives
the same rotating keys from it, so a ticket from one worker resumes on any
other, and a reload keeps it).  Then it only watches:

- a worker that dies is replaced;
- SIGTERM / SIGINT: each worker stops accepting, finishes what it is
  sending, answers the request that may already be on its way on each
  connection (with `Connection: close`, server/http1.py), and exits; then
  the master exits 0;
- SIGHUP: the config file and certificates are read again; new workers start
  on the same sockets (no connection attempt is refused) and the old ones
  finish their in-flight responses and exit.  A config that does not load
  is logged and the old workers keep serving.

Rules this module keeps: fork only from the master, which has no threads and
no connections; workers never touch the master's state; every child is
reaped.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tls_web_server.config import Config, ConfigError, load_config
from tls_web_server.server.listeners import new_ticket_secret
from tls_web_server.server.logs import ErrorLog
from tls_web_server.server.server import Server, ServerStartError

WORKER_STOP_SECONDS = 20.0  # after this, a worker that has not finished is killed
MASTER_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)
RESTART_PAUSE_SECONDS = (
    1.0  # a worker that dies this soon after starting is restarted only after a pause
)


def run_server(
    config: Config,
    *,
    announce: Callable[[str], None] = print,
    install_signal_handlers: bool = True,
    config_path: Path | None = None,
    trace_output: Callable[[str], None] | None = None,
    trust_command: str | None = None,
) -> None:
    """Serve `config` until SIGINT/SIGTERM: in this process, or with worker processes.

    `trace_output` receives the diagram of every TLS connection (`serve --trace`);
    `trust_command` is named in the log when a client rejects our certificate.
    """
    raise_open_file_limit(config.worker_connections)
    if config.worker_processes != 1:
        Master(
            config,
            config_path=config_path,
            announce=announce,
            trace_output=trace_output,
            trust_command=trust_command,
        ).run()
        return
    server = Server(config, trace_output=trace_output, trust_command=trust_command)
    if install_signal_handlers:
        # Before the "listening on" lines: whoever reads them may signal at once.
        server.loop.install_signal_handlers()
    for bound in server.bind():
        announce(bound.describe())
        for line in bound.trace_pages_lines():
            announce(line)
    server.run(install_signal_handlers=False)
    if install_signal_handlers:
        # The graceful stop has run its course and the process is about to exit
        # 0.  Python puts the default handlers back as the interpreter exits,
        # and a second SIGTERM in that moment would kill it: ignore it instead.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def raise_open_file_limit(connections: int) -> None:
    """Allow enough descriptors for worker_connections (each may hold a socket and a file).

    Like nginx's worker_rlimit_nofile, but automatic: the soft limit is raised
    as far as the hard limit allows.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if ceiling > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


def worker_count(config: Config) -> int:
    return config.worker_processes or os.cpu_count() or 1


class Master:
    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None = None,
        announce: Callable[[str], None] = print,
        trace_output: Callable[[str], None] | None = None,
        trust_command: str | None = None,
    ) -> None:
        self.config = config
        self.trace_output = trace_output
        self.trust_command = trust_command
        self.config_path = Path(config_path or config.path).resolve()
        self.announce = announce
        # The ticket keys' secret: every worker derives the same keys, and a reload keeps it.
        self.ticket_secret = new_ticket_secret()
        self.server = Server(
            config,
            ticket_secret=self.ticket_secret,
            trace_output=trace_output,
            trust_command=trust_command,
        )
        self.error_log = ErrorLog(config.error_log)
        self.workers: dict[int, tuple[int, float]] = {}  # pid -> (generation, started at)
        self.generation = 0
        self._signals: list[int] = []
        self._stopping = False

    # ------------------------------------------------------------------ run

    def run(self) -> None:
        wakeup_reader, wakeup_writer = socket.socketpair()
        wakeup_reader.setblocking(False)
        wakeup_writer.setblocking(False)
        signal.set_wakeup_fd(wakeup_writer.fileno(), warn_on_full_buffer=False)
        for signum in MASTER_SIGNALS:
            signal.signal(signum, self._remember_signal)
        for bound in self.server.bind():
            self.announce(bound.describe())
            for line in bound.trace_pages_lines():
                self.announce(line)
        self._log("notice", f"master started {worker_count(self.config)} worker processes")
        self._start_workers()
        try:
            while self.workers or not self._stopping:
                select.select([wakeup_reader], [], [], 1.0)
                try:
                    while wakeup_reader.recv(512):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
                self._handle_signals()
                self._reap_workers()
                if self._stopping:
                    self._kill_late_workers()
        finally:
            signal.set_wakeup_fd(-1)
            wakeup_reader.close()
            wakeup_writer.close()
        self._log("notice", "master exiting")
        self.error_log.flush()

    def _remember_signal(self, signum: int, _frame) -> None:
        self._signals.append(signum)

    def _handle_signals(self) -> None:
        while self._signals:
            signum = self._signals.pop(0)
            if signum in (signal.SIGINT, signal.SIGTERM) and not self._stopping:
                self._stopping = True
                self._stop_deadline = time.monotonic() + WORKER_STOP_SECONDS
                self._signal_workers(signal.SIGTERM, list(self.workers))
            elif signum == signal.SIGHUP and not self._stopping:
                self._reload()

    # -------------------------------------------------------------- workers

    def _start_workers(self) -> None:
        self.generation += 1
        for _ in range(worker_count(self.config)):
            self._spawn()

    def _spawn(self) -> None:
        # Signals wait while we fork: a SIGTERM sent to the new worker before it
        # has dropped the master's handler would only be noted in the worker's
        # copy of the master's list, and lost; that worker would never stop.
        signal.pthread_sigmask(signal.SIG_BLOCK, MASTER_SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)
            raise
        if pid == 0:  # the worker
            code = 0
            try:
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(signum, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the master reloads, not us
                signal.set_wakeup_fd(-1)
                # A stop that came early now stops this worker (it serves nobody yet).
                signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)
                self.server.run_worker()
            except BaseException as error:  # a worker must never return into the master's code
                code = 1
                try:
                    self._log("alert", f"worker crashed: {error!r}")
                    self.error_log.flush()
                except Exception:  # even logging failed: the exit status still tells
                    pass
            finally:
                os._exit(code)
        self.workers[pid] = (self.generation, time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)

    def _reap_workers(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.workers.clear()
                return
            if pid == 0:
                return
            generation, started = self.workers.pop(pid, (None, 0.0))
            if generation is None:
                continue
            if self._stopping or generation != self.generation:
                continue  # stopped on purpose
            how = _describe_exit(status)
            self._log("alert", f"worker process {pid} {how}; starting a new one")
            if time.monotonic() - started < RESTART_PAUSE_SECONDS:
                time.sleep(RESTART_PAUSE_SECONDS)  # do not spin on a worker that cannot start
            self._spawn()

    def _signal_workers(self, signum: int, pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _kill_late_workers(self) -> None:
        if time.monotonic() > self._stop_deadline:
            self._signal_workers(signal.SIGKILL, list(self.workers))

    # --------------------------------------------------------------- reload

    def _reload(self) -> None:
        """SIGHUP: new config and certificates, new workers; old ones finish and exit."""
        self._log("notice", f"reloading {self.config_path}")
        try:
            config = load_config(self.config_path)
            server = Server(
                config,
                ticket_secret=self.ticket_secret,
                trace_output=self.trace_output,
                trust_command=self.trust_command,
            )
            old_sockets = self.server.sockets_by_key()
            server.bind(reuse=old_sockets)
        except (ConfigError, ServerStartError, OSError) as error:
            self._log("error", f"reload failed, keeping the running configuration: {error}")
            return
        kept = {bound.sock.fileno() for bound in server.bound}
        for sock in old_sockets.values():
            if sock.fileno() not in kept:
                sock.close()  # the old workers hold their own copy until they exit
        old_workers = list(self.workers)
        self.config, self.server = config, server
        self._start_workers()
        self._signal_workers(signal.SIGTERM, old_workers)
        self._log("notice", "reloaded: new workers started, old ones finishing")

    def _log(self, level: str, message: str) -> None:
        self.error_log.write(level, message)
        self.error_log.flush()


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.WEXITSTATUS(status)}"
