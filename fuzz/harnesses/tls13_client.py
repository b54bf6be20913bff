"""Fuzz the TLS 1.3 client with server flights: ServerHello to tickets, KeyUpdate and alerts.

Every input is answered by the same client: fixed randomness (so always the
same ClientHello and key shares), the fixed clock, trusting the two fixed
roots of fuzz/keys/.  The input is what the server sends, in the sealing
framing of support.py: records written `17 03 03 len inner-plaintext` are
sealed by the harness under the key the client reads with at that moment,
so mutations reach EncryptedExtensions, the certificate chain (pki.py),
CertificateVerify, Finished, NewSessionTicket and KeyUpdate.  Seeds are real
flights answering this ClientHello: from our server (ECDSA, with and without
HelloRetryRequest; our client offers no ed25519) and from `openssl s_server`
(with and without a CertificateRequest), recorded by fuzz/capture_seeds.py.

Checked: only TLSError escapes, naming the alert sent (never internal_error,
and queued) or the alert received; afterwards every byte is refused; once
established, the client agreed on the name it asked for.
"""

from __future__ import annotations

from typing import Any

from tls_web_server.tls.errors import TLSError

from ..support import (
    CLIENT_READ_SECRETS,
    SERVER_NAME,
    PeerReadKeys,
    check_refuses_after_failure,
    check_tls_error,
    fail,
    feed_framed,
    new_tls13_client,
)


def new_client() -> tuple[Any, PeerReadKeys]:
    """The fixed client, its ClientHello already taken, and the keys it reads with."""
    client: Any = None
    keys = PeerReadKeys(CLIENT_READ_SECRETS, lambda: client.parameters)
    client = new_tls13_client(observer=keys)
    client.pop_pending_wire_data()
    return client, keys


def test_one_input(data: bytes) -> None:
    client, keys = new_client()
    try:
        feed_framed(client, keys, data)
    except TLSError as error:
        check_tls_error(error, client)
        check_refuses_after_failure(client)
        return
    if client.is_established:
        negotiated = client.negotiated
        if negotiated is None or negotiated.server_name not in (SERVER_NAME, None):
            raise fail(f"established with {negotiated!r}")
