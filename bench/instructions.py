"""Instructions our server executes per operation, this tree against another commit.

    .venv/bin/python bench/instructions.py --baseline dcfb78e     # ~3 minutes

The rule for a refactor is "no benchmark ratio worse by more than 3%", but
on a shared 2-CPU machine the rates of `make bench` move by 10-20% between
rounds of one run, so a 3% change hides in their noise.  This benchmark
measures what does not move: the number of instructions the server
process executes (valgrind's callgrind, user space: our Python, the
interpreter, `cryptography`, OpenSSL, the allocator and the garbage
collector, but not the kernel's work) for one operation, with the same
client and the same load for both trees, in one run:

    https      a 1 KB GET on a TLS 1.3 keep-alive connection
    handshake  a new TLS 1.3 connection: full handshake, one 1 KB GET, close
    plain      a 1 KB GET on a plain HTTP keep-alive connection

Each tree's server (`bench/tls13_server.py` of that tree, engine "ours")
runs under callgrind with instrumentation off until it listens, so start-up
is not counted; then it serves N1 operations, and in a second run N2.  The
cost of one operation is the difference divided by N2 - N1, which also
cancels what a connection costs once (its accept, its first request).  The
baseline is checked out with `git worktree add --detach` into a temporary
folder and removed afterwards; both trees run on this checkout's Python and
packages.  Valgrind is installed with apt-get when missing.

Python's ssl module is the client (the load, not measured).  This module
starts and stops only its own servers and sends traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peer_servers import PeerSite, ours_config_text
from tls_web_server.tls import pki

REPOSITORY = Path(__file__).resolve().parent.parent
BODY = b"x" * 1024
REQUEST = b"GET /1k.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
STARTUP_TIMEOUT_SECONDS = 120.0  # a server starting under valgrind is slow
REFACTOR_LIMIT = 1.03  # "no ratio worse by more than 3%"


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    counts: tuple[int, int]  # N1, N2


OPERATIONS = {
    "https": Operation("https", "HTTPS 1 KB keep-alive request", (200, 600)),
    "handshake": Operation("handshake", "new TLS 1.3 connection + 1 KB request", (30, 90)),
    "plain": Operation("plain", "plain HTTP 1 KB keep-alive request", (200, 600)),
}


# ---------------------------------------------------------------------------
# the load (Python's ssl module as the client)
# ---------------------------------------------------------------------------


def read_response(sock: socket.socket) -> None:
    """Read one response with a Content-Length body; ConnectionError if the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += _receive(sock)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += _receive(sock)
    if body != BODY:
        raise ConnectionError("the server sent another body than the file")


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def run_load(operation: str, ports: dict[str, int], *, context: ssl.SSLContext, count: int) -> None:
    """`count` operations of one kind, one after another."""

    def connect(tls: bool) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", ports["https" if tls else "http"]))
        return context.wrap_socket(sock, server_hostname="localhost") if tls else sock

    if operation == "handshake":
        for _ in range(count):
            with connect(True) as sock:
                sock.sendall(REQUEST)
                read_response(sock)
        return
    with connect(operation == "https") as sock:
        for _ in range(count):
            sock.sendall(REQUEST)
            read_response(sock)


# ---------------------------------------------------------------------------
# one tree's server under callgrind
# ---------------------------------------------------------------------------


def parse_listening_line(line: str) -> tuple[str, int] | None:
    """("https", PORT) from "listening on https://127.0.0.1:PORT (TLSv1.3)"; None otherwise."""
    if not line.startswith("listening on "):
        return None
    url = line.split()[2]
    return url.split(":", 1)[0], int(url.rsplit(":", 1)[1])


def per_operation(counts: tuple[int, int], instructions: tuple[int, int]) -> float:
    """Instructions of one operation: the difference of two runs over the difference of counts."""
    (small, large), (fewer, more) = counts, instructions
    if large <= small or more <= fewer:
        raise ValueError(f"runs of {counts} operations gave {instructions} instructions")
    return (more - fewer) / (large - small)


def count_instructions(
    tree: Path, config: Path, work: Path, load: Callable[[dict[str, int]], None]
) -> int:
    """Instructions the server of `tree` executes while `load` runs, start-up excluded."""
    out = work / "callgrind.out"
    log = work / "valgrind.log"
    # A fixed hash seed: dict and set layouts, so the counts, are the same every run.
    environment = dict(os.environ, PYTHONPATH=str(tree / "src"), PYTHONHASHSEED="0")
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        f"--log-file={log}",
        sys.executable,
        str(tree / "bench" / "tls13_server.py"),
        "--engine",
        "ours",
        "-c",
        str(config),
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
    )
    try:
        ports = _wait_for_ports(server)
        _callgrind_control(server.pid, "on")
        load(ports)
        _callgrind_control(server.pid, "off")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    for line in log.read_text().splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise RuntimeError(f"callgrind reported no count; its log: {log.read_text()[-2000:]}")


def _wait_for_ports(server: subprocess.Popen) -> dict[str, int]:
    assert server.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while len(ports) < 2 and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError("the server exited before it listened")
        parsed = parse_listening_line(line)
        if parsed is not None:
            ports[parsed[0]] = parsed[1]
    if len(ports) < 2:
        raise RuntimeError("the server did not listen in time")
    return ports


def _callgrind_control(pid: int, state: str) -> None:
    subprocess.run(
        ["callgrind_control", "--instr=" + state, str(pid)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------


def write_site(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A 1 KB file, a demo chain and the benchmarks' config (a plain and a TLS 1.3 listener)."""
    (folder / "html").mkdir()
    (folder / "html" / "1k.bin").write_bytes(BODY)
    site = PeerSite(folder / "html", pki.generate_pki(folder / "certs", ["localhost"]), folder)
    config = folder / "site.conf"
    config.write_text(ours_config_text(site, workers=1))
    return config, ssl.create_default_context(cafile=str(site.certs.root_cert))


def measure_tree(
    tree: Path, config: Path, context: ssl.SSLContext, operations: list[Operation], work: Path
) -> dict[str, float]:
    results = {}
    for operation in operations:
        instructions = []
        for count in operation.counts:
            run_folder = Path(tempfile.mkdtemp(dir=work))
            load = functools.partial(run_load, operation.name, context=context, count=count)
            instructions.append(count_instructions(tree, config, run_folder, load))
        results[operation.name] = per_operation(
            operation.counts, (instructions[0], instructions[1])
        )
    return results


def ensure_valgrind() -> None:
    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        return
    print("installing valgrind (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], check=True)


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=REPOSITORY, check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", help="a commit to compare with (e.g. the round's start)")
    parser.add_argument(
        "--only", default=",".join(OPERATIONS), help=f"among {', '.join(OPERATIONS)}"
    )
    args = parser.parse_args()
    operations = [OPERATIONS[name] for name in args.only.split(",")]
    ensure_valgrind()
    valgrind_version = subprocess.run(
        ["valgrind", "--version"], capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="instructions-") as temporary:
        work = Path(temporary)
        config, context = write_site(work)
        trees = [("this tree", REPOSITORY, git("rev-parse", "--short", "HEAD"))]
        baseline_tree = work / "baseline"
        if args.baseline:
            git("worktree", "add", "--detach", str(baseline_tree), args.baseline)
            commit = git("rev-parse", "--short", args.baseline)
            trees.insert(0, ("baseline", baseline_tree, commit))
        try:
            results = {}
            for label, tree, commit in trees:
                print(f"measuring {label} ({commit}) ...", flush=True)
                results[label] = measure_tree(tree, config, context, operations, work)
        finally:
            if args.baseline:
                git("worktree", "remove", "--force", str(baseline_tree))
    print()
    print("instructions per operation in the server process (user space; the client not counted)")
    print(
        f"measured by {valgrind_version} callgrind on this machine: {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    header = f"{'operation':40} " + " ".join(f"{label + ' ' + c:>22}" for label, _, c in trees)
    print(header + ("      ratio" if args.baseline else ""))
    print("-" * len(header + ("      ratio" if args.baseline else "")))
    worst = 0.0
    for operation in operations:
        values = [results[label][operation.name] for label, _, _ in trees]
        row = f"{operation.description:40} " + " ".join(f"{value:22,.0f}" for value in values)
        if args.baseline:
            ratio = values[1] / values[0]
            worst = max(worst, ratio)
            row += f"  {ratio:8.3f}x"
        print(row)
    if args.baseline:
        verdict = "within" if worst <= REFACTOR_LIMIT else "OVER"
        print(f"\nworst ratio {worst:.3f}x: {verdict} the refactor limit of {REFACTOR_LIMIT:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
