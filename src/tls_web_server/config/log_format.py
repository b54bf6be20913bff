"""nginx's `log_format`: the text of an access-log line, with `$variables` in it.

What this module owns:
- `VARIABLES`: the names a format may use, and what each one means (nginx's
  meaning; server/logs.py gives each its value and a test keeps the two tables
  in agreement, since this package may not import server/).
- `read_log_format`: one `log_format NAME 'string' ...;` directive into a
  `LogFormat`, its strings joined as nginx joins them and split into literal
  text and variables, once, at load time.
- `COMBINED`: nginx's predefined format, the default of `access_log`.

What it must never do: import anything else of ours, or accept a variable it
cannot give a value for (an unknown name is a ConfigError at its argument).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .lexer import ConfigError, Position
from .parser import Argument

# Variable name -> nginx's meaning (ngx_http_core_module, ngx_http_log_module,
# ngx_http_ssl_module).  A variable without a value (a header that was not sent,
# a TLS variable on a plain connection) is written as "-", as nginx writes it.
VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "remote_addr": "the client's address",
        "remote_user": "the user name of HTTP authentication (we have none: always -)",
        "time_local": "local time in the Common Log Format: 07/Dec/2026:09:30:00 +0100",
        "time_iso8601": "local time in ISO 8601: 2026-12-07T09:30:00+01:00",
        "request": "the full request line: GET /index.html HTTP/1.1",
        "request_method": "the request method: GET",
        "request_uri": "the request target as the client sent it, query included",
        "status": "the response status: 200",
        "body_bytes_sent": "bytes of the response body",
        "bytes_sent": "bytes of the response, head and body",
        "http_referer": "the Referer header field",
        "http_user_agent": "the User-Agent header field",
        "request_time": "seconds from the request's first bytes to its response, in ms",
        "server_name": "the first server_name of the server block that answered",
        "host": "the Host (or absolute target's host), lowercase, without the port; "
        "else the server's name",
        "server_protocol": "the request's protocol: HTTP/1.1",
        "ssl_protocol": "the TLS protocol: TLSv1.3 (or toytls)",
        "ssl_cipher": "the cipher suite: TLS_AES_128_GCM_SHA256",
        "ssl_curve": "the key exchange group: X25519MLKEM768, x25519",
        "ssl_session_reused": "r when the TLS session was resumed, else .",
        "ssl_server_name": "the name the client asked for by SNI",
        "ssl_alpn_protocol": "the protocol chosen by ALPN: http/1.1",
        "ssl_client_verify": "the client certificate's check: SUCCESS, FAILED:reason or NONE",
        "ssl_client_s_dn": "the client certificate's subject (RFC 4514): CN=alice,O=example",
        "ssl_client_i_dn": "the client certificate's issuer (RFC 4514)",
        "ssl_client_fingerprint": "the SHA-1 of the client certificate, in hex",
    }
)

COMBINED_NAME = "combined"
# nginx's built-in spelling (ngx_http_log_module.c), kept byte for byte.
COMBINED_TEXT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)

# `$name` or `${name}`: nginx's variable names are letters, digits and '_'.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Variable:
    """A `$name` in a format: its value is looked up per request."""

    name: str


@dataclass(frozen=True)
class LogFormat:
    """A named format: literal text and variables in the order of the line."""

    name: str
    parts: tuple[str | Variable, ...]


def split_format(text: str, position: Position) -> tuple[str | Variable, ...]:
    """The text as literal strings and Variables; ConfigError for a bad or unknown name."""
    parts: list[str | Variable] = []
    literal_start = 0
    for match in _VARIABLE.finditer(text):
        name = match[1] if match[1] is not None else match[2]
        if not name:
            raise ConfigError(
                f"invalid variable name after '$' in log_format at offset {match.start()}"
                " (write $name or ${name})",
                position,
            )
        if name not in VARIABLES:
            raise ConfigError(
                f"unknown log_format variable '${name}', expected one of: "
                + ", ".join(f"${known}" for known in VARIABLES),
                position,
            )
        if match.start() > literal_start:
            parts.append(text[literal_start : match.start()])
        parts.append(Variable(name))
        literal_start = match.end()
    if literal_start < len(text):
        parts.append(text[literal_start:])
    return tuple(parts)


COMBINED = LogFormat(COMBINED_NAME, split_format(COMBINED_TEXT, Position("<built-in>", 0, 0)))


def read_log_format(arguments: tuple[Argument, ...]) -> LogFormat:
    """`log_format NAME 'string' ...;`: the strings are joined with nothing between them."""
    name, *strings = arguments
    if strings[0].value.startswith("escape="):
        # nginx's parameter: default (what we do), json or none (not supported).
        if strings[0].value != "escape=default":
            raise ConfigError(
                f"log_format {strings[0].value} is not supported: values are escaped as "
                "nginx's escape=default escapes them",
                strings[0].position,
            )
        strings = strings[1:]
        if not strings:
            raise ConfigError("log_format needs the format's text", name.position)
    parts: list[str | Variable] = []
    for argument in strings:
        parts.extend(split_format(argument.value, argument.position))
    # Neighbouring literals (from separate strings) become one, so a line costs one part less.
    merged: list[str | Variable] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return LogFormat(name.value, tuple(merged))
