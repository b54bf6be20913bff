"""The illustrated handshake: one side's observer events, drawn as a two-column diagram.

    trace = Trace("client")
    connection = TLS13ClientConnection(..., observer=trace)   # or toytls, or a server
    ... run the connection ...
    trace.add_note("GET / -> 200 OK")
    print(render_text(trace, color=use_color(sys.stdout)))

What this module owns:
- `Trace`, the observer: it keeps every event a TLS object reports (the
  schema is in tls13/connection.py and toy/connection.py: record, message,
  secret, state, alert, verified) plus the caller's notes, in order.
- The one-line summaries both renderers share: a record's label, what an
  HTTP record starts with, what each secret is for, and which record carried
  which handshake message (a TLS 1.3 message's key fields are in
  trace_tls13.py).
- `render_text`, the terminal diagram of walkthrough section 7: client on the
  left, server on the right, an arrow per message or record, key fields under
  it, key schedule steps and verifications on the side that made them.
  (tls/trace_html.py draws the same events as a page of annotated bytes.)

What it must never do: influence the connection (an observer only looks),
raise for an odd event (a missing key, a message that does not decode,
GREASE: it draws what it can), print a secret in full in the diagram, or put
a peer's bytes on a terminal unescaped (a control character in an SNI or an
HTTP line could drive the terminal).  No sockets, no clock.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping
from typing import Any, TextIO

from .errors import AlertDescription, TLSError
from .names import describe
from .tls13.messages import decode_handshake_message
from .trace_tls13 import (
    certificate_line,
    hybrid_secret_text,
    printable,
    short_hex,
    tls13_lines,
)

ROLES = ("client", "server")

# What each secret the protocols report is for, in a few words for a learner.
SECRET_EXPLANATIONS = {
    "client_handshake_traffic_secret": "keys the client's encrypted handshake (its Finished)",
    "server_handshake_traffic_secret": "keys the server's flight after ServerHello",
    "client_application_traffic_secret_0": "keys the client's application data",
    "server_application_traffic_secret_0": "keys the server's application data",
    "exporter_master_secret": "for exported keying material, never for records",
    "next_read_application_traffic_secret": "the peer's next keys, after its KeyUpdate",
    "next_write_application_traffic_secret": "our next keys, after our KeyUpdate",
    "shared_secret": (
        "the key exchange's output, equal on both sides: (EC)DH of own private and peer public "
        "key; for a hybrid group the ML-KEM secret and the ECDH secret joined"
    ),
    "client_write_key": "AES-256-GCM key of client-to-server records",
    "server_write_key": "AES-256-GCM key of server-to-client records",
}


class Trace:
    """An observer (pass it as `observer=`) that keeps one side's events for the renderers."""

    def __init__(self, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be 'client' or 'server', not {role!r}")
        self.role = role
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(dict(event))

    def add_note(self, text: str) -> None:
        """A line from the caller, drawn where it falls among the events ("GET / -> 200 OK")."""
        self.events.append({"kind": "note", "text": text})

    @property
    def protocol(self) -> str:
        """The protocol of the events, "TLSv1.3" or "toytls" ("TLS" before any event)."""
        for event in self.events:
            protocol = event.get("protocol")
            if isinstance(protocol, str):
                return protocol
        return "TLS"

    def sender(self, event: Mapping[str, Any]) -> str:
        """Who sent what an event describes: this side for "sent", the peer otherwise."""
        if event.get("direction") == "sent":
            return self.role
        return "server" if self.role == "client" else "client"


def use_color(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True for a terminal that takes ANSI colour: a tty, TERM not "dumb", NO_COLOR not set.

    NO_COLOR counts when present and not empty, as https://no-color.org asks.
    """
    environment = os.environ if environ is None else environ
    if environment.get("NO_COLOR") or environment.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


# --- summaries both renderers share ---------------------------------------------------------


def as_bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else b""


def message_name(event: Mapping[str, Any]) -> str:
    """The message's name, as the protocol reported it ("ClientHello", "HelloRetryRequest")."""
    return str(event.get("name", "message"))


def message_records(events: list[dict[str, Any]]) -> dict[int, int]:
    """Index of each message event -> index of the record event that carried it.

    Matched by bytes (the message is inside the record's plaintext, or the
    record is a piece of a message spanning records), nearest record first,
    so the answer does not depend on whether a protocol reports the record
    before or after its messages.
    """
    carried: dict[int, int] = {}
    for index, event in enumerate(events):
        if event.get("kind") != "message":
            continue
        raw = as_bytes(event.get("raw"))
        for distance in range(1, len(events)):
            match = next(
                (
                    candidate
                    for candidate in (index - distance, index + distance)
                    if 0 <= candidate < len(events)
                    and _carries(events[candidate], event.get("direction"), raw)
                ),
                None,
            )
            if match is not None:
                carried[index] = match
                break
    return carried


def _carries(record: Mapping[str, Any], direction: object, raw: bytes) -> bool:
    if record.get("kind") != "record" or record.get("direction") != direction:
        return False
    if record.get("content_type") != "handshake" or not raw:
        return False
    plaintext = as_bytes(record.get("plaintext"))
    return bool(plaintext) and (raw in plaintext or plaintext in raw)


# RFC 9112 section 3 and 4: "GET /path HTTP/1.1" or "HTTP/1.1 200 OK".
_HTTP_START_LINE = re.compile(rb"^(HTTP/\d\.\d \d{3}( .*)?|[A-Z]+ \S+ HTTP/\d\.\d)$")


def starts_like_http(first_line: bytes) -> bool:
    """True if `first_line` (without its CRLF) is an HTTP request line or status line."""
    return _HTTP_START_LINE.match(first_line) is not None


def http_summary(plaintext: bytes) -> str:
    """What an application data record holds, as a learner would want it named."""
    if not plaintext:
        return "an empty record"
    line_end = plaintext.find(b"\r\n")
    first_line = plaintext[: line_end if line_end >= 0 else 80].decode("latin-1")
    if line_end >= 0 and starts_like_http(plaintext[:line_end]):
        head_end = plaintext.find(b"\r\n\r\n")
        if head_end >= 0:
            body = len(plaintext) - head_end - 4
            return f"{printable(first_line[:80])} (headers, then {body} body bytes here)"
        return printable(first_line[:80])
    return f"{len(plaintext)} more bytes of the HTTP stream"


def record_label(event: Mapping[str, Any]) -> str:
    """A record in a few words: "application data #3", "Alert close_notify", ..."""
    content_type = event.get("content_type")
    if content_type == "change_cipher_spec":
        return "ChangeCipherSpec"
    if content_type == "alert":
        content = as_bytes(event.get("plaintext"))
        if len(content) == 2:
            return f"Alert {describe(AlertDescription, content[1])}"
        return "Alert (malformed)"
    if content_type == "application_data":
        sequence = event.get("sequence")
        return "application data" if sequence is None else f"application record #{sequence}"
    return f"{content_type} record"


def message_lines(event: Mapping[str, Any]) -> list[str]:
    """The key fields of one handshake message, a line each (never raises)."""
    if event.get("protocol") == "toytls":
        return _toy_lines(event.get("fields"))
    raw = as_bytes(event.get("raw"))
    if len(raw) < 4 or int.from_bytes(raw[1:4]) != len(raw) - 4:
        return [f"({len(raw)} bytes that do not form one handshake message)"]
    try:
        message = decode_handshake_message(raw[0], raw[4:])
        return tls13_lines(message)
    except TLSError as error:
        return [f"(does not decode: {printable(error.reason)})"]


def _toy_lines(fields: object) -> list[str]:
    if not isinstance(fields, Mapping):
        return []
    lines = []
    public_key = as_bytes(fields.get("public_key"))
    if public_key:
        lines.append(f"X25519 public key: {short_hex(public_key)}")
    certificates = fields.get("certificates")
    if isinstance(certificates, (tuple, list)):
        lines.append(f"certificates: {len(certificates)}, leaf first")
        lines += [f"  {certificate_line(as_bytes(der))}" for der in certificates]
    signature = as_bytes(fields.get("signature"))
    if signature:
        scheme = fields.get("signature_scheme")
        over = "over both public keys"
        lines.append(
            f"signature {over}: {len(signature)} bytes"
            + (f" ({printable(str(scheme))})" if scheme else "")
        )
    return lines


# --- the terminal diagram -------------------------------------------------------------------

_RESET = "\x1b[0m"
_STYLES = {
    "client": "\x1b[36m",  # cyan: what the client sends
    "server": "\x1b[35m",  # magenta: what the server sends
    "secret": "\x1b[33m",  # yellow: key schedule
    "verified": "\x1b[32m",  # green: checks that passed
    "alert": "\x1b[31m",  # red
    "dim": "\x1b[2m",  # state changes, field details
    "bold": "\x1b[1m",
}


class _Diagram:
    """Lines between two lifelines: the client's bar on the left, the server's on the right."""

    def __init__(self, width: int, color: bool) -> None:
        self.width = max(width, 60)
        self.inner = self.width - 8  # columns between the two bars
        self.color = color
        self.lines: list[str] = []

    def _paint(self, text: str, style: str | None) -> str:
        if not self.color or style is None or not text:
            return text
        return f"{_STYLES[style]}{text}{_RESET}"

    def _row(self, left: str, content: str, right: str, style: str | None = None) -> None:
        self.lines.append(f"   {left}{self._paint(content, style)}{right}")

    def header(self, title: str) -> None:
        self.lines.append(self._paint(_fit(title, self.width), "bold"))
        legend = "[encrypted]: inside a protected record.  Secrets are shortened."
        self.lines.append(self._paint(_fit(legend, self.width), "dim"))
        self.lines.append(" Client".ljust(self.width - 7) + "Server")
        self.blank()

    def blank(self) -> None:
        self._row("│", " " * self.inner, "│")

    def arrow(self, sender: str, label: str, style: str) -> None:
        label = _fit(label, self.inner - 8)
        if sender == "client":
            shaft = "─" * (self.inner - len(label) - 5)
            self._row("├", f"── {label} {shaft}►", "│", style)
        else:
            shaft = "─" * (self.inner - len(label) - 5)
            self._row("│", f"◄{shaft} {label} ──", "┤", style)

    def details(self, lines: list[str], style: str | None = "dim") -> None:
        for line in lines:
            for piece in textwrap.wrap(line, self.inner - 8, subsequent_indent="  ") or [""]:
                self._row("│", ("      " + piece).ljust(self.inner), "│", style)

    def note(self, side: str, text: str, style: str | None) -> None:
        for piece in textwrap.wrap(text, self.inner - 4, subsequent_indent="  "):
            if side == "client":
                self._row("│", (" " + piece).ljust(self.inner), "│", style)
            else:
                self._row("│", (piece + " ").rjust(self.inner), "│", style)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_text(trace: Trace, *, color: bool, width: int = 100) -> str:
    """The diagram of walkthrough section 7 for `trace`; ANSI colour only when `color`."""
    diagram = _Diagram(width, color)
    diagram.header(f"{trace.protocol}, as the {trace.role} saw it")
    events = trace.events
    carried = message_records(events)
    seen_secrets: set[tuple[str, bytes]] = set()
    last_sender = None
    for index, event in enumerate(events):
        kind = event.get("kind")
        if kind == "message" or (kind == "record" and event.get("content_type") != "handshake"):
            sender = trace.sender(event)
            if last_sender is not None and sender != last_sender:
                diagram.blank()
            last_sender = sender
            _draw_arrow(diagram, event, sender, carried.get(index), events)
        elif kind == "secret":
            name = printable(str(event.get("name", "secret")))
            value = as_bytes(event.get("value"))
            if (name, value) in seen_secrets:
                diagram.note(trace.role, f"keys from {name} now in use", "secret")
            else:
                seen_secrets.add((name, value))
                diagram.note(trace.role, f"derive {name} = {short_hex(value, 6)}", "secret")
                if name == "shared_secret" and (hybrid := hybrid_secret_text(events)):
                    diagram.note(trace.role, f"  {hybrid}", "secret")
        elif kind == "verified":
            _draw_verified(diagram, trace.role, event)
        elif kind == "state":
            diagram.note(trace.role, f"state {event.get('previous')} → {event.get('next')}", "dim")
        elif kind == "note":
            diagram.note(trace.role, f"▸ {printable(str(event.get('text', '')))}", "bold")
        elif kind not in ("record", "alert", "key_exchange"):
            # Alerts are drawn from their records; a key exchange's private key only on a
            # trace page (tls/trace_html_schedule.py); anything unknown still shows up.
            diagram.note(trace.role, f"(event {printable(str(kind))})", "dim")
    diagram.blank()
    return "\n".join(diagram.lines) + "\n"


def _draw_verified(diagram: _Diagram, side: str, event: Mapping[str, Any]) -> None:
    what = printable(str(event.get("name", "")))
    detail = printable(str(event.get("detail", "")))
    if what == "certificate chain":
        # pki_verification.VerifiedChain.subjects, leaf first, joined with " <- " by the protocols.
        diagram.note(side, "✔ verified certificate chain, leaf first:", "verified")
        for position, subject in enumerate(detail.split(" <- ")):
            diagram.note(side, ("    " if position == 0 else "  ← ") + subject, "verified")
    else:
        diagram.note(side, f"✔ verified {what}: {detail}", "verified")


def _draw_arrow(
    diagram: _Diagram,
    event: Mapping[str, Any],
    sender: str,
    record_index: int | None,
    events: list[dict[str, Any]],
) -> None:
    if event.get("kind") == "message":
        record = events[record_index] if record_index is not None else {}
        label = printable(message_name(event))
        encrypted = bool(record.get("protected"))
        lines = message_lines(event)
        style = "alert" if lines and lines[0].startswith("!!") else sender
    else:
        label = record_label(event)
        encrypted = bool(event.get("protected"))
        plaintext = as_bytes(event.get("plaintext"))
        raw = as_bytes(event.get("raw"))
        style = sender
        if event.get("content_type") == "application_data":
            lines = [http_summary(plaintext), f"{len(raw)} bytes on the wire"]
        elif event.get("content_type") == "change_cipher_spec":
            lines = ["compatibility record (RFC 8446 appendix D.4): TLS 1.3 ignores it"]
        elif event.get("content_type") == "alert":
            level = {1: "warning", 2: "fatal"}.get(plaintext[0] if plaintext else -1, "?")
            lines = [f"level: {level}"]
            style = "alert"
        else:
            lines = [f"{len(raw)} bytes"]
    diagram.arrow(sender, label + (" [encrypted]" if encrypted else ""), style)
    diagram.details(lines)
