"""nginx's client-certificate directives (mutual TLS), read together into one setting.

    ssl_verify_client        off | on | optional | optional_no_ca   (default off)
    ssl_client_certificate   FILE   CAs trusted for client certificates, and named to
                                    clients in the CertificateRequest
    ssl_trusted_certificate  FILE   CAs trusted as well, but not named to clients
    ssl_verify_depth         N      CA certificates allowed between a client's and a
                                    trusted one (default 1)

Each directive is inherited from http to server on its own, as nginx does;
model.py gives this module the server's settings after inheritance.

What this module owns: `ClientVerification`, the defaults, the reading of
ssl_verify_client and ssl_verify_depth values, and the check across them
(nginx refuses `on` and `optional` without a CA file: "no
ssl_client_certificate for ssl_verify_client").

What it must never do: import anything of ours outside config/, or parse PEM
(server/listeners.py loads the CA files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .lexer import ConfigError, Position
from .parser import Directive

VERIFY_CLIENT_VALUES = ("off", "on", "optional", "optional_no_ca")
# OpenSSL's own limit on a chain's depth is 100; nginx passes the number through.
MAXIMUM_VERIFY_DEPTH = 100

DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "ssl_verify_client": "off",
        "ssl_client_certificate": None,
        "ssl_trusted_certificate": None,
        "ssl_verify_depth": 1,
    }
)


@dataclass(frozen=True)
class ClientVerification:
    """Whether a TLS server asks clients for a certificate, and whom it trusts to issue one."""

    mode: str = "off"  # one of VERIFY_CLIENT_VALUES
    client_certificate: Path | None = None  # trusted and advertised
    trusted_certificate: Path | None = None  # trusted only
    depth: int = 1

    @property
    def requested(self) -> bool:
        return self.mode != "off"


def read_verify_client(directive: Directive, base_dir: Path) -> str:
    argument = directive.arguments[0]
    if argument.value not in VERIFY_CLIENT_VALUES:
        raise ConfigError(
            f"ssl_verify_client takes {', '.join(VERIFY_CLIENT_VALUES)}, got {argument.value!r}",
            argument.position,
        )
    return argument.value


def read_verify_depth(directive: Directive, base_dir: Path) -> int:
    argument = directive.arguments[0]
    text = argument.value
    if not (text and len(text) <= 3 and all("0" <= c <= "9" for c in text)) or (
        int(text) > MAXIMUM_VERIFY_DEPTH
    ):
        raise ConfigError(
            f"ssl_verify_depth must be a whole number from 0 to {MAXIMUM_VERIFY_DEPTH},"
            f" got {text!r}",
            argument.position,
        )
    return int(text)


def client_verification(settings: Mapping[str, tuple[Any, Position]]) -> ClientVerification:
    """The four directives of one server block (inherited ones included), checked together."""

    def value(name: str) -> Any:
        return settings[name][0] if name in settings else DEFAULTS[name]

    verification = ClientVerification(
        mode=value("ssl_verify_client"),
        client_certificate=value("ssl_client_certificate"),
        trusted_certificate=value("ssl_trusted_certificate"),
        depth=value("ssl_verify_depth"),
    )
    if verification.mode in ("on", "optional") and (
        verification.client_certificate is None and verification.trusted_certificate is None
    ):
        position = settings["ssl_verify_client"][1]
        raise ConfigError(
            f"ssl_verify_client {verification.mode} needs ssl_client_certificate (or"
            " ssl_trusted_certificate): the CAs that issue client certificates",
            position,
        )
    return verification
