"""ssl_verify_client, ssl_client_certificate, ssl_trusted_certificate, ssl_verify_depth.

nginx's meaning: each inherited from http to server on its own, `on` and
`optional` need a CA file, and server/listeners.py turns them into the TLS
layer's ClientAuthentication (both files trusted, only one advertised).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tls_web_server.config import ConfigError, Position, ServerConfig, parse_config
from tls_web_server.config.client_verification import ClientVerification
from tls_web_server.server import listeners
from tls_web_server.tls import pki
from tls_web_server.tls.tls13.client_authentication import ClientVerifyMode


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[pki.GeneratedPki, pki.GeneratedPki]:
    folder = tmp_path_factory.mktemp("client-cas")
    return pki.generate_pki(folder / "one"), pki.generate_pki(folder / "two")


def servers(folder: Path, *http: str, server: tuple[str, ...] = ()) -> tuple[ServerConfig, ...]:
    """`http` lines start on line 2, then a server listening on 8080 with `server` lines."""
    text = "\n".join(["http {", *http, "server {", "listen 8080;", *server, "}", "}"])
    return parse_config(text, folder / "site.conf").servers


def error_of(folder: Path, *http: str, server: tuple[str, ...] = ()) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        servers(folder, *http, server=server)
    return caught.value


def test_off_by_default(tmp_path: Path) -> None:
    (server,) = servers(tmp_path)
    assert server.client_verification == ClientVerification("off", None, None, 1)
    assert not server.client_verification.requested
    assert listeners.client_authentication(server) is None


def test_each_directive_is_inherited_on_its_own(tmp_path: Path, cas) -> None:
    one, two = cas
    (server,) = servers(
        tmp_path,
        "ssl_verify_client on;",
        f"ssl_client_certificate {one.root_cert};",
        "ssl_verify_depth 3;",
        server=("ssl_verify_client optional;", f"ssl_trusted_certificate {two.root_cert};"),
    )
    assert server.client_verification == ClientVerification(
        "optional", one.root_cert, two.root_cert, 3
    )


def test_both_files_are_trusted_and_only_the_client_certificate_one_is_named(
    tmp_path: Path, cas
) -> None:
    one, two = cas
    (server,) = servers(
        tmp_path,
        server=(
            "ssl_verify_client optional_no_ca;",
            f"ssl_client_certificate {one.root_cert};",
            f"ssl_trusted_certificate {two.root_cert};",
            "ssl_verify_depth 0;",
        ),
    )
    authentication = listeners.client_authentication(server)
    assert authentication is not None
    assert authentication.mode is ClientVerifyMode.OPTIONAL_NO_CA
    roots_one, roots_two = (
        pki.load_trusted_roots(one.root_cert),
        pki.load_trusted_roots(two.root_cert),
    )
    assert authentication.trusted_roots == roots_one + roots_two
    assert authentication.authority_names == pki.certificate_subjects_der(roots_one)
    assert authentication.max_intermediates == 0


@pytest.mark.parametrize("mode", ["on", "optional"])
def test_on_and_optional_need_a_ca_file(tmp_path: Path, mode: str) -> None:
    error = error_of(tmp_path, server=(f"ssl_verify_client {mode};",))
    assert error.position == Position(str(tmp_path / "site.conf"), 4, 19)
    assert f"ssl_verify_client {mode} needs ssl_client_certificate" in error.message


def test_optional_no_ca_needs_no_ca_file(tmp_path: Path) -> None:
    (server,) = servers(tmp_path, server=("ssl_verify_client optional_no_ca;",))
    authentication = listeners.client_authentication(server)
    assert authentication is not None and authentication.trusted_roots == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ssl_verify_client yes;", "ssl_verify_client takes off, on, optional, optional_no_ca"),
        ("ssl_verify_depth -1;", "ssl_verify_depth must be a whole number from 0 to 100"),
        ("ssl_verify_depth 101;", "ssl_verify_depth must be a whole number from 0 to 100"),
        ("ssl_verify_depth 1k;", "ssl_verify_depth must be a whole number from 0 to 100"),
        ("ssl_client_certificate missing.pem;", "cannot read client CA file"),
        ("ssl_trusted_certificate missing.pem;", "cannot read trusted CA file"),
    ],
)
def test_bad_values_are_refused_at_their_argument(tmp_path: Path, line: str, message: str) -> None:
    error = error_of(tmp_path, line)
    assert message in error.message
    assert error.position.line == 2
    assert error.position.col == line.index(" ") + 2


def test_not_allowed_in_a_location(tmp_path: Path) -> None:
    error = error_of(tmp_path, server=("location / {", "ssl_verify_client on;", "}"))
    assert "ssl_verify_client" in error.message and "not allowed" in error.message


def test_a_ca_file_without_certificates_is_blamed_on_its_directive(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n")
    (server,) = servers(
        tmp_path, server=("ssl_verify_client on;", f"ssl_client_certificate {empty};")
    )
    with pytest.raises(ConfigError) as caught:
        listeners.client_authentication(server)
    assert caught.value.position.line == 5
