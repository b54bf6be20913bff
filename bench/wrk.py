"""Running wrk and reading its report, with the checks that make a number trustworthy.

wrk's summary is parsed into a `WrkResult`; anything that would make the
rate meaningless (socket errors, non-2xx answers, no request completed) is
listed by `WrkResult.problems()` so the table can say so instead of printing
a fast-looking number for a broken run.

This module never starts servers and never decides what to measure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

# wrk's sizes are binary (KB = 1024 B); the tables use decimal megabytes.
SIZE_SCALE_TO_MEGABYTES = {"B": 1e-6, "KB": 1024 / 1e6, "MB": 1024**2 / 1e6, "GB": 1024**3 / 1e6}
# A 10 MB response from a slow server can take seconds; wrk's default 2 s
# timeout would count that as an error although bytes keep arriving.
DEFAULT_TIMEOUT_SECONDS = 30


class WrkError(Exception):
    """wrk failed to run, or printed a report this module cannot read."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_second: float
    megabytes_per_second: float
    socket_errors: dict[str, int]  # connect, read, write, timeout
    non_success_responses: int  # "Non-2xx or 3xx responses"

    def problems(self) -> list[str]:
        """Reasons not to trust the rates; empty when the run was clean."""
        found = []
        if self.requests == 0:
            found.append("wrk completed no request")
        errors = {kind: count for kind, count in self.socket_errors.items() if count}
        if errors:
            found.append(
                "wrk socket errors: " + ", ".join(f"{kind} {n}" for kind, n in errors.items())
            )
        if self.non_success_responses:
            found.append(f"wrk: {self.non_success_responses} non-2xx/3xx responses")
        return found


def ensure_wrk() -> str | None:
    """Path of wrk, installing Debian's package when missing (root only); None if unavailable."""
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk from Debian's packages ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"]):
            subprocess.run(command, env=env, capture_output=True)
            if shutil.which("wrk"):
                break
        else:
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, capture_output=True)
    return shutil.which("wrk")


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    match = re.search(r"wrk (\S+)", result.stdout + result.stderr)
    return f"wrk {match.group(1)}" if match else "wrk"


def parse_wrk_report(report: str) -> WrkResult:
    """The numbers of one wrk summary (the text wrk prints to stdout)."""
    requests = re.search(r"(\d+) requests in ", report)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", report)
    if requests is None or rate is None or transfer is None:
        raise WrkError(f"cannot read wrk's report:\n{report}")
    socket_errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    if errors is not None:
        socket_errors = dict(zip(socket_errors, map(int, errors.groups()), strict=True))
    non_success = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return WrkResult(
        requests=int(requests.group(1)),
        requests_per_second=float(rate.group(1)),
        megabytes_per_second=float(transfer.group(1)) * SIZE_SCALE_TO_MEGABYTES[transfer.group(2)],
        socket_errors=socket_errors,
        non_success_responses=int(non_success.group(1)) if non_success else 0,
    )


def run_wrk(
    wrk: str,
    url: str,
    *,
    connections: int,
    seconds: float,
    cpu: int,
    headers: tuple[str, ...] = (),
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
) -> WrkResult:
    """One thread of wrk pinned to `cpu`, `connections` keep-alive connections, for `seconds`."""
    duration = max(1, round(seconds))  # wrk takes whole seconds
    command = ["taskset", "-c", str(cpu), wrk, "-t1", f"-c{connections}", f"-d{duration}s"]
    command.append(f"--timeout={timeout_seconds}s")
    for header in headers:
        command += ["-H", header]
    result = subprocess.run([*command, url], capture_output=True, text=True)
    if result.returncode != 0:
        raise WrkError(f"wrk exited with status {result.returncode}: {result.stderr.strip()}")
    return parse_wrk_report(result.stdout)
