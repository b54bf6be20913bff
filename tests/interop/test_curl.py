"""curl against our TLS 1.3 server: each chain, each cipher suite, a name that must not verify."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

from tests.interop.harness import (
    CLIENT_TIMEOUT_SECONDS,
    KEY_TYPES,
    InteropServer,
    ServerPool,
    assert_server_healthy,
    require_tool,
)

# The three cipher suites a TLS 1.3 server must be able to speak with curl
# (RFC 8446 section 9.1 makes AES-128-GCM mandatory; the others are common).
CIPHER_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

# curl's exit status for "the peer's certificate or fingerprint was not OK".
CURLE_PEER_FAILED_VERIFICATION = 60


@pytest.fixture(autouse=True)
def _curl_installed() -> None:
    require_tool("curl")


@dataclass(frozen=True)
class CurlResult:
    returncode: int
    stdout: bytes  # bytes: the response head's CRLFs are part of what we check
    stderr: str  # curl -v's account of the handshake


def run_curl(server: InteropServer, *options: str, host: str = "localhost") -> CurlResult:
    """curl -sS -v -i for https://host:PORT/, with `host` pinned to 127.0.0.1."""
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-v",
            "-i",
            "--cacert",
            str(server.root_cert),
            # No DNS: the name (and so SNI and the name checked) is ours to choose.
            "--resolve",
            f"{host}:{server.ssl_port}:127.0.0.1",
            "--max-time",
            str(int(CLIENT_TIMEOUT_SECONDS)),
            *options,
            server.https_url(host),
        ],
        capture_output=True,
        timeout=CLIENT_TIMEOUT_SECONDS * 2,
        check=False,
    )
    return CurlResult(result.returncode, result.stdout, result.stderr.decode("utf-8", "replace"))


def negotiated_suite(verbose_output: str) -> str:
    # curl -v: "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384" (newer
    # versions append " / group / key type").
    match = re.search(r"SSL connection using (\S+) / (\S+)", verbose_output)
    assert match is not None, verbose_output
    assert match[1] == "TLSv1.3", verbose_output
    return match[2]


def assert_page(result: CurlResult, server: InteropServer) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.1 200 OK\r\n"), result.stdout
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert server.marker.encode() in body
    assert b"\r\ncontent-type: text/html\r\n" in head.lower()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_curl_fetches_the_page(servers: ServerPool, key_type: str):
    server = servers.get(key_type)
    result = run_curl(server)

    assert_page(result, server)
    assert "SSL certificate verify ok." in result.stderr
    negotiated_suite(result.stderr)  # TLS 1.3, whatever the suite
    # curl offers h2 first; the server only speaks HTTP/1.1 and must say so.
    assert "ALPN: server accepted http/1.1" in result.stderr
    assert_server_healthy(server)


@pytest.mark.parametrize("suite", CIPHER_SUITES)
def test_curl_with_one_cipher_suite_gets_that_suite(servers: ServerPool, suite: str):
    server = servers.get("ecdsa-p256")
    result = run_curl(server, "--tls13-ciphers", suite)

    assert_page(result, server)
    assert negotiated_suite(result.stderr) == suite
    assert_server_healthy(server)


def test_curl_refuses_a_certificate_for_another_name(servers: ServerPool):
    server = servers.get("ecdsa-p256")
    curl_requests_before = curl_requests(server)
    result = run_curl(server, host="wrong.example")

    assert result.returncode == CURLE_PEER_FAILED_VERIFICATION, result.stderr
    assert (
        "no alternative certificate subject name matches target host name 'wrong.example'"
        in result.stderr
    )
    assert server.marker.encode() not in result.stdout
    assert_server_healthy(server)
    # curl gave up during the handshake: no request of its reached HTTP.  (Its
    # line would have been flushed before the health check was answered.)
    assert curl_requests(server) == curl_requests_before


def curl_requests(server: InteropServer) -> int:
    return sum('"curl/' in line for line in server.ssl_access_lines())
