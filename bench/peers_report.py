"""Issue 5's tables: rates of every peer, ours against each with the targets, worker scaling.

Blocks, so that no number appears without what limited it:

1. rates: one row per scenario, one column per server, and the load generator;
2. targets: one row per (scenario, peer) with a target, the ratio of ours
   to that peer, the same ratio per server CPU-second, and a verdict
   (`meets`, `below`; a stretch target in brackets says `stretch met` or
   `stretch missed`; `n/a` when a side is missing; `check failed` when a
   measurement's sanity check failed);
3. the peers: version, what s_client negotiated, the first flight each sent
   to the replayed ClientHello;
4. worker scaling, with the CPU split and the projection;
5. every round: rate, CPU of the server, of the load generator and of both
   cores, the likely bottleneck, failed checks; the error logs; notes.

This module only formats; it measures nothing.
"""

from __future__ import annotations

import os

from bench.cpu_usage import CpuUsage
from bench.peers import PEER_NAMES, PeerRun, PeerScenario, Target
from bench.scaling import MODES, TARGET_SPEEDUP, ScalingResult
from bench.tls13 import Measurement, summarize_error_log

# Above this share of the server's core used by something else, a round's rate is doubtful.
OTHER_LOAD_WARNING = 0.25


# A load core this busy is full: the load generator plus the kernel's network work
# on its behalf (softirq, charged to no process) leave the client no room to go faster.
LOAD_CORE_FULL = 0.8


def bottleneck(cpu: CpuUsage) -> str:
    """bench/cpu_usage.py's rule of thumb, plus a full load core counted as the client's limit.

    Against nginx a single wrk thread is the limit for small files: wrk's own
    CPU stays near 50% while the rest of its core goes to loopback TCP work.
    """
    verdict = cpu.bottleneck()
    if verdict in ("server", "client"):
        return verdict
    # The server's core had room to spare while the load core was full.
    if cpu.server_core_busy < 0.9 and cpu.load_core_busy >= LOAD_CORE_FULL:
        return "client"
    return verdict


def _cell(run: PeerRun | None, scenario: PeerScenario) -> str:
    if run is None or run.name not in scenario.peers:
        return "-"
    if run.unavailable:
        return "n/a"
    measurement = run.best(scenario.key)
    if measurement is None:
        return "n/a"
    text = f"{measurement.rate:,.1f}"
    return text + "!" if measurement.problems else text


def rates_lines(scenarios: list[PeerScenario], runs: list[PeerRun]) -> list[str]:
    by_name = {run.name: run for run in runs}
    header = f"{'scenario':<38} {'unit':<6}" + "".join(f" {name:>11}" for name in PEER_NAMES)
    header += "  load generator"
    lines = [header, "-" * len(header)]
    for scenario in scenarios:
        cells = "".join(f" {_cell(by_name.get(name), scenario):>11}" for name in PEER_NAMES)
        measured = [best for run in runs if (best := run.best(scenario.key)) is not None]
        generator = measured[0].load_generator if measured else ""
        lines.append(f"{scenario.title:<38} {scenario.unit:<6}{cells}  {generator}")
    lines.append("(! = a sanity check failed for that number; see the notes)")
    return lines


def _verdict(target: Target, ratio: float) -> str:
    met = ratio >= target.ratio
    if target.stretch:
        return "stretch met" if met else "stretch missed"
    return "meets" if met else "below"


def _ratio(ours: Measurement, peer: Measurement, *, per_cpu: bool) -> float | None:
    ours_value = ours.per_server_cpu_second if per_cpu else ours.rate
    peer_value = peer.per_server_cpu_second if per_cpu else peer.rate
    return ours_value / peer_value if peer_value > 0 else None


def target_lines(scenarios: list[PeerScenario], runs: list[PeerRun]) -> list[str]:
    by_name = {run.name: run for run in runs}
    header = (
        f"{'scenario':<38} {'ours / peer':<18} {'ratio':>7} {'per CPU-s':>9}  {'target':<8} verdict"
    )
    lines = [header, "-" * len(header)]
    ours_run = by_name.get("ours")
    for scenario in scenarios:
        for target in scenario.targets:
            peer_run = by_name.get(target.peer)
            ours = ours_run.best(scenario.key) if ours_run else None
            peer = peer_run.best(scenario.key) if peer_run else None
            ratio_text = per_cpu_text = "n/a"
            verdict = "n/a"
            if ours is not None and peer is not None:
                ratio = _ratio(ours, peer, per_cpu=False)
                per_cpu = _ratio(ours, peer, per_cpu=True)
                if ratio is not None:
                    ratio_text = f"{ratio:.2f}x"
                    verdict = _verdict(target, ratio)
                if per_cpu is not None:
                    per_cpu_text = f"{per_cpu:.2f}x"
                if ours.problems or peer.problems:
                    verdict = "check failed"
            lines.append(
                f"{scenario.title:<38} {'ours / ' + target.peer:<18} {ratio_text:>7}"
                f" {per_cpu_text:>9}  {target.text():<8} {verdict}"
            )
    lines.append("(per CPU-s: each rate divided by its server's CPU use, in cores, first)")
    return lines


def peer_lines(runs: list[PeerRun]) -> list[str]:
    lines = ["the peers (negotiated: openssl s_client, chain verified against our root):"]
    for run in runs:
        lines.append(f"  {run.name:<11} {run.version or '?'}")
        if run.unavailable:
            lines.append(f"      not measured: {run.unavailable}")
            continue
        lines.append(f"      negotiated {run.negotiated or '?'}")
        if run.flight is not None:
            lines.append(f"      first flight to the replayed ClientHello: {run.flight.summary()}")
    return lines


def scaling_lines(result: ScalingResult) -> list[str]:
    lines = [
        "worker scaling: our server, worker_processes 1 vs 2, full handshakes (replayed"
        " ClientHello);",
        "shared = one listening socket all workers accept from (ours); reuseport = one"
        " SO_REUSEPORT socket per worker;",
        "nothing pinned: the workers and the load generator share both cores as the kernel decides",
    ]
    if result.unavailable:
        return [*lines, f"  not measured: {result.unavailable}"]
    header = (
        f"  {'workers':<12} {'hs/s':>9} {'workers CPU':>11} {'per worker':>14} {'spread':>11}"
        f" {'master':>6} {'load gen':>8} {'other':>6} {'projected':>10}"
    )
    lines += [header]
    for workers, accept in MODES:
        entry = result.best(workers, accept)
        if entry is None:
            continue
        label = f"{workers} {accept}"
        per_worker = " / ".join(f"{share:.2f}" for share in entry.worker_cores)
        checks = f"  ({'; '.join(entry.problems)})" if entry.problems else ""
        lines.append(
            f"  {label:<12} {entry.rate:>9,.1f} {entry.workers_total_cores:>11.2f}"
            f" {per_worker:>14} {entry.spread():>11} {entry.master_cores:>6.2f}"
            f" {entry.load_generator_cores:>8.2f} {entry.other_cores:>6.2f}"
            f" {entry.projected_rate:>10,.1f}{checks}"
        )
    lines += (
        "  (CPU in cores over the window; other = busy with anything else: other processes,"
        " kernel work not charged to a process;",
        "   projected = hs/s / workers CPU x min(workers, cores): the workers alone on the"
        " machine)",
    )
    one, two = result.best(1), result.best(2)
    if one is not None and two is not None and one.rate > 0 and one.projected_rate > 0:
        speedup = two.rate / one.rate
        verdict = "meets" if speedup >= TARGET_SPEEDUP else "below"
        projected = two.projected_rate / one.projected_rate
        lines.append(
            f"  2 workers / 1 worker: {speedup:.2f}x (target >={TARGET_SPEEDUP}x: {verdict});"
            f" with the load generator on another machine, projected: {projected:.2f}x"
        )
        lines.append(
            f"  with 2 workers the load generator used {two.load_generator_cores:.2f} of"
            f" {os.cpu_count()} cores and other work {two.other_cores:.2f}"
        )
    reuseport = result.best(2, "reuseport")
    if two is not None and reuseport is not None and two.rate > 0:
        lines.append(
            f"  2 workers, one SO_REUSEPORT socket each / one shared socket:"
            f" {reuseport.rate / two.rate:.2f}x the rate;"
            f" spread {reuseport.spread()} vs {two.spread()}"
        )
    return lines


def detail_lines(scenarios: list[PeerScenario], runs: list[PeerRun]) -> list[str]:
    header = (
        f"  {'server':<11} {'scenario':<38} {'round':<6} {'rate':>10} {'per CPU-s':>10}"
        f" {'server':>6} {'core':>5} {'client':>6} {'core':>5}  {'bottleneck':<10} checks, detail"
    )
    lines = [
        "every round (CPU in % of one core; 'core' = anything on the server's / the load"
        " generator's core; * = the round shown):",
        header,
    ]
    for run in runs:
        for scenario in scenarios:
            best = run.best(scenario.key)
            for number, measurement in enumerate(run.rounds.get(scenario.key, []), start=1):
                cpu = measurement.cpu
                marker = "*" if measurement is best else " "
                checks = "; ".join(measurement.problems) or "ok"
                lines.append(
                    f"  {run.name:<11} {scenario.title:<38} {number:>2}{marker:<4}"
                    f" {measurement.rate:>10,.1f} {measurement.per_server_cpu_second:>10,.1f}"
                    f" {cpu.server:>6.0%} {cpu.server_core_busy:>5.0%} {cpu.client:>6.0%}"
                    f" {cpu.load_core_busy:>5.0%}  {bottleneck(cpu):<10} {checks}; "
                    f"{measurement.detail}"
                )
    for run in runs:
        summary = summarize_error_log(run.error_log)
        if summary:
            lines.append(f"  {run.name} error log ({len(run.error_log)} lines), most frequent:")
            lines += [f"    {entry}" for entry in summary]
    return lines


def notes(scenarios: list[PeerScenario], runs: list[PeerRun]) -> list[str]:
    found = []
    for run in runs:
        for scenario in scenarios:
            measurement = run.best(scenario.key)
            if measurement is None:
                continue
            where = f"{run.name}, {scenario.title}"
            if measurement.problems:
                found.append(f"{where}: {'; '.join(measurement.problems)}")
            if measurement.cpu.other_on_server_core > OTHER_LOAD_WARNING:
                found.append(
                    f"{where}: {measurement.cpu.other_on_server_core:.0%} of the server's core"
                    " went to other processes or kernel work"
                )
            if bottleneck(measurement.cpu) == "client":
                found.append(
                    f"{where}: the load generator was the bottleneck; the rate is a lower"
                    " bound, compare per CPU-second"
                )
    return found


def peers_report(
    scenarios: list[PeerScenario], runs: list[PeerRun], scaling: ScalingResult | None
) -> list[str]:
    lines: list[str] = []
    if scenarios:
        lines += [
            "ours against the peers (same files, same ECDSA P-256 chain; server on one core,"
            " load on the other):",
            *rates_lines(scenarios, runs),
            "",
            *target_lines(scenarios, runs),
            "",
            *peer_lines(runs),
        ]
    if scaling is not None:
        lines += ["", *scaling_lines(scaling)]
    if scenarios:
        lines += ["", *detail_lines(scenarios, runs)]
        found = notes(scenarios, runs)
        if found:
            lines += ["", "notes:", *(f"  - {note}" for note in found)]
    return lines
