"""The one exception a TLS object raises for anything its peer does wrong.

Rules this module keeps:
- A peer that breaks the protocol (or fails verification) always surfaces as
  `TLSError`, never as a ValueError, KeyError, struct.error or a crypto
  library exception.  Code that parses wire bytes converts at the boundary.
- A TLSError carries the alert to send (TLS 1.3) or None (the learning
  protocol has no alerts), plus a sentence for the log and for a learner.
- Misuse by the caller (sending before the handshake, say) is a programming
  error and raises `TLSUsageError` instead, so it is never mistaken for an
  attack.
"""

from __future__ import annotations

from enum import IntEnum

from .names import describe


class AlertLevel(IntEnum):
    """RFC 8446 section 6: in TLS 1.3 every alert but close_notify and user_canceled is fatal."""

    warning = 1
    fatal = 2


class AlertDescription(IntEnum):
    """RFC 8446 section 6, the alert codes TLS 1.3 may send."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    record_overflow = 22
    handshake_failure = 40
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    missing_extension = 109
    unsupported_extension = 110
    unrecognized_name = 112
    bad_certificate_status_response = 113
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


class TLSError(Exception):
    """The peer misbehaved, or what it sent failed verification.

    `alert` is what we send (already queued in the TLS object's outgoing
    bytes when the protocol has alerts), or None for the learning protocol.
    `received_alert` is set instead when the peer sent us a fatal alert.
    """

    def __init__(
        self,
        reason: str,
        alert: AlertDescription | None = None,
        *,
        received_alert: AlertDescription | int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert = alert
        self.received_alert = received_alert

    def __str__(self) -> str:
        if self.alert is not None:
            return f"{self.reason} (alert sent: {self.alert.name})"
        if self.received_alert is not None:
            name = describe(AlertDescription, self.received_alert)
            return f"{self.reason} (alert received: {name})"
        return self.reason


class TLSUsageError(RuntimeError):
    """The caller used a TLS object wrongly (a bug in our code, not an attack)."""
