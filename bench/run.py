"""`make bench`: requests/s, throughput and TLS 1.3 handshakes of our server, in one run.

The server runs pinned to CPU 0 and the load generator to CPU 1, so the two
do not fight for a core.  Three groups of scenarios:

    plain    plain HTTP with wrk (installed from Debian's packages when missing
             and we are root) and with our own Python load generator
             (bench/loadgen.py)
    toytls   the learning protocol, with bench/loadgen.py (wrk cannot speak it)
    tls13    our TLS 1.3 against the same server with OpenSSL doing the TLS
             (bench/tls13.py): handshakes with `openssl s_time`, requests and
             MB/s with wrk, a ratio per scenario and issue 3's targets

    make bench                      # everything, about two minutes
    .venv/bin/python bench/run.py --seconds 2 --rounds 1 --only tls13   # a quick look

docs/benchmarks.md explains every row and how the OpenSSL baseline is built.

Results are ratios and rates for this machine only; the tables say which
machine and which load generator produced each row.
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

from bench.loadgen import keepalive_load
from bench.tls13 import (
    DEFAULT_ROUNDS,
    DEFAULT_S_TIME_CLIENTS,
    Tls13Site,
    measure_tls13,
    tls13_config_text,
)
from bench.tls13_report import tls13_report
from bench.wrk import WrkResult, ensure_wrk, run_wrk, wrk_version
from tls_web_server.demo import BackgroundServer
from tls_web_server.tcp.client import toytls_client_factory
from tls_web_server.tls import pki

SERVER_CPU = 0
LOAD_CPU = 1
SMALL_FILE = "/1k.bin"
LARGE_FILE = "/10m.bin"


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


def wrk_rate_row(scenario: str, peer: str, result: WrkResult, *, megabytes: bool, note: str) -> Row:
    """A table row from a wrk run; failed sanity checks go into the note instead of hiding."""
    problems = result.problems()
    if problems:
        note = f"{note}; {'; '.join(problems)}"
    rate = result.megabytes_per_second if megabytes else result.requests_per_second
    return Row(scenario, peer, rate, "MB/s" if megabytes else "req/s", note)


@dataclass(frozen=True)
class BenchSite:
    """The files, certificates and configs every scenario uses (one set for all servers)."""

    plain_and_toytls_config: Path
    tls13: Tls13Site


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
    # The TLS 1.3 listener has a config of its own: while our TLS 1.3 is missing,
    # Server(config) refuses any config with an `ssl` listener.
    tls13_config = folder / "tls13.conf"
    tls13_config.write_text(
        tls13_config_text(certs.server_cert, certs.server_key, certs.intermediate_cert)
    )
    logs = folder / "logs"
    logs.mkdir()
    return BenchSite(config, Tls13Site(tls13_config, certs.root_cert, logs))


def measure_plain_and_toytls(
    site: BenchSite, seconds: float, only: str | None, wrk: str | None
) -> list[Row]:
    rows: list[Row] = []
    root_cert = site.tls13.root_certificate
    with BackgroundServer(site.plain_and_toytls_config, listeners=2, cpus={SERVER_CPU}) as server:
        plain = server.url("plain").rstrip("/")
        toy = server.url("toytls").rstrip("/")
        host, plain_port = "127.0.0.1", int(plain.rsplit(":", 1)[1])
        toy_port = int(toy.rsplit(":", 1)[1])
        time.sleep(0.5)

        if only in (None, "plain"):
            if wrk:
                peer = wrk_version(wrk)
                result = run_wrk(
                    wrk, plain + SMALL_FILE, connections=50, seconds=seconds, cpu=LOAD_CPU
                )
                rows.append(
                    wrk_rate_row(
                        "plain HTTP, 1 KB, keep-alive",
                        peer,
                        result,
                        megabytes=False,
                        note="50 conns",
                    )
                )
                result = run_wrk(
                    wrk, plain + LARGE_FILE, connections=1, seconds=seconds, cpu=LOAD_CPU
                )
                rows.append(
                    wrk_rate_row("plain HTTP, 10 MB", peer, result, megabytes=True, note="1 conn")
                )
            result = keepalive_load(host, plain_port, SMALL_FILE, connections=50, seconds=seconds)
            rows.append(
                Row(
                    "plain HTTP, 1 KB, keep-alive",
                    "bench/loadgen.py",
                    result.requests_per_second,
                    "req/s",
                    "50 conns",
                )
            )
            result = keepalive_load(host, plain_port, LARGE_FILE, connections=1, seconds=seconds)
            rows.append(
                Row(
                    "plain HTTP, 10 MB",
                    "bench/loadgen.py",
                    result.megabytes_per_second,
                    "MB/s",
                    "1 conn",
                )
            )

        if only in (None, "toytls"):
            new_tls = toytls_client_factory(root_cert)
            result = keepalive_load(
                host, toy_port, SMALL_FILE, connections=50, seconds=seconds, new_tls=new_tls
            )
            rows.append(
                Row(
                    "toytls, 1 KB, keep-alive",
                    "bench/loadgen.py",
                    result.requests_per_second,
                    "req/s",
                    "50 conns",
                )
            )
            result = keepalive_load(
                host, toy_port, LARGE_FILE, connections=1, seconds=seconds, new_tls=new_tls
            )
            rows.append(
                Row(
                    "toytls, 10 MB",
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument(
        "--only", choices=["plain", "toytls", "tls13"], help="run one group of scenarios"
    )
    parser.add_argument(
        "--s-time-clients",
        type=int,
        default=DEFAULT_S_TIME_CLIENTS,
        help="concurrent `openssl s_time` processes for the TLS 1.3 handshake rate",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="TLS 1.3 rounds per scenario and engine; the best round is shown",
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; server and load share a core", file=sys.stderr)
    wrk = ensure_wrk()
    # Everything started from here on (load generators) runs on the load core;
    # servers pin themselves to SERVER_CPU.
    os.sched_setaffinity(0, {LOAD_CPU})
    with tempfile.TemporaryDirectory(prefix="tls-web-server-bench-") as tmp:
        site = prepare_site(Path(tmp))
        rows = []
        if args.only in (None, "plain", "toytls"):
            rows = measure_plain_and_toytls(site, args.seconds, args.only, wrk)
        runs = []
        if args.only in (None, "tls13"):
            runs = measure_tls13(
                site.tls13,
                seconds=args.seconds,
                wrk=wrk,
                wrk_label=wrk_version(wrk) if wrk else "",
                server_core=SERVER_CPU,
                load_core=LOAD_CPU,
                s_time_clients=args.s_time_clients,
                rounds=args.rounds,
            )
    print()
    print(f"machine: {machine_description()}")
    print(f"server on CPU {SERVER_CPU}, load generator on CPU {LOAD_CPU}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    if rows:
        print()
        print_table(rows)
    if runs:
        print()
        print("\n".join(tls13_report(runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
