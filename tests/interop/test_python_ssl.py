"""Python's ssl module (OpenSSL underneath) as a client of our TLS 1.3 server: ALPN, resumption."""

from __future__ import annotations

import pytest

from tests.interop.harness import (
    KEY_TYPES,
    ServerPool,
    assert_server_healthy,
    python_client_context,
    python_https_get,
)

TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_python_ssl_fetches_the_page_over_tls13_with_alpn(servers: ServerPool, key_type: str):
    server = servers.get(key_type)
    result = python_https_get(server)

    assert result.version == "TLSv1.3"
    assert result.alpn == "http/1.1"
    assert result.cipher_suite in TLS13_SUITES
    assert result.response.status == 200
    assert result.response.header("content-type") == "text/html"
    assert server.marker.encode() in result.response.body
    assert not result.session_reused
    assert_server_healthy(server)


def test_python_ssl_resumes_with_the_first_connections_ticket(servers: ServerPool):
    server = servers.get("ecdsa-p256")
    # The ticket is only good with the context that received it (Python
    # checks that the session belongs to the same SSLContext).
    context = python_client_context(server.root_cert)

    first = python_https_get(server, context)
    assert not first.session_reused
    assert first.session is not None and first.session.has_ticket, "no NewSessionTicket arrived"

    second = python_https_get(server, context, session=first.session)
    assert second.session_reused
    assert second.version == "TLSv1.3"
    assert second.alpn == "http/1.1"
    assert second.response.status == 200
    assert server.marker.encode() in second.response.body
    assert_server_healthy(server)
