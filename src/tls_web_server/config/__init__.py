"""The nginx-style configuration file: read it, check it, hand out frozen settings.

    lexer.py       text -> tokens with (line, col); `Position` and `ConfigError` live here
    parser.py      tokens -> a tree of directives (shape only)
    directives.py  the directive table (`RULES`) and the meaning of single values (units, paths)
    model.py       tree -> `Config` (inheritance, listeners, the checks across directives)
    tls_names.py   OpenSSL's key exchange group names (ssl_ecdh_curve) -> ours
    log_format.py  log_format's text split into literal text and `$variables`, checked

This package imports nothing else of ours (DESIGN.md import rule 2).  Everything
wrong with a configuration, from a stray '}' to an unreadable certificate file,
is a `ConfigError` whose str() is "file:line:col: message".
"""

from .model import (
    Config,
    ConfigError,
    Listen,
    ListenProtocol,
    Location,
    Position,
    ServerConfig,
    load_config,
    parse_config,
)

__all__ = [
    "Config",
    "ConfigError",
    "Listen",
    "ListenProtocol",
    "Location",
    "Position",
    "ServerConfig",
    "load_config",
    "parse_config",
]
