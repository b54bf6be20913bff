"""Worker scaling: our server with `worker_processes 1;` and `2;`, full TLS 1.3 handshakes/s.

Unlike every other scenario, nothing is pinned: neither the server (the
master and its workers may run on any core, as they would in production)
nor the load generator (bench/handshake_load.py, the replayed ClientHello).
On a two-core machine the load generator therefore takes part of the cores
the two workers would like to have; the run measures how much, so that the
report can say what two workers would do with the load generator on
another machine:

    projected = rate with 2 workers / (the workers' CPU, in cores) x 2 cores

which assumes a handshake costs a worker the same CPU time whoever else
runs on the machine (CPU-bound work, no lock between workers: they share
nothing but the listening socket and the ticket key).

How evenly are connections spread over the workers?  There is no
per-worker counter, so it is read from outside: each worker's CPU time over
the window (/proc/PID/stat), which for a handshake-only load is
proportional to the handshakes it did.  Two ways of sharing the port are
measured with 2 workers: ours (server/processes.py: one listening socket,
inherited by every worker, which race to accept) and the alternative, one
SO_REUSEPORT socket per worker with the kernel choosing
(bench/reuseport_server.py).

This module starts and stops only its own server and load generators and
sends traffic only to 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.handshake_load import FirstFlight, HandshakeLoadError, calibrate
from bench.peer_servers import HOST, PeerSite, PeerUnavailable, ours_server
from bench.peers import replay_problems, run_handshake_replay
from bench.process_tree import TreeCpuMeter

# (workers, how they share the listening port), in the order they run.
MODES = ((1, "shared"), (2, "shared"), (2, "reuseport"))
TARGET_SPEEDUP = 1.5
# bench/cpu_usage.py wants two cores to watch; with nothing pinned these are simply both.
FIRST_CORE, SECOND_CORE = 0, 1


@dataclass(frozen=True)
class ScalingRound:
    workers: int
    accept: str  # "shared" (one socket, server/processes.py) or "reuseport" (one per worker)
    rate: float  # handshakes/s
    worker_cores: tuple[float, ...]  # each worker's CPU use, in cores, largest first
    master_cores: float
    load_generator_cores: float
    machine_busy_cores: float  # both cores, running anything
    problems: tuple[str, ...] = ()

    @property
    def workers_total_cores(self) -> float:
        return sum(self.worker_cores)

    @property
    def other_cores(self) -> float:
        """CPU the machine spent on neither the server nor the load generator (others' work,
        kernel work not charged to a process)."""
        ours = self.workers_total_cores + self.master_cores + self.load_generator_cores
        return max(0.0, self.machine_busy_cores - ours)

    @property
    def projected_rate(self) -> float:
        """The rate with the workers alone on the machine (see the module docstring)."""
        cores = min(self.workers, os.cpu_count() or 1)
        if self.workers_total_cores <= 0:
            return 0.0
        return self.rate / self.workers_total_cores * cores

    def spread(self) -> str:
        """Each worker's share of the workers' CPU time, e.g. "52% / 48%"."""
        total = self.workers_total_cores
        if total <= 0:
            return "-"
        return " / ".join(f"{share / total:.0%}" for share in self.worker_cores)


@dataclass
class ScalingResult:
    rounds: dict[tuple[int, str], list[ScalingRound]] = field(default_factory=dict)  # by mode
    unavailable: str | None = None

    def best(self, workers: int, accept: str = "shared") -> ScalingRound | None:
        candidates = self.rounds.get((workers, accept), [])
        clean = [entry for entry in candidates if not entry.problems]
        return max(clean or candidates, key=lambda entry: entry.rate, default=None)


def _one_round(
    root_pid: int,
    mode: tuple[int, str],
    port: int,
    hello_path: Path,
    flight: FirstFlight,
    seconds: float,
) -> ScalingRound:
    workers, accept = mode
    meter = TreeCpuMeter(root_pid, server_core=FIRST_CORE, load_core=SECOND_CORE)
    every_cpu = set(range(os.cpu_count() or 1))
    result, error = run_handshake_replay(
        port, hello_path, flight, seconds=seconds, load_cpus=every_cpu
    )
    usage = meter.stop()
    master_cores = usage.by_process.get(root_pid, 0.0)
    worker_cores = tuple(
        sorted((share for pid, share in usage.by_process.items() if pid != root_pid), reverse=True)
    )
    if workers == 1:  # one process: it is the worker, there is no master
        worker_cores, master_cores = (master_cores,), 0.0
    busy = usage.usage.server_core_busy + usage.usage.load_core_busy
    if result is None:
        return ScalingRound(workers, accept, 0.0, worker_cores, master_cores, 0.0, busy, (error,))
    return ScalingRound(
        workers,
        accept,
        result.handshakes_per_second,
        worker_cores,
        master_cores,
        result.cpu_share,
        busy,
        replay_problems(result),
    )


def measure_scaling(
    site: PeerSite,
    client_hello: bytes,
    *,
    seconds: float,
    rounds: int,
    say: Callable[[str], None] = print,
) -> ScalingResult:
    """Every mode, `rounds` windows each, alternating the order."""
    result = ScalingResult()
    hello_path = site.work / "client_hello.bin"
    hello_path.write_bytes(client_hello)
    for round_number in range(rounds):
        order = MODES if round_number % 2 == 0 else MODES[::-1]
        for mode in order:
            workers, accept = mode
            say(f"round {round_number + 1}/{rounds}: scaling, {workers} worker(s), {accept} ...")
            # A fresh server per window: a worker count is a config, and the
            # previous window's connections must not linger into this one.
            try:
                # Every CPU, explicitly: the benchmark itself runs pinned to the load core.
                every_cpu = set(range(os.cpu_count() or 1))
                with ours_server(
                    site, "ours", cpus=every_cpu, workers=workers, accept=accept
                ) as server:
                    port = server.ports["https"]
                    flight = calibrate(HOST, port, client_hello)
                    entry = _one_round(server.pid, mode, port, hello_path, flight, seconds)
            except (PeerUnavailable, HandshakeLoadError) as error:
                result.unavailable = str(error)
                say(f"scaling: {error}")
                return result
            result.rounds.setdefault(mode, []).append(entry)
    return result
