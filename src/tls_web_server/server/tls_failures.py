"""The server log's sentence for a failed TLS handshake: the step, the alert, the RFC, the fix.

The TLS object says what went wrong in its own terms ("record announces
1195725856 bytes"); a learner reading the log needs to know that a browser
sent plain HTTP to a TLS port, or a TLS 1.2 client knocked on a TLS 1.3 one.
This module adds that sentence, from the listener's protocol, the first
bytes the client sent (tls/first_bytes.py) and the alert.

What it must never do: change what is sent to the peer; it only words the log.
"""

from __future__ import annotations

from tls_web_server.config import ListenProtocol
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.first_bytes import FirstBytes, recognise

# Alerts a client sends when it does not trust our certificate (RFC 8446 section 6.2).
_DISTRUST_ALERTS = frozenset(
    {
        AlertDescription.unknown_ca,
        AlertDescription.certificate_unknown,
        AlertDescription.bad_certificate,
    }
)


def _wrong_port(protocol: ListenProtocol, first: FirstBytes) -> str | None:
    if protocol is ListenProtocol.SSL:
        if first is FirstBytes.HTTP_REQUEST:
            return (
                "plain HTTP sent to a TLS 1.3 port (RFC 8446 section 5.1): the client"
                " should use https://"
            )
        if first is FirstBytes.TOYTLS:
            return (
                "a toytls ClientHello sent to a TLS 1.3 port: the client should drop"
                " --toytls, or use the toytls port"
            )
    elif protocol is ListenProtocol.TOYTLS:
        if first is FirstBytes.HTTP_REQUEST:
            return "plain HTTP sent to a toytls port: the client should use https:// with --toytls"
        if first is FirstBytes.TLS_HANDSHAKE:
            return (
                "a TLS ClientHello sent to a toytls port (RFC 8446 section 5.1): the client"
                " should add --toytls (a browser speaks TLS 1.3: give it the TLS 1.3 port)"
            )
    return None


def explain(
    error: TLSError,
    protocol: ListenProtocol,
    first_chunk: bytes | None,
    trust_command: str | None = None,
) -> str:
    """The log line's text for `error`; `first_chunk` is the client's first bytes, if known."""
    text = f"TLS: {error}"
    if first_chunk is not None:
        wrong_port = _wrong_port(protocol, recognise(first_chunk))
        if wrong_port is not None:
            return f"{text}: {wrong_port}"
    if error.alert is AlertDescription.protocol_version:
        return (
            f"{text}: the client offered only TLS 1.2 or older, and this server speaks"
            " TLS 1.3 only (RFC 8446 section 4.2.1); the client must enable TLS 1.3"
        )
    if error.received_alert in _DISTRUST_ALERTS:
        how = (
            f"`{trust_command}` (as `serve` printed at startup)"
            if trust_command
            else "the root CA that issued it (after `serve DIR`: the command printed as"
            " 'to trust the local root in your browser')"
        )
        return (
            f"{text}: the client does not trust our certificate (RFC 8446 section 6.2);"
            f" make it trust {how}"
        )
    return text
