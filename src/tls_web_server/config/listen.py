"""`listen [ADDRESS:]PORT [ssl|toytls] [http2] [default_server];`: what one listener is.

What this module owns: reading a `listen` directive into a `Listen` (the
address as nginx accepts it: IPv4, `*`, `localhost`, `[IPv6]`), and the rule
that servers sharing an address:port share one socket, so they must agree on
its protocol and have one default_server at most.

What it must never do: import anything of ours outside config/, or open a
socket (server/server.py binds; this only says what to bind).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .directives import parse_unsigned
from .lexer import ConfigError, Position
from .parser import Argument, Directive


class ListenProtocol(StrEnum):
    """What a listening socket speaks: the `listen` parameter that says so, or plain."""

    PLAIN = "plain"  # HTTP straight over TCP
    SSL = "ssl"  # TLS 1.3 (nginx's word)
    TOYTLS = "toytls"  # the learning protocol (ours)


@dataclass(frozen=True)
class Listen:
    address: str  # "0.0.0.0" for a bare port or `*`; "127.0.0.1" for localhost; "::" for [::]
    port: int  # 0 asks the OS for a free port; servers naming the same address:0 share it
    protocol: ListenProtocol
    default_server: bool
    position: Position  # of the `listen` keyword
    http2: bool = False  # `listen ... http2`, the spelling before nginx 1.25.1's `http2 on`


def read_listen(directive: Directive) -> Listen:
    address, port = read_endpoint(directive.arguments[0])
    protocol = ListenProtocol.PLAIN
    default_server = False
    http2 = False
    for argument in directive.arguments[1:]:
        if argument.value in (ListenProtocol.SSL, ListenProtocol.TOYTLS):
            if protocol is not ListenProtocol.PLAIN:
                raise ConfigError(
                    f"listen already says {protocol}; give one of ssl and toytls",
                    argument.position,
                )
            protocol = ListenProtocol(argument.value)
        elif argument.value == "default_server":
            if default_server:
                raise ConfigError("listen says default_server twice", argument.position)
            default_server = True
        elif argument.value == "http2":
            if http2:
                raise ConfigError("listen says http2 twice", argument.position)
            http2 = True
        else:
            raise ConfigError(
                f"unknown listen parameter {argument.value!r}, "
                "expected ssl, toytls, http2 or default_server",
                argument.position,
            )
    return Listen(address, port, protocol, default_server, directive.position, http2)


def read_endpoint(argument: Argument) -> tuple[str, int]:
    """`[ADDRESS:]PORT` with ADDRESS an IPv4 address, `*`, `localhost` or `[IPv6]`."""
    text = argument.value
    if text.startswith("["):
        host, bracket, port_text = text[1:].partition("]")
        if not bracket or not port_text.startswith(":"):
            raise ConfigError(
                f"expected [IPv6]:PORT such as [::]:8443, got {text!r}", argument.position
            )
        try:
            address = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ConfigError(f"invalid IPv6 address {host!r}", argument.position) from None
        port_text = port_text[1:]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        if host == "*":
            address = "0.0.0.0"
        elif host == "localhost":
            # Resolved here, without DNS, so that `localhost:80` and `127.0.0.1:80`
            # are recognised as the same listener.
            address = "127.0.0.1"
        else:
            try:
                address = str(ipaddress.IPv4Address(host))
            except ValueError:
                raise ConfigError(
                    f"listen address must be an IPv4 address, '*', 'localhost' or [IPv6], "
                    f"got {host!r}",
                    argument.position,
                ) from None
    else:
        address, port_text = "0.0.0.0", text
    port = parse_unsigned(port_text)
    if port is None or port > 65535:
        raise ConfigError(f"port must be 0..65535, got {port_text!r}", argument.position)
    return address, port


def endpoint(listen: Listen) -> str:
    host = f"[{listen.address}]" if ":" in listen.address else listen.address
    return f"{host}:{listen.port}"


def check_listeners_agree(listens: Iterable[Listen]) -> None:
    """Servers sharing an address:port share one socket: one protocol, one default_server.

    Port 0 is the exception: it means "pick a free port", so every `listen 0`
    is its own listener.
    """
    first_listen: dict[tuple[str, int], Listen] = {}
    default_listen: dict[tuple[str, int], Listen] = {}
    for listen in listens:
        if listen.port == 0:
            continue  # each `listen 0` gets a socket (and a free port) of its own
        key = (listen.address, listen.port)
        first = first_listen.setdefault(key, listen)
        if first.protocol != listen.protocol:
            article = "an" if first.protocol is ListenProtocol.SSL else "a"
            raise ConfigError(
                f"{endpoint(listen)} is already {article} {first.protocol} listener "
                f"at {first.position}",
                listen.position,
            )
        if listen.default_server:
            earlier = default_listen.setdefault(key, listen)
            if earlier is not listen:
                raise ConfigError(
                    f"{endpoint(listen)} already has a default_server at {earlier.position}",
                    listen.position,
                )
