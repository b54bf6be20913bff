"""The configuration as frozen settings, built from the directive tree with every check.

What this module owns:
- The settings the rest of the server reads: `Config`, `ServerConfig`,
  `Listen`, `Location`, and the entry points `load_config` / `parse_config`.
- nginx's structure: every block checked against the directive table
  (directives.py, which also reads single values), inheritance from `http`
  to `server` to `location`, the implicit `location /`, the listeners
  (listen.py reads them and checks that servers sharing one agree), the
  access log's format (the http block's `log_format`s, log_format.py) named
  by each `access_log`.

What it must never do: import anything else of ours (DESIGN.md import rule 2),
parse PEM or keys (directives.py only proves the files can be opened; server/listeners.py
parses them and reports failures through `ServerConfig.directive_positions`),
or open sockets.  Every mistake is a ConfigError at the most precise position.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .client_verification import ClientVerification, client_verification
from .directives import (
    CIPHER_SUITES,
    CONTEXT_ORDER,
    EVENTS,
    HTTP,
    LOCATION,
    LOCATION_MODIFIERS,
    MAIN,
    RULES,
    SERVER,
    VALUE_READERS,
    Rule,
    read_server_name,
)
from .lexer import ConfigError, Position
from .listen import Listen, ListenProtocol, check_listeners_agree, endpoint, read_listen
from .log_format import COMBINED, LogFormat, read_log_format
from .parser import Argument, Directive, missing_semicolon_line, parse_directives

__all__ = [
    "Config",
    "ConfigError",
    "Listen",
    "ListenProtocol",
    "Location",
    "LogFormat",
    "Position",
    "ServerConfig",
    "load_config",
    "parse_config",
]


class PositionsByName(Mapping[str, Position]):
    """A read-only directive name -> Position mapping.

    Not a MappingProxyType because that cannot be pickled, and a Config may
    travel to worker processes.
    """

    def __init__(self, positions: Mapping[str, Position]) -> None:
        self._positions = dict(positions)

    def __getitem__(self, name: str) -> Position:
        return self._positions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        return f"PositionsByName({self._positions!r})"


@dataclass(frozen=True)
class Location:
    prefix: str
    root: Path  # absolute
    index: tuple[str, ...]
    position: Position  # of the `location` keyword; the server's position when implicit


@dataclass(frozen=True)
class ServerConfig:
    listens: tuple[Listen, ...]
    server_names: tuple[str, ...]  # lowercase, exact or `*.suffix`; may be empty
    locations: tuple[Location, ...]  # longest prefix first; always has "/"
    ssl_certificate: Path | None
    ssl_certificate_key: Path | None
    ssl_certificate_chain: Path | None
    ssl_protocols: tuple[str, ...]
    ssl_ciphers: tuple[str, ...]
    ssl_ecdh_curve: tuple[str, ...] | None  # our group names; None: `auto`, the TLS defaults
    ssl_session_tickets: bool
    ssl_certificate_compression: bool  # ours: RFC 8879 compressed Certificate messages
    tls_trace: bool  # ours: serve /_tls/ pages of the last connections (learning mode)
    tls_trace_connections: int  # how many connections' traces /_tls/ keeps
    ssl_session_ticket_key: tuple[Path, ...]  # key files (nginx's format); () rotates our own
    ssl_session_ticket_key_rotation: float  # seconds a generated ticket key seals tickets
    client_verification: ClientVerification  # ssl_verify_client and its three companions
    keepalive_timeout: float  # seconds
    keepalive_requests: int
    client_header_timeout: float
    client_body_timeout: float
    send_timeout: float
    ssl_handshake_timeout: float  # nginx 1.25.3: the TLS handshake must end within it
    client_max_body_size: int  # bytes; 0 means unlimited
    http2: bool  # `http2 on`: offer "h2" by ALPN (off by default, as nginx)
    http2_max_concurrent_streams: int
    large_client_header_buffers: tuple[int, int]  # (number, size): a header section's limit
    access_log: Path | str | None  # a Path, "stdout", or None for off
    access_log_format: LogFormat  # `combined` unless access_log names another
    error_log: Path | str  # a Path or "stderr"
    position: Position  # of the `server` keyword
    # Directive name -> position of its first argument (inherited ones included), so later
    # stages can blame the right place, e.g. when the certificate file is not valid PEM.
    # Left out of == and hash(): it only says where, never what.
    directive_positions: Mapping[str, Position] = field(compare=False)


@dataclass(frozen=True)
class Config:
    path: Path  # absolute
    worker_processes: int | None  # None means `auto`: one per CPU
    worker_connections: int
    error_log: Path | str
    servers: tuple[ServerConfig, ...]


# Settings a server takes from http unless it says otherwise (error_log also from main).
SERVER_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "index": ("index.html",),
        "ssl_certificate": None,
        "ssl_certificate_key": None,
        "ssl_certificate_chain": None,
        "ssl_protocols": ("TLSv1.3",),
        "ssl_ciphers": CIPHER_SUITES,
        "ssl_ecdh_curve": None,  # `auto`
        "ssl_session_tickets": True,
        "ssl_certificate_compression": True,
        "tls_trace": False,
        "tls_trace_connections": 50,
        "ssl_session_ticket_key": (),
        "ssl_session_ticket_key_rotation": 12 * 3600.0,
        "keepalive_timeout": 75.0,
        "keepalive_requests": 1000,
        "client_header_timeout": 60.0,
        "client_body_timeout": 60.0,
        "send_timeout": 60.0,
        "ssl_handshake_timeout": 60.0,
        "client_max_body_size": 1 << 20,
        "http2": False,
        "http2_max_concurrent_streams": 128,
        "large_client_header_buffers": (4, 8192),
        "access_log": "stdout",
        "error_log": "stderr",
    }
)
DEFAULT_ROOT = "html"  # like nginx's prefix/html, relative to the configuration file's folder
DEFAULT_WORKER_PROCESSES = 1
DEFAULT_WORKER_CONNECTIONS = 512

# A setting as read from one block: its value and the position of its first argument.
Setting = tuple[Any, Position]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read the file at `path` (UTF-8) and build the configuration from it."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as stream:
            data = stream.read()
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError(
            f"cannot read configuration file: {reason}", Position(file, 0, 0)
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        position = Position(file, before.count(b"\n") + 1, column)
        raise ConfigError("the configuration file is not valid UTF-8", position) from None
    return parse_config(text, path)


def parse_config(text: str, path: str | os.PathLike[str]) -> Config:
    """Build the configuration from `text`; `path` names it in messages and is the base folder."""
    file = os.fspath(path)
    absolute_path = Path(os.path.abspath(file))
    base_dir = absolute_path.parent
    directives = parse_directives(text, file)
    try:
        return _build_config(directives, file, absolute_path, base_dir)
    except ConfigError as error:
        # `listen 80` + newline + `server_name x;` reads as one directive with
        # three arguments: say what is missing, not what the next line looks like.
        line = missing_semicolon_line(directives, error.position)
        if line is None:
            raise
        raise ConfigError(
            f"missing ';' at the end of line {line}? ({error.message})", error.position
        ) from None


def _build_config(
    directives: tuple[Directive, ...], file: str, absolute_path: Path, base_dir: Path
) -> Config:
    main = _read_block(directives, MAIN, base_dir)
    worker_connections = DEFAULT_WORKER_CONNECTIONS
    if "events" in main.directives:
        events = _read_block(_children(main.directives["events"][0]), EVENTS, base_dir)
        worker_connections = events.value("worker_connections", worker_connections)
    http_blocks = main.directives.get("http")
    if not http_blocks:
        raise ConfigError("the configuration has no http block", Position(file, 0, 0))
    http_directive = http_blocks[0]
    http = _read_block(_children(http_directive), HTTP, base_dir)
    server_directives = http.directives.get("server", [])
    if not server_directives:
        raise ConfigError("the http block needs at least one server block", http_directive.position)
    # nginx's http-level error_log falls back to the main one; servers inherit from both.
    inherited = {name: main.settings[name] for name in ("error_log",) if name in main.settings}
    inherited.update(http.settings)
    formats = _read_log_formats(http.directives.get("log_format", []))
    if "access_log" in http.settings:  # checked even when every server names its own
        _access_log_format(http.settings["access_log"][0], formats)
    servers = tuple(
        _build_server(server, inherited, formats, base_dir) for server in server_directives
    )
    check_listeners_agree(listen for server in servers for listen in server.listens)
    return Config(
        path=absolute_path,
        worker_processes=main.value("worker_processes", DEFAULT_WORKER_PROCESSES),
        worker_connections=worker_connections,
        error_log=main.value("error_log", SERVER_DEFAULTS["error_log"]),
        servers=servers,
    )


@dataclass(frozen=True)
class _Block:
    """One block's directives grouped by name, with its single-valued settings already read."""

    directives: dict[str, list[Directive]]
    settings: dict[str, Setting]

    def value(self, name: str, default: Any) -> Any:
        return self.settings[name][0] if name in self.settings else default


def _children(directive: Directive) -> tuple[Directive, ...]:
    # _check_shape has made sure block directives have a block; this keeps the type honest.
    return directive.children or ()


def _read_block(directives: tuple[Directive, ...], context: str, base_dir: Path) -> _Block:
    """Check every directive of one block against RULES and read the single-valued ones.

    Errors come in file order within the block; nested blocks and the repeatable
    directives (listen, server_name, location) are read afterwards by their callers.
    """
    grouped: dict[str, list[Directive]] = {}
    settings: dict[str, Setting] = {}
    for directive in directives:
        _check_shape(directive, context, grouped.get(directive.name))
        grouped.setdefault(directive.name, []).append(directive)
        reader = VALUE_READERS.get(directive.name)
        if reader is not None:
            value = reader(directive, base_dir)
            position = directive.arguments[0].position
            if RULES[directive.name].repeatable:  # every value, in order, at the first's position
                values, position = settings.get(directive.name, ((), position))
                value = (*values, value)
            settings[directive.name] = (value, position)
    return _Block(grouped, settings)


def _check_shape(directive: Directive, context: str, earlier: list[Directive] | None) -> None:
    name = directive.name
    rule = RULES.get(name)
    if rule is None:
        raise ConfigError(f"unknown directive '{name}'", directive.position)
    if context not in rule.contexts:
        if name == "location" and context == LOCATION:
            raise ConfigError("nested locations are not supported", directive.position)
        allowed = " or ".join(each for each in CONTEXT_ORDER if each in rule.contexts)
        where = "at the top level" if context == MAIN else f"inside {context}"
        raise ConfigError(
            f"'{name}' is not allowed here ({where}); it belongs in {allowed}", directive.position
        )
    if rule.block and directive.children is None:
        raise ConfigError(f"'{name}' needs a block: {name} ... {{ ... }}", directive.position)
    if not rule.block and directive.block_position is not None:
        raise ConfigError(f"'{name}' does not take a block, expected ';'", directive.block_position)
    if earlier and not rule.repeatable:
        raise ConfigError(
            f"duplicate '{name}' directive (first at {earlier[0].position})", directive.position
        )
    arguments = directive.arguments
    if name == "location" and len(arguments) == 2 and arguments[0].value in LOCATION_MODIFIERS:
        raise ConfigError(
            f"only prefix locations are supported, not '{arguments[0].value}'",
            arguments[0].position,
        )
    too_many = rule.max_arguments is not None and len(arguments) > rule.max_arguments
    if len(arguments) < rule.min_arguments or too_many:
        where = arguments[rule.max_arguments or 0].position if too_many else directive.position
        raise ConfigError(f"{name} takes {_argument_count(rule)}", where)


def _argument_count(rule: Rule) -> str:
    low, high = rule.min_arguments, rule.max_arguments
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return "no arguments" if low == 0 else f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


# ---------------------------------------------------------------------------------------------
# Servers, listeners, locations


def _read_log_formats(directives: list[Directive]) -> dict[str, LogFormat]:
    """The http block's `log_format`s by name, `combined` (nginx's, predefined) among them."""
    formats = {COMBINED.name: COMBINED}
    first: dict[str, Position] = {}
    for directive in directives:
        name = directive.arguments[0]
        if name.value in formats:
            where = f" (first at {first[name.value]})" if name.value in first else " (predefined)"
            raise ConfigError(f"duplicate log_format name {name.value!r}{where}", name.position)
        formats[name.value] = read_log_format(directive.arguments)
        first[name.value] = name.position
    return formats


def _access_log_format(
    setting: tuple[Path | str | None, Argument | None], formats: Mapping[str, LogFormat]
) -> LogFormat:
    """The format an `access_log` names (nginx: defined by a log_format in http), or combined."""
    _, name = setting
    if name is None:
        return COMBINED
    found = formats.get(name.value)
    if found is None:
        expected = ", ".join(formats)
        raise ConfigError(
            f"unknown log format {name.value!r} in access_log, expected one of: {expected} "
            "(log_format NAME ... in the http block defines one)",
            name.position,
        )
    return found


def _build_server(
    server: Directive,
    inherited: dict[str, Setting],
    formats: Mapping[str, LogFormat],
    base_dir: Path,
) -> ServerConfig:
    block = _read_block(_children(server), SERVER, base_dir)
    settings = {**inherited, **block.settings}

    def value(name: str) -> Any:
        return settings[name][0] if name in settings else SERVER_DEFAULTS[name]

    access_log, access_log_format = SERVER_DEFAULTS["access_log"], COMBINED
    if "access_log" in settings:  # (target, the format name's argument or None)
        access_log = settings["access_log"][0][0]
        access_log_format = _access_log_format(settings["access_log"][0], formats)

    listens = tuple(read_listen(each) for each in block.directives.get("listen", []))
    if not listens:
        raise ConfigError("server needs a listen directive", server.position)
    for number, listen in enumerate(listens):
        for earlier in listens[:number]:
            # Port 0 asks for "any free port": every such listen gets its own socket.
            if listen.port and (earlier.address, earlier.port) == (listen.address, listen.port):
                raise ConfigError(
                    f"duplicate listen {endpoint(listen)} in this server "
                    f"(first at {earlier.position})",
                    listen.position,
                )
        if listen.protocol is not ListenProtocol.PLAIN:
            missing = [
                name for name in ("ssl_certificate", "ssl_certificate_key") if name not in settings
            ]
            if missing:
                raise ConfigError(
                    f"listen {listen.protocol} needs {' and '.join(missing)} "
                    "in this server or in http",
                    listen.position,
                )
    positions = {name: position for name, (_, position) in settings.items()}
    for name in ("listen", "server_name"):
        if name in block.directives:
            positions[name] = block.directives[name][0].arguments[0].position
    server_names: dict[str, None] = {}  # a dict keeps the order and drops repeats
    for directive in block.directives.get("server_name", []):
        server_names.update((read_server_name(argument), None) for argument in directive.arguments)
    root = value("root") if "root" in settings else Path(os.path.normpath(base_dir / DEFAULT_ROOT))
    return ServerConfig(
        listens=listens,
        server_names=tuple(server_names),
        locations=_build_locations(
            block.directives.get("location", []), root, value("index"), server, base_dir
        ),
        ssl_certificate=value("ssl_certificate"),
        ssl_certificate_key=value("ssl_certificate_key"),
        ssl_certificate_chain=value("ssl_certificate_chain"),
        ssl_protocols=value("ssl_protocols"),
        ssl_ciphers=value("ssl_ciphers"),
        ssl_ecdh_curve=value("ssl_ecdh_curve"),
        ssl_session_tickets=value("ssl_session_tickets"),
        ssl_certificate_compression=value("ssl_certificate_compression"),
        tls_trace=value("tls_trace"),
        tls_trace_connections=value("tls_trace_connections"),
        ssl_session_ticket_key=value("ssl_session_ticket_key"),
        ssl_session_ticket_key_rotation=value("ssl_session_ticket_key_rotation"),
        client_verification=client_verification(settings),
        keepalive_timeout=value("keepalive_timeout"),
        keepalive_requests=value("keepalive_requests"),
        client_header_timeout=value("client_header_timeout"),
        client_body_timeout=value("client_body_timeout"),
        send_timeout=value("send_timeout"),
        ssl_handshake_timeout=value("ssl_handshake_timeout"),
        client_max_body_size=value("client_max_body_size"),
        http2=value("http2"),
        http2_max_concurrent_streams=value("http2_max_concurrent_streams"),
        large_client_header_buffers=value("large_client_header_buffers"),
        access_log=access_log,
        access_log_format=access_log_format,
        error_log=value("error_log"),
        position=server.position,
        directive_positions=PositionsByName(positions),
    )


def _build_locations(
    directives: list[Directive],
    server_root: Path,
    server_index: tuple[str, ...],
    server: Directive,
    base_dir: Path,
) -> tuple[Location, ...]:
    by_prefix: dict[str, Location] = {}
    for directive in directives:
        prefix = directive.arguments[0]
        if not prefix.value.startswith("/"):
            raise ConfigError(
                f"location prefix must start with '/', got {prefix.value!r} "
                "(only prefix locations are supported)",
                prefix.position,
            )
        if prefix.value in by_prefix:
            first = by_prefix[prefix.value].position
            raise ConfigError(
                f"duplicate location '{prefix.value}' (first at {first})",
                directive.position,
            )
        block = _read_block(_children(directive), LOCATION, base_dir)
        by_prefix[prefix.value] = Location(
            prefix=prefix.value,
            root=block.value("root", server_root),
            index=block.value("index", server_index),
            position=directive.position,
        )
    if "/" not in by_prefix:
        # nginx answers from the server's root when no location matches; an explicit "/"
        # location that says so keeps the router to one rule: longest prefix wins.
        by_prefix["/"] = Location("/", server_root, server_index, server.position)
    return tuple(sorted(by_prefix.values(), key=lambda location: -len(location.prefix)))
