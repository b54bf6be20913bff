"""`make bench`: requests/s and throughput of our server, measured side by side in one run.

The server runs pinned to CPU 0 and the load generator to CPU 1, so the two
do not fight for a core.  Plain HTTP is measured with wrk (installed from
Debian's packages when missing and we are root) and with our own Python load
generator (bench/loadgen.py), which also speaks the learning protocol.

    make bench                      # everything, about a minute
    .venv/bin/python bench/run.py --seconds 2 --only plain   # a quick look

Results are ratios and rates for this machine only; the table says which
machine and which load generator produced each row.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import keepalive_load
from tls_web_server.demo import BackgroundServer
from tls_web_server.tcp.client import toytls_client_factory
from tls_web_server.tls import pki

SERVER_CPU = 0
LOAD_CPU = 1
SMALL_FILE = "/1k.bin"
LARGE_FILE = "/10m.bin"


@dataclass
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


def run_wrk(wrk: str, url: str, *, connections: int, seconds: float) -> tuple[float, float]:
    """(requests/s, MB/s of transfer) as wrk reports them."""
    duration = max(1, round(seconds))  # wrk takes whole seconds
    result = subprocess.run(
        ["taskset", "-c", str(LOAD_CPU), wrk, "-t1", f"-c{connections}", f"-d{duration}s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", result.stdout)
    scale = {"B": 1e-6, "KB": 1024 / 1e6, "MB": 1024**2 / 1e6, "GB": 1024**3 / 1e6}
    return requests, float(transfer.group(1)) * scale[transfer.group(2)]


def prepare_site(folder: Path) -> Path:
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
    return config


def measure(seconds: float, only: str | None) -> list[Row]:
    rows: list[Row] = []
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="tls-web-server-bench-") as tmp:
        folder = Path(tmp)
        config = prepare_site(folder)
        root_cert = folder / "certs" / "root_cert.pem"
        with BackgroundServer(config, listeners=2, cpus={SERVER_CPU}) as server:
            plain = server.url("plain").rstrip("/")
            toy = server.url("toytls").rstrip("/")
            host, plain_port = "127.0.0.1", int(plain.rsplit(":", 1)[1])
            toy_port = int(toy.rsplit(":", 1)[1])
            os.sched_setaffinity(0, {LOAD_CPU})
            time.sleep(0.5)

            if only in (None, "plain"):
                if wrk:
                    peer = wrk_version(wrk)
                    rate, _ = run_wrk(wrk, plain + SMALL_FILE, connections=50, seconds=seconds)
                    rows.append(
                        Row("plain HTTP, 1 KB, keep-alive", peer, rate, "req/s", "50 conns")
                    )
                    _, throughput = run_wrk(wrk, plain + LARGE_FILE, connections=1, seconds=seconds)
                    rows.append(Row("plain HTTP, 10 MB", peer, throughput, "MB/s", "1 conn"))
                result = keepalive_load(
                    host, plain_port, SMALL_FILE, connections=50, seconds=seconds
                )
                rows.append(
                    Row(
                        "plain HTTP, 1 KB, keep-alive",
                        "bench/loadgen.py",
                        result.requests_per_second,
                        "req/s",
                        "50 conns",
                    )
                )
                result = keepalive_load(
                    host, plain_port, LARGE_FILE, connections=1, seconds=seconds
                )
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
    print()
    print(f"machine: {machine_description()}")
    print(f"server on CPU {SERVER_CPU}, load generator on CPU {LOAD_CPU}")
    print()
    header = f"{'scenario':<34} {'load generator':<22} {'rate':>12}  {'unit':<6} note"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.scenario:<34} {row.peer:<22} {row.rate:>12,.1f}  {row.unit:<6} {row.note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--only", choices=["plain", "toytls"], help="run one group of scenarios")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 CPUs; server and load share a core", file=sys.stderr)
    print_table(measure(args.seconds, args.only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
