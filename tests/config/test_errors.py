"""Each configuration mistake is a ConfigError at file:line:col saying what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tls_web_server.config import ConfigError, parse_config

CONFIG_DIR = Path("/srv/site")
CONFIG_PATH = CONFIG_DIR / "site.conf"
FILE = str(CONFIG_PATH)


def in_server(*lines: str) -> str:
    """`lines` start on line 4, column 1, inside a server that already listens on port 80."""
    return "\n".join(["http {", "server {", "listen 80;", *lines, "}", "}"]) + "\n"


def error_of(text: str, path: Path = CONFIG_PATH) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    return caught.value


def assert_error_at(error: ConfigError, line: int, col: int, fragment: str) -> None:
    assert (error.position.line, error.position.col) == (line, col), str(error)
    assert fragment in error.message, str(error)
    assert str(error) == f"{error.position.file}:{line}:{col}: {error.message}"


CASES = [
    # the directive table: unknown, wrong place, duplicate, block or not, argument counts
    (in_server("gzip on;"), 4, 1, "unknown directive 'gzip'"),
    ("root /www;\nhttp { server { listen 80; } }", 1, 1, "'root' is not allowed here (at the top"),
    (
        "http {\nlisten 80;\nserver { listen 80; }\n}",
        2,
        1,
        "'listen' is not allowed here (inside http)",
    ),
    (in_server("worker_processes 2;"), 4, 1, "'worker_processes' is not allowed here"),
    (in_server("location / {", "keepalive_timeout 5;", "}"), 5, 1, "not allowed here"),
    ("http { server { listen 80; worker_connections 5; } }", 1, 28, "not allowed here"),
    (
        in_server("location / {", "location /a/ { }", "}"),
        5,
        1,
        "nested locations are not supported",
    ),
    (in_server("root a;", "root b;"), 5, 1, f"duplicate 'root' directive (first at {FILE}:4:1)"),
    ("http { server { listen 80; } }\nhttp { server { listen 81; } }", 2, 1, "duplicate 'http'"),
    ("events { }\nevents { }\nhttp { server { listen 80; } }", 2, 1, "duplicate 'events'"),
    (in_server("root html { }"), 4, 11, "'root' does not take a block, expected ';'"),
    ("http;", 1, 1, "'http' needs a block"),
    (in_server("location /;"), 4, 1, "'location' needs a block"),
    (
        in_server("listen 81 ssl http2 default_server extra;"),
        4,
        36,
        "listen takes 1 to 4 arguments",
    ),
    (in_server("listen;"), 4, 1, "listen takes 1 to 4 arguments"),
    (in_server("root a b;"), 4, 8, "root takes 1 argument"),
    (in_server("index;"), 4, 1, "index takes at least 1 argument"),
    (in_server("ssl_ciphers A B;"), 4, 15, "ssl_ciphers takes 1 argument"),
    ("events x { }\nhttp { server { listen 80; } }", 1, 8, "events takes no arguments"),
    # syntax, seen through parse_config
    (
        "http {\nserver {\nlisten 80;\nroot html\n}\n}\n",
        5,
        1,
        "expected ';' or '{' after arguments of 'root'",
    ),
    ("http {\n  server {\n    listen 80;\n", 4, 1, "expected '}' to close 'server' opened at 2:3"),
    ("http {\nserver { listen 80; }\n}\n}\n", 4, 1, "unexpected '}'"),
    (in_server('root "abc;'), 4, 6, "unterminated quoted string"),
    (in_server('root "a"b;'), 4, 9, "after a quoted string"),
    # listen
    (in_server("listen 70000;"), 4, 8, "port must be 0..65535, got '70000'"),
    (in_server("listen http;"), 4, 8, "port must be 0..65535"),
    (in_server("listen 127.0.0.1:-1;"), 4, 8, "port must be 0..65535"),
    (in_server("listen 127.0.0.1;"), 4, 8, "port must be 0..65535"),
    (in_server("listen ８０;"), 4, 8, "port must be 0..65535"),
    (in_server("listen example.com:80;"), 4, 8, "listen address must be an IPv4 address"),
    (in_server("listen 10.0.0.256:80;"), 4, 8, "listen address must be"),
    (in_server("listen [::g]:80;"), 4, 8, "invalid IPv6 address '::g'"),
    (in_server("listen [::];"), 4, 8, "expected [IPv6]:PORT"),
    (in_server("listen [::1:80;"), 4, 8, "expected [IPv6]:PORT"),
    (in_server("listen 81 quic;"), 4, 11, "unknown listen parameter 'quic'"),
    (in_server("listen 81 http2 http2;"), 4, 17, "listen says http2 twice"),
    (in_server("listen 81 ssl toytls;"), 4, 15, "give one of ssl and toytls"),
    (in_server("listen 81 default_server default_server;"), 4, 26, "default_server twice"),
    (
        in_server("listen 0.0.0.0:80;"),
        4,
        1,
        f"duplicate listen 0.0.0.0:80 in this server (first at {FILE}:3:1)",
    ),
    (
        in_server("listen 8443 ssl;"),
        4,
        1,
        "listen ssl needs ssl_certificate and ssl_certificate_key",
    ),
    (in_server("listen 8444 toytls;"), 4, 1, "listen toytls needs ssl_certificate and"),
    (
        "http {\nserver {\nlisten 80 default_server;\n}\n"
        "server {\nlisten *:80 default_server;\n}\n}",
        6,
        1,
        f"0.0.0.0:80 already has a default_server at {FILE}:3:1",
    ),
    (
        "http {\nserver { listen [::]:80 default_server; }\n"
        "server { listen [::]:80 default_server; }\n}",
        3,
        10,
        f"[::]:80 already has a default_server at {FILE}:2:10",
    ),
    # numbers, times, sizes, switches
    (
        "worker_processes 0;\nhttp { server { listen 80; } }",
        1,
        18,
        "positive whole number or 'auto'",
    ),
    ("worker_processes many;\nhttp { server { listen 80; } }", 1, 18, "worker_processes must be"),
    (
        "events {\nworker_connections 0;\n}\nhttp { server { listen 80; } }",
        2,
        20,
        "worker_connections must be a positive",
    ),
    (in_server("keepalive_requests -1;"), 4, 20, "keepalive_requests must be a non-negative"),
    (in_server("keepalive_requests 99999999999;"), 4, 20, "up to 2147483647"),
    (in_server("keepalive_timeout 10x;"), 4, 19, "invalid time '10x'"),
    (in_server("keepalive_timeout 1.5s;"), 4, 19, "invalid time"),
    (in_server("send_timeout 30d;"), 4, 14, "at most 2147483647ms"),
    (in_server("client_header_timeout s;"), 4, 23, "invalid time 's'"),
    (in_server("client_max_body_size 10t;"), 4, 22, "invalid size '10t'"),
    (in_server("client_max_body_size 999999999999999g;"), 4, 22, "invalid size"),
    (in_server("ssl_session_tickets yes;"), 4, 21, "expected 'on' or 'off', got 'yes'"),
    # TLS names
    (in_server("ssl_protocols TLSv1.2 TLSv1.3;"), 4, 15, "only TLSv1.3 is implemented, 'TLSv1.2'"),
    (in_server("ssl_protocols TLSv1.3 SSLv3;"), 4, 23, "only TLSv1.3 is implemented"),
    (in_server("ssl_ciphers TLS_AES_128_GCM_SHA256:RC4;"), 4, 13, "unknown cipher suite 'RC4'"),
    (in_server("ssl_ciphers HIGH:!aNULL;"), 4, 13, "unknown cipher suite 'HIGH'"),
    (in_server("ssl_ciphers TLS_AES_128_GCM_SHA256:;"), 4, 13, "unknown cipher suite ''"),
    (in_server("ssl_ecdh_curve x25519:secp521r1;"), 4, 16, "unknown curve 'secp521r1'"),
    # names, locations, paths
    (in_server("server_name ~^www;"), 4, 13, "regular-expression server names are not supported"),
    (in_server("server_name a.example www.*;"), 4, 23, "leading '*.' wildcards are supported"),
    (in_server("server_name a.*.example;"), 4, 13, "leading '*.' wildcards"),
    (in_server("server_name *;"), 4, 13, "leading '*.' wildcards"),
    (in_server("server_name .example.com;"), 4, 13, "instead of the shorthand"),
    (in_server("server_name '';"), 4, 13, "server_name must not be empty"),
    (in_server("location = /x { }"), 4, 10, "only prefix locations are supported, not '='"),
    (in_server("location ~ \\.php$ { }"), 4, 10, "only prefix locations are supported"),
    (in_server("location @fallback { }"), 4, 10, "location prefix must start with '/'"),
    (
        in_server("location /a/ { }", "location /a/ { }"),
        5,
        1,
        f"duplicate location '/a/' (first at {FILE}:4:1)",
    ),
    (in_server("index ../secret.html;"), 4, 7, "index takes file names without '/'"),
    (in_server('root "";'), 4, 6, "expected a path"),
    (in_server('root "a\x00b";'), 4, 6, "expected a path"),
    # structure
    ("worker_processes 2;\n", 0, 0, "the configuration has no http block"),
    ("", 0, 0, "the configuration has no http block"),
    (
        "events { }\nhttp {\n  root html;\n}\n",
        2,
        1,
        "the http block needs at least one server block",
    ),
    ("http {\n  server {\n    root html;\n  }\n}\n", 2, 3, "server needs a listen directive"),
]


@pytest.mark.parametrize(("text", "line", "col", "fragment"), CASES)
def test_error_position_and_message(text: str, line: int, col: int, fragment: str) -> None:
    error = error_of(text)
    assert error.position.file == FILE
    assert_error_at(error, line, col, fragment)


def test_errors_come_in_file_order_within_a_block() -> None:
    assert_error_at(error_of(in_server("keepalive_timeout x;", "gzip on;")), 4, 19, "invalid time")
    assert_error_at(
        error_of(in_server("gzip on;", "keepalive_timeout x;")), 4, 1, "unknown directive"
    )


@pytest.fixture
def certificate_files(tmp_path: Path) -> Path:
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("not parsed by config")
    (tmp_path / "folder.pem").mkdir()
    return tmp_path


def test_a_missing_certificate_file_is_reported_at_its_argument(certificate_files: Path) -> None:
    error = error_of(in_server("ssl_certificate missing.pem;"), certificate_files / "site.conf")
    assert_error_at(
        error,
        4,
        17,
        f"cannot read certificate file '{certificate_files / 'missing.pem'}': "
        "No such file or directory",
    )


def test_an_unreadable_key_and_a_folder_as_chain(certificate_files: Path) -> None:
    path = certificate_files / "site.conf"
    error = error_of(in_server("ssl_certificate_key /nonexistent/key.pem;"), path)
    assert_error_at(error, 4, 21, "cannot read certificate key file '/nonexistent/key.pem'")
    error = error_of(in_server("ssl_certificate_chain folder.pem;"), path)
    assert_error_at(
        error, 4, 23, f"cannot read certificate chain file '{certificate_files}/folder.pem': not"
    )


def test_a_tls_listener_names_only_the_missing_file(certificate_files: Path) -> None:
    text = in_server("ssl_certificate cert.pem;", "listen 443 ssl;")
    error = error_of(text, certificate_files / "site.conf")
    assert_error_at(error, 5, 1, "listen ssl needs ssl_certificate_key in this server or in http")


def test_certificates_in_http_satisfy_a_tls_listener(certificate_files: Path) -> None:
    text = (
        "http {\nssl_certificate cert.pem;\nssl_certificate_key key.pem;\n"
        "server { listen 443 toytls; }\n}"
    )
    (server,) = parse_config(text, certificate_files / "site.conf").servers
    assert server.ssl_certificate == certificate_files / "cert.pem"
    assert server.ssl_certificate_key == certificate_files / "key.pem"


def test_one_port_cannot_speak_two_protocols(certificate_files: Path) -> None:
    path = certificate_files / "site.conf"
    text = (
        "http {\nssl_certificate cert.pem;\nssl_certificate_key key.pem;\n"
        "server {\nlisten 8443 toytls;\n}\nserver {\nlisten 8443;\n}\n"
        "server {\nlisten 8443 ssl;\n}\n}"
    )
    assert_error_at(
        error_of(text, path), 8, 1, f"0.0.0.0:8443 is already a toytls listener at {path}:5:1"
    )
    text = text.replace("listen 8443 toytls;", "listen 9000;").replace(
        "listen 8443;", "listen 9001;"
    )
    parse_config(text, path)  # each port once: fine
    text = text.replace("listen 9001;", "listen 8443 toytls;")
    assert_error_at(error_of(text, path), 11, 1, f"8443 is already a toytls listener at {path}:8:1")
    text = text.replace("listen 8443 toytls;", "listen [::1]:8443 toytls;")
    parse_config(text, path)  # a different address is a different listener
    # Port 0 ("any free port") gives every listen a socket of its own: no conflict.
    text = text.replace("listen [::1]:8443 toytls;", "listen 0 toytls;").replace("8443", "0")
    parse_config(text, path)
