"""The client's failures as sentences that teach: the step, the alert, the RFC section, the fix.

A learner who points a client at the wrong port reads "record announces
352518912 bytes" and learns nothing.  The same failure, explained, is a lesson:
the other side speaks another protocol, its first bytes say which (see
tls/first_bytes.py), and one flag or one letter of the URL fixes it.

What this module owns: turning what fetch.py saw (the first bytes each way,
the TLSError, an end of input) into one message.  What it must never do:
decide whether something failed; fetch.py does, and calls here to say why.
"""

from __future__ import annotations

from datetime import date

from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.first_bytes import FirstBytes, recognise

# What an alert from the server means to our client, with its RFC 8446 section.
_RECEIVED_ALERTS: dict[int, tuple[str, str]] = {
    AlertDescription.protocol_version: (
        "the server does not speak TLS 1.3",
        "section 4.2.1",
    ),
    AlertDescription.handshake_failure: (
        "the server found no cipher suite, group or signature algorithm in common."
        " A server whose certificate holds an Ed25519 key ends here: our client, like"
        " browsers, refuses Ed25519 certificates, so it offers no ed25519 signature;"
        " give the server an ECDSA chain (`tls-web-server certs DIR --key-type ecdsa-p256`,"
        " the default)",
        "section 4.1.1",
    ),
    AlertDescription.unrecognized_name: (
        "the server has no certificate for the name in the URL (server_name)",
        "section 4.4.2.2",
    ),
    AlertDescription.no_application_protocol: (
        "the server speaks none of the protocols we offered by ALPN",
        "RFC 7301 section 3.2",
    ),
    AlertDescription.unexpected_message: (
        "the server did not expect what we sent: it may speak another protocol",
        "section 6.2",
    ),
    # A server that asked for a client certificate (ssl_verify_client) refuses ours.
    AlertDescription.certificate_required: (
        "the server requires a client certificate: pass --cert FILE --key FILE"
        " (`tls-web-server certs DIR --client NAME` issues one)",
        "section 4.4.2.4",
    ),
    AlertDescription.unknown_ca: (
        "the server does not trust the CA that issued our client certificate (--cert)",
        "section 4.4.2.4",
    ),
    AlertDescription.certificate_expired: (
        "our client certificate (--cert) has expired or is not valid yet",
        "section 4.4.2.4",
    ),
}

# Why our own verification of the server's chain failed, with the fix.
_CHAIN_FIXES: dict[int, tuple[str, str]] = {
    AlertDescription.unknown_ca: (
        "section 4.4.2.2",
        "trust the root that issued the chain: --cafile PATH (after `serve DIR`, the"
        " path it printed as 'local CA:')",
    ),
    AlertDescription.bad_certificate: (
        "section 4.4.2.2",
        "use a name the certificate has in the URL, or issue one for this name"
        " (`tls-web-server certs DIR --name NAME`)",
    ),
    AlertDescription.certificate_expired: (
        "section 4.4.2.2",
        "issue a new certificate (`serve DIR` renews its own), or check the clock",
    ),
    AlertDescription.unsupported_certificate: (
        "section 4.4.2.2",
        "issue a server certificate for TLS servers (`tls-web-server certs`)",
    ),
}
# A reason that already names the command to run (pki_verification.py's
# refusal of Ed25519) is its own fix.
_COMMAND_IN_REASON = "`tls-web-server "


_OUR_HELLO = {
    FirstBytes.TLS_HANDSHAKE: "TLS 1.3 ClientHello",
    FirstBytes.TOYTLS: "toytls ClientHello",
}


def _other_port_fix(sent: FirstBytes, received: FirstBytes) -> str | None:
    """When the server's first bytes belong to another protocol than ours: which fix."""
    if received is FirstBytes.HTTP_RESPONSE:
        hello = _OUR_HELLO.get(sent, "ClientHello")
        return (
            f"the port speaks plain HTTP: it answered our {hello} with an HTTP response"
            " (RFC 9112 section 4); use http:// for this port"
        )
    if sent is FirstBytes.TOYTLS and received in (
        FirstBytes.TLS_ALERT,
        FirstBytes.TLS_HANDSHAKE,
        FirstBytes.TLS_RECORD,
    ):
        return (
            f"the port speaks TLS 1.3: it answered our toytls ClientHello with {received}"
            " (RFC 8446 section 5.1); drop --toytls"
        )
    if sent is FirstBytes.TLS_HANDSHAKE and received is FirstBytes.TOYTLS:
        return (
            "the port speaks toytls: it answered our TLS 1.3 ClientHello with a toytls"
            " record (docs/toytls.md); add --toytls"
        )
    return None


def explain_tls_failure(
    error: TLSError, sent: bytes, received: bytes, today: date | None = None
) -> str:
    """Why the TLS connection failed, from the error and the first bytes each way.

    `today` is said beside a certificate's dates, so a wrong clock shows too.
    """
    ours, theirs = recognise(sent), recognise(received)
    other_port = _other_port_fix(ours, theirs)
    if other_port is not None:
        return f"TLS failed: {other_port}"
    if error.received_alert is not None:
        name = _alert_name(error.received_alert)
        meaning, section = _RECEIVED_ALERTS.get(
            error.received_alert, ("the server refused the handshake", "section 6.2")
        )
        if section.startswith("section"):
            section = "RFC 8446 " + section
        return f"TLS failed: {error}: the server sent {name}: {meaning} ({section})"
    if error.alert is not None and error.alert in _CHAIN_FIXES:
        section, fix = _CHAIN_FIXES[error.alert]
        step = f"TLS failed: {error}; verifying the server's certificate, RFC 8446 {section}"
        if _COMMAND_IN_REASON in error.reason:
            return step
        if error.alert is AlertDescription.certificate_expired and today is not None:
            fix = f"today is {today.isoformat()} here; {fix}"
        return f"{step}; fix: {fix}"
    return f"TLS failed: {error}"


def explain_handshake_eof(sent: bytes, received: bytes) -> str:
    """The server closed the connection before the handshake ended."""
    ours, theirs = recognise(sent), recognise(received)
    other_port = _other_port_fix(ours, theirs)
    if other_port is not None:
        return f"TLS handshake failed: {other_port}"
    if not received and ours is FirstBytes.TLS_HANDSHAKE:
        # A TLS 1.3 server answers what it cannot read with an alert (RFC 8446
        # section 6); toytls has no alerts and just closes.
        return (
            "TLS handshake failed: the server closed the connection without answering our"
            " TLS 1.3 ClientHello, not even with an alert (RFC 8446 section 6): a toytls"
            " port does that; if this is one, add --toytls"
        )
    if not received and ours is FirstBytes.TOYTLS:
        return (
            "TLS handshake failed: the server closed the connection without answering our"
            " toytls ClientHello: is this the toytls port? (for TLS 1.3, drop --toytls)"
        )
    return "the server closed the connection during the handshake"


def explain_plain_failure(received: bytes) -> str | None:
    """Why a plain HTTP exchange got no response, when the server's first bytes say so."""
    theirs = recognise(received)
    if theirs in (FirstBytes.TLS_ALERT, FirstBytes.TLS_HANDSHAKE, FirstBytes.TLS_RECORD):
        alert = ""
        if theirs is FirstBytes.TLS_ALERT and len(received) >= 7:
            alert = f" {_alert_name(received[6])}"
        return (
            f"the port speaks TLS: it answered our plain HTTP request with {theirs}{alert}"
            " (RFC 8446 section 5.1); use https:// for this port"
        )
    if theirs is FirstBytes.TOYTLS:
        return "the port speaks toytls: use https:// with --toytls for this port"
    if not received:
        return (
            "the server closed the connection without an HTTP response: a toytls port"
            " does that to plain HTTP (toytls has no alerts); if this is one, use https://"
            " with --toytls"
        )
    return None


def _alert_name(code: int) -> str:
    try:
        return AlertDescription(code).name
    except ValueError:
        return f"alert {code}"
