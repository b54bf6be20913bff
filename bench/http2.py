"""The http2 group of `make bench`: HTTP/2 against our own HTTP/1.1, and against nginx's HTTP/2.

    ours h2     h2load -c 10 -m 10      10 connections x 10 concurrent streams, ALPN h2
    ours h1     h2load --h1 -c 50       50 keep-alive HTTP/1.1 connections over TLS 1.3
    nginx h2    h2load -c 10 -m 10      the same load on nginx with `listen ... ssl http2`
    nginx h1    h2load --h1 -c 50

All rows fetch the 1 KB file for `seconds`, the server pinned to one core
and h2load (nghttp2-client, one thread) to the other, in the same run, so
the ratios compare like with like: ours h2 / ours h1 is the target (>= 1.0x:
HTTP/2 must not cost us requests), ours h2 / nginx h2 says how far Python
is from C on the same protocol.

This module starts and stops only its own children and writes only under
the run's temporary folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

from bench.peer_servers import (
    BENCH_FOLDER,
    HOST,
    NGINX_KEEPALIVE_REQUESTS,
    ChildServer,
    PeerSite,
    PeerUnavailable,
    free_port,
    nginx_config_text,
)

SMALL_FILE = "/1k.bin"
H2_CONNECTIONS, H2_STREAMS = 10, 10
H1_CONNECTIONS = 50
_FINISHED = re.compile(r"finished in [0-9.]+m?s, ([0-9.]+) req/s")
_REQUESTS = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded")
_PROTOCOL = re.compile(r"Application protocol: (\S+)")


@dataclass(frozen=True)
class H2loadResult:
    server: str
    protocol: str  # what h2load says it negotiated: "h2" or "http/1.1"
    load: str  # the h2load options that shaped the load
    requests_per_second: float
    succeeded: int
    total: int


def ours_http2_config_text(site: PeerSite) -> str:
    """Our server with `http2 on` (h2 then http/1.1 by ALPN) on one TLS 1.3 listener."""
    return f"""
worker_processes 1;
http {{
    access_log off;
    server {{
        listen {HOST}:0 ssl;
        server_name localhost;
        http2 on;
        keepalive_requests {NGINX_KEEPALIVE_REQUESTS};
        ssl_certificate {site.certs.server_cert};
        ssl_certificate_key {site.certs.server_key};
        ssl_certificate_chain {site.certs.intermediate_cert};
        location / {{ root {site.html}; }}
    }}
}}
"""


def ours_http2_server(site: PeerSite, *, cpus: set[int]) -> ChildServer:
    config = site.work / "ours-http2.conf"
    config.write_text(ours_http2_config_text(site))
    command = [sys.executable, str(BENCH_FOLDER / "tls13_server.py"), "--engine", "ours"]
    return ChildServer(
        "ours",
        [*command, "-c", str(config)],
        cpus=cpus,
        log_path=site.work / "ours-http2-error.log",
        listening_lines=1,
    )


def nginx_http2_server(site: PeerSite, nginx: str, *, cpus: set[int]) -> ChildServer:
    """nginx as peer_servers.py runs it, its TLS listener with `http2` (1.22's spelling)."""
    prefix = site.work / "nginx-http2"
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    ports = {"http": free_port(), "https": free_port()}
    text = nginx_config_text(site, prefix, http_port=ports["http"], https_port=ports["https"])
    https_listen = f"listen {HOST}:{ports['https']} ssl;"
    assert https_listen in text, "peer_servers.nginx_config_text changed its listen line"
    config = prefix / "nginx.conf"
    config.write_text(text.replace(https_listen, https_listen[:-1] + " http2;"))
    command = [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
    return ChildServer(
        "nginx",
        [*command, "-g", "daemon off;"],
        cpus=cpus,
        log_path=prefix / "error.log",
        known_ports=ports,
    )


def run_h2load(server: str, port: int, seconds: float, *, http1: bool) -> H2loadResult:
    url = f"https://localhost:{port}{SMALL_FILE}"
    if http1:
        load = ["--h1", "-c", str(H1_CONNECTIONS), "-m", "1"]
    else:
        load = ["-c", str(H2_CONNECTIONS), "-m", str(H2_STREAMS)]
    # -D: a fixed duration (the rate is what we compare); -t 1: one load thread, one core.
    command = ["h2load", "-t", "1", "-D", f"{max(int(seconds), 1)}", *load, url]
    report = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds * 4 + 60, check=False
    ).stdout
    finished = _FINISHED.search(report)
    requests = _REQUESTS.search(report)
    protocol = _PROTOCOL.search(report)
    if finished is None or requests is None:
        raise PeerUnavailable(f"h2load against {server} printed no result: {report[-300:]}")
    return H2loadResult(
        server=server,
        protocol=protocol[1] if protocol else "?",
        load=" ".join(load),
        requests_per_second=float(finished[1]),
        succeeded=int(requests[4]),
        total=int(requests[1]),
    )


def measure_http2(
    site: PeerSite,
    nginx: str | None,
    *,
    seconds: float,
    rounds: int,
    server_core: int,
    say=print,
) -> list[H2loadResult]:
    """The best round of each row (ours h2, ours h1, nginx h2, nginx h1); none without h2load."""
    if shutil.which("h2load") is None:
        say("h2load is not installed (apt-get install nghttp2-client): no http2 rows")
        return []
    starters = [("ours", lambda: ours_http2_server(site, cpus={server_core}))]
    if nginx is not None:
        starters.append(("nginx", lambda: nginx_http2_server(site, nginx, cpus={server_core})))
    results = []
    for name, start in starters:
        try:
            with start() as server:
                for http1 in (False, True):
                    best = max(
                        (
                            run_h2load(name, server.ports["https"], seconds, http1=http1)
                            for _ in range(rounds)
                        ),
                        key=lambda result: result.requests_per_second,
                    )
                    results.append(best)
        except PeerUnavailable as error:
            say(f"{name}: {error}")
    return results


def http2_report(results: list[H2loadResult]) -> list[str]:
    """The table, then the two ratios the issue asks for."""
    if not results:
        return []
    lines = [
        "HTTP/2 vs HTTP/1.1 over TLS 1.3, 1 KB file, h2load (one thread) on the other core",
        f"{'server':8} {'protocol':9} {'load':20} {'req/s':>10} {'ok/total':>16}",
    ]
    for result in results:
        lines.append(
            f"{result.server:8} {result.protocol:9} {result.load:20} "
            f"{result.requests_per_second:>10,.0f} {result.succeeded:>7}/{result.total:<8}"
        )
    rate = {(r.server, r.load.startswith("--h1")): r.requests_per_second for r in results}
    ours_h2, ours_h1 = rate.get(("ours", False)), rate.get(("ours", True))
    nginx_h2, nginx_h1 = rate.get(("nginx", False)), rate.get(("nginx", True))
    if ours_h2 and ours_h1:
        verdict = "meets" if ours_h2 >= ours_h1 else "misses"
        lines.append(
            f"ours: HTTP/2 is {ours_h2 / ours_h1:.2f}x our HTTP/1.1 rate "
            f"({verdict} the >= 1.0x target)"
        )
    if ours_h2 and nginx_h2:
        lines.append(f"ours HTTP/2 / nginx HTTP/2: {ours_h2 / nginx_h2:.3f}x")
    if nginx_h2 and nginx_h1:
        lines.append(f"nginx: HTTP/2 is {nginx_h2 / nginx_h1:.2f}x its own HTTP/1.1 rate")
    return lines
