"""The TLS 1.3 group of `make bench`: our TLS against the same server over OpenSSL.

Two server processes run the same code (bench/tls13_server.py) pinned to the
same core, with the same certificate chain and files; only the TLS engine
differs.  Each scenario is measured on both engines back to back (which one
goes first alternates between rounds), so slow drifts of a shared machine
hit both columns alike, and the best of the rounds is shown:

    handshakes  full TLS 1.3 handshakes, a new connection (and new session) each
                time: several `openssl s_time -new -tls1_3` processes at once
    requests    a 1 KB file over 50 keep-alive connections: wrk -t1 -c50
    bulk        a 10 MB file over 1 connection: wrk -t1 -c1, MB/s
    reconnect   a 1 KB request per new connection: wrk -H 'Connection: close'
                (wrk resumes the TLS session when the server offers tickets,
                so this is not a full-handshake figure; the table says
                whether each engine resumed)

Every measurement carries the CPU use of server, client and both cores
(bench/cpu_usage.py) and the checks that failed (socket errors, zero
connections, non-2xx answers), so a number is never shown without what
limited it.  Before measuring, each engine is probed: OpenSSL's s_client must
verify the chain and report TLS 1.3 with an ECDSA signature, and a request
for the 1 KB file must return exactly that file.

This module starts and stops only its own server processes and load
generators, sends traffic only to 127.0.0.1, and never edits the server.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu_usage import CpuMeter, CpuUsage
from bench.tls13_server import ENGINES, EngineNotAvailable, ServerProcess, ServerProcessError
from bench.wrk import WrkError, run_wrk

ENGINE_TITLES = {"ours": "ours", "openssl": "OpenSSL baseline"}
HOST = "127.0.0.1"
SERVER_NAME = "localhost"
SMALL_FILE = "/1k.bin"
SMALL_FILE_SIZE = 1024
LARGE_FILE = "/10m.bin"
# s_time opens one connection at a time and waits for each; a few copies at
# once keep the server busy while one of them is computing its own side.
DEFAULT_S_TIME_CLIENTS = 4
KEEPALIVE_CONNECTIONS = 50
RECONNECT_CONNECTIONS = 8
# Each scenario is measured this many times per engine and the best round is
# shown: other processes on a shared machine can only slow a round down.
DEFAULT_ROUNDS = 2
PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    unit: str
    target: float | None  # the least ours/baseline ratio issue 3 asks for; None: no target


SCENARIOS = (
    Scenario("handshakes", "full handshakes, new conn each", "conn/s", 0.8),
    Scenario("requests", "1 KB keep-alive, 50 conns", "req/s", 1.0),
    Scenario("bulk", "10 MB, 1 conn", "MB/s", None),
    Scenario("reconnect", "1 KB, new conn per request", "conn/s", None),
)


@dataclass(frozen=True)
class Measurement:
    rate: float
    cpu: CpuUsage
    load_generator: str
    problems: tuple[str, ...] = ()
    detail: str = ""

    @property
    def per_server_cpu_second(self) -> float:
        """The rate divided by the server's CPU use: what one fully busy core would do."""
        return self.rate / self.cpu.server if self.cpu.server > 0 else 0.0


@dataclass
class EngineRun:
    """Everything learned about one engine in one run."""

    engine: str
    unavailable: str | None = None  # why it could not be measured
    negotiated: str = ""  # as OpenSSL's s_client saw it
    resumes: bool | None = None  # did a second connection resume the session?
    probe_problems: list[str] = field(default_factory=list)
    rounds: dict[str, list[Measurement]] = field(default_factory=dict)  # by scenario key
    error_log: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return ENGINE_TITLES[self.engine]

    def best(self, scenario_key: str) -> Measurement | None:
        """The fastest clean round of a scenario (a busy machine only ever slows a round
        down, so the best round is the least disturbed); a failed round only if all failed."""
        measurements = self.rounds.get(scenario_key, [])
        clean = [measurement for measurement in measurements if not measurement.problems]
        candidates = clean or measurements
        return max(candidates, key=lambda measurement: measurement.rate, default=None)


@dataclass(frozen=True)
class Tls13Site:
    """What both servers serve: a config with one `ssl` listener, its files and certificates."""

    config: Path
    root_certificate: Path
    log_folder: Path


def tls13_config_text(server_cert: Path, server_key: Path, intermediate_cert: Path) -> str:
    """A config with a single TLS 1.3 listener; the error log stays on stderr (ServerProcess)."""
    return f"""
http {{
    access_log off;
    server {{
        listen 127.0.0.1:0 ssl;
        server_name localhost;
        ssl_certificate {server_cert};
        ssl_certificate_key {server_key};
        ssl_certificate_chain {intermediate_cert};
        location / {{ root html; }}
    }}
}}
"""


# ---------------------------------------------------------------------------
# probes: is this really TLS 1.3 with our certificate, and does HTTP work?
# ---------------------------------------------------------------------------


def probe_with_s_client(port: int, root_certificate: Path) -> tuple[str, list[str]]:
    """(what was negotiated, problems) as OpenSSL's client reports them, chain verified."""
    command = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-servername", SERVER_NAME]
    command += ["-tls1_3", "-brief", "-CAfile", str(root_certificate), "-verify_return_error"]
    command += ["-verify_hostname", SERVER_NAME]
    try:
        result = subprocess.run(
            command, input="", capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        return "", ["s_client probe timed out"]
    report = dict(line.split(": ", 1) for line in result.stderr.splitlines() if ": " in line)
    problems = []
    if report.get("Protocol version") != "TLSv1.3":
        problems.append(f"s_client: protocol {report.get('Protocol version', 'none')}")
    if report.get("Verification") != "OK":
        problems.append(f"s_client: verification {report.get('Verification', 'failed')}")
    if report.get("Signature type") != "ECDSA":
        problems.append(f"s_client: signature {report.get('Signature type', 'none')}")
    if result.returncode != 0:
        problems.append(f"s_client exited with status {result.returncode}")
    group = report.get("Server Temp Key", "?").split(",")[0]
    negotiated = f"{report.get('Ciphersuite', '?')}, {group}, {report.get('Signature type', '?')}"
    return negotiated, problems


def _fetch_once(
    context: ssl.SSLContext, port: int, session: ssl.SSLSession | None
) -> tuple[bytes, ssl.SSLSession | None, bool]:
    """(whole response, session for resumption, whether this connection resumed)."""
    request = f"GET {SMALL_FILE} HTTP/1.1\r\nHost: {SERVER_NAME}\r\nConnection: close\r\n\r\n"
    with (
        socket.create_connection((HOST, port), timeout=PROBE_TIMEOUT_SECONDS) as raw,
        context.wrap_socket(raw, server_hostname=SERVER_NAME, session=session) as tls,
    ):
        tls.sendall(request.encode())
        response = bytearray()
        while chunk := tls.recv(65536):
            response += chunk
        # Reading to the end also read the NewSessionTicket messages (RFC 8446
        # section 4.6.1), so the session now holds a ticket if one was sent.
        return bytes(response), tls.session, tls.session_reused


def probe_http_and_resumption(port: int, root_certificate: Path) -> tuple[bool | None, list[str]]:
    """(did the second connection resume?, problems) using Python's ssl client."""
    context = ssl.create_default_context(cafile=str(root_certificate))
    try:
        response, session, _ = _fetch_once(context, port, None)
        _, _, resumed = _fetch_once(context, port, session)
    except (OSError, ssl.SSLError) as error:
        return None, [f"HTTPS probe failed: {error}"]
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    problems = []
    if not status_line.startswith(b"HTTP/1.1 200 "):
        problems.append(f"HTTPS probe: status line {status_line!r}")
    if len(body) != SMALL_FILE_SIZE:
        problems.append(f"HTTPS probe: {len(body)} body bytes, expected {SMALL_FILE_SIZE}")
    return resumed, problems


# ---------------------------------------------------------------------------
# load generators
# ---------------------------------------------------------------------------


def openssl_version() -> str:
    result = subprocess.run(["openssl", "version"], capture_output=True, text=True)
    return " ".join(result.stdout.split()[:2]) or "openssl"


def run_s_time(
    server: ServerProcess, *, clients: int, seconds: float, server_core: int, load_core: int
) -> Measurement:
    """Full handshakes per second from `clients` concurrent `openssl s_time -new` processes.

    s_time prints "N connections in T real seconds" with T a whole number of
    seconds and runs up to one second longer than asked, so the rate uses our
    own clock around the processes instead; its "connections/user sec" (how
    many handshakes the client manages per second of its own CPU) is kept as
    a detail.
    """
    duration = str(max(1, round(seconds)))
    command = ["taskset", "-c", str(load_core), "openssl", "s_time"]
    command += ["-connect", f"{HOST}:{server.port}", "-new", "-tls1_3", "-time", duration]
    meter = CpuMeter(server.pid, server_core=server_core, load_core=load_core)
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(clients)
    ]
    outputs = [process.communicate() for process in processes]
    cpu = meter.stop()
    connections = 0
    client_rates = []
    problems = []
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        match = re.search(r"(\d+) connections in [\d.]+s; ([\d.]+) connections/user sec", stdout)
        if process.returncode != 0 or match is None:
            first_error = (stderr.strip().splitlines() or ["no report"])[0]
            problems.append(f"s_time exited with status {process.returncode}: {first_error}")
            continue
        connections += int(match.group(1))
        client_rates.append(float(match.group(2)))
    if connections == 0:
        problems.append("s_time made no connection")
    detail = f"{connections} handshakes in {cpu.wall_seconds:.1f} s"
    if client_rates:
        average = sum(client_rates) / len(client_rates)
        detail += f"; s_time {average:,.0f} conn per client user-second"
    return Measurement(
        rate=connections / cpu.wall_seconds,
        cpu=cpu,
        load_generator=f"{openssl_version()} s_time -new x{clients}",
        problems=tuple(problems),
        detail=detail,
    )


def run_wrk_scenario(
    server: ServerProcess,
    wrk: str,
    wrk_label: str,
    scenario: str,
    *,
    seconds: float,
    server_core: int,
    load_core: int,
) -> Measurement:
    url = f"https://{HOST}:{server.port}"
    if scenario == "requests":
        url, connections, headers = url + SMALL_FILE, KEEPALIVE_CONNECTIONS, ()
    elif scenario == "bulk":
        url, connections, headers = url + LARGE_FILE, 1, ()
    else:  # reconnect: wrk opens a new connection after each "Connection: close" response
        url, connections, headers = url + SMALL_FILE, RECONNECT_CONNECTIONS, ("Connection: close",)
    label = f"{wrk_label} -c{connections}" + (" conn-close" if headers else "")
    meter = CpuMeter(server.pid, server_core=server_core, load_core=load_core)
    try:
        result = run_wrk(
            wrk, url, connections=connections, seconds=seconds, cpu=load_core, headers=headers
        )
    except WrkError as error:
        return Measurement(0.0, meter.stop(), label, (str(error).splitlines()[0],))
    cpu = meter.stop()
    rate = result.megabytes_per_second if scenario == "bulk" else result.requests_per_second
    return Measurement(rate, cpu, label, tuple(result.problems()), f"{result.requests} responses")


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------


def measure_scenario(
    server: ServerProcess,
    scenario_key: str,
    *,
    seconds: float,
    wrk: str | None,
    wrk_label: str,
    s_time_clients: int,
    server_core: int,
    load_core: int,
) -> Measurement:
    """One measurement window of one scenario against one running server."""
    if scenario_key == "handshakes" or wrk is None:
        return run_s_time(
            server,
            clients=s_time_clients,
            seconds=seconds,
            server_core=server_core,
            load_core=load_core,
        )
    return run_wrk_scenario(
        server,
        wrk,
        wrk_label,
        scenario_key,
        seconds=seconds,
        server_core=server_core,
        load_core=load_core,
    )


def summarize_error_log(lines: list[str], limit: int = 3) -> list[str]:
    """The most frequent error-log messages, without time stamp, pid and client address."""
    messages: Counter[str] = Counter()
    for line in lines:
        match = re.match(r"\S+ \S+ \[(\w+)\] \d+#\d+: (.*?)(?:, client: \S+)?$", line)
        messages[f"[{match.group(1)}] {match.group(2)}" if match else line] += 1
    return [f"{count} x {message}" for message, count in messages.most_common(limit)]


def measure_tls13(
    site: Tls13Site,
    *,
    seconds: float,
    wrk: str | None,
    wrk_label: str,
    server_core: int,
    load_core: int,
    s_time_clients: int = DEFAULT_S_TIME_CLIENTS,
    rounds: int = DEFAULT_ROUNDS,
    scenario_keys: tuple[str, ...] | None = None,
    say: Callable[[str], None] = print,
) -> list[EngineRun]:
    """Start both servers, probe them, then measure each scenario on ours and on the baseline.

    `scenario_keys` picks some of SCENARIOS (all when None): `make bench`
    measures keep-alive and 10 MB rates in its peer table already.
    """
    runs = [EngineRun(engine) for engine in ENGINES]
    servers: dict[str, ServerProcess] = {}
    if shutil.which("openssl") is None:
        say("TLS 1.3 group skipped: the openssl command is missing (apt-get install openssl)")
        for run in runs:
            run.unavailable = "not measured: no openssl command"
        return runs
    with ExitStack() as stack:
        for run in runs:
            log_path = site.log_folder / f"tls13-{run.engine}-error.log"
            server = ServerProcess(site.config, run.engine, cpu=server_core, log_path=log_path)
            try:
                servers[run.engine] = stack.enter_context(server)
            except EngineNotAvailable as reason:
                run.unavailable = "not available"
                say(f"{run.engine}: not available ({reason})")
                continue
            except ServerProcessError as error:
                run.unavailable = "did not start"
                say(f"{run.engine}: {error}")
                continue
            run.negotiated, run.probe_problems = probe_with_s_client(
                server.port, site.root_certificate
            )
            run.resumes, problems = probe_http_and_resumption(server.port, site.root_certificate)
            run.probe_problems += problems
            if run.probe_problems:
                run.unavailable = "failed its probe"
                say(f"{run.engine}: failed its probe: {'; '.join(run.probe_problems)}")
        measurable = [run for run in runs if run.unavailable is None]
        time.sleep(0.5)  # let both servers settle before the first window
        for round_number in range(rounds):
            # Alternate which engine goes first, so neither always gets the warmer machine.
            order = measurable if round_number % 2 == 0 else measurable[::-1]
            for scenario in SCENARIOS:
                if scenario.key != "handshakes" and wrk is None:
                    continue
                if scenario_keys is not None and scenario.key not in scenario_keys:
                    continue
                for run in order:
                    say(
                        f"round {round_number + 1}/{rounds}: TLS 1.3 {scenario.title}"
                        f" on {run.title} ..."
                    )
                    measurement = measure_scenario(
                        servers[run.engine],
                        scenario.key,
                        seconds=seconds,
                        wrk=wrk,
                        wrk_label=wrk_label,
                        s_time_clients=s_time_clients,
                        server_core=server_core,
                        load_core=load_core,
                    )
                    run.rounds.setdefault(scenario.key, []).append(measurement)
    for run in runs:
        if run.engine in servers:
            run.error_log = servers[run.engine].error_log_lines()
    return runs
