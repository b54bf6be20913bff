"""`make bench`: our server against nginx, the stdlib-ssl server and tlslite-ng, in one run.

Servers run pinned to CPU 0 and load generators to CPU 1, so the two do not
fight for a core (except the scaling group, where nothing is pinned).
Groups, all run by default, any subset with --only:

    handshakes  full TLS 1.3 handshakes/s: ours, stdlib-ssl, nginx, tlslite-ng,
                with a replayed ClientHello (bench/handshake_load.py)
    https       1 KB keep-alive requests/s and 10 MB MB/s over TLS 1.3 (wrk):
                ours, stdlib-ssl, nginx
    plain       the same over plain HTTP: ours, nginx (bench/peers.py)
    scaling     ours with worker_processes 1 and 2, handshakes/s, CPU per worker
                (bench/scaling.py)
    toytls      the learning protocol, and plain HTTP with the same Python
                client for reference (bench/loadgen.py; wrk cannot speak toytls)
    tls13       ours vs the stdlib-ssl server in more detail (bench/tls13.py):
                handshakes with `openssl s_time` and wrk reconnects with session
                resumption; with --only tls13 also its own 1 KB and 10 MB rows
    http2       HTTP/2 (h2load, 10 connections x 10 streams) against our HTTP/1.1
                keep-alive rate (h2load --h1, 50 connections) and nginx's HTTP/2
                (bench/http2.py)
    pq          post-quantum: full handshakes/s on our server with a ClientHello
                captured from Node.js 24 offering X25519MLKEM768 beside one
                offering X25519, and Node's own HTTPS server on the hybrid
                (bench/pq.py)

    make bench                                              # everything, about 5 minutes
    .venv/bin/python bench/run.py --only handshakes,scaling --rounds 1 --seconds 3

Missing tools are installed when possible (wrk and nginx from Debian's
packages when root, tlslite-ng with pip into this environment), and said so.
docs/benchmarks.md explains every row.  Results are for this machine only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.handshake_load import describe_client_hello, record_client_hello
from bench.http2 import http2_report, measure_http2
from bench.loadgen import keepalive_load
from bench.peer_servers import (
    PeerSite,
    ensure_nginx,
    ensure_tlslite,
    nginx_version,
    stdlib_ssl_version,
)
from bench.peers import GROUPS as PEER_GROUPS
from bench.peers import PeerTools, measure_peers
from bench.peers_report import peers_report
from bench.pq import measure_pq, pq_report
from bench.scaling import measure_scaling
from bench.tls13 import (
    DEFAULT_ROUNDS,
    DEFAULT_S_TIME_CLIENTS,
    Tls13Site,
    measure_tls13,
    openssl_version,
    tls13_config_text,
)
from bench.tls13_report import tls13_report
from bench.wrk import ensure_wrk, wrk_version
from tls_web_server.client.fetch import toytls_client_factory
from tls_web_server.demo import BackgroundServer
from tls_web_server.tls import pki

SERVER_CPU = 0
LOAD_CPU = 1
SMALL_FILE = "/1k.bin"
LARGE_FILE = "/10m.bin"
GROUPS = (*PEER_GROUPS, "scaling", "toytls", "tls13", "http2", "pq")
# In the full run the tls13 group adds only what the peer table lacks.
TLS13_SCENARIOS_IN_FULL_RUN = ("handshakes", "reconnect")


@dataclass(frozen=True)
class Row:
    scenario: str
    peer: str
    rate: float
    unit: str
    note: str = ""


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} CPUs; Linux {platform.release()}; "
        f"Python {platform.python_version()}"
    )


@dataclass(frozen=True)
class BenchSite:
    """The files, certificates and configs every scenario uses (one set for all servers)."""

    plain_and_toytls_config: Path
    tls13: Tls13Site
    peers: PeerSite


def prepare_site(folder: Path) -> BenchSite:
    html = folder / "html"
    html.mkdir(parents=True)
    (html / "1k.bin").write_bytes(os.urandom(1024))
    (html / "10m.bin").write_bytes(os.urandom(10 * 1000 * 1000))
    certs = pki.generate_pki(folder / "certs", ["localhost"])
    config = folder / "bench.conf"
    config.write_text(
        f"""
http {{
    access_log off;
    server {{
        listen 127.0.0.1:0;
        listen 127.0.0.1:0 toytls;
        server_name localhost;
        ssl_certificate {certs.server_cert};
        ssl_certificate_key {certs.server_key};
        ssl_certificate_chain {certs.intermediate_cert};
        location / {{ root html; }}
    }}
}}
"""
    )
    tls13_config = folder / "tls13.conf"
    tls13_config.write_text(
        tls13_config_text(certs.server_cert, certs.server_key, certs.intermediate_cert)
    )
    logs = folder / "logs"
    logs.mkdir()
    return BenchSite(
        config, Tls13Site(tls13_config, certs.root_cert, logs), PeerSite(html, certs, logs)
    )


def measure_toytls(site: BenchSite, seconds: float) -> list[Row]:
    """toytls and, with the same Python client for reference, plain HTTP (loadgen.py)."""
    rows: list[Row] = []
    root_cert = site.tls13.root_certificate
    with BackgroundServer(site.plain_and_toytls_config, listeners=2, cpus={SERVER_CPU}) as server:
        host = "127.0.0.1"
        plain_port = int(server.url("plain").rstrip("/").rsplit(":", 1)[1])
        toy_port = int(server.url("toytls").rstrip("/").rsplit(":", 1)[1])
        time.sleep(0.5)
        for protocol, port, new_tls in (
            ("plain HTTP", plain_port, None),
            ("toytls", toy_port, toytls_client_factory(root_cert)),
        ):
            result = keepalive_load(
                host, port, SMALL_FILE, connections=50, seconds=seconds, new_tls=new_tls
            )
            rows.append(
                Row(
                    f"{protocol}, 1 KB, keep-alive",
                    "bench/loadgen.py",
                    result.requests_per_second,
                    "req/s",
                    "50 conns",
                )
            )
            result = keepalive_load(
                host, port, LARGE_FILE, connections=1, seconds=seconds, new_tls=new_tls
            )
            rows.append(
                Row(
                    f"{protocol}, 10 MB",
                    "bench/loadgen.py",
                    result.megabytes_per_second,
                    "MB/s",
                    "1 conn",
                )
            )
    return rows


def print_table(rows: list[Row]) -> None:
    header = f"{'scenario':<34} {'load generator':<22} {'rate':>12}  {'unit':<6} note"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.scenario:<34} {row.peer:<22} {row.rate:>12,.1f}  {row.unit:<6} {row.note}")


def parse_groups(text: str | None) -> set[str]:
    if text is None:
        return set(GROUPS)
    groups = {part.strip() for part in text.split(",") if part.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {GROUPS}")
    return groups


def find_tools(groups: set[str]) -> PeerTools:
    """Install what the chosen groups need and can be installed; versions for the report."""
    wrk = ensure_wrk()
    nginx = ensure_nginx() if groups & {*PEER_GROUPS, "http2"} else None
    tlslite = ensure_tlslite() if "handshakes" in groups else None
    return PeerTools(
        nginx=nginx,
        nginx_version=nginx_version(nginx) if nginx else "",
        tlslite_version=tlslite,
        stdlib_version=stdlib_ssl_version(),
        wrk=wrk,
        wrk_label=wrk_version(wrk) if wrk else "",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument(
        "--only", help=f"comma-separated groups to run, from: {', '.join(GROUPS)} (default: all)"
    )
    parser.add_argument(
        "--s-time-clients",
        type=int,
        default=DEFAULT_S_TIME_CLIENTS,
        help="concurrent `openssl s_time` processes for the tls13 group's handshake rate",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="rounds per scenario and server; the best round is shown",
    )
    args = parser.parse_args()
    groups = parse_groups(args.only)
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; server and load share a core", file=sys.stderr)
    started = time.monotonic()
    tools = find_tools(groups)
    # Everything started from here on runs on the load core unless it says
    # otherwise: servers pin themselves to SERVER_CPU, the scaling group unpins.
    os.sched_setaffinity(0, {LOAD_CPU})
    client_hello = record_client_hello()
    hello_facts = describe_client_hello(client_hello)
    peer_scenarios, peer_runs, scaling, rows, tls13_runs = [], [], None, [], []
    pq_rows, http2_rows = [], []
    with tempfile.TemporaryDirectory(prefix="tls-web-server-bench-") as tmp:
        site = prepare_site(Path(tmp))
        if groups & set(PEER_GROUPS):
            peer_scenarios, peer_runs = measure_peers(
                site.peers,
                tools,
                client_hello,
                groups=groups,
                seconds=args.seconds,
                rounds=args.rounds,
                server_core=SERVER_CPU,
                load_core=LOAD_CPU,
            )
        if "scaling" in groups:
            scaling = measure_scaling(
                site.peers, client_hello, seconds=args.seconds, rounds=args.rounds
            )
        if "toytls" in groups:
            rows = measure_toytls(site, args.seconds)
        if "tls13" in groups:
            tls13_runs = measure_tls13(
                site.tls13,
                seconds=args.seconds,
                wrk=tools.wrk,
                wrk_label=tools.wrk_label,
                server_core=SERVER_CPU,
                load_core=LOAD_CPU,
                s_time_clients=args.s_time_clients,
                rounds=args.rounds,
                scenario_keys=None if groups == {"tls13"} else TLS13_SCENARIOS_IN_FULL_RUN,
            )
        if "http2" in groups:
            http2_rows = measure_http2(
                site.peers,
                tools.nginx,
                seconds=args.seconds,
                rounds=args.rounds,
                server_core=SERVER_CPU,
            )
        if "pq" in groups:
            pq_rows = measure_pq(
                site.peers,
                seconds=args.seconds,
                rounds=args.rounds,
                server_core=SERVER_CPU,
                load_core=LOAD_CPU,
            )
    print()
    print(f"machine: {machine_description()}")
    took = time.monotonic() - started
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; the run took {took:.0f} s")
    print(
        f"servers on CPU {SERVER_CPU}, load generators on CPU {LOAD_CPU} (scaling: not pinned);"
        f" {args.seconds:g} s windows, best of {args.rounds}"
    )
    print(
        f"load generators: {tools.wrk_label or 'no wrk'}; {openssl_version()};"
        " bench/handshake_load.py replaying one ClientHello:"
    )
    print(f"  {hello_facts.summary()}")
    for problem in hello_facts.problems():
        print(f"  warning: the recorded ClientHello differs from the plan: {problem}")
    if peer_scenarios or scaling is not None:
        print()
        print("\n".join(peers_report(peer_scenarios, peer_runs, scaling)))
    if rows:
        print()
        print_table(rows)
    if tls13_runs:
        print()
        print("\n".join(tls13_report(tls13_runs)))
    if http2_rows:
        print()
        print("\n".join(http2_report(http2_rows)))
    if pq_rows:
        print()
        print("\n".join(pq_report(pq_rows, machine_description())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
