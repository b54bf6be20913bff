"""CPU use of a server that is more than one process: nginx's master and worker, our workers.

bench/cpu_usage.py measures one process.  A server started with worker
processes (nginx always; ours with `worker_processes 2;`) does its work in
children of the process we started, so this module sums the whole tree and
also keeps the share of each process, which is how the scaling scenario
sees how evenly the kernel spread connections over workers sharing one
listening socket (there is no per-worker request counter, but CPU time per
worker is proportional to the handshakes it did).

Sources: /proc/PID/stat (proc(5): field 4 is the parent pid, fields 14-15
utime and stime) and bench/cpu_usage.py for the cores and the load generator.
Linux only.

This module reads /proc and nothing else; it never signals a process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.cpu_usage import (
    CLOCK_TICKS_PER_SECOND,
    CpuUsage,
    children_cpu_seconds,
    core_busy_seconds,
)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (field 3 is index 0); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name sits in parentheses and may hold spaces or ')': split after the last ')'.
    return stat.rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """`pid` and every living process below it, parents before children."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            parent_of[int(entry.name)] = int(fields[1])
    found = [pid]
    index = 0
    while index < len(found):
        parent = found[index]
        found += sorted(child for child, its_parent in parent_of.items() if its_parent == parent)
        index += 1
    return found


def cpu_seconds_by_process(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process so far (exited processes are left out)."""
    seconds = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            # proc(5) fields 14 and 15 (utime, stime) are at indexes 11 and 12 here.
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND
    return seconds


@dataclass(frozen=True)
class TreeCpuUsage:
    """CpuUsage for the whole server tree, plus each process's share of one core."""

    usage: CpuUsage
    by_process: dict[int, float]  # pid -> fraction of one core over the window


class TreeCpuMeter:
    """Start before a measurement, `stop()` after it; load generators must have exited by then.

    The tree is read once at the start: a server that forks during the
    window (a crashed worker replaced) would be missed, and the measurement
    would show less server CPU than was used.
    """

    def __init__(self, root_pid: int, *, server_core: int, load_core: int) -> None:
        self.pids = descendants(root_pid)
        self.server_core = server_core
        self.load_core = load_core
        self._started = time.perf_counter()
        self._server = cpu_seconds_by_process(self.pids)
        self._children = children_cpu_seconds()
        self._cores = core_busy_seconds()

    def stop(self) -> TreeCpuUsage:
        wall = time.perf_counter() - self._started
        now = cpu_seconds_by_process(self.pids)
        by_process = {pid: (now[pid] - self._server.get(pid, now[pid])) / wall for pid in now}
        cores = core_busy_seconds()
        usage = CpuUsage(
            wall_seconds=wall,
            server=sum(by_process.values()),
            client=(children_cpu_seconds() - self._children) / wall,
            server_core_busy=(cores[self.server_core] - self._cores[self.server_core]) / wall,
            load_core_busy=(cores[self.load_core] - self._cores[self.load_core]) / wall,
        )
        return TreeCpuUsage(usage, by_process)
