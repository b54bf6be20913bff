"""No module under src/ grows past 600 lines: a module one reads in a sitting owns one idea.

Above that, split it by meaning (the architecture issue's rule), not by line count alone.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "tls_web_server"
LARGEST_MODULE_LINES = 600


def test_no_module_is_over_the_limit() -> None:
    sizes = {
        str(path.relative_to(PACKAGE_ROOT)): len(path.read_text().splitlines())
        for path in PACKAGE_ROOT.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package
    too_long = {name: lines for name, lines in sizes.items() if lines > LARGEST_MODULE_LINES}
    assert too_long == {}
