"""One benchmark server process for a TLS 1.3 listener: ours, or the same server over OpenSSL.

Both engines run the very same `Server` (same event loop, same HTTP code,
same static-file path); only the object under `tls13_engine` differs:

    ours      Server(config)                                  our RFC 8446 code
    openssl   Server(config, tls13_engine=openssl_engine)     Python's ssl module

so the ratio of the two measures what our TLS costs and nothing else.

Run as a child process (`python bench/tls13_server.py --engine ours -c CONF`),
it prints one "listening on ..." line per listener and serves until SIGTERM.
With `worker_processes N;` (N > 1) in the config and engine "ours", it runs
the master and N workers of server/processes.py instead (the scaling scenario;
the OpenSSL engine has no worker mode).
When our TLS 1.3 is not there yet, `Server(config)` refuses the `ssl`
listener with a ConfigError saying "not implemented yet": the child then
exits with NOT_AVAILABLE, and the parent reports "ours: not available".

`ServerProcess` is the parent's side: it starts the child pinned to a CPU,
reads the port, keeps the child's error log in a file, and stops it.

This module never measures anything by itself and never changes the server:
it only starts, watches and stops it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.openssl_engine import openssl_engine
from bench.peer_servers import stop_child
from tls_web_server.config import ConfigError, load_config
from tls_web_server.server.processes import run_server
from tls_web_server.server.server import Server, ServerStartError

ENGINES = ("ours", "openssl")
# Exit status of the child when the engine cannot serve `ssl` listeners yet.
NOT_AVAILABLE = 3
# The phrase Server(config) uses while our TLS 1.3 has not landed (server/listeners.py).
NOT_IMPLEMENTED_PHRASE = "not implemented yet"
STARTUP_TIMEOUT_SECONDS = 30.0


class EngineNotAvailable(Exception):
    """The requested TLS 1.3 engine cannot serve `ssl` listeners (ours has not landed yet)."""


class ServerProcessError(Exception):
    """The benchmark server did not start."""


# ---------------------------------------------------------------------------
# the child
# ---------------------------------------------------------------------------


def serve(config_path: Path, engine: str) -> int:
    """Serve `config_path` with the named TLS 1.3 engine until SIGTERM; the process exit status."""
    try:
        config = load_config(config_path)
        if engine == "ours" and config.worker_processes != 1:
            # A master and worker processes sharing the sockets (server/processes.py),
            # for the scaling scenario; it prints its own "listening on" lines.
            announce = lambda line: print(line, flush=True)  # noqa: E731 - a pipe buffers
            run_server(config, announce=announce, config_path=config_path)
            return 0
        server = Server(config, tls13_engine=openssl_engine if engine == "openssl" else None)
        bound = server.bind()
    except ConfigError as error:
        print(f"tls13_server: {error}", file=sys.stderr, flush=True)
        return NOT_AVAILABLE if NOT_IMPLEMENTED_PHRASE in str(error) else 2
    except ServerStartError as error:
        print(f"tls13_server: {error}", file=sys.stderr, flush=True)
        return 1
    for listener in bound:
        print(listener.describe(), flush=True)
    server.run()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="a benchmark server for one TLS 1.3 engine")
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("-c", "--config", type=Path, required=True)
    args = parser.parse_args()
    return serve(args.config, args.engine)


# ---------------------------------------------------------------------------
# the parent
# ---------------------------------------------------------------------------


class ServerProcess:
    """`bench/tls13_server.py` as a child pinned to `cpu`; a context manager.

    The child's stderr (its error log, since the benchmark config leaves
    error_log at stderr) goes to `log_path`, not a pipe: a pipe nobody reads
    would fill up and stall the server in the middle of a measurement.
    """

    def __init__(self, config: Path, engine: str, *, cpu: int, log_path: Path) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.config = config
        self.engine = engine
        self.cpu = cpu
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        cpus = {self.cpu}
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--engine", self.engine, "-c", str(self.config)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=lambda: os.sched_setaffinity(0, cpus),
            )
        stdout = self.process.stdout
        if stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
            raise ServerProcessError("no pipe to the server's stdout")
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            line = stdout.readline()
            if line.startswith("listening on "):
                # "listening on https://127.0.0.1:PORT (TLSv1.3)"
                self.port = int(line.split()[2].rsplit(":", 1)[1])
                return self
            if not line:  # EOF: the child exited before listening
                break
        status = self.stop()
        reason = " ".join(self.error_log_lines()).strip()
        if status == NOT_AVAILABLE:
            raise EngineNotAvailable(reason)
        raise ServerProcessError(
            f"the {self.engine} server did not start (status {status}): {reason}"
        )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerProcessError("the server is not running")
        return self.process.pid

    def error_log_lines(self) -> list[str]:
        """What the server wrote to its error log (its stderr) so far."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def stop(self) -> int:
        """Graceful stop (SIGTERM), then kill if it hangs; the exit status."""
        process, self.process = self.process, None
        return stop_child(process) if process is not None else -1

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    raise SystemExit(main())
