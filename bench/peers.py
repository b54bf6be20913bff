"""Issue 5's comparison: our server against nginx, the stdlib-ssl server and tlslite-ng, in one run.

Every server runs pinned to the server core and every load generator to
the load core.  Each scenario is measured on each peer back to back, the
order alternating between rounds, and the best clean round is shown (a
shared machine only ever slows a round down):

    handshakes    full TLS 1.3 handshakes/s with bench/handshake_load.py: a
                  recorded ClientHello replayed on 16 connections at once, the
                  server's whole first flight awaited, then a reset
    https_small   1 KB over TLS 1.3, 50 keep-alive connections: wrk -t1 -c50
    plain_small   1 KB over plain HTTP, 50 keep-alive connections: wrk -t1 -c50
    https_large   10 MB over TLS 1.3, one connection: wrk -t1 -c1, MB/s
    plain_large   10 MB over plain HTTP, one connection: wrk -t1 -c1, MB/s

Before measuring, each peer must pass its probes: s_client sees TLS 1.3,
an ECDSA signature and a chain that verifies against our root; Python's ssl
fetches the 1 KB file over TLS 1.3 and (where the peer has a plain
listener) over plain HTTP, byte for byte; and the recorded ClientHello gets
the same first flight three times running (bench/handshake_load.py).  A peer
that fails a probe is reported and left out, never measured.

This module starts and stops only its own servers and load generators,
sends traffic only to 127.0.0.1, and never edits the server.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.handshake_load import (
    DEFAULT_CONNECTIONS,
    FirstFlight,
    HandshakeLoadError,
    ReplayResult,
    calibrate,
    result_from_json,
)
from bench.peer_servers import (
    BENCH_FOLDER,
    HOST,
    ChildServer,
    PeerSite,
    PeerUnavailable,
    nginx_server,
    ours_server,
    tlslite_server,
)
from bench.process_tree import TreeCpuMeter
from bench.tls13 import Measurement, probe_with_s_client
from bench.wrk import WrkError, run_wrk

SERVER_NAME = "localhost"
SMALL_FILE = "/1k.bin"
LARGE_FILE = "/10m.bin"
KEEPALIVE_CONNECTIONS = 50
PROBE_TIMEOUT_SECONDS = 10.0
# The child load generator stops itself at its deadline; this only guards a hang.
LOAD_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Target:
    """ "ours / `peer` should be at least `ratio`"; a stretch target is a wish, not a promise."""

    peer: str
    ratio: float
    stretch: bool = False

    def text(self) -> str:
        number = f"{self.ratio:g}"
        number = (number if "." in number else number + ".0") + "x"
        return f"[>={number}]" if self.stretch else f">={number}"


@dataclass(frozen=True)
class PeerScenario:
    key: str
    group: str  # the `--only` group it belongs to
    title: str
    unit: str
    peers: tuple[str, ...]  # who is measured, ours first
    targets: tuple[Target, ...]


SCENARIOS = (
    PeerScenario(
        "handshakes",
        "handshakes",
        "full TLS 1.3 handshakes",
        "hs/s",
        ("ours", "stdlib-ssl", "nginx", "tlslite-ng"),
        (Target("stdlib-ssl", 1.0), Target("nginx", 0.7, stretch=True), Target("tlslite-ng", 20)),
    ),
    PeerScenario(
        "https_small",
        "https",
        "HTTPS 1 KB keep-alive, 50 conns",
        "req/s",
        ("ours", "stdlib-ssl", "nginx"),
        (Target("stdlib-ssl", 1.0), Target("nginx", 0.6, stretch=True)),
    ),
    PeerScenario(
        "plain_small",
        "plain",
        "plain HTTP 1 KB keep-alive, 50 conns",
        "req/s",
        ("ours", "nginx"),
        (Target("nginx", 0.5),),
    ),
    PeerScenario(
        "https_large",
        "https",
        "10 MB over TLS 1.3, 1 conn",
        "MB/s",
        ("ours", "stdlib-ssl", "nginx"),
        (Target("nginx", 0.9),),
    ),
    PeerScenario(
        "plain_large",
        "plain",
        "plain HTTP 10 MB, 1 conn",
        "MB/s",
        ("ours", "nginx"),
        (Target("nginx", 0.85),),
    ),
)
PEER_NAMES = ("ours", "stdlib-ssl", "nginx", "tlslite-ng")
GROUPS = ("handshakes", "https", "plain")


@dataclass
class PeerRun:
    """Everything learned about one peer in one run."""

    name: str
    version: str = ""
    unavailable: str | None = None  # why it was not measured
    negotiated: str = ""  # as OpenSSL's s_client saw it
    flight: FirstFlight | None = None  # its answer to the recorded ClientHello
    rounds: dict[str, list[Measurement]] = field(default_factory=dict)  # by scenario key
    error_log: list[str] = field(default_factory=list)

    def best(self, scenario_key: str) -> Measurement | None:
        """The fastest clean round; a failed one only if every round failed."""
        measurements = self.rounds.get(scenario_key, [])
        clean = [measurement for measurement in measurements if not measurement.problems]
        return max(clean or measurements, key=lambda measurement: measurement.rate, default=None)


# ---------------------------------------------------------------------------
# probes
# ---------------------------------------------------------------------------


def _http_get(port: int, *, context: ssl.SSLContext | None) -> bytes:
    """The whole response to one GET of the 1 KB file with Connection: close."""
    request = f"GET {SMALL_FILE} HTTP/1.1\r\nHost: {SERVER_NAME}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((HOST, port), timeout=PROBE_TIMEOUT_SECONDS) as raw:
        sock = raw if context is None else context.wrap_socket(raw, server_hostname=SERVER_NAME)
        with sock:
            sock.sendall(request.encode())
            response = bytearray()
            while chunk := sock.recv(65536):
                response += chunk
            return bytes(response)


def probe_fetch(port: int, expected_body: bytes, *, context: ssl.SSLContext | None) -> list[str]:
    """Problems with a fetch of the 1 KB file: status, and the body byte for byte."""
    scheme = "HTTPS" if context else "HTTP"
    try:
        response = _http_get(port, context=context)
    except (OSError, ssl.SSLError) as error:
        return [f"{scheme} probe failed: {error}"]
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    problems = []
    if not status_line.startswith(b"HTTP/1.1 200 "):
        problems.append(f"{scheme} probe: status line {status_line!r}")
    if body != expected_body:
        problems.append(f"{scheme} probe: {len(body)} body bytes differ from the file")
    return problems


def tls13_client_context(root_certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(root_certificate))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    return context


def probe_peer(run: PeerRun, server: ChildServer, site: PeerSite, client_hello: bytes) -> list[str]:
    """Every probe of one peer; fills in what it negotiated and its first flight."""
    https_port = server.ports["https"]
    run.negotiated, problems = probe_with_s_client(https_port, site.certs.root_cert)
    expected = (site.html / SMALL_FILE.lstrip("/")).read_bytes()
    problems += probe_fetch(
        https_port, expected, context=tls13_client_context(site.certs.root_cert)
    )
    if "http" in server.ports:
        problems += probe_fetch(server.ports["http"], expected, context=None)
    try:
        run.flight = calibrate(HOST, https_port, client_hello)
    except HandshakeLoadError as error:
        problems.append(f"handshake replay: {error}")
    return problems


# ---------------------------------------------------------------------------
# load generators
# ---------------------------------------------------------------------------


def run_handshake_replay(
    port: int,
    hello_path: Path,
    flight: FirstFlight,
    *,
    seconds: float,
    load_cpus: set[int],
    connections: int = DEFAULT_CONNECTIONS,
) -> tuple[ReplayResult | None, str]:
    """bench/handshake_load.py as a child on `load_cpus`: (result, or why there is none)."""
    command = ["taskset", "-c", ",".join(map(str, sorted(load_cpus))), sys.executable]
    command += [str(BENCH_FOLDER / "handshake_load.py"), "--port", str(port)]
    command += ["--hello", str(hello_path), "--flight-records", str(flight.records)]
    command += ["--seconds", str(seconds), "--connections", str(connections)]
    try:
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + LOAD_GRACE_SECONDS
        )
    except subprocess.TimeoutExpired:
        return None, "handshake_load.py did not finish"
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"handshake_load.py exited with status {finished.returncode}: {last}"
    try:
        return result_from_json(finished.stdout), ""
    except (json.JSONDecodeError, TypeError) as error:
        return None, f"handshake_load.py printed no result: {error}"


def replay_problems(result: ReplayResult) -> tuple[str, ...]:
    problems = []
    if result.handshakes == 0:
        problems.append("no handshake completed")
    if result.errors:
        listed = ", ".join(f"{kind} {count}" for kind, count in result.errors.items())
        problems.append(f"connection errors: {listed}")
    return tuple(problems)


def measure_handshakes(
    server: ChildServer,
    flight: FirstFlight,
    hello_path: Path,
    *,
    seconds: float,
    server_core: int,
    load_core: int,
) -> Measurement:
    label = f"handshake_load.py -c{DEFAULT_CONNECTIONS}"
    meter = TreeCpuMeter(server.pid, server_core=server_core, load_core=load_core)
    result, error = run_handshake_replay(
        server.ports["https"], hello_path, flight, seconds=seconds, load_cpus={load_core}
    )
    cpu = meter.stop().usage
    if result is None:
        return Measurement(0.0, cpu, label, (error,))
    detail = (
        f"{result.handshakes} flights in {result.seconds:.1f} s; latency p50"
        f" {result.latency_median_ms:.1f} ms, p99 {result.latency_p99_ms:.1f} ms;"
        f" load generator {result.cpu_share:.0%} of a core"
    )
    return Measurement(result.handshakes_per_second, cpu, label, replay_problems(result), detail)


def measure_with_wrk(
    server: ChildServer,
    scenario: PeerScenario,
    wrk: str,
    wrk_label: str,
    *,
    seconds: float,
    server_core: int,
    load_core: int,
) -> Measurement:
    scheme = "https" if scenario.key.startswith("https") else "http"
    large = scenario.key.endswith("large")
    path = LARGE_FILE if large else SMALL_FILE
    connections = 1 if large else KEEPALIVE_CONNECTIONS
    url = f"{scheme}://{HOST}:{server.ports[scheme]}{path}"
    label = f"{wrk_label} -c{connections}"
    meter = TreeCpuMeter(server.pid, server_core=server_core, load_core=load_core)
    try:
        result = run_wrk(wrk, url, connections=connections, seconds=seconds, cpu=load_core)
    except WrkError as error:
        return Measurement(0.0, meter.stop().usage, label, (str(error).splitlines()[0],))
    cpu = meter.stop().usage
    rate = result.megabytes_per_second if large else result.requests_per_second
    return Measurement(rate, cpu, label, tuple(result.problems()), f"{result.requests} responses")


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerTools:
    """What the run found installed: paths and version strings (None / "" when missing)."""

    nginx: str | None
    nginx_version: str
    tlslite_version: str | None
    stdlib_version: str
    wrk: str | None
    wrk_label: str


def _start(
    name: str, site: PeerSite, tools: PeerTools, server_core: int
) -> tuple[ChildServer | None, str, str | None]:
    """(server not yet entered, version, why unavailable) for one peer."""
    cpus = {server_core}
    if name == "ours":
        return ours_server(site, "ours", cpus=cpus), "this tree", None
    if name == "stdlib-ssl":
        return ours_server(site, "openssl", cpus=cpus), tools.stdlib_version, None
    if name == "nginx":
        if tools.nginx is None:
            return None, "", "nginx is not installed (apt-get install nginx, as root)"
        return nginx_server(site, tools.nginx, cpus=cpus), tools.nginx_version, None
    if tools.tlslite_version is None:
        return None, "", "tlslite-ng is not installed (pip install tlslite-ng)"
    return tlslite_server(site, cpus=cpus), tools.tlslite_version, None


def measure_peers(
    site: PeerSite,
    tools: PeerTools,
    client_hello: bytes,
    *,
    groups: set[str],
    seconds: float,
    rounds: int,
    server_core: int,
    load_core: int,
    say: Callable[[str], None] = print,
) -> tuple[list[PeerScenario], list[PeerRun]]:
    """Start every peer the chosen groups need, probe them, then measure round by round."""
    scenarios = [scenario for scenario in SCENARIOS if scenario.group in groups]
    if tools.wrk is None:
        say("wrk is missing: only the handshake scenario can run")
        scenarios = [scenario for scenario in scenarios if scenario.key == "handshakes"]
    needed = [name for name in PEER_NAMES if any(name in s.peers for s in scenarios)]
    runs = {name: PeerRun(name) for name in needed}
    hello_path = site.work / "client_hello.bin"
    hello_path.write_bytes(client_hello)
    servers: dict[str, ChildServer] = {}
    with ExitStack() as stack:
        for name, run in runs.items():
            server, run.version, run.unavailable = _start(name, site, tools, server_core)
            if server is None:
                say(f"{name}: {run.unavailable}")
                continue
            try:
                servers[name] = stack.enter_context(server)
            except PeerUnavailable as error:
                run.unavailable = f"did not start: {error}"
                say(f"{name}: {run.unavailable}")
                continue
            problems = probe_peer(run, server, site, client_hello)
            if problems:
                run.unavailable = "failed its probe: " + "; ".join(problems)
                say(f"{name}: {run.unavailable}")
        measurable = [name for name in needed if runs[name].unavailable is None]
        for round_number in range(rounds):
            order = measurable if round_number % 2 == 0 else measurable[::-1]
            for scenario in scenarios:
                for name in order:
                    if name not in scenario.peers:
                        continue
                    say(f"round {round_number + 1}/{rounds}: {scenario.title} on {name} ...")
                    flight = runs[name].flight
                    if scenario.key == "handshakes" and flight is not None:
                        measurement = measure_handshakes(
                            servers[name],
                            flight,
                            hello_path,
                            seconds=seconds,
                            server_core=server_core,
                            load_core=load_core,
                        )
                    elif tools.wrk is not None:  # without wrk only handshakes are left
                        measurement = measure_with_wrk(
                            servers[name],
                            scenario,
                            tools.wrk,
                            tools.wrk_label,
                            seconds=seconds,
                            server_core=server_core,
                            load_core=load_core,
                        )
                    else:
                        continue
                    runs[name].rounds.setdefault(scenario.key, []).append(measurement)
        for name, server in servers.items():
            runs[name].error_log = server.error_log_lines()
    return scenarios, list(runs.values())
