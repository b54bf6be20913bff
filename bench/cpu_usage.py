"""Who used the CPUs during one measurement: the server, the load generator, anyone else.

A rate alone does not say what limited it.  Sampled over the same window as
the measurement, these numbers do:

- the server process at ~100% of its core: the server is the bottleneck
  (what a benchmark of the server wants);
- the load generator at ~100% of its core: the client is the bottleneck,
  and the server's rate is only a lower bound;
- a core busy while neither of ours used it: other processes (tests of
  other people on a shared machine) took time, and the rate is noisy.

Sources: /proc/PID/stat for the server (proc(5), fields 14-15, utime and
stime), os.times() for the load generator (finished, reaped children), and
/proc/stat for each core's busy time.  Linux only.

This module measures nothing but CPU time and never starts or stops processes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# /proc/stat columns after the name: user nice system idle iowait irq softirq steal ...
IDLE_COLUMNS = (3, 4)  # idle and iowait: the core ran nothing


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by process `pid` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    # Field 14 (utime) and 15 (stime) of proc(5) are then at indexes 11 and 12.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND


def core_busy_seconds() -> dict[int, float]:
    """For each core, the seconds it spent running anything since boot."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *columns = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(column) for column in columns]
        idle = sum(ticks[index] for index in IDLE_COLUMNS)
        busy[int(name[3:])] = (sum(ticks[:8]) - idle) / CLOCK_TICKS_PER_SECOND
    return busy


def children_cpu_seconds() -> float:
    times = os.times()
    return times.children_user + times.children_system


@dataclass(frozen=True)
class CpuUsage:
    """CPU use over one measurement, each as a fraction of one core (1.0 = 100%)."""

    wall_seconds: float
    server: float  # the server process
    client: float  # the load generator processes (children of the benchmark, once reaped)
    server_core_busy: float  # the server's core, running anything
    load_core_busy: float  # the load generator's core, running anything

    @property
    def other_on_server_core(self) -> float:
        """Time the server's core spent on something other than the server (includes softirq)."""
        return max(0.0, self.server_core_busy - self.server)

    def bottleneck(self) -> str:
        """The likeliest limit of the measured rate, by a simple rule of thumb."""
        if self.server >= 0.9:
            return "server"
        if self.client >= 0.9:
            return "client"
        if self.server_core_busy >= 0.9 or self.load_core_busy >= 0.9:
            return "other load"
        return "latency"


class CpuMeter:
    """Start before a measurement, `stop()` after it; the load generator must have exited."""

    def __init__(self, server_pid: int, *, server_core: int, load_core: int) -> None:
        self.server_pid = server_pid
        self.server_core = server_core
        self.load_core = load_core
        self._started = time.perf_counter()
        self._server = process_cpu_seconds(server_pid)
        self._children = children_cpu_seconds()
        self._cores = core_busy_seconds()

    def stop(self) -> CpuUsage:
        wall = time.perf_counter() - self._started
        server = process_cpu_seconds(self.server_pid) - self._server
        children = children_cpu_seconds() - self._children
        cores = core_busy_seconds()
        return CpuUsage(
            wall_seconds=wall,
            server=server / wall,
            client=children / wall,
            server_core_busy=(cores[self.server_core] - self._cores[self.server_core]) / wall,
            load_core_busy=(cores[self.load_core] - self._cores[self.load_core]) / wall,
        )
