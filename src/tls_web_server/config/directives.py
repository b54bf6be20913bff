"""The directive table and the meaning of each directive's value.

What this module owns:
- `RULES`: which directives exist, where they may appear, how many
  arguments they take, whether they carry a block and whether they may
  repeat.  One table, so the error for "not allowed here" and the
  documentation cannot disagree.
- `VALUE_READERS`: nginx's meaning of single values: units (`30s`, `500ms`,
  `10k`) and their bounds, on/off, paths resolved against the folder of the
  configuration file, readable certificate files, cipher and group names
  (the group table is tls_names.py's).

What it must never do: import anything else of ours (DESIGN.md import rule 2),
parse PEM or keys, or look at more than one directive at a time (inheritance
and the checks across directives are model.py's).  Every mistake is a
ConfigError at the position of the argument at fault.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .client_verification import DEFAULTS as CLIENT_VERIFICATION_DEFAULTS
from .client_verification import read_verify_client, read_verify_depth
from .lexer import ConfigError
from .parser import Argument, Directive
from .tls_names import AUTO, GROUP_SPELLINGS, UnknownGroupName, read_group_list

# RFC 8446 appendix B.4: the cipher suites this server implements, in its default preference.
CIPHER_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
TIME_UNIT_MILLISECONDS = {
    "": 1000,
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}
SIZE_UNIT_BYTES = {
    "": 1,
    "k": 1 << 10,
    "K": 1 << 10,
    "m": 1 << 20,
    "M": 1 << 20,
    "g": 1 << 30,
    "G": 1 << 30,
}
TIME_PATTERN = re.compile(r"([0-9]{1,15})(ms|s|m|h|d)?")
SIZE_PATTERN = re.compile(r"([0-9]{1,15})([kKmMgG])?")
# Timeouts end up in poll()/epoll_wait(), which take a C int of milliseconds.
MAXIMUM_TIME_MILLISECONDS = 2**31 - 1  # about 24.8 days
# Sizes meet file sizes and Content-Length, which the OS keeps in a signed 64-bit off_t.
MAXIMUM_SIZE_BYTES = 2**63 - 1
# Counts (workers, connections, requests) are C ints in nginx; more is never meant.
MAXIMUM_COUNT = 2**31 - 1
LOCATION_MODIFIERS = frozenset({"=", "~", "~*", "^~"})
FILE_DESCRIPTIONS = {
    "ssl_certificate": "certificate file",
    "ssl_certificate_key": "certificate key file",
    "ssl_certificate_chain": "certificate chain file",
    "ssl_session_ticket_key": "session ticket key file",
    "ssl_client_certificate": "client CA file",
    "ssl_trusted_certificate": "trusted CA file",
}
CLIENT_VERIFICATION_DIRECTIVES = tuple(CLIENT_VERIFICATION_DEFAULTS)

MAIN, EVENTS, HTTP, SERVER, LOCATION = "main", "events", "http", "server", "location"
CONTEXT_ORDER = (MAIN, EVENTS, HTTP, SERVER, LOCATION)


@dataclass(frozen=True)
class Rule:
    contexts: frozenset[str]
    min_arguments: int = 1
    max_arguments: int | None = 1  # None: no upper limit
    block: bool = False
    repeatable: bool = False


_SERVER_LEVEL = frozenset({HTTP, SERVER})
_PATH_LEVEL = frozenset({HTTP, SERVER, LOCATION})
RULES: Mapping[str, Rule] = MappingProxyType(
    {
        "worker_processes": Rule(frozenset({MAIN})),
        "events": Rule(frozenset({MAIN}), 0, 0, block=True),
        "worker_connections": Rule(frozenset({EVENTS})),
        "http": Rule(frozenset({MAIN}), 0, 0, block=True),
        "error_log": Rule(frozenset({MAIN, HTTP, SERVER})),
        "server": Rule(frozenset({HTTP}), 0, 0, block=True, repeatable=True),
        # [ADDRESS:]PORT, then ssl|toytls, http2 (the pre-1.25.1 spelling) and default_server.
        "listen": Rule(frozenset({SERVER}), 1, 4, repeatable=True),
        # nginx lets server_name repeat and collects every name; so do we.
        "server_name": Rule(frozenset({SERVER}), 1, None, repeatable=True),
        "location": Rule(frozenset({SERVER}), block=True, repeatable=True),
        "root": Rule(_PATH_LEVEL),
        "index": Rule(_PATH_LEVEL, 1, None),
        "keepalive_timeout": Rule(_SERVER_LEVEL),
        "keepalive_requests": Rule(_SERVER_LEVEL),
        "client_header_timeout": Rule(_SERVER_LEVEL),
        "client_body_timeout": Rule(_SERVER_LEVEL),
        "send_timeout": Rule(_SERVER_LEVEL),
        "ssl_handshake_timeout": Rule(_SERVER_LEVEL),
        "client_max_body_size": Rule(_SERVER_LEVEL),
        "access_log": Rule(_SERVER_LEVEL, 1, 2),  # PATH [FORMAT]
        "log_format": Rule(frozenset({HTTP}), 2, None, repeatable=True),  # read by model.py
        "ssl_protocols": Rule(_SERVER_LEVEL, 1, None),
        "ssl_ciphers": Rule(_SERVER_LEVEL),
        "ssl_ecdh_curve": Rule(_SERVER_LEVEL),
        "ssl_certificate": Rule(_SERVER_LEVEL),
        "ssl_certificate_key": Rule(_SERVER_LEVEL),
        "ssl_certificate_chain": Rule(_SERVER_LEVEL),
        "ssl_session_tickets": Rule(_SERVER_LEVEL),
        "ssl_certificate_compression": Rule(_SERVER_LEVEL),  # ours: RFC 8879, on by default
        # Ours, not nginx's: the served trace pages /_tls/ (server/trace_pages.py).
        "tls_trace": Rule(_SERVER_LEVEL),
        "tls_trace_connections": Rule(_SERVER_LEVEL),
        # nginx's: repeat it; the first file's key seals tickets, all of them open tickets.
        "ssl_session_ticket_key": Rule(_SERVER_LEVEL, repeatable=True),
        "ssl_session_ticket_key_rotation": Rule(_SERVER_LEVEL),  # ours
        "http2": Rule(_SERVER_LEVEL),  # nginx 1.25.1+: offer "h2" by ALPN
        "http2_max_concurrent_streams": Rule(_SERVER_LEVEL),
        "large_client_header_buffers": Rule(_SERVER_LEVEL, 2, 2),  # NUMBER SIZE
        # Client certificates (mutual TLS), read together by client_verification.py.
        **dict.fromkeys(CLIENT_VERIFICATION_DIRECTIVES, Rule(_SERVER_LEVEL)),
    }
)


# ---------------------------------------------------------------------------------------------
# Values of single directives.  Each reader gets the directive (already checked against RULES)
# and the folder relative paths start from, and returns the value or raises ConfigError.


def parse_unsigned(text: str) -> int | None:
    # ASCII digits only: str.isdigit() would accept '²' and Arabic-Indic digits.
    if not text or len(text) > 15 or not all("0" <= character <= "9" for character in text):
        return None
    return int(text)


def _read_count(
    directive: Directive, *, minimum: int, alternative: str = "", maximum: int = MAXIMUM_COUNT
) -> int:
    argument = directive.arguments[0]
    number = parse_unsigned(argument.value)
    if number is None or not minimum <= number <= maximum:
        qualifier = "a positive" if minimum else "a non-negative"
        raise ConfigError(
            f"{directive.name} must be {qualifier} whole number{alternative} "
            f"up to {maximum}, got {argument.value!r}",
            argument.position,
        )
    return number


def _read_time(directive: Directive, base_dir: Path) -> float:
    argument = directive.arguments[0]
    match = TIME_PATTERN.fullmatch(argument.value)
    if match is not None:
        milliseconds = int(match[1]) * TIME_UNIT_MILLISECONDS[match[2] or ""]
        if milliseconds <= MAXIMUM_TIME_MILLISECONDS:
            return milliseconds / 1000
    raise ConfigError(
        f"invalid time {argument.value!r}, expected a number with an optional unit "
        f"ms, s, m, h or d (e.g. 30s), at most {MAXIMUM_TIME_MILLISECONDS}ms (about 24.8 days)",
        argument.position,
    )


def _read_size(directive: Directive, base_dir: Path) -> int:
    return _size_value(directive.arguments[0])


def _size_value(argument: Argument) -> int:
    match = SIZE_PATTERN.fullmatch(argument.value)
    if match is not None:
        size = int(match[1]) * SIZE_UNIT_BYTES[match[2] or ""]
        if size <= MAXIMUM_SIZE_BYTES:
            return size
    raise ConfigError(
        f"invalid size {argument.value!r}, expected a number of bytes with an optional "
        "unit k, m or g (e.g. 10m)",
        argument.position,
    )


def _read_worker_processes(directive: Directive, base_dir: Path) -> int | None:
    if directive.arguments[0].value == "auto":
        return None
    return _read_count(directive, minimum=1, alternative=" or 'auto'")


def _read_worker_connections(directive: Directive, base_dir: Path) -> int:
    return _read_count(directive, minimum=1)


def _read_keepalive_requests(directive: Directive, base_dir: Path) -> int:
    # 0 is allowed, as in nginx: no request may reuse the connection.
    return _read_count(directive, minimum=0)


def _read_max_concurrent_streams(directive: Directive, base_dir: Path) -> int:
    return _read_count(directive, minimum=1)


def _read_header_buffers(directive: Directive, base_dir: Path) -> tuple[int, int]:
    """large_client_header_buffers NUMBER SIZE: how many buffers of how many bytes."""
    number_argument, size_argument = directive.arguments
    number = parse_unsigned(number_argument.value)
    if number is None or not 1 <= number <= MAXIMUM_COUNT:
        raise ConfigError(
            f"large_client_header_buffers needs a positive number of buffers, "
            f"got {number_argument.value!r}",
            number_argument.position,
        )
    size = _size_value(size_argument)
    # A buffer smaller than a request line is useless; larger than 1 MiB per field is
    # memory a client could make us hold per stream.
    if not 1024 <= size <= 1 << 20:
        raise ConfigError(
            f"large_client_header_buffers size must be 1k to 1m, got {size_argument.value!r}",
            size_argument.position,
        )
    return number, size


def _read_on_off(directive: Directive, base_dir: Path) -> bool:
    argument = directive.arguments[0]
    if argument.value not in ("on", "off"):
        raise ConfigError(f"expected 'on' or 'off', got {argument.value!r}", argument.position)
    return argument.value == "on"


# Each kept trace is bounded (server/trace_pages.py), and so is how many are kept.
MAXIMUM_TRACED_CONNECTIONS = 1000


def _read_traced_connections(directive: Directive, base_dir: Path) -> int:
    return _read_count(directive, minimum=1, maximum=MAXIMUM_TRACED_CONNECTIONS)


def _resolve_path(argument: Argument, base_dir: Path) -> Path:
    """An absolute, normalised path; relative ones start from the configuration file's folder."""
    if not argument.value or "\0" in argument.value:
        raise ConfigError("expected a path, without NUL characters", argument.position)
    return Path(os.path.normpath(os.path.join(base_dir, argument.value)))


def _read_root(directive: Directive, base_dir: Path) -> Path:
    return _resolve_path(directive.arguments[0], base_dir)


def _read_index(directive: Directive, base_dir: Path) -> tuple[str, ...]:
    for argument in directive.arguments:
        # A '/' would let an index name climb out of the directory it is looked up in.
        if not argument.value or "/" in argument.value or "\0" in argument.value:
            raise ConfigError(
                f"index takes file names without '/', got {argument.value!r}", argument.position
            )
    return tuple(argument.value for argument in directive.arguments)


def _read_access_log(
    directive: Directive, base_dir: Path
) -> tuple[Path | str | None, Argument | None]:
    """The target (a Path, "stdout", None for off) and the format's name argument, if given.

    The name is looked up by model.py, which sees the http block's log_format directives.
    """
    argument, *rest = directive.arguments
    format_name = rest[0] if rest else None
    if argument.value == "off":
        if format_name is not None:
            raise ConfigError("access_log off takes no format name", format_name.position)
        return None, None
    if argument.value == "stdout":
        return "stdout", format_name
    return _resolve_path(argument, base_dir), format_name


def _read_error_log(directive: Directive, base_dir: Path) -> Path | str:
    argument = directive.arguments[0]
    if argument.value == "stderr":
        return "stderr"
    return _resolve_path(argument, base_dir)


def _read_readable_file(directive: Directive, base_dir: Path) -> Path:
    """Resolve the path and prove it names a readable regular file (its content is not parsed)."""
    argument = directive.arguments[0]
    path = _resolve_path(argument, base_dir)
    description = FILE_DESCRIPTIONS[directive.name]
    try:
        # Checked before opening: opening a FIFO for reading would wait for a writer forever.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigError(
                f"cannot read {description} '{path}': not a regular file", argument.position
            )
        with open(path, "rb"):
            pass
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(
            f"cannot read {description} '{path}': {reason}", argument.position
        ) from None
    return path


def _read_protocols(directive: Directive, base_dir: Path) -> tuple[str, ...]:
    for argument in directive.arguments:
        if argument.value != "TLSv1.3":
            raise ConfigError(
                f"only TLSv1.3 is implemented, {argument.value!r} is not", argument.position
            )
    return ("TLSv1.3",)


def _read_colon_list(directive: Directive, known: Mapping[str, str], what: str) -> tuple[str, ...]:
    """An OpenSSL-style `A:B:C` list, each name mapped through `known`, repeats dropped."""
    argument = directive.arguments[0]
    chosen: dict[str, None] = {}
    for name in argument.value.split(":"):
        if name not in known:
            expected = ", ".join(dict.fromkeys(known))
            raise ConfigError(
                f"unknown {what} {name!r} in {directive.name}, expected names from: {expected}",
                argument.position,
            )
        chosen[known[name]] = None
    return tuple(chosen)


def _read_ciphers(directive: Directive, base_dir: Path) -> tuple[str, ...]:
    return _read_colon_list(directive, {suite: suite for suite in CIPHER_SUITES}, "cipher suite")


def _read_groups(directive: Directive, base_dir: Path) -> tuple[str, ...] | None:
    """OpenSSL's group names (tls_names.py); None for `auto`, the TLS layer's defaults."""
    argument = directive.arguments[0]
    try:
        return read_group_list(argument.value)
    except UnknownGroupName as error:
        # nginx's word is "curve" (the directive's name); the names are OpenSSL's.
        raise ConfigError(
            f"unknown curve {error.name!r} in {directive.name}, expected names from: "
            f"{', '.join(GROUP_SPELLINGS)}, or '{AUTO}' for the built-in list",
            argument.position,
        ) from None


def read_server_name(argument: Argument) -> str:
    """One server_name argument, lowercase: an exact name or a leading `*.` wildcard."""
    name = argument.value.lower()
    problem = None
    if not name:
        problem = "server_name must not be empty"
    elif name.startswith("~"):
        problem = "regular-expression server names are not supported"
    elif name.startswith("."):
        problem = f"write {name[1:]!r} and '*{name}' instead of the shorthand {name!r}"
    elif "*" in name and not (name.startswith("*.") and "*" not in name[1:] and len(name) > 2):
        problem = f"only exact names and leading '*.' wildcards are supported, got {name!r}"
    if problem is not None:
        raise ConfigError(problem, argument.position)
    return name


VALUE_READERS: Mapping[str, Callable[[Directive, Path], Any]] = MappingProxyType(
    {
        "worker_processes": _read_worker_processes,
        "worker_connections": _read_worker_connections,
        "error_log": _read_error_log,
        "root": _read_root,
        "index": _read_index,
        "keepalive_timeout": _read_time,
        "keepalive_requests": _read_keepalive_requests,
        "client_header_timeout": _read_time,
        "client_body_timeout": _read_time,
        "send_timeout": _read_time,
        "ssl_handshake_timeout": _read_time,
        "client_max_body_size": _read_size,
        "access_log": _read_access_log,
        "ssl_protocols": _read_protocols,
        "ssl_ciphers": _read_ciphers,
        "ssl_ecdh_curve": _read_groups,
        "ssl_certificate": _read_readable_file,
        "ssl_certificate_key": _read_readable_file,
        "ssl_certificate_chain": _read_readable_file,
        "ssl_session_tickets": _read_on_off,
        "ssl_certificate_compression": _read_on_off,
        "tls_trace": _read_on_off,
        "tls_trace_connections": _read_traced_connections,
        "ssl_session_ticket_key": _read_readable_file,
        "ssl_session_ticket_key_rotation": _read_time,
        "http2": _read_on_off,
        "http2_max_concurrent_streams": _read_max_concurrent_streams,
        "large_client_header_buffers": _read_header_buffers,
        "ssl_verify_client": read_verify_client,
        "ssl_verify_depth": read_verify_depth,
        "ssl_client_certificate": _read_readable_file,
        "ssl_trusted_certificate": _read_readable_file,
    }
)
