"""toytls and TLS 1.3 side by side: two traced connections in two columns, aligned by purpose.

    page = render_comparison(tls13_trace, toy_trace, title="the same request, twice")

What this module owns: the comparison page.  Each row is one purpose a
secure channel needs (key exchange, authentication, key derivation,
confirmation, records); each column shows what that protocol's connection
actually did for it (the messages, with their key fields from tls/trace.py,
the secrets, the records), and a third column says what toytls leaves out
there and the attack each omission allows (docs/toytls.md section 6 tells
the whole story).

What it must never do: put trace text into the page unescaped, load
anything from outside the page, or raise for a trace that lacks a step (the
cell says what is missing).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .trace import Trace, message_lines, printable


@dataclass(frozen=True)
class Purpose:
    anchor: str
    title: str
    tls13_messages: tuple[str, ...]
    toy_messages: tuple[str, ...]
    omissions: tuple[tuple[str, str], ...]  # (what toytls leaves out, what that allows)


PURPOSES = (
    Purpose(
        "key-exchange",
        "Key exchange",
        ("ClientHello", "HelloRetryRequest", "ServerHello"),
        ("ClientHello", "ServerHello"),
        (
            (
                "random values in the hellos",
                "keys depend on the two ephemeral keys alone: a peer that reuses its key "
                "against one that also repeats gets the same keys twice, and a recorded "
                "record replays into the other connection",
            ),
            (
                "version, group and cipher suite negotiation",
                "nothing can move away from X25519 or AES-GCM if one breaks; a future "
                "version could be downgraded by a man in the middle (SSL 3.0 and POODLE)",
            ),
        ),
    ),
    Purpose(
        "authentication",
        "Authentication",
        ("Certificate", "CompressedCertificate", "CertificateVerify"),
        ("ServerAuth",),
        (
            (
                "a signature over the whole transcript (toytls signs the two public keys only)",
                "an unknown key-share: an attacker with a valid certificate for its own name "
                "relays a client's key to the real server and signs the same two keys itself",
            ),
            (
                "an encrypted handshake",
                "anyone on the path reads the server's certificate, so which site is visited",
            ),
        ),
    ),
    Purpose(
        "key-derivation",
        "Key derivation",
        (),
        (),
        (
            (
                "a transcript hash in every derived secret",
                "keys that do not depend on what was negotiated: a changed hello field goes "
                "unnoticed as long as the key shares are intact",
            ),
        ),
    ),
    Purpose(
        "confirmation",
        "Confirmation",
        ("Finished",),
        (),
        (
            (
                "Finished messages",
                "no side proves it saw the same handshake: tampering with anything the "
                "signature does not cover is not detected",
            ),
        ),
    ),
    Purpose(
        "records",
        "Records",
        (),
        (),
        (
            (
                "nonces from the IV XOR the sequence number (toytls sends 12 random bytes)",
                "after about 2^32 records under one key, or with a weak random source, a "
                "repeated nonce leaks plaintext XORs and GCM's authentication key",
            ),
            (
                "hidden content type and padding",
                "each record's length shows the HTTP message's length: pages are told apart "
                "by their sizes",
            ),
            (
                "close_notify and alerts",
                "truncation: a cut TCP connection looks like the end of the response",
            ),
        ),
    ),
)


def _e(text: object) -> str:
    return html.escape(printable(str(text)), quote=True)


def _messages(trace: Trace, names: tuple[str, ...]) -> list[Mapping[str, Any]]:
    return [
        event
        for event in trace.events
        if event.get("kind") == "message" and event.get("name") in names
    ]


def _cell(trace: Trace | None, purpose: Purpose, protocol: str) -> str:
    if trace is None:
        return f"<td>(no {protocol} connection kept)</td>"
    names = purpose.tls13_messages if protocol == "TLSv1.3" else purpose.toy_messages
    parts = []
    for event in _messages(trace, names):
        sender = trace.sender(event)
        lines = "".join(f"<li>{_e(line)}</li>" for line in message_lines(event))
        parts.append(f"<p><b>{_e(event.get('name'))}</b> from the {sender}</p><ul>{lines}</ul>")
    if purpose.anchor == "key-derivation":
        secrets = dict.fromkeys(
            str(event.get("name")) for event in trace.events if event.get("kind") == "secret"
        )
        parts.append(
            "<ul>" + "".join(f"<li><code>{_e(name)}</code></li>" for name in secrets) + "</ul>"
        )
    if purpose.anchor == "authentication":
        for event in trace.events:
            if event.get("kind") == "verified":
                parts.append(
                    f"<p>✔ verified {_e(event.get('name'))}: {_e(event.get('detail', ''))}</p>"
                )
    if purpose.anchor == "records":
        records = [
            event
            for event in trace.events
            if event.get("kind") == "record" and event.get("content_type") == "application_data"
        ]
        size = sum(len(event.get("raw") or b"") for event in records)
        plural = "" if len(records) == 1 else "s"
        parts.append(f"<p>{len(records)} application record{plural}, {size} bytes on the wire</p>")
    if not parts:
        parts.append("<p><i>nothing: this protocol has no such step</i></p>")
    return "<td>" + "".join(parts) + "</td>"


def render_comparison(tls13: Trace | None, toy: Trace | None, *, title: str) -> str:
    """The page: a row per purpose, TLS 1.3 | toytls | what toytls leaves out and why it matters."""
    rows = []
    for purpose in PURPOSES:
        omissions = "".join(
            f"<li><b>{_e(left_out)}</b>: {_e(allows)}</li>"
            for left_out, allows in purpose.omissions
        )
        rows.append(
            f'<tr id="{purpose.anchor}"><th>{_e(purpose.title)}</th>'
            f"{_cell(tls13, purpose, 'TLSv1.3')}{_cell(toy, purpose, 'toytls')}"
            f"<td><ul>{omissions}</ul></td></tr>"
        )
    return _PAGE.format(title=_e(title), rows="\n".join(rows))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 90em;
  padding: 0 1em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #c9ccd3; padding: .4em .6em; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; font-size: .92em; }}
thead th {{ background: #f4f5f8; }} tbody th {{ width: 7em; }}
ul {{ padding-left: 1.2em; margin: .2em 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>The same request over TLS 1.3 (RFC 8446) and over toytls, the learning protocol, aligned
by what each step is for. The last column is what toytls leaves out there and the attack each
omission allows; docs/toytls.md section 6 (in the source) tells each story in full.</p>
<table>
<thead><tr><th>purpose</th><th>TLS 1.3</th><th>toytls</th>
<th>what toytls leaves out, and what that allows</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
