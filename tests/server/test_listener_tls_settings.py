"""server/listeners.py: ssl_ecdh_curve and ssl_certificate_compression reach TLS 1.3's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.client.fetch import fetch, tls13_client_factory
from tls_web_server.config import ServerConfig, parse_config
from tls_web_server.server import listeners
from tls_web_server.tls.tls13 import negotiation
from tls_web_server.tls.tls13.enums import NamedGroup


def one_server(*lines: str) -> ServerConfig:
    text = "\n".join(["http {", "server {", "listen 8080;", *lines, "}", "}"])
    (server,) = parse_config(text, Path("/srv/site/site.conf")).servers
    return server


def test_an_explicit_curve_list_becomes_those_groups_in_that_order() -> None:
    server = one_server("ssl_ecdh_curve X25519MLKEM768:P-384:X25519;")
    assert listeners.key_exchange_groups(server) == (
        NamedGroup.X25519MLKEM768,
        NamedGroup.secp384r1,
        NamedGroup.x25519,
    )


@pytest.mark.parametrize("lines", [(), ("ssl_ecdh_curve auto;",)])
def test_auto_is_the_tls_layer_s_preference(lines: tuple[str, ...]) -> None:
    groups = listeners.key_exchange_groups(one_server(*lines))
    assert groups == negotiation.DEFAULT_GROUPS
    assert groups[:2] == (NamedGroup.X25519MLKEM768, NamedGroup.SecP256r1MLKEM768)


@pytest.mark.parametrize(
    ("value", "expected"), [("on", "CompressedCertificate"), ("off", "Certificate")]
)
def test_ssl_certificate_compression_decides_what_our_client_receives(
    tmp_path: Path, demo_pki, value: str, expected: str
) -> None:
    config = write_site(
        tmp_path,
        demo_pki,
        extra_server=f"ssl_certificate_compression {value};",
        listens="listen 127.0.0.1:0 ssl;",
    )
    events: list[dict] = []
    with serve_in_thread(config) as running:
        result = fetch(
            running.url("ssl"),
            new_tls=tls13_client_factory(demo_pki.root_cert),
            observer=events.append,
        )
    assert result.response.status == 200
    received = [
        e["name"] for e in events if e["kind"] == "message" and e["direction"] == "received"
    ]
    assert expected in received
    assert {"Certificate", "CompressedCertificate"} - {expected} & set(received) == set()


def test_the_configured_group_is_the_one_negotiated_and_logged(tmp_path: Path, demo_pki) -> None:
    # Our client's key shares are X25519MLKEM768 and x25519: secp384r1 costs a HelloRetryRequest.
    config = write_site(
        tmp_path,
        demo_pki,
        extra_http="log_format curve '$ssl_curve $ssl_protocol';",
        extra_server="ssl_ecdh_curve P-384;",
        listens="listen 127.0.0.1:0 ssl;",
    )
    log = tmp_path / "access.log"
    config.write_text(config.read_text().replace(f"access_log {log};", f"access_log {log} curve;"))
    with serve_in_thread(config) as running:
        result = fetch(running.url("ssl"), new_tls=tls13_client_factory(demo_pki.root_cert))
    assert result.response.status == 200
    assert result.negotiated is not None
    assert (result.negotiated.group, result.negotiated.hello_retry) == ("secp384r1", True)
    assert log.read_text() == "secp384r1 TLSv1.3\n"
