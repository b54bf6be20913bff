"""Fuzz the configuration file: any bytes give a Config or a ConfigError, never anything else.

The input is the file's content.  It is loaded with `load_config`, the
function `serve` uses, from a scratch folder that also holds the fixed test
chain (server_cert.pem, server_key.pem, intermediate_cert.pem, also under
certs/ as the demo keeps them) and an html/ folder, so that relative paths
in the input can name files that exist and the checks behind them run too.

Checked beyond "only ConfigError": the error names our file with a line and
column inside the text, as "file:line:col: message".
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from tls_web_server.config import Config, ConfigError, load_config

from ..support import KEYS_DIR, fail

_SCRATCH = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
CONFIG_PATH = _SCRATCH / "site.conf"
# Beside the config (the test configs) and in certs/ (the demo's layout).
(_SCRATCH / "certs").mkdir()
for _name in ("server_cert.pem", "server_key.pem", "intermediate_cert.pem", "root_cert.pem"):
    shutil.copy(KEYS_DIR / "ecdsa-p256" / _name, _SCRATCH / _name)
    shutil.copy(KEYS_DIR / "ecdsa-p256" / _name, _SCRATCH / "certs" / _name)
(_SCRATCH / "html").mkdir()
(_SCRATCH / "html" / "index.html").write_text("<h1>fuzz</h1>\n")


def test_one_input(data: bytes) -> None:
    CONFIG_PATH.write_bytes(data)
    try:
        config = load_config(CONFIG_PATH)
    except ConfigError as error:
        _check_error(error, data)
        return
    if not isinstance(config, Config) or not config.servers:
        raise fail(f"load_config returned {config!r}")


def _check_error(error: ConfigError, data: bytes) -> None:
    position = error.position
    if position.file != str(CONFIG_PATH):
        raise fail(f"the error names {position.file!r}, not the file being read")
    if not error.message:
        raise fail("a ConfigError without a message")
    line_count = data.count(b"\n") + 1
    if not 0 <= position.line <= line_count or position.col < 0:
        raise fail(f"position {position.line}:{position.col} is outside the {line_count} lines")
    expected_prefix = f"{position.file}:{position.line}:{position.col}: "
    if not str(error).startswith(expected_prefix):
        raise fail(f"str(error) is {str(error)!r}, expected it to start with {expected_prefix!r}")
