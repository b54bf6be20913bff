"""Post-quantum handshakes: X25519MLKEM768 against x25519 on our server, and Node.js 24 as a peer.

Two ClientHellos are captured from Node.js 24 (OpenSSL 3.5), the way a
browser-like client writes them in 2026: one offering only X25519MLKEM768
(a 1,216-byte key share), one offering only X25519.  Node's TLS client
connects to a plain TCP listener here, which keeps the first record it
sends and hangs up.  Each is then replayed by bench/handshake_load.py
against the same server, round after round, side by side:

    ours   x25519 ClientHello           full handshakes/s (first flights)
    ours   X25519MLKEM768 ClientHello   full handshakes/s
    node   X25519MLKEM768 ClientHello   Node's own HTTPS server (bench/node/https_server.js)

and two ratios with their targets: hybrid / classical on our server (at
least 0.8x: ML-KEM-768 encapsulation costs about 50 us against about 136 us
for the whole classical crypto floor) and ours / Node on the hybrid (at
least 1.0x).  A server that cannot answer a ClientHello (one configured
without the hybrid groups answers X25519MLKEM768 alone with a
handshake_failure alert) gets a row saying so, and the rest still runs.

`make bench` runs it as the `pq` group; alone:

    .venv/bin/python bench/pq.py --seconds 3 --rounds 1

This module sends traffic only to 127.0.0.1, stops by itself, and stops only
the processes it started.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import node
from bench.handshake_load import (
    RECORD_HEADER_LENGTH,
    HandshakeLoadError,
    calibrate,
    describe_client_hello,
)
from bench.peer_servers import HOST, ChildServer, PeerSite, PeerUnavailable, ours_server
from bench.peers import measure_handshakes
from bench.tls13 import Measurement
from tls_web_server.tls import pki

CAPTURE_TIMEOUT_SECONDS = 30.0
HYBRID = "X25519MLKEM768"
CLASSICAL = "x25519"
HYBRID_TARGET = 0.8  # ours with X25519MLKEM768 / ours with x25519
NODE_TARGET = 1.0  # ours / Node's HTTPS server, both on X25519MLKEM768


# ---------------------------------------------------------------------------
# ClientHellos captured from Node.js 24
# ---------------------------------------------------------------------------


def capture_node_client_hello(groups: str, root_cert: Path) -> bytes:
    """The first TLS record Node's client sends when it offers `groups` (OpenSSL's names).

    A listener on 127.0.0.1 accepts Node's connection, reads one whole record
    (a ClientHello fits in one: at most 2^14 bytes, RFC 8446 section 5.1) and
    closes; Node then reports a failed connection, which is expected.
    """
    with socket.create_server((HOST, 0)) as listener:
        listener.settimeout(CAPTURE_TIMEOUT_SECONDS)
        port = listener.getsockname()[1]
        client = subprocess.Popen(
            node.https_get_command(port, root_cert, groups=groups),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            connection, _address = listener.accept()
            with connection:
                connection.settimeout(CAPTURE_TIMEOUT_SECONDS)
                record = _read_record(connection)
        finally:
            try:
                client.wait(timeout=CAPTURE_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
    return record


def _read_record(connection: socket.socket) -> bytes:
    received = bytearray()
    needed = RECORD_HEADER_LENGTH
    while len(received) < needed:
        chunk = connection.recv(65536)
        if not chunk:
            raise HandshakeLoadError(f"node closed after {len(received)} bytes of its ClientHello")
        received += chunk
        if len(received) >= RECORD_HEADER_LENGTH:
            needed = RECORD_HEADER_LENGTH + int.from_bytes(received[3:5], "big")
    return bytes(received[:needed])


@dataclass(frozen=True)
class CapturedHello:
    label: str  # what it offers, as the table shows it
    record: bytes
    path: Path  # the file handshake_load.py replays

    def summary(self) -> str:
        return describe_client_hello(self.record).summary()


def capture_hellos(root_cert: Path, folder: Path) -> dict[str, CapturedHello]:
    """Node's ClientHello offering only X25519, and only X25519MLKEM768 (its key shares)."""
    captured = {}
    for group in (CLASSICAL, HYBRID):
        record = capture_node_client_hello(node.OPENSSL_GROUP_NAMES[group], root_cert)
        facts = describe_client_hello(record)
        if facts.key_share_groups != (group,):
            raise HandshakeLoadError(
                f"node's ClientHello for {group} carries key shares {facts.key_share_groups}"
            )
        path = folder / f"node-client-hello-{group}.bin"
        path.write_bytes(record)
        captured[group] = CapturedHello(f"{group} only", record, path)
    return captured


# ---------------------------------------------------------------------------
# the measurement
# ---------------------------------------------------------------------------


@dataclass
class PqRow:
    server: str  # "ours" or "node 24.x (OpenSSL 3.5.x)"
    hello: CapturedHello
    unavailable: str | None = None
    rounds: list[Measurement] = field(default_factory=list)

    @property
    def best(self) -> Measurement | None:
        measured = [m for m in self.rounds if m.rate > 0 and not m.problems]
        return max(measured, key=lambda m: m.rate, default=None)


def node_server(site: PeerSite, *, cpus: set[int]) -> ChildServer:
    """Node's HTTPS server with its default groups (X25519MLKEM768 first), not yet started."""
    certs = site.certs
    command = node.https_server_command(
        certs.server_key, certs.server_cert, certs.intermediate_cert, groups=None, body="pq bench"
    )
    return ChildServer(
        "node", command, cpus=cpus, log_path=site.work / "node.log", listening_lines=1
    )


def _measure_row(
    row: PqRow, server: ChildServer, seconds: float, server_core: int, load_core: int
) -> None:
    if row.unavailable is not None:
        return
    https_port = server.ports["https"]
    try:
        flight = calibrate(HOST, https_port, row.hello.record)
    except HandshakeLoadError as error:
        row.unavailable = str(error)
        return
    row.rounds.append(
        measure_handshakes(
            server,
            flight,
            row.hello.path,
            seconds=seconds,
            server_core=server_core,
            load_core=load_core,
        )
    )


def measure_pq(
    site: PeerSite,
    *,
    seconds: float,
    rounds: int,
    server_core: int,
    load_core: int,
    say: Callable[[str], None] = print,
) -> list[PqRow]:
    """Our server with both ClientHellos, round by round; then Node's server with the hybrid."""
    hellos = capture_hellos(site.certs.root_cert, site.work)
    ours = [PqRow("ours", hellos[CLASSICAL]), PqRow("ours", hellos[HYBRID])]
    versions = node.node_versions()
    node_row = PqRow(f"node {versions['node']} (OpenSSL {versions['openssl']})", hellos[HYBRID])
    with ours_server(site, "ours", cpus={server_core}) as server:
        for round_number in range(rounds):
            for row in ours:  # alternating, so drift hits both alike
                say(f"pq: ours, {row.hello.label}, round {round_number + 1}/{rounds}")
                _measure_row(row, server, seconds, server_core, load_core)
    try:
        with node_server(site, cpus={server_core}) as server:
            for round_number in range(rounds):
                say(f"pq: {node_row.server}, {node_row.hello.label}, round {round_number + 1}")
                _measure_row(node_row, server, seconds, server_core, load_core)
    except PeerUnavailable as error:
        node_row.unavailable = str(error)
    return [*ours, node_row]


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


def _ratio_line(name: str, numerator: PqRow, denominator: PqRow, target: float) -> str:
    top, bottom = numerator.best, denominator.best
    if top is None or bottom is None:
        missing = numerator if top is None else denominator
        return f"{name}: not measured ({missing.server}, {missing.hello.label}: no result)"
    ratio = top.rate / bottom.rate
    verdict = "met" if ratio >= target else "NOT met"
    return f"{name}: {ratio:.2f}x (target >= {target:g}x: {verdict})"


def pq_report(rows: list[PqRow], machine: str) -> list[str]:
    """The table: one line per server and ClientHello, then the two ratios."""
    lines = [
        "post-quantum handshakes (bench/pq.py): full handshakes/s, ClientHellos from Node.js 24",
        f"machine: {machine}",
    ]
    for row in rows[:2]:
        lines.append(f"  ClientHello {row.hello.label}: {row.hello.summary()}")
    header = (
        f"{'server':<34} {'ClientHello offers':<22} {'handshakes/s':>13}  {'server CPU':>10}"
        f"  {'per CPU-s':>10}"
    )
    lines += ["", header, "-" * len(header)]
    for row in rows:
        best = row.best
        if best is None:
            why = row.unavailable or "; ".join(p for m in row.rounds for p in m.problems)
            lines.append(f"{row.server:<34} {row.hello.label:<22} {'-':>13}  {'':>10} {why}")
            continue
        lines.append(
            f"{row.server:<34} {row.hello.label:<22} {best.rate:>13,.0f}  {best.cpu.server:>10.0%}"
            f"  {best.per_server_cpu_second:>10,.0f}"
        )
    classical, hybrid, node_row = rows
    lines += [
        "",
        _ratio_line("hybrid / classical on our server", hybrid, classical, HYBRID_TARGET),
        _ratio_line("ours / Node on X25519MLKEM768", hybrid, node_row, NODE_TARGET),
        "(per CPU-s: the rate divided by the server's share of its core, what one busy core"
        " gives; compare those when another load shares the machine)",
    ]
    return lines


def main() -> int:
    from bench.run import LOAD_CPU, SERVER_CPU, machine_description

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {LOAD_CPU})
    with tempfile.TemporaryDirectory(prefix="tls-web-server-pq-") as tmp:
        folder = Path(tmp)
        html = folder / "html"
        html.mkdir()
        (html / "1k.bin").write_bytes(os.urandom(1024))
        work = folder / "work"
        work.mkdir()
        site = PeerSite(html, pki.generate_pki(folder / "certs", ["localhost"]), work)
        rows = measure_pq(
            site,
            seconds=args.seconds,
            rounds=args.rounds,
            server_core=SERVER_CPU,
            load_core=LOAD_CPU,
        )
    print()
    print("\n".join(pq_report(rows, machine_description())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
