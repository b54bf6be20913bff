"""Session ticket keys from the config: nginx key files, `ssl_session_tickets off`, bad files."""

from __future__ import annotations

import os
import socket

import pytest

from tests.conftest import serve_in_thread, write_site
from tls_web_server.client.fetch import fetch, tls13_client_factory
from tls_web_server.config import ConfigError, load_config
from tls_web_server.server.server import Server
from tls_web_server.tls.tls13.client import TicketStore


def one_port() -> str:
    """A listen line on a port that stays the same for both servers (tickets are kept by port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"listen 127.0.0.1:{probe.getsockname()[1]} ssl;"


def two_fetches(site, demo_pki, **server_options):
    """A fetch from one server, then a resumption attempt on a second with the same config."""
    tickets = TicketStore()
    new_tls = tls13_client_factory(demo_pki.root_cert, tickets=tickets)
    results = []
    for _ in range(2):  # two servers, one after the other: nothing shared but the config
        with serve_in_thread(site, **server_options) as running:
            results.append(fetch(running.url("ssl"), new_tls=new_tls))
    return results, tickets


def test_servers_sharing_key_files_resume_each_others_tickets(tmp_path, demo_pki):
    (tmp_path / "old.key").write_bytes(os.urandom(80))
    (tmp_path / "new.key").write_bytes(os.urandom(80))
    site = write_site(
        tmp_path,
        demo_pki,
        listens=one_port(),
        extra_server=f"ssl_session_ticket_key {tmp_path / 'new.key'};\n"
        f"        ssl_session_ticket_key {tmp_path / 'old.key'};",
    )
    (first, second), _ = two_fetches(site, demo_pki)
    assert not first.negotiated.resumed
    assert second.negotiated.resumed
    assert second.response.status == 200


def test_without_key_files_each_server_has_its_own_secret(tmp_path, demo_pki):
    site = write_site(tmp_path, demo_pki, listens=one_port())
    (_, second), _ = two_fetches(site, demo_pki)
    assert not second.negotiated.resumed
    # ... and with the same secret (a master's, kept across reloads), they agree.
    secret = os.urandom(32)
    (_, second), _ = two_fetches(site, demo_pki, ticket_secret=secret)
    assert second.negotiated.resumed


def test_tickets_off_sends_none(tmp_path, demo_pki):
    site = write_site(
        tmp_path,
        demo_pki,
        listens=one_port(),
        extra_server="ssl_session_tickets off;",
    )
    (first, second), tickets = two_fetches(site, demo_pki, ticket_secret=os.urandom(32))
    assert not first.negotiated.resumed and not second.negotiated.resumed
    assert len(tickets) == 0


def test_a_key_file_of_the_wrong_length_is_a_config_error(tmp_path, demo_pki):
    (tmp_path / "short.key").write_bytes(os.urandom(48))
    site = write_site(
        tmp_path,
        demo_pki,
        listens=one_port(),
        extra_server=f"ssl_session_ticket_key {tmp_path / 'short.key'};",
    )
    with pytest.raises(ConfigError, match="80 bytes, not 48") as error:
        Server(load_config(site))
    lines = site.read_text().splitlines()
    key_line = next(number for number, line in enumerate(lines, 1) if "short.key" in line)
    assert error.value.position.line == key_line


def test_a_rotation_of_zero_is_a_config_error(tmp_path, demo_pki):
    site = write_site(
        tmp_path,
        demo_pki,
        listens="listen 127.0.0.1:0 ssl;",
        extra_server="ssl_session_ticket_key_rotation 0s;",
    )
    with pytest.raises(ConfigError, match="longer than 0"):
        Server(load_config(site))
