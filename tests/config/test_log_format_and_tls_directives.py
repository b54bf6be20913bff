"""log_format / access_log NAME, ssl_ecdh_curve's OpenSSL names, ssl_certificate_compression."""

from __future__ import annotations

from pathlib import Path

import pytest

from tls_web_server.config import ConfigError, Position, ServerConfig, parse_config
from tls_web_server.config.log_format import COMBINED, COMBINED_TEXT, VARIABLES, Variable
from tls_web_server.config.tls_names import GROUP_SPELLINGS

CONFIG_DIR = Path("/srv/site")
CONFIG_PATH = CONFIG_DIR / "site.conf"
FILE = str(CONFIG_PATH)


def servers(*http: str, server: tuple[str, ...] = ()) -> tuple[ServerConfig, ...]:
    """`http` lines start on line 2; then a server listening on 8080 with `server` lines.

    With no `http` lines the server's lines start on line 4.
    """
    text = "\n".join(["http {", *http, "server {", "listen 8080;", *server, "}", "}"])
    return parse_config(text, CONFIG_PATH).servers


def error_of(*http: str, server: tuple[str, ...] = ()) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        servers(*http, server=server)
    return caught.value


# --- log_format --------------------------------------------------------------------------------


def test_combined_is_nginx_s_format_split_into_text_and_variables() -> None:
    assert COMBINED.name == "combined"
    assert COMBINED.parts == (
        Variable("remote_addr"),
        " - ",
        Variable("remote_user"),
        " [",
        Variable("time_local"),
        '] "',
        Variable("request"),
        '" ',
        Variable("status"),
        " ",
        Variable("body_bytes_sent"),
        ' "',
        Variable("http_referer"),
        '" "',
        Variable("http_user_agent"),
        '"',
    )
    assert (
        "".join(f"${part.name}" if isinstance(part, Variable) else part for part in COMBINED.parts)
        == COMBINED_TEXT
    )


def test_log_format_joins_its_strings_and_reads_both_variable_spellings() -> None:
    (server,) = servers(
        "log_format tls '$remote_addr \"$request\" '",
        "               '${ssl_protocol}/$ssl_cipher$ssl_curve' done;",
        "access_log /var/log/tls.log tls;",
    )
    assert server.access_log == Path("/var/log/tls.log")
    assert server.access_log_format.name == "tls"
    assert server.access_log_format.parts == (
        Variable("remote_addr"),
        ' "',
        Variable("request"),
        '" ',  # the two strings' literals meet here and are one part
        Variable("ssl_protocol"),
        "/",
        Variable("ssl_cipher"),
        Variable("ssl_curve"),
        "done",
    )


def test_escape_default_is_what_we_do_anyway() -> None:
    (server,) = servers("log_format main escape=default '$status';", "access_log stdout main;")
    assert server.access_log_format.parts == (Variable("status"),)


def test_every_variable_is_accepted() -> None:
    text = " ".join(f"${name}" for name in VARIABLES)
    (server,) = servers(f"log_format all '{text}';", "access_log stdout all;")
    assert [part.name for part in server.access_log_format.parts if isinstance(part, Variable)] == (
        list(VARIABLES)
    )


def test_a_server_inherits_the_http_access_log_with_its_format_or_names_its_own() -> None:
    text = """http {
log_format short '$status $request_uri';
access_log /var/log/all.log short;
server { listen 80; }
server { listen 81; access_log /var/log/81.log; }
server { listen 82; access_log stdout combined; }
server { listen 83; access_log off; }
}"""
    first, second, third, fourth = parse_config(text, CONFIG_PATH).servers
    assert (first.access_log, first.access_log_format.name) == (Path("/var/log/all.log"), "short")
    assert first.directive_positions["access_log"] == Position(FILE, 3, 12)
    assert (second.access_log, second.access_log_format) == (Path("/var/log/81.log"), COMBINED)
    assert (third.access_log, third.access_log_format) == ("stdout", COMBINED)
    assert fourth.access_log is None


def test_log_format_may_follow_the_access_log_that_names_it() -> None:
    text = "http {\nserver { listen 80; access_log stdout late; }\nlog_format late '$status';\n}"
    (server,) = parse_config(text, CONFIG_PATH).servers
    assert server.access_log_format.parts == (Variable("status"),)


@pytest.mark.parametrize(
    ("http", "server", "line", "col", "fragment"),
    [
        (("log_format main '$remote_addr $no_such_thing';",), (), 2, 17, "'$no_such_thing'"),
        (("log_format main '$status' 'x $Status';",), (), 2, 27, "unknown log_format variable"),
        (("log_format main 'cost: $';",), (), 2, 17, "invalid variable name after '$'"),
        (("log_format main '${}';",), (), 2, 17, "invalid variable name"),
        (("log_format main escape=json '$status';",), (), 2, 17, "escape=json is not supported"),
        (("log_format main escape=default;",), (), 2, 12, "log_format needs the format's text"),
        (("log_format main;",), (), 2, 1, "log_format takes at least 2 arguments"),
        (("log_format combined '$status';",), (), 2, 12, "duplicate log_format name 'combined'"),
        (
            ("log_format a '$status';", "log_format a '$request';"),
            (),
            3,
            12,
            f"duplicate log_format name 'a' (first at {FILE}:2:12)",
        ),
        ((), ("log_format main '$status';",), 4, 1, "'log_format' is not allowed here"),
        ((), ("access_log stdout main;",), 4, 19, "unknown log format 'main' in access_log"),
        (("access_log stdout nope;",), ("access_log off;",), 2, 19, "unknown log format 'nope'"),
        ((), ("access_log off combined;",), 4, 16, "access_log off takes no format name"),
        ((), ("access_log stdout combined x;",), 4, 28, "access_log takes 1 to 2 arguments"),
    ],
)
def test_log_format_and_access_log_errors(
    http: tuple[str, ...], server: tuple[str, ...], line: int, col: int, fragment: str
) -> None:
    error = error_of(*http, server=server)
    assert (error.position.file, error.position.line, error.position.col) == (FILE, line, col)
    assert fragment in error.message, str(error)


def test_an_unknown_variable_error_lists_the_variables_there_are() -> None:
    error = error_of("log_format main '$remote_adr';")
    assert str(error).startswith(f"{FILE}:2:17: unknown log_format variable '$remote_adr'")
    for name in VARIABLES:
        assert f"${name}" in error.message


def test_an_unknown_format_name_error_lists_the_defined_ones() -> None:
    error = error_of("log_format main '$status';", server=("access_log stdout mian;",))
    assert "expected one of: combined, main" in error.message


# --- ssl_ecdh_curve ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("auto", None),
        ("X25519MLKEM768:X25519:prime256v1", ("X25519MLKEM768", "x25519", "secp256r1")),
        ("P-384:secp384r1:SecP384r1MLKEM1024", ("secp384r1", "SecP384r1MLKEM1024")),
        ("X448:x448:P-256", ("x448", "secp256r1")),
    ],
)
def test_ssl_ecdh_curve_takes_openssl_s_names(value: str, expected: object) -> None:
    (server,) = servers(f"ssl_ecdh_curve {value};")
    assert server.ssl_ecdh_curve == expected


@pytest.mark.parametrize(
    ("value", "bad"),
    [("X25519:secp521r1", "secp521r1"), ("x25519mlkem768", "x25519mlkem768"), ("X25519:", "")],
)
def test_an_unknown_curve_names_its_place_and_the_expected_names(value: str, bad: str) -> None:
    error = error_of(server=(f"ssl_ecdh_curve {value};",))
    assert str(error).startswith(f"{FILE}:4:16: unknown curve {bad!r} in ssl_ecdh_curve")
    for spelling in GROUP_SPELLINGS:
        assert spelling in error.message
    assert "'auto'" in error.message


# --- ssl_certificate_compression -----------------------------------------------------------------


def test_ssl_certificate_compression_is_inherited_from_http_and_overridden_by_a_server() -> None:
    text = """http {
ssl_certificate_compression off;
server { listen 80; }
server { listen 81; ssl_certificate_compression on; }
}"""
    first, second = parse_config(text, CONFIG_PATH).servers
    assert first.ssl_certificate_compression is False
    assert second.ssl_certificate_compression is True
    assert first.directive_positions["ssl_certificate_compression"] == Position(FILE, 2, 29)


@pytest.mark.parametrize(
    ("http", "server", "line", "col", "fragment"),
    [
        ((), ("ssl_certificate_compression yes;",), 4, 29, "expected 'on' or 'off', got 'yes'"),
        ((), ("ssl_certificate_compression;",), 4, 1, "takes 1 argument"),
        (
            (),
            ("location / { ssl_certificate_compression off; }",),
            4,
            14,
            "'ssl_certificate_compression' is not allowed here (inside location)",
        ),
        (
            ("ssl_certificate_compression on;", "ssl_certificate_compression off;"),
            (),
            3,
            1,
            "duplicate 'ssl_certificate_compression'",
        ),
    ],
)
def test_ssl_certificate_compression_errors(
    http: tuple[str, ...], server: tuple[str, ...], line: int, col: int, fragment: str
) -> None:
    error = error_of(*http, server=server)
    assert (error.position.line, error.position.col) == (line, col), str(error)
    assert fragment in error.message, str(error)
