"""Run every harness for a bounded time: `python -m fuzz.campaign [--seconds N] [--jobs J]`.

This is what `make fuzz` runs (FUZZ_SECONDS=N sets --seconds).  Each
harness runs as its own `python -m fuzz.run NAME` process under libFuzzer's
-max_total_time, reading its seeds from fuzz/corpus/NAME/ and growing its
own working corpus in fuzz/work/NAME/ (libFuzzer writes new inputs into the
first folder it is given, so the committed seeds are never touched).  An
input that crashes, or runs past -timeout, is kept in fuzz/crashes/NAME/;
the full output is in fuzz/logs/NAME.log.  work/, crashes/ and logs/ are
git-ignored.

The exit status is 1 if any harness found something, 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .harnesses import HARNESS_NAMES

FUZZ_DIR = Path(__file__).resolve().parent
REPOSITORY = FUZZ_DIR.parent

# One input taking this long is a finding in itself (a peer could stall a worker).
INPUT_TIMEOUT_SECONDS = 25
# Past this, libFuzzer calls it an out-of-memory finding.
RSS_LIMIT_MB = 3072


@dataclass(frozen=True)
class Result:
    name: str
    return_code: int
    seconds: float
    executions: int | None
    coverage: int | None
    crashes: tuple[Path, ...]

    @property
    def found_something(self) -> bool:
        return self.return_code != 0 or bool(self.crashes)

    def line(self) -> str:
        verdict = "FOUND SOMETHING" if self.found_something else "ok"
        return (
            f"{self.name:26} {verdict:16} {self.seconds:7.0f} s  "
            f"{self.executions or 0:>9} runs  cov {self.coverage or 0:>6}  "
            f"crashes {len(self.crashes)}"
        )


def run_harness(name: str, seconds: int, python: str) -> Result:
    work = FUZZ_DIR / "work" / name
    crashes = FUZZ_DIR / "crashes" / name
    logs = FUZZ_DIR / "logs"
    for folder in (work, crashes, logs):
        folder.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    command = [
        python,
        "-m",
        "fuzz.run",
        name,
        f"-max_total_time={seconds}",
        f"-timeout={INPUT_TIMEOUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-artifact_prefix={crashes}/",
        "-print_final_stats=1",
        str(work),
        str(FUZZ_DIR / "corpus" / name),
    ]
    started = time.monotonic()
    log_path = logs / f"{name}.log"
    with log_path.open("w", encoding="utf-8") as log:
        completed = subprocess.run(
            command, cwd=REPOSITORY, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    return Result(
        name=name,
        return_code=completed.returncode,
        seconds=time.monotonic() - started,
        executions=_last_number(r"stat::number_of_executed_units:\s*(\d+)", log_text),
        coverage=_last_number(r"\bcov: (\d+)", log_text),
        crashes=tuple(sorted(set(crashes.iterdir()) - before)),
    )


def _last_number(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="per harness (default 60)")
    parser.add_argument("--jobs", type=int, default=1, help="harnesses run at once (default 1)")
    parser.add_argument("names", nargs="*", choices=[[], *HARNESS_NAMES], default=[])
    arguments = parser.parse_args(argv)
    names = arguments.names or list(HARNESS_NAMES)
    print(f"fuzzing {len(names)} harnesses for {arguments.seconds} s each", flush=True)
    with ThreadPoolExecutor(max_workers=max(1, arguments.jobs)) as pool:
        futures = [
            pool.submit(run_harness, name, arguments.seconds, sys.executable) for name in names
        ]
        results = []
        for future in futures:
            result = future.result()
            print(result.line(), flush=True)
            results.append(result)
    found = [result for result in results if result.found_something]
    for result in found:
        print(f"\n{result.name}: see fuzz/logs/{result.name}.log", file=sys.stderr)
        for crash in result.crashes:
            print(f"  replay: python -m fuzz.run {result.name} {crash}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
