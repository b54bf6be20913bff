"""Where the server's time goes: crypto, our Python, or the kernel, per handshake and per request.

    .venv/bin/python bench/profile_split.py                 # all three scenarios, ~1 minute
    .venv/bin/python bench/profile_split.py --only handshake --seconds 5

For each scenario the same load runs twice against our server (pinned to
CPU 0, load on CPU 1).  The first run is not profiled: the server's user and
system CPU time (/proc/PID/stat) divided by the operations completed give
the real cost of one operation, and its split:

    kernel   the system time: socket calls, epoll, sendfile, loopback TCP,
             all that the kernel does on the server's behalf
    crypto   the part of the user time spent inside `cryptography` and
             hashlib/hmac (X25519, ECDSA, AES-GCM, SHA-256, HMAC): what no
             Python code can make faster
    ours     the rest of the user time: our Python code and the standard
             library Python it calls (selectors, dataclasses, enum ...)

The crypto share comes from the second run, under cProfile with a CPU-time
clock: each crypto function's time per operation, less the profiler's own
cost per call (calibrated on a call that does nothing), divided by how much
slower the profiler makes crypto calls (calibrated on one handshake's
primitives, run plain and profiled).  The costliest of
our own functions in that profile are listed too (their shares are
inflated by the profiler, which slows Python calls most: read them as a
ranking).  The crypto floor beside it is measured directly: the
primitives one server handshake needs, each timed in a loop.

Scenarios: `handshake` (bench/handshake_load.py replaying one ClientHello:
the server's full first flight), `https` and `plain` (wrk, 1 KB file, 50
keep-alive connections).  This module starts and stops only its own servers
and load generators and sends traffic only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.handshake_load import HandshakeLoadError, calibrate, record_client_hello
from bench.peer_servers import (
    BENCH_FOLDER,
    HOST,
    ChildServer,
    PeerSite,
    PeerUnavailable,
    ours_config_text,
)
from bench.peers import run_handshake_replay
from bench.wrk import WrkError, ensure_wrk, run_wrk
from tls_web_server.tls import crypto, pki
from tls_web_server.tls.tls13 import key_schedule

SERVER_CPU = 0
LOAD_CPU = 1
SCENARIOS = ("handshake", "https", "plain")
BUCKETS = ("crypto", "kernel", "ours")

# What a builtin's name in a cProfile entry says about where its time goes.
_CRYPTO_MARKERS = ("cryptography", "openssl", "_hashlib", "_hmac", "x25519", "x448", "aesgcm")
_KERNEL_MARKERS = ("_socket.socket", "select.epoll", "posix.", "_io.fileio", "_io.bufferedreader")
# Starting up (imports) is not part of any operation.
_NOT_COUNTED = ("builtins.compile", "builtins.exec", "marshal.loads", "_imp.")

# Runs a script under cProfile with a CPU-time clock, so that waiting in epoll
# or being descheduled by another process is not counted as anyone's work.
_PROFILE_BOOTSTRAP = """
import cProfile, runpy, sys, time
output, sys.argv = sys.argv[1], sys.argv[2:]
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
finally:
    profiler.disable()
    profiler.dump_stats(output)
"""


def bucket_of(filename: str, function: str) -> str | None:
    """The bucket of one profile entry (see the module docstring); None: not counted."""
    if "cryptography" in filename or filename.endswith(("hmac.py", "hashlib.py")):
        return "crypto"
    if filename.startswith("<frozen"):
        return None  # the import machinery
    if filename == "~":  # a builtin: its name tells what it is
        name = function.lower()
        if any(marker in name for marker in _NOT_COUNTED):
            return None
        if any(marker in name for marker in _KERNEL_MARKERS):
            return "kernel"
        if any(marker in name for marker in _CRYPTO_MARKERS):
            return "crypto"
    return "ours"


@dataclass(frozen=True)
class Split:
    scenario: str
    microseconds_per_operation: float  # server CPU time per operation, unprofiled
    microseconds: dict[str, float]  # bucket -> microseconds per operation (see the docstring)
    top: list[tuple[str, float]]  # (function, share of profiled time), costliest "ours" first


@dataclass(frozen=True)
class ProfilerCalibration:
    """How cProfile (with the CPU clock) distorts crypto calls, measured on the real primitives."""

    cost_per_call: float  # seconds it adds to any one call (timer reads, bookkeeping)
    crypto_slowdown: float  # profiled / real time of crypto calls, after that cost is taken off


def server_key(chain: pki.GeneratedPki) -> crypto.PrivateKey:
    return pki.load_server_credentials(
        chain.server_cert, chain.server_key, chain.intermediate_cert
    ).private_key


def calibrate_profiler(chain: pki.GeneratedPki, repeat: int = 300) -> ProfilerCalibration:
    """Run one handshake's primitives plain and under the profiler, and compare.

    Even long C calls such as an ECDSA signature run slower under the profiler
    (it fills the caches with its own work), so the crypto time a profile
    shows is divided by this measured slowdown.
    """
    sign = crypto.signer(server_key(chain), "ecdsa_secp256r1_sha256")
    peer_public = crypto.EphemeralKey("x25519", os.urandom).public_bytes
    secret = os.urandom(32)
    aead = crypto.Aead("AES-128-GCM", os.urandom(16))

    def handshake_primitives() -> None:
        crypto.EphemeralKey("x25519", os.urandom).exchange(peer_public)
        sign(secret)
        for _ in range(10):
            crypto.hmac_digest("sha256", secret, secret)
        aead.seal(bytes(12), secret * 40, b"")

    started = time.process_time()
    for _ in range(repeat):
        handshake_primitives()
    real = time.process_time() - started

    profiler = cProfile.Profile(time.process_time)
    empty = b""
    profiler.enable()
    for _ in range(100_000):
        len(empty)
    for _ in range(repeat):
        handshake_primitives()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cost_per_call = next(
        entry[2] / entry[1]
        for (_, _, function), entry in stats.items()
        if function == "<built-in method builtins.len>"
    )
    profiled = sum(
        max(entry[2] - entry[1] * cost_per_call, 0.0)
        for (filename, _, function), entry in stats.items()
        if bucket_of(filename, function) == "crypto"
    )
    return ProfilerCalibration(cost_per_call, max(profiled / real, 1.0) if real else 1.0)


def user_and_system_seconds(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # proc(5) fields 14 and 15 (utime, stime) are at indexes 11 and 12 after the name.
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def profile_seconds(
    profile_path: Path, cost_per_call: float
) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """Seconds per bucket in the profile (less the profiler's cost per call), and the
    costliest of our functions by share of all profiled time."""
    stats = pstats.Stats(str(profile_path))
    totals = dict.fromkeys(BUCKETS, 0.0)
    ours: list[tuple[str, float]] = []
    for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        calls, own_time = entry[1], entry[2]  # tottime: in the function itself, not callees
        bucket = bucket_of(filename, function)
        if bucket is None:
            continue
        totals[bucket] += max(own_time - calls * cost_per_call, 0.0)
        if bucket == "ours" and "tls_web_server" in filename:
            where = filename.split("tls_web_server/", 1)[1]
            ours.append((f"{where}:{line} {function}", own_time))
    total = sum(totals.values()) or 1.0
    ours.sort(key=lambda item: item[1], reverse=True)
    return totals, [(name, seconds / total) for name, seconds in ours[:8]]


def start_server(site: PeerSite, profile_path: Path | None) -> ChildServer:
    config = site.work / "profile.conf"
    config.write_text(ours_config_text(site, workers=1))
    command = [sys.executable]
    if profile_path is not None:
        command += ["-c", _PROFILE_BOOTSTRAP, str(profile_path)]
    command += [str(BENCH_FOLDER / "tls13_server.py"), "--engine", "ours", "-c", str(config)]
    log = site.work / "profile-error.log"
    return ChildServer("ours", command, cpus={SERVER_CPU}, log_path=log, listening_lines=2)


def run_load(scenario: str, server: ChildServer, hello: Path, seconds: float, wrk: str) -> int:
    """Drive `server` for `seconds`; the number of operations completed."""
    if scenario == "handshake":
        port = server.ports["https"]
        flight = calibrate(HOST, port, hello.read_bytes())
        result, error = run_handshake_replay(
            port, hello, flight, seconds=seconds, load_cpus={LOAD_CPU}
        )
        if result is None:
            raise RuntimeError(error)
        return result.handshakes
    scheme = "https" if scenario == "https" else "http"
    url = f"{scheme}://{HOST}:{server.ports[scheme]}/1k.bin"
    result = run_wrk(wrk, url, connections=50, seconds=seconds, cpu=LOAD_CPU)
    if result.problems():
        raise RuntimeError("; ".join(result.problems()))
    return result.requests


def measure(
    scenario: str,
    site: PeerSite,
    hello: Path,
    seconds: float,
    wrk: str,
    calibration: ProfilerCalibration,
) -> Split:
    with start_server(site, None) as server:
        user_before, system_before = user_and_system_seconds(server.pid)
        operations = run_load(scenario, server, hello, seconds, wrk)
        user_after, system_after = user_and_system_seconds(server.pid)
    if operations == 0:
        raise RuntimeError("no operation completed")
    user_us = (user_after - user_before) / operations * 1e6
    system_us = (system_after - system_before) / operations * 1e6
    profile_path = site.work / f"{scenario}.prof"
    with start_server(site, profile_path) as server:
        profiled_operations = max(run_load(scenario, server, hello, seconds, wrk), 1)
    # The server writes its profile when it exits, on SIGTERM, after the `with`.
    totals, top = profile_seconds(profile_path, calibration.cost_per_call)
    crypto_seconds = totals["crypto"] / calibration.crypto_slowdown
    crypto_us = min(crypto_seconds / profiled_operations * 1e6, user_us)
    parts = {"crypto": crypto_us, "kernel": system_us, "ours": user_us - crypto_us}
    return Split(scenario, user_us + system_us, parts, top)


def crypto_floor(chain: pki.GeneratedPki, repeat: int = 2000) -> list[tuple[str, float]]:
    """Microseconds for each primitive a server handshake (ECDSA P-256, x25519) needs."""
    key = server_key(chain)
    peer = crypto.EphemeralKey("x25519", os.urandom)
    peer_public = peer.public_bytes
    transcript = os.urandom(32)
    secret = os.urandom(32)

    def timed(work: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        return (time.perf_counter() - started) / repeat * 1e6

    rows = [
        ("x25519 key generation", timed(lambda: crypto.EphemeralKey("x25519", os.urandom))),
        ("x25519 shared secret", timed(lambda: peer.exchange(peer_public))),
        ("ECDSA P-256 signature", timed(lambda: crypto.sign(key, "ecdsa_secp256r1_sha256", b"x"))),
        (
            "HKDF-Expand-Label (one)",
            timed(lambda: key_schedule.hkdf_expand_label("sha256", secret, b"key", b"", 16)),
        ),
        ("HMAC-SHA256 (one)", timed(lambda: crypto.hmac_digest("sha256", secret, transcript))),
        ("SHA-256 of a 1.3 KB transcript", timed(lambda: hashlib.sha256(transcript * 40).digest())),
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SCENARIOS, action="append")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    scenarios = args.only or list(SCENARIOS)
    wrk = ensure_wrk() if set(scenarios) & {"https", "plain"} else ""
    if set(scenarios) & {"https", "plain"} and not wrk:
        print("wrk is needed for the https and plain scenarios", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="profile-") as folder:
        work = Path(folder)
        html = work / "html"
        html.mkdir()
        (html / "1k.bin").write_bytes(os.urandom(1024))
        (html / "10m.bin").write_bytes(os.urandom(1024))  # the config names it; unused here
        site = PeerSite(html, pki.generate_pki(work / "certs", ["localhost"]), work)
        hello = work / "client_hello.bin"
        hello.write_bytes(record_client_hello())
        calibration = calibrate_profiler(site.certs)
        splits = []
        for name in scenarios:
            try:
                splits.append(measure(name, site, hello, args.seconds, wrk, calibration))
            except (RuntimeError, OSError, HandshakeLoadError, WrkError, PeerUnavailable) as error:
                print(f"{name}: not measured: {error}", file=sys.stderr)
        floor = crypto_floor(site.certs)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs;")
    print(f"Python {platform.python_version()}; server on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}")
    print()
    bucket_titles = "   ".join(f"{bucket:>13}" for bucket in BUCKETS)
    print(f"{'scenario':<10} {'us/op':>7}   {bucket_titles}")
    for split in splits:
        total = split.microseconds_per_operation or 1.0
        cells = "   ".join(
            f"{split.microseconds[b]:>6.0f} us {split.microseconds[b] / total:>4.0%}"
            for b in BUCKETS
        )
        print(f"{split.scenario:<10} {split.microseconds_per_operation:>7.0f}   {cells}")
    print("(us/op = server CPU per operation, unprofiled: kernel = its system time; crypto =")
    print(" the profiled time in crypto calls; ours = the rest of its user time)")
    print(
        f"profiler calibration: {calibration.cost_per_call * 1e6:.2f} us per call taken off,"
        f" crypto time divided by {calibration.crypto_slowdown:.2f}"
    )
    for split in splits:
        print(f"\ncostliest of our own functions, {split.scenario} (share of all profiled time):")
        for name, share in split.top:
            print(f"  {share:>5.1%}  {name}")
    print("\ncrypto floor, one primitive at a time (us):")
    for name, microseconds in floor:
        print(f"  {name:<28} {microseconds:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
