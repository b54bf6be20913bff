"""The illustrated handshake as one HTML page: every record's bytes, each range named and explained.

    page = render_html(trace, title="GET https://localhost:8443/")
    Path("handshake.html").write_text(page, encoding="utf-8")

What this module owns: the page.  Every record of the connection appears in
order, marked with its sender; opening one shows its bytes split into ranges
(tls13/annotate.py and toy/annotate.py say what each range encodes), and a
protected record also shows what it decrypted to, annotated the same way (and a
CompressedCertificate the Certificate it decompresses to, RFC 8879).
Derived secrets, verifications, state changes and the caller's notes sit
between the records where they happened.  Each range element carries
`data-start` and `data-length` (offsets into its record, or into the
decrypted bytes) inside a container with `data-total`, so a test can check
that the ranges cover every byte exactly once.

What it must never do: put text from the trace into the page unescaped
(certificate subjects, SNI, ALPN, HTTP lines and notes come from peers and
callers), load anything from outside the page (no external stylesheet,
script, font or image: the file must work offline), or raise for an odd
event.  Secrets are shown in full here, unlike the terminal diagram: the
page is for studying one connection, like an SSLKEYLOGFILE.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TLSError
from .span import Span
from .tls13 import annotate as tls13_annotate
from .tls13.certificate_compression import SUPPORTED_ALGORITHMS, decompress_certificate
from .tls13.enums import ContentType, HandshakeType
from .tls13.messages import HANDSHAKE_HEADER_LENGTH, CompressedCertificate, handshake_header
from .toy import annotate as toy_annotate
from .trace import (
    SECRET_EXPLANATIONS,
    Trace,
    as_bytes,
    http_summary,
    message_name,
    message_records,
    printable,
    record_label,
    starts_like_http,
)
from .trace_html_certificates import certificates_html
from .trace_html_navigation import contents_entry, protocol_heading, record_links
from .trace_html_schedule import key_schedule_html
from .trace_tls13 import hybrid_secret_text

# Hex shown per range and per record strip; longer data is elided with a count,
# so that tracing a large download does not make a page of many megabytes.
MAX_HEX_BYTES = 2048


@dataclass(frozen=True)
class _Range:
    start: int
    length: int
    field: str
    explanation: str
    value: str = ""
    children: tuple[_Range, ...] = ()


def _ranges(spans: Iterable[Span], data: bytes) -> tuple[_Range, ...]:
    """Spans of either protocol as page ranges, HTTP split out of application data."""
    converted = []
    for span in spans:
        children = _ranges(span.children, data)
        if span.field == "application_data" and not children:
            children = _http_parts(data, span.start, span.length)
        converted.append(
            _Range(span.start, span.length, span.field, span.explanation, span.value, children)
        )
    return tuple(converted)


def _http_parts(data: bytes, start: int, length: int) -> tuple[_Range, ...]:
    """An HTTP message's start line, header fields, blank line and body (RFC 9112 section 2.1)."""
    content = data[start : start + length]
    line_end = content.find(b"\r\n")
    if line_end < 0 or not starts_like_http(content[:line_end]):
        return ()
    parts = [
        _Range(
            start,
            line_end + 2,
            "HTTP start line",
            "The request line (method, target, version) or the status line of a response.",
            content[:line_end].decode("latin-1"),
        )
    ]
    head_end = content.find(b"\r\n\r\n")
    if head_end < 0:
        rest = length - line_end - 2
        if rest:
            parts.append(_Range(start + line_end + 2, rest, "HTTP header fields", "Header lines."))
        return tuple(parts)
    if head_end > line_end:
        header_lines = content[line_end + 2 : head_end + 2].count(b"\r\n")
        parts.append(
            _Range(
                start + line_end + 2,
                head_end - line_end,
                "HTTP header fields",
                "One 'Name: value' line each, such as Host or Content-Length.",
                f"{header_lines} lines",
            )
        )
    parts.append(
        _Range(start + head_end + 2, 2, "end of header", "An empty line ends the header section.")
    )
    body = length - head_end - 4
    if body:
        parts.append(
            _Range(start + head_end + 4, body, "HTTP body", "The content itself.", f"{body} bytes")
        )
    return tuple(parts)


# --- one record -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Annotated:
    wire: tuple[_Range, ...]
    decrypted_bytes: bytes | None
    decrypted: tuple[_Range, ...]
    # The Certificate inside a CompressedCertificate (RFC 8879), annotated beneath it.
    decompressed_bytes: bytes | None = None
    decompressed: tuple[_Range, ...] = ()


def _decompressed_certificate(content: bytes) -> bytes | None:
    """The Certificate message (header and body) inside a whole CompressedCertificate, if any."""
    position = 0
    while position + HANDSHAKE_HEADER_LENGTH <= len(content):
        msg_type = content[position]
        end = (
            position
            + HANDSHAKE_HEADER_LENGTH
            + int.from_bytes(content[position + 1 : position + 4])
        )
        if end > len(content):
            return None
        if msg_type == HandshakeType.compressed_certificate:
            try:
                message = CompressedCertificate.decode(
                    content[position + HANDSHAKE_HEADER_LENGTH : end]
                )
                body = decompress_certificate(message, SUPPORTED_ALGORITHMS, 1 << 18)
            except TLSError:
                return None
            return handshake_header(HandshakeType.certificate, len(body)) + body
        position = end
    return None


class _Annotator:
    """Annotates records in order, remembering per direction where a spanning message stands."""

    def __init__(self) -> None:
        self._pending: dict[object, int] = {}

    def annotate(self, event: Mapping[str, Any]) -> _Annotated:
        raw = as_bytes(event.get("raw"))
        plaintext = as_bytes(event.get("plaintext"))
        protected = bool(event.get("protected"))
        if event.get("protocol") == "toytls":
            wire = toy_annotate.annotate_record(raw, plaintext, protected)
            if not protected:
                return _Annotated(_ranges(wire, raw), None, ())
            decrypted = toy_annotate.annotate_plaintext(plaintext)
            return _Annotated(_ranges(wire, raw), plaintext, _ranges(decrypted, plaintext))
        direction = event.get("direction")
        is_handshake = event.get("content_type") == "handshake"
        continued = self._pending.get(direction, 0) if is_handshake else 0
        wire = tls13_annotate.annotate_record(raw, plaintext, protected, continued=continued)
        if is_handshake:
            content = plaintext if protected else raw[tls13_annotate.RECORD_HEADER_LENGTH :]
            self._pending[direction] = tls13_annotate.pending_handshake_bytes(content, continued)
        if not protected:
            return _Annotated(_ranges(wire, raw), None, ())
        inner = tls13_annotate.inner_plaintext(raw, plaintext, _content_type(event))
        decrypted = tls13_annotate.annotate_inner_plaintext(inner, continued=continued)
        certificate = _decompressed_certificate(plaintext) if is_handshake else None
        if certificate is None:
            return _Annotated(_ranges(wire, raw), inner, _ranges(decrypted, inner))
        inside = tls13_annotate.annotate_handshake_messages(certificate)
        return _Annotated(
            _ranges(wire, raw),
            inner,
            _ranges(decrypted, inner),
            certificate,
            _ranges(inside, certificate),
        )


def _content_type(event: Mapping[str, Any]) -> int:
    name = str(event.get("content_type"))
    if name in ContentType.__members__:
        return int(ContentType[name])
    number = name.removeprefix("unknown ")  # tls/names.py describe() of an unknown type
    return int(number) if number.isascii() and number.isdigit() else 0


# --- HTML -----------------------------------------------------------------------------------


def _e(text: object) -> str:
    """Text made safe for the page: control characters spelled out, then HTML-escaped."""
    return html.escape(printable(str(text)), quote=True)


def _hex(data: bytes) -> str:
    shown = data[:MAX_HEX_BYTES].hex(" ")
    if len(data) > MAX_HEX_BYTES:
        shown += f' <span class="elided">… {len(data) - MAX_HEX_BYTES} more bytes</span>'
    return shown


def _range_html(item: _Range, data: bytes, depth: int) -> str:
    end = item.start + item.length - 1
    where = f"byte {end}" if item.length == 1 else f"bytes {item.start}–{end}"
    head = (
        f'<span class="field">{_e(item.field)}</span>'
        + (f' <span class="value">{_e(item.value)}</span>' if item.value else "")
        + f' <span class="where">{where}</span>'
    )
    attributes = f'class="range" data-start="{item.start}" data-length="{item.length}"'
    explanation = f'<div class="explain">{_e(item.explanation)}</div>'
    if item.children:
        children = "".join(_range_html(child, data, depth + 1) for child in item.children)
        opened = " open" if depth == 0 else ""
        return (
            f"<details {attributes}{opened}><summary>{head}</summary>{explanation}"
            f'<div class="children">{children}</div></details>'
        )
    hex_bytes = _hex(data[item.start : item.start + item.length])
    return (
        f'<div {attributes}><div class="head">{head}</div>{explanation}'
        f'<code class="hex">{hex_bytes}</code></div>'
    )


def _leaves(ranges: Iterable[_Range]) -> Iterable[_Range]:
    for item in ranges:
        if item.children:
            yield from _leaves(item.children)
        else:
            yield item


def _strip_html(ranges: tuple[_Range, ...], data: bytes) -> str:
    """The record's bytes in one run, each field's bytes a clickable chunk."""
    chunks = []
    shown = 0
    for number, leaf in enumerate(_leaves(ranges)):
        if shown >= MAX_HEX_BYTES:
            chunks.append(f'<span class="elided">… {len(data) - shown} more bytes</span>')
            break
        piece = data[leaf.start : leaf.start + min(leaf.length, MAX_HEX_BYTES - shown)]
        shown += len(piece)
        title = f"{leaf.field}: {leaf.value}" if leaf.value else leaf.field
        chunks.append(
            f'<span class="chunk tint{number % 6}" data-leaf-start="{leaf.start}" '
            f'title="{_e(title)}">{piece.hex(" ")}</span>'
        )
    return f'<p class="strip">{" ".join(chunks)}</p>'


def _bytes_html(kind: str, ranges: tuple[_Range, ...], data: bytes) -> str:
    tree = "".join(_range_html(item, data, 0) for item in ranges)
    return (
        f'<div class="bytes" data-bytes="{kind}">{_strip_html(ranges, data)}'
        f'<div class="ranges" data-bytes="{kind}" data-total="{len(data)}">{tree}</div></div>'
    )


def _record_html(
    trace: Trace, event: Mapping[str, Any], number: int, names: list[str], annotated: _Annotated
) -> str:
    sender = trace.sender(event)
    receiver = "server" if sender == "client" else "client"
    raw = as_bytes(event.get("raw"))
    content_type = event.get("content_type")
    protected = bool(event.get("protected"))
    if names:
        label = ", ".join(names)
    elif content_type == "application_data":
        label = f"{record_label(event)}: {http_summary(as_bytes(event.get('plaintext')))}"
    else:
        label = record_label(event)
    meta = f"{_e(content_type)} record · {len(raw)} bytes · " + (
        "encrypted" if protected else "in clear"
    )
    body = _bytes_html("wire", annotated.wire, raw)
    if annotated.decrypted_bytes is not None:
        decrypted = annotated.decrypted_bytes
        body += (
            f'<details class="decrypted"><summary>Decrypted: {len(decrypted)} bytes, '
            "annotated the same way</summary>"
            f"{_bytes_html('decrypted', annotated.decrypted, decrypted)}</details>"
        )
    if annotated.decompressed_bytes is not None:
        inside = annotated.decompressed_bytes
        body += (
            '<details class="decrypted"><summary>The CompressedCertificate decompressed: '
            f"the {len(inside)}-byte Certificate it carries (RFC 8879)</summary>"
            f"{_bytes_html('decompressed', annotated.decompressed, inside)}</details>"
        )
    return (
        f'<li class="record from-{sender}" id="record-{number}" data-direction="'
        f'{_e(event.get("direction"))}" data-sender="{sender}">'
        f'<details><summary><span class="who">{sender} → {receiver}</span> '
        f'<span class="number">#{number}</span> <span class="label">{_e(label)}</span> '
        f'<span class="meta">{meta}</span> {record_links(trace.protocol, names, content_type)}'
        f"</summary>{body}</details></li>"
    )


def _event_html(trace: Trace, event: Mapping[str, Any], first_time: bool) -> str:
    kind = event.get("kind")
    side = f"at-{trace.role}"
    if kind == "secret":
        name = str(event.get("name", "secret"))
        if not first_time:
            # The same secret again: the moment its keys start protecting records.
            return f'<li class="secret {side}">keys from {_e(name)} now in use</li>'
        explanation = SECRET_EXPLANATIONS.get(name, "")
        if name == "shared_secret" and (hybrid := hybrid_secret_text(trace.events)):
            explanation += f" ({hybrid})"
        return (
            f'<li class="secret {side}"><span class="what">derived</span> '
            f'<span class="name">{_e(name)}</span> <code>{as_bytes(event.get("value")).hex()}'
            f'</code> <span class="explain">{_e(explanation)}</span></li>'
        )
    if kind == "verified":
        return (
            f'<li class="verified {side}">✔ verified {_e(event.get("name", ""))}: '
            f"{_e(event.get('detail', ''))}</li>"
        )
    if kind == "state":
        return (
            f'<li class="state {side}">state {_e(event.get("previous"))} → '
            f"{_e(event.get('next'))}</li>"
        )
    if kind == "note":
        return f'<li class="note {side}">▸ {_e(event.get("text", ""))}</li>'
    return f'<li class="state {side}">event {_e(kind)}</li>'


def render_html(trace: Trace, *, title: str) -> str:
    """One self-contained page showing every record of `trace`, every byte explained."""
    events = trace.events
    names_by_record: dict[int, list[str]] = {}
    for message_index, record_index in message_records(events).items():
        names_by_record.setdefault(record_index, []).append(message_name(events[message_index]))
    annotator = _Annotator()
    seen_secrets: set[tuple[object, bytes]] = set()
    items = []
    record_contents: list[str] = []
    number = 0
    for index, event in enumerate(events):
        kind = event.get("kind")
        if kind == "record":
            number += 1
            annotated = annotator.annotate(event)
            names = names_by_record.get(index, [])
            items.append(_record_html(trace, event, number, names, annotated))
            sender = trace.sender(event)
            receiver = "server" if sender == "client" else "client"
            label = ", ".join(names) if names else record_label(event)
            record_contents.append(contents_entry(number, sender, receiver, label))
        elif kind == "key_exchange":
            continue  # shown in the key schedule section
        elif kind not in ("message", "alert"):  # messages and alerts show inside their records
            secret = (event.get("name"), as_bytes(event.get("value")))
            first_time = kind != "secret" or secret not in seen_secrets
            seen_secrets.add(secret)
            items.append(_event_html(trace, event, first_time))
    introduction = (
        f"{trace.protocol}, as the {trace.role} saw it: {number} records in the order they "
        "travelled, with the secrets derived between them. Open a record to see every byte: "
        "which field it encodes and why it is there; a protected record also shows what it "
        "decrypted to. Click a run of bytes to find its field."
    )
    schedule_contents, schedule = key_schedule_html(events)
    certificate_contents, certificates = certificates_html(events)
    return _PAGE.format(
        title=_e(title),
        heading=protocol_heading(trace.protocol),
        introduction=_e(introduction),
        records="".join(record_contents),
        toc=certificate_contents + schedule_contents,
        certificates=certificates,
        schedule=schedule,
        items="\n".join(items),
        style=_STYLE,
        script=_SCRIPT,
    )


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em;
  padding: 0 1em; color: #1d1d1f; background: #fbfbfd; }
h1 { font-size: 1.4em; }
#timeline { list-style: none; padding: 0; }
#timeline > li { margin: .45em 0; }
li.record { border: 1px solid #c9ccd3; border-radius: 6px; background: #fff; }
#timeline > li.from-client { margin-right: 12%; border-left: 5px solid #1a7f9c; }
#timeline > li.from-server { margin-left: 12%; border-right: 5px solid #9c1a7f; }
li.record > details > summary { padding: .4em .7em; cursor: pointer; }
.who { font-weight: 600; } .number, .meta, .where { color: #6b6f78; font-size: .9em; }
.label { font-weight: 600; }
li.secret, li.verified, li.state, li.note { font-size: .9em; padding: .15em .7em;
  overflow-wrap: anywhere; }
#timeline > li.at-client { margin-right: 35%; }
#timeline > li.at-server { margin-left: 35%; text-align: right; }
li.secret { background: #fff6d6; border-radius: 4px; } li.secret code { font-size: .85em; }
li.verified { color: #1c6b2a; } li.state { color: #6b6f78; } li.note { font-weight: 600; }
.bytes { padding: 0 .7em .7em; }
.strip { font: 13px/1.6 ui-monospace, monospace; overflow-wrap: anywhere; }
.chunk { cursor: pointer; border-radius: 3px; padding: 0 1px; }
.tint0 { background: #e3f2fd; } .tint1 { background: #fce4ec; } .tint2 { background: #e8f5e9; }
.tint3 { background: #fff3e0; } .tint4 { background: #ede7f6; } .tint5 { background: #e0f7fa; }
.range { margin: .2em 0 .2em 1em; padding-left: .5em; border-left: 2px solid #e0e2e7; }
.range > summary { cursor: pointer; }
.field { font-weight: 600; font-family: ui-monospace, monospace; }
.value { font-family: ui-monospace, monospace; color: #0b5394; overflow-wrap: anywhere; }
.explain { color: #44474f; font-size: .92em; }
.hex { display: block; font-size: 12px; color: #555; overflow-wrap: anywhere; }
.elided { color: #a33; }
.decrypted { margin: 0 .7em .7em; border-top: 1px dashed #c9ccd3; }
.decrypted > summary { cursor: pointer; padding: .3em 0; font-weight: 600; }
.flash { outline: 3px solid #f5a623; }
#script-status { color: #6b6f78; font-size: .9em; }
.step { margin: .3em 0; padding: .2em .6em; background: #fff; border: 1px solid #e0e2e7;
  border-radius: 4px; overflow-wrap: anywhere; }
.step > summary { cursor: pointer; } .output { color: #0b5394; font-size: .85em; }
.formula { font-family: ui-monospace, monospace; font-size: .9em; margin: .3em 0; }
.inputs { font-size: .85em; } .input-name { font-weight: 600; }
pre.snippet, pre.snippet-prelude { background: #f4f5f8; padding: .5em; font-size: 12px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
a.rfc, span.rfc { font-size: .8em; color: #0b5394; }
.certificate table { border-collapse: collapse; font-size: .9em; margin: .3em 0 .8em; }
.certificate th, .certificate td { border: 1px solid #e0e2e7; padding: .15em .5em;
  text-align: left; vertical-align: top; overflow-wrap: anywhere; }
ul.checks { list-style: none; padding-left: .5em; } li.check.passed { color: #1c6b2a; }
li.check.failed { color: #a33; font-weight: 600; } li.check.client { color: #44474f; }
.agrees { color: #1c6b2a; font-size: .85em; } .differs { color: #a33; font-weight: 600; }
"""

_SCRIPT = """
document.getElementById("script-status").textContent =
  "Interactive: click a run of bytes to find its field.";
function setAll(open) {
  document.querySelectorAll("#timeline details").forEach((node) => { node.open = open; });
}
document.getElementById("expand").addEventListener("click", () => setAll(true));
document.getElementById("collapse").addEventListener("click", () => setAll(false));
// #all opens everything (for printing and screenshots); another fragment opens its target.
function openFragment() {
  if (location.hash === "#all") {
    document.querySelectorAll("details").forEach((node) => { node.open = true; });
    return;
  }
  const target = location.hash && document.getElementById(location.hash.slice(1));
  for (let node = target; node; node = node.parentElement) {
    if (node.tagName === "DETAILS") { node.open = true; }
  }
}
window.addEventListener("hashchange", openFragment);
openFragment();
document.addEventListener("click", (event) => {
  const chunk = event.target.closest(".chunk");
  if (!chunk) { return; }
  const ranges = chunk.closest(".bytes").querySelector(".ranges");
  const matches = ranges.querySelectorAll(`[data-start="${chunk.dataset.leafStart}"]`);
  const target = matches[matches.length - 1];
  if (!target) { return; }
  for (let node = target; node; node = node.parentElement) {
    if (node.tagName === "DETAILS") { node.open = true; }
  }
  target.scrollIntoView({ block: "center" });
  target.classList.add("flash");
  setTimeout(() => target.classList.remove("flash"), 1500);
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p class="protocol">{heading}</p>
<p>{introduction}</p>
<p><button id="expand" type="button">Expand all</button>
<button id="collapse" type="button">Collapse all</button>
<span id="script-status"></span></p>
<nav id="contents"><h2>Contents</h2><ol>
<li><a href="#timeline">The records, in the order they travelled</a><ol>{records}</ol></li>
{toc}<li><a href="#all">Open everything (#all)</a></li>
</ol></nav>
<ol id="timeline">
{items}
</ol>
{certificates}
{schedule}
<script>{script}</script>
</body>
</html>
"""
