"""What a valid configuration means: defaults, explicit values, units, inheritance, paths."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tls_web_server.config import (
    Config,
    ConfigError,
    Listen,
    Location,
    Position,
    ServerConfig,
    load_config,
    parse_config,
)

CONFIG_DIR = Path("/srv/site")
CONFIG_PATH = CONFIG_DIR / "site.conf"
FILE = str(CONFIG_PATH)
ALL_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
ALL_GROUPS = ("x25519", "secp256r1", "secp384r1", "x448")


def parse(text: str) -> Config:
    return parse_config(text, CONFIG_PATH)


def one_server(*lines: str, http: tuple[str, ...] = ()) -> ServerConfig:
    """A single server listening on 8080, `lines` inside it and `http` lines before it."""
    text = "\n".join(["http {", *http, "server {", "listen 8080;", *lines, "}", "}"])
    (server,) = parse(text).servers
    return server


def test_every_default() -> None:
    config = parse("http {\n  server {\n    listen 8080;\n  }\n}\n")
    assert config.path == CONFIG_PATH
    assert config.worker_processes == 1
    assert config.worker_connections == 512
    assert config.error_log == "stderr"
    (server,) = config.servers
    assert server.listens == (Listen("0.0.0.0", 8080, "plain", False, Position(FILE, 3, 5)),)
    assert server.server_names == ()
    assert server.locations == (
        Location("/", CONFIG_DIR / "html", ("index.html",), Position(FILE, 2, 3)),
    )
    assert server.ssl_certificate is None
    assert server.ssl_certificate_key is None
    assert server.ssl_certificate_chain is None
    assert server.ssl_protocols == ("TLSv1.3",)
    assert server.ssl_ciphers == ALL_SUITES
    assert server.ssl_ecdh_curve is None  # `auto`: the TLS layer's defaults
    assert server.ssl_session_tickets is True
    assert server.ssl_certificate_compression is True
    assert server.keepalive_timeout == 75.0
    assert server.keepalive_requests == 1000
    assert server.client_header_timeout == 60.0
    assert server.client_body_timeout == 60.0
    assert server.send_timeout == 60.0
    assert server.client_max_body_size == 1024 * 1024
    assert server.access_log == "stdout"
    assert server.access_log_format.name == "combined"
    assert server.error_log == "stderr"
    assert server.position == Position(FILE, 2, 3)
    assert dict(server.directive_positions) == {"listen": Position(FILE, 3, 12)}


@pytest.mark.parametrize(
    ("directive", "field", "expected"),
    [
        ("keepalive_timeout 30;", "keepalive_timeout", 30.0),
        ("keepalive_timeout 45s;", "keepalive_timeout", 45.0),
        ("keepalive_timeout 500ms;", "keepalive_timeout", 0.5),
        ("keepalive_timeout 2m;", "keepalive_timeout", 120.0),
        ("keepalive_timeout 0;", "keepalive_timeout", 0.0),
        ("keepalive_requests 5;", "keepalive_requests", 5),
        ("keepalive_requests 0;", "keepalive_requests", 0),
        ("client_header_timeout 1h;", "client_header_timeout", 3600.0),
        ("client_body_timeout 1d;", "client_body_timeout", 86400.0),
        ("send_timeout 250ms;", "send_timeout", 0.25),
        ("client_max_body_size 1024;", "client_max_body_size", 1024),
        ("client_max_body_size 10k;", "client_max_body_size", 10 * 1024),
        ("client_max_body_size 10K;", "client_max_body_size", 10 * 1024),
        ("client_max_body_size 1m;", "client_max_body_size", 1024**2),
        ("client_max_body_size 3M;", "client_max_body_size", 3 * 1024**2),
        ("client_max_body_size 1g;", "client_max_body_size", 1024**3),
        ("client_max_body_size 2G;", "client_max_body_size", 2 * 1024**3),
        ("client_max_body_size 0;", "client_max_body_size", 0),
        ("access_log off;", "access_log", None),
        ("access_log stdout;", "access_log", "stdout"),
        ("access_log logs/access.log;", "access_log", CONFIG_DIR / "logs" / "access.log"),
        ("access_log /var/log/a.log;", "access_log", Path("/var/log/a.log")),
        ("error_log stderr;", "error_log", "stderr"),
        ("error_log ../logs/error.log;", "error_log", Path("/srv/logs/error.log")),
        ("ssl_protocols TLSv1.3;", "ssl_protocols", ("TLSv1.3",)),
        ("ssl_protocols TLSv1.3 TLSv1.3;", "ssl_protocols", ("TLSv1.3",)),
        (
            "ssl_ciphers TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256;",
            "ssl_ciphers",
            ("TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"),
        ),
        ("ssl_ecdh_curve X25519:prime256v1:P-384:X448;", "ssl_ecdh_curve", ALL_GROUPS),
        ("ssl_ecdh_curve x448:P-256:secp256r1;", "ssl_ecdh_curve", ("x448", "secp256r1")),
        ("ssl_ecdh_curve secp384r1:x25519;", "ssl_ecdh_curve", ("secp384r1", "x25519")),
        ("ssl_ecdh_curve auto;", "ssl_ecdh_curve", None),
        (
            "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1;",
            "ssl_ecdh_curve",
            ("X25519MLKEM768", "x25519", "secp256r1"),
        ),
        (
            "ssl_ecdh_curve SecP256r1MLKEM768:SecP384r1MLKEM1024:P-256;",
            "ssl_ecdh_curve",
            ("SecP256r1MLKEM768", "SecP384r1MLKEM1024", "secp256r1"),
        ),
        ("ssl_session_tickets off;", "ssl_session_tickets", False),
        ("ssl_session_tickets on;", "ssl_session_tickets", True),
        ("ssl_certificate_compression off;", "ssl_certificate_compression", False),
        ("ssl_certificate_compression on;", "ssl_certificate_compression", True),
        (
            "server_name Example.COM *.example.org www.example.com;",
            "server_name",
            ("example.com", "*.example.org", "www.example.com"),
        ),
    ],
)
def test_explicit_values(directive: str, field: str, expected: object) -> None:
    server = one_server(directive)
    value = server.server_names if field == "server_name" else getattr(server, field)
    assert value == expected
    assert type(value) is type(expected)
    assert server.directive_positions[field].line == 4


def test_root_and_index_set_the_implicit_location() -> None:
    server = one_server("root /var/www;", "index home.html index.htm;")
    assert server.locations == (
        Location("/", Path("/var/www"), ("home.html", "index.htm"), server.position),
    )


def test_main_context_values() -> None:
    config = parse(
        "worker_processes 4;\nerror_log logs/main.log;\nevents {\n  worker_connections 1024;\n}\n"
        "http { server { listen 80; } }\n"
    )
    assert config.worker_processes == 4
    assert config.worker_connections == 1024
    assert config.error_log == CONFIG_DIR / "logs" / "main.log"
    # nginx: an http-level error_log falls back to the main one.
    assert config.servers[0].error_log == CONFIG_DIR / "logs" / "main.log"
    assert config.servers[0].directive_positions["error_log"] == Position(FILE, 2, 11)


def test_worker_processes_auto_means_none() -> None:
    assert parse("worker_processes auto;\nhttp { server { listen 80; } }").worker_processes is None


def test_an_empty_events_block_keeps_the_default() -> None:
    assert parse("events { }\nhttp { server { listen 80; } }").worker_connections == 512


def test_http_settings_are_inherited_unless_the_server_overrides_them() -> None:
    text = """
error_log /var/log/main.log;
http {
    keepalive_timeout 10s;
    root /var/www;
    index start.html;
    ssl_ecdh_curve x25519;
    error_log /var/log/http.log;
    server {
        listen 80;
        keepalive_timeout 20s;
        root site-a;
        location /img/ { }
        location /docs/ { root /var/docs; index README.html; }
    }
    server {
        listen 81;
    }
}
"""
    config = parse(text)
    assert config.error_log == Path("/var/log/main.log")
    first, second = config.servers
    assert (first.keepalive_timeout, second.keepalive_timeout) == (20.0, 10.0)
    assert first.ssl_ecdh_curve == second.ssl_ecdh_curve == ("x25519",)
    assert first.error_log == second.error_log == Path("/var/log/http.log")
    assert first.directive_positions["keepalive_timeout"] == Position(FILE, 11, 27)
    assert second.directive_positions["keepalive_timeout"] == Position(FILE, 4, 23)
    assert second.directive_positions["error_log"] == Position(FILE, 8, 15)
    assert [(loc.prefix, loc.root, loc.index) for loc in first.locations] == [
        ("/docs/", Path("/var/docs"), ("README.html",)),
        ("/img/", CONFIG_DIR / "site-a", ("start.html",)),
        ("/", CONFIG_DIR / "site-a", ("start.html",)),
    ]
    assert second.locations == (Location("/", Path("/var/www"), ("start.html",), second.position),)


def test_locations_are_sorted_longest_prefix_first_and_an_explicit_root_is_kept() -> None:
    server = one_server(
        "root /www;",
        "location / { root /top; }",
        "location /a/b/ { }",
        "location /a/ { index a.html; }",
    )
    assert [location.prefix for location in server.locations] == ["/a/b/", "/a/", "/"]
    assert server.locations[2] == Location("/", Path("/top"), ("index.html",), Position(FILE, 5, 1))
    assert server.locations[1].index == ("a.html",)
    assert server.locations[1].root == Path("/www")


@pytest.mark.parametrize(
    ("arguments", "address", "port", "protocol", "default_server"),
    [
        ("8080", "0.0.0.0", 8080, "plain", False),
        ("*:8080", "0.0.0.0", 8080, "plain", False),
        ("127.0.0.1:80", "127.0.0.1", 80, "plain", False),
        ("localhost:8000", "127.0.0.1", 8000, "plain", False),
        ("[::]:8443 ssl", "::", 8443, "ssl", False),
        ("[::1]:443 ssl default_server", "::1", 443, "ssl", True),
        ("[0:0::1]:443", "::1", 443, "plain", False),
        ("8444 toytls", "0.0.0.0", 8444, "toytls", False),
        ("8081 default_server toytls", "0.0.0.0", 8081, "toytls", True),
        ("0", "0.0.0.0", 0, "plain", False),
        ("65535", "0.0.0.0", 65535, "plain", False),
    ],
)
def test_listen_forms(
    tmp_path: Path, arguments: str, address: str, port: int, protocol: str, default_server: bool
) -> None:
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    text = (
        f"http {{ server {{\nlisten {arguments};\n"
        "ssl_certificate cert.pem; ssl_certificate_key key.pem;\n} }"
    )
    (server,) = parse_config(text, tmp_path / "site.conf").servers
    (listen,) = server.listens
    assert (listen.address, listen.port, listen.protocol) == (address, port, protocol)
    assert listen.default_server is default_server
    assert listen.position == Position(str(tmp_path / "site.conf"), 2, 1)


def test_several_servers_share_a_port_with_one_default() -> None:
    text = """http {
    server { listen 8080; server_name a.example; }
    server { listen 8080 default_server; listen 127.0.0.1:8080; server_name b.example; }
    server { listen 8080; server_name c.example *.c.example; server_name C.example d.example; }
    server { listen 0; }
    server { listen 0; }
}"""
    servers = parse(text).servers
    assert [server.server_names for server in servers] == [
        ("a.example",),
        ("b.example",),
        ("c.example", "*.c.example", "d.example"),
        (),
        (),
    ]
    assert [listen.default_server for listen in servers[1].listens] == [True, False]
    assert servers[2].directive_positions["server_name"] == Position(FILE, 4, 39)


def test_quoted_arguments_keep_spaces_and_specials() -> None:
    server = one_server(
        'root "/srv/my site;#{}"; # the root has odd characters', "index 'a b.html';"
    )
    assert server.locations[0].root == Path("/srv/my site;#{}")
    assert server.locations[0].index == ("a b.html",)


def test_relative_paths_resolve_against_the_configuration_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "http { server { listen 80; access_log ./logs/../access.log;"
        " location /x/ { root ../www; } } }"
    )
    config = parse_config(text, "conf/site.conf")
    assert config.path == tmp_path / "conf" / "site.conf"
    (server,) = config.servers
    assert server.access_log == tmp_path / "conf" / "access.log"
    assert server.locations[0].root == tmp_path / "www"
    assert server.locations[1].root == tmp_path / "conf" / "html"
    # Positions name the file the way the caller did.
    assert server.position.file == "conf/site.conf"


WALKTHROUGH = """\
http {
    server {
        listen 8080;
        listen 8443 ssl;
        server_name localhost;
        ssl_certificate certs/server_cert.pem;
        ssl_certificate_key certs/server_key.pem;
        ssl_certificate_chain certs/intermediate_cert.pem;
        location / { root html; }
    }
}
"""


def test_the_walkthrough_configuration_loads(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("server_cert.pem", "server_key.pem", "intermediate_cert.pem"):
        (tmp_path / "certs" / name).write_text("-----BEGIN NOT PARSED HERE-----\n")
    path = tmp_path / "nginx.conf"
    path.write_text(WALKTHROUGH)
    config = load_config(path)
    assert config.path == path
    (server,) = config.servers
    assert [(listen.port, listen.protocol) for listen in server.listens] == [
        (8080, "plain"),
        (8443, "ssl"),
    ]
    assert server.server_names == ("localhost",)
    assert server.ssl_certificate == tmp_path / "certs" / "server_cert.pem"
    assert server.ssl_certificate_key == tmp_path / "certs" / "server_key.pem"
    assert server.ssl_certificate_chain == tmp_path / "certs" / "intermediate_cert.pem"
    assert server.locations == (
        Location("/", tmp_path / "html", ("index.html",), Position(str(path), 9, 9)),
    )
    assert server.directive_positions["ssl_certificate_key"] == Position(str(path), 7, 29)
    # Settings travel to worker processes and may key dictionaries.
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(config) == hash(pickle.loads(pickle.dumps(config)))


def test_load_config_reports_an_unreadable_file_at_line_zero(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.position == Position(str(missing), 0, 0)
    assert str(caught.value) == (
        f"{missing}:0:0: cannot read configuration file: No such file or directory"
    )


def test_load_config_reports_invalid_utf8_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "bad.conf"
    # "é" is two bytes but one column; the stray 0xff byte is the 9th character of line 2.
    path.write_bytes(b"http {\n  root \xc3\xa9\xff;\n}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.position == Position(str(path), 2, 9)
    assert "not valid UTF-8" in caught.value.message


def test_the_configs_cipher_suite_names_are_the_tls_layers_defaults():
    # config/ may not import tls/ (import rule 2): its vocabulary is spelled again,
    # and this keeps the two in step (both in the same order of preference).
    from tls_web_server.config.directives import CIPHER_SUITES
    from tls_web_server.tls.tls13.negotiation import DEFAULT_CIPHER_SUITES

    assert tuple(suite.name for suite in DEFAULT_CIPHER_SUITES) == CIPHER_SUITES
