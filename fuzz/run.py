"""Run one harness under atheris (libFuzzer): `python -m fuzz.run NAME [libFuzzer flags] [dirs]`.

    python -m fuzz.run http_parser -max_total_time=60 fuzz/work/http_parser fuzz/corpus/http_parser
    python -m fuzz.run http_parser fuzz/crashes/http_parser/crash-...   # replay one input

What this module owns: the one place atheris is imported, and the
instrumentation.  Our package is imported for the first time inside
atheris.instrument_imports(include=["tls_web_server"]), so every module of
it reports coverage to libFuzzer; the harness code, the standard library
and `cryptography` are not instrumented (they would only add noise).

What it must never do: be imported by the smoke test (atheris is not a
dependency of `make test`), or import tls_web_server before instrumenting.
"""

from __future__ import annotations

import importlib
import sys

from fuzz.harnesses import HARNESS_NAMES

USAGE = f"usage: python -m fuzz.run {{{','.join(HARNESS_NAMES)}}} [libFuzzer arguments]"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in HARNESS_NAMES:
        print(USAGE, file=sys.stderr)
        return 2
    if "tls_web_server" in sys.modules:
        print("tls_web_server was imported before instrumentation", file=sys.stderr)
        return 2
    import atheris

    name = argv[1]
    with atheris.instrument_imports(include=["tls_web_server"]):
        harness = importlib.import_module(f"fuzz.harnesses.{name}")
    # libFuzzer reads its flags and corpus folders from argv; argv[0] names the run.
    atheris.Setup([f"fuzz-{name}", *argv[2:]], harness.test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
