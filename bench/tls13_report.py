"""The TLS 1.3 comparison table: ours, the OpenSSL baseline, their ratio, the targets.

Three blocks, so no number appears without what limited it:

1. the comparison: one row per scenario (and, for the two scenarios with a
   target, a second row per server CPU-second), with the load generator;
2. what each engine negotiated and whether it resumed a session;
3. for every measurement, the CPU use of server, client and both cores,
   the likely bottleneck, failed checks and the server's error-log summary.

A ratio below its target is printed as "below": a finding about our TLS,
not a failure of the harness.  A rate whose checks failed gives no verdict.

This module only formats; it measures nothing.
"""

from __future__ import annotations

from bench.tls13 import SCENARIOS, EngineRun, Measurement, Scenario, summarize_error_log

# Above this share of the server's core used by something other than the
# server (other processes, softirq), a round's wall-clock rate is doubtful.
OTHER_LOAD_WARNING = 0.25


def _rate_text(measurement: Measurement | None, *, per_cpu: bool = False) -> str:
    if measurement is None:
        return "n/a"
    value = measurement.per_server_cpu_second if per_cpu else measurement.rate
    return f"{value:,.1f}"


def _ratio_and_verdict(
    scenario: Scenario, ours: Measurement | None, baseline: Measurement | None, per_cpu: bool
) -> tuple[str, str]:
    if ours is None or baseline is None:
        return "n/a", "n/a"
    if ours.problems or baseline.problems:
        return "n/a", "check failed"
    ours_value = ours.per_server_cpu_second if per_cpu else ours.rate
    baseline_value = baseline.per_server_cpu_second if per_cpu else baseline.rate
    if baseline_value <= 0:
        return "n/a", "n/a"
    ratio = ours_value / baseline_value
    if scenario.target is None:
        return f"{ratio:.2f}x", "-"
    return f"{ratio:.2f}x", "meets" if ratio >= scenario.target else "below"


def _per_cpu_unit(unit: str) -> str:
    return unit.replace("/s", "/CPU-s")


def comparison_lines(runs: list[EngineRun]) -> list[str]:
    by_engine = {run.engine: run for run in runs}
    ours, baseline = by_engine["ours"], by_engine["openssl"]
    lines = [
        "TLS 1.3: ours vs the same server with OpenSSL doing the TLS "
        "(same loop, HTTP code, files, ECDSA P-256 chain)",
    ]
    if ours.unavailable:
        lines.append(f"ours: {ours.unavailable}")
    if baseline.unavailable:
        lines.append(f"OpenSSL baseline: {baseline.unavailable}")
    header = (
        f"{'scenario':<32} {'ours':>10} {'baseline':>10} {'ratio':>6}  {'target':<7}"
        f" {'verdict':<12} {'unit':<11} load generator"
    )
    lines += [header, "-" * len(header)]
    for scenario in SCENARIOS:
        ours_measurement = ours.best(scenario.key)
        baseline_measurement = baseline.best(scenario.key)
        if ours_measurement is None and baseline_measurement is None:
            continue
        generator = (ours_measurement or baseline_measurement).load_generator
        target = f">={scenario.target}x" if scenario.target is not None else "-"
        variants = [
            (False, scenario.title, scenario.unit, generator),
            (True, "  per server CPU-second", _per_cpu_unit(scenario.unit), "(same rounds)"),
        ]
        for per_cpu, title, unit, label in variants:
            ratio, verdict = _ratio_and_verdict(
                scenario, ours_measurement, baseline_measurement, per_cpu
            )
            lines.append(
                f"{title:<32} {_rate_text(ours_measurement, per_cpu=per_cpu):>10}"
                f" {_rate_text(baseline_measurement, per_cpu=per_cpu):>10} {ratio:>6}"
                f"  {target:<7} {verdict:<12} {unit:<11} {label}"
            )
    return lines


def negotiation_lines(runs: list[EngineRun]) -> list[str]:
    lines = ["negotiated (openssl s_client, chain verified) and session resumption (Python ssl):"]
    for run in runs:
        if run.unavailable and not run.probe_problems:
            continue
        resumes = {True: "yes", False: "no", None: "unknown"}[run.resumes]
        lines.append(f"  {run.title:<17} {run.negotiated or '?'}; resumes sessions: {resumes}")
        lines += [f"    probe problem: {problem}" for problem in run.probe_problems]
    return lines


def detail_lines(runs: list[EngineRun]) -> list[str]:
    header = (
        f"  {'engine':<17} {'scenario':<31} {'round':<6} {'rate':>9} {'per CPU-s':>9}"
        f" {'server':>6} {'core':>5} {'client':>6} {'core':>5}  {'bottleneck':<10} checks, detail"
    )
    lines = [
        "every round (CPU use in % of one core over the round; 'core' = anything on the",
        "server's / the load generator's core; * = the round shown above):",
        header,
    ]
    for run in runs:
        for scenario in SCENARIOS:
            best = run.best(scenario.key)
            for number, measurement in enumerate(run.rounds.get(scenario.key, []), start=1):
                cpu = measurement.cpu
                marker = "*" if measurement is best else " "
                checks = "; ".join(measurement.problems) or "ok"
                lines.append(
                    f"  {run.title:<17} {scenario.title:<31} {number:>2}{marker:<4}"
                    f" {measurement.rate:>9,.1f} {measurement.per_server_cpu_second:>9,.1f}"
                    f" {cpu.server:>6.0%} {cpu.server_core_busy:>5.0%} {cpu.client:>6.0%}"
                    f" {cpu.load_core_busy:>5.0%}  {cpu.bottleneck():<10} {checks}; "
                    f"{measurement.detail}"
                )
    for run in runs:
        summary = summarize_error_log(run.error_log)
        if summary:
            lines.append(f"  {run.title} error log ({len(run.error_log)} lines), most frequent:")
            lines += [f"    {entry}" for entry in summary]
    return lines


def warnings(runs: list[EngineRun]) -> list[str]:
    """Plain-language notes about the rounds shown in the comparison that deserve doubt."""
    notes = []
    for run in runs:
        for scenario in SCENARIOS:
            measurement = run.best(scenario.key)
            if measurement is None:
                continue
            cpu = measurement.cpu
            where = f"{run.title}, {scenario.title}"
            if measurement.problems:
                notes.append(f"{where}: {'; '.join(measurement.problems)}")
            if cpu.other_on_server_core > OTHER_LOAD_WARNING:
                notes.append(
                    f"{where}: {cpu.other_on_server_core:.0%} of the server's core went to"
                    " other processes or kernel work; trust the per CPU-second row more"
                )
            if cpu.bottleneck() == "client":
                notes.append(
                    f"{where}: the load generator was the bottleneck; the rate is a lower"
                    " bound for the server, compare per server CPU-second instead"
                )
    return notes


def tls13_report(runs: list[EngineRun]) -> list[str]:
    lines = comparison_lines(runs)
    lines += ["", *negotiation_lines(runs), "", *detail_lines(runs)]
    notes = warnings(runs)
    if notes:
        lines += ["", "notes:", *(f"  - {note}" for note in notes)]
    lines += [
        "",
        "A ratio below its target is a finding about our TLS, not a failure of the harness.",
    ]
    return lines
