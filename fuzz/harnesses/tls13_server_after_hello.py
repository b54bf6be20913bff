"""Fuzz the TLS 1.3 server after a valid ClientHello: the client's second flight and traffic.

Every input starts from the same place: a server with the fixed Ed25519
chain, clock and randomness has answered our fixed client's ClientHello
(with ed25519 added, see client_hello()), so its handshake keys are always
the same.  The input is what the client sends
next, in the sealing framing of support.py: records written `17 03 03 len
inner-plaintext` are sealed by the harness under the key the server reads
with at that moment, so mutations reach the Finished check, the traffic
state, KeyUpdate and alerts instead of stopping at bad_record_mac.  Seeds
are client flights (Finished, requests, KeyUpdate, close_notify) made by
derived_seeds.py from the server's own secrets: our client refuses an
Ed25519 chain, so it cannot finish this handshake itself.

The server runs with an observer (that is how the harness learns its keys),
so the trace events of every message are fuzzed here too; tls13_server runs
without one.  Checked: only TLSError escapes, never internal_error, with the
alert queued; plaintext only once established, and only after a client
Finished.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ContentType, ExtensionType, SignatureScheme
from tls_web_server.tls.tls13.extension_block import Extension
from tls_web_server.tls.tls13.messages import ClientHello, HandshakeBuffer
from tls_web_server.tls.tls13.record import RECORD_HEADER_LENGTH, encode_plaintext_record

from ..support import (
    SERVER_READ_SECRETS,
    PeerReadKeys,
    check_refuses_after_failure,
    check_tls_error,
    feed_framed,
    new_tls13_client,
    new_tls13_server,
)


@functools.cache
def client_hello() -> bytes:
    """The fixed client's first flight with ed25519 added to signature_algorithms.

    Always the same bytes.  Our client offers no ed25519 (it refuses Ed25519
    certificates), but this server must sign with it: Ed25519 signatures are
    the deterministic ones, so the server's flight, and with it the Finished
    a seed holds, is the same in every run.  OpenSSL and curl offer ed25519.
    """
    wire = new_tls13_client().pop_pending_wire_data()
    buffer = HandshakeBuffer(1 << 16)
    buffer.feed(wire[RECORD_HEADER_LENGTH:])
    message = buffer.next_message()
    if message is None:
        raise ValueError("the fixed client's hello is not one whole record")
    hello = ClientHello.decode(message[1])
    extensions = []
    for extension in hello.extensions:
        if extension.type == ExtensionType.signature_algorithms:
            offered = ext.decode_signature_algorithms(extension.data)
            schemes = ext.encode_signature_algorithms((*offered, SignatureScheme.ed25519))
            extension = Extension(ExtensionType.signature_algorithms, schemes)
        extensions.append(extension)
    edited = replace(hello, extensions=tuple(extensions)).encode()
    return encode_plaintext_record(ContentType.handshake, edited, int.from_bytes(wire[1:3], "big"))


def new_answered_server() -> tuple[Any, PeerReadKeys]:
    """A fixed Ed25519 server that has answered client_hello(), and the keys it reads with."""
    server: Any = None
    keys = PeerReadKeys(SERVER_READ_SECRETS, lambda: server.parameters)
    server = new_tls13_server("ed25519", observer=keys)
    server.feed_wire_data(client_hello())
    server.pop_pending_wire_data()
    return server, keys


def test_one_input(data: bytes) -> None:
    server, keys = new_answered_server()
    try:
        feed_framed(server, keys, data)
    except TLSError as error:
        check_tls_error(error, server)
        check_refuses_after_failure(server)
