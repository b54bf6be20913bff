"""A client that reads its session tickets before sending a request gets them (RFC 8446 4.6.1).

Test suites, `openssl s_client -sess_out` with no request and clients that
close right after their handshake all wait for tickets without sending
anything: the server must send them as soon as the client's Finished is
verified, not with the first response.  Python's ssl (OpenSSL) plays such a
client here, over the whole server.
"""

from __future__ import annotations

import socket
import ssl

from tests.conftest import serve_in_thread, write_site
from tls_web_server.tls import pki


def test_python_ssl_gets_its_tickets_without_sending_a_request(
    tmp_path, demo_pki: pki.GeneratedPki
) -> None:
    config = write_site(tmp_path, demo_pki, listens="listen 127.0.0.1:0 ssl;")
    context = ssl.create_default_context(cafile=str(demo_pki.root_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with (
        serve_in_thread(config) as running,
        socket.create_connection(("127.0.0.1", running.port("ssl")), timeout=10) as sock,
    ):
        while True:
            try:
                client.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536))
        sock.sendall(outgoing.read())  # our Finished, and nothing after it
        # Read until OpenSSL has taken in a ticket; a server that holds its
        # tickets back for a response never sends one, and recv times out.
        while client.session is None or not client.session.has_ticket:
            data = sock.recv(65536)
            assert data, "the server closed without sending a ticket"
            incoming.write(data)
            try:
                assert client.read(65536) == b""
            except ssl.SSLWantReadError:
                pass
        assert client.session.has_ticket
        assert client.session.ticket_lifetime_hint > 0
