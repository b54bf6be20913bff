"""The served trace pages of `tls_trace on;`: /_tls/ lists connections, /_tls/this explains yours.

    store = TraceStore(keep=50)                 # one per server block, shared by its TLS listeners
    trace = store.keep_connection(peer, now)    # the observer of one accepted TLS connection
    response = store.respond(request, trace, now)  # for a request whose path starts with /_tls/

What this module owns:
- `KeptConnection`: a trace (tls/trace.py) with bounded memory.  The
  handshake is kept whole (up to MAX_EVENTS events and MAX_TRACE_BYTES of
  record bytes); application records only up to APPLICATION_BYTES_KEPT, after
  which they are counted, not kept, and the page says so.
- `TraceStore`: the last `keep` connections, oldest dropped first.
- The pages: `/_tls/` (a table: time, client, User-Agent of the first
  request, protocol, suite, group, resumed, HRR, how it ended), `/_tls/this`
  (the page of the asking connection), `/_tls/N` (connection N's page) and
  `/_tls/N.keylog` (its NSS key log, so Wireshark decrypts the same capture).

Learning mode: these pages reveal the session secrets (and the server's
ephemeral private key) of past connections to whoever can reach the
listener.  They exist only with `tls_trace on;`, only on TLS listeners (the
wiring never gives a plain listener a store), and nothing of them reaches a
log.  With worker processes each worker keeps its own connections.

What it must never do: keep more than its bounds, put peer text into a page
unescaped (tls/trace_html.py escapes its part; the list escapes its own), or
answer anything under /_tls/ it does not know with more than a 404.
"""

from __future__ import annotations

import html
import re
import time
from collections import deque
from typing import Any

from tls_web_server.http.messages import Request, Response
from tls_web_server.http.router import SiteSettings
from tls_web_server.http.static import error_response, respond
from tls_web_server.http.writer import http_date
from tls_web_server.http2.annotate import Http2Annotator
from tls_web_server.tls.api import Negotiated, TLSConnection
from tls_web_server.tls.errors import AlertDescription
from tls_web_server.tls.keylog import keylog_line
from tls_web_server.tls.names import describe
from tls_web_server.tls.trace import Trace, printable
from tls_web_server.tls.trace_compare import render_comparison
from tls_web_server.tls.trace_html import render_html

PREFIX = "/_tls/"
MAX_EVENTS = 400
MAX_TRACE_BYTES = 256 * 1024
APPLICATION_BYTES_KEPT = 8 * 1024
_CONNECTION_PAGE = re.compile(r"/_tls/([0-9]{1,9})(\.keylog)?")


class KeptConnection(Trace):
    """One connection's trace, bounded, with what the list shows about it."""

    def __init__(self, number: int, peer: str, started: float) -> None:
        super().__init__("server")
        self.number = number
        self.peer = peer
        self.started = started
        self.user_agent: str | None = None
        self.closed = False
        self.kept_bytes = 0
        self.application_bytes = 0
        self.dropped_records = 0
        self.dropped_events = 0
        self._tls: TLSConnection | None = None
        self._negotiated: Negotiated | None = None

    def attach(self, tls: TLSConnection) -> None:
        """The connection's TLS object, asked what was agreed until the connection closes."""
        self._tls = tls

    @property
    def negotiated(self) -> Negotiated | None:
        if self._tls is not None:
            return self._tls.negotiated
        return self._negotiated

    def __call__(self, event: dict[str, Any]) -> None:
        raw = event.get("raw")
        size = len(raw) if isinstance(raw, (bytes, bytearray)) else 0
        if event.get("kind") == "record" and event.get("content_type") == "application_data":
            if self.application_bytes + size > APPLICATION_BYTES_KEPT:
                self.dropped_records += 1
                return
            self.application_bytes += size
        if len(self.events) >= MAX_EVENTS or self.kept_bytes + size > MAX_TRACE_BYTES:
            self.dropped_events += 1
            return
        self.kept_bytes += size
        super().__call__(event)

    def saw_request(self, request: Request) -> None:
        if self.user_agent is None:
            self.user_agent = request.header("user-agent") or "-"

    def connection_closed(self) -> None:
        """Keep only what was agreed: the TLS object (buffers, keys) may go."""
        self.closed = True
        if self._tls is not None:
            self._negotiated = self._tls.negotiated
            self._tls = None

    def ending(self) -> str:
        """How the connection ended, as far as the trace tells."""
        for event in reversed(self.events):
            if event.get("kind") == "alert":
                who = "client" if event.get("direction") == "received" else "server"
                description = event.get("description")
                if isinstance(description, int):
                    return f"{who} sent {describe(AlertDescription, description)}"
                return f"{who} sent {printable(str(description))}"
        return "closed" if self.closed else "open"

    def handshake_facts(self) -> dict[str, str]:
        """Protocol, suite, group, resumed and HRR, from the messages the trace holds."""
        facts = {"protocol": self.protocol, "suite": "-", "group": "-", "resumed": "-", "hrr": "-"}
        negotiated = self.negotiated
        if negotiated is not None:
            yes_no = {True: "yes", False: "no"}
            facts.update(
                suite=negotiated.cipher_suite,
                group=negotiated.group,
                resumed=yes_no[negotiated.resumed],
                hrr=yes_no[negotiated.hello_retry],
            )
        return facts

    def keylog(self) -> str:
        """The NSS key log lines of this connection (tls/keylog.py's labels)."""
        client_random = b""
        for event in self.events:
            if event.get("kind") == "message" and event.get("name") == "ClientHello":
                raw = event.get("raw")
                if isinstance(raw, (bytes, bytearray)) and len(raw) >= 38:
                    client_random = bytes(raw[6:38])
                    break
        lines = []
        for event in self.events:
            value = event.get("value")
            if event.get("kind") == "secret" and isinstance(value, (bytes, bytearray)):
                line = keylog_line(str(event.get("name")), client_random, bytes(value))
                if line is not None and line not in lines:
                    lines.append(line)
        return "".join(line + "\n" for line in lines)


class TraceStore:
    """The last `keep` TLS connections of one server block."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.connections: deque[KeptConnection] = deque(maxlen=keep)
        self._next_number = 1

    def keep_connection(self, peer: str, now: float) -> KeptConnection:
        kept = KeptConnection(self._next_number, peer, now)
        self._next_number += 1
        self.connections.append(kept)
        kept.add_note(f"connection from {peer}")
        return kept

    def find(self, number: int) -> KeptConnection | None:
        return next((kept for kept in self.connections if kept.number == number), None)

    def respond(self, request: Request, this: KeptConnection | None, now: float) -> Response:
        """The answer to a request under /_tls/ (404 for anything else there)."""
        path = request.target.split("?", 1)[0]
        if request.method not in ("GET", "HEAD"):
            refusal = _page(request, 405, "text/plain; charset=utf-8", b"GET or HEAD\n", now)
            refusal.headers.append(("Allow", "GET, HEAD"))  # RFC 9110 section 15.5.6
            return refusal
        if path == PREFIX:
            return _page(request, 200, "text/html; charset=utf-8", self._list_page(this), now)
        if path == PREFIX + "this" and this is not None:
            return _page(request, 200, "text/html; charset=utf-8", _connection_page(this), now)
        if path == PREFIX + "compare":
            return _page(request, 200, "text/html; charset=utf-8", self._comparison(this), now)
        match = _CONNECTION_PAGE.fullmatch(path)
        kept = self.find(int(match[1])) if match is not None else None
        if match is None or kept is None:
            return error_response(404, now, keep_alive=request.keep_alive)
        if match[2]:
            return _page(request, 200, "text/plain; charset=utf-8", kept.keylog().encode(), now)
        return _page(request, 200, "text/html; charset=utf-8", _connection_page(kept), now)

    def _latest(self, protocol: str, this: KeptConnection | None) -> KeptConnection | None:
        """The newest other connection of `protocol` that got as far as application data."""
        for kept in reversed(self.connections):
            if (
                kept is not this
                and kept.protocol == protocol
                and any(
                    event.get("kind") == "record"
                    and event.get("content_type") == "application_data"
                    for event in kept.events
                )
            ):
                return kept
        return None

    def _comparison(self, this: KeptConnection | None) -> bytes:
        # Not the asking connection: its response is not sent yet, so it is not whole.
        tls13, toy = self._latest("TLSv1.3", this), self._latest("toytls", this)
        page = render_comparison(
            tls13, toy, title="toytls and TLS 1.3 side by side: the newest connection of each"
        )
        return page.encode("utf-8")

    def _list_page(self, this: KeptConnection | None) -> bytes:
        rows = []
        for kept in reversed(self.connections):
            facts = kept.handshake_facts()
            when = time.strftime("%H:%M:%S", time.gmtime(kept.started))
            mark = " (this one)" if kept is this else ""
            cells = [
                f'<a href="/_tls/{kept.number}">#{kept.number}</a>{mark}',
                when,
                _e(kept.peer),
                _e(kept.user_agent or "-"),
                _e(facts["protocol"]),
                _e(facts["suite"]),
                _e(facts["group"]),
                facts["resumed"],
                facts["hrr"],
                _e(kept.ending()),
            ]
            rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        header = "".join(
            f"<th>{name}</th>"
            for name in (
                "connection",
                "time (UTC)",
                "client",
                "User-Agent",
                "protocol",
                "cipher suite",
                "group",
                "resumed",
                "HRR",
                "how it ended",
            )
        )
        body = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            "<title>TLS connections kept by tls_trace</title>"
            "<style>body{font:15px/1.45 system-ui,sans-serif;margin:2em}"
            "td,th{border:1px solid #c9ccd3;padding:.2em .5em;text-align:left}"
            "table{border-collapse:collapse}</style></head><body>"
            "<h1>TLS connections kept by tls_trace</h1>"
            f"<p>The last {self.keep} TLS connections this server process accepted, newest first. "
            '<a href="/_tls/this">/_tls/this</a> is the page of the connection you are using; '
            '<a href="/_tls/compare">/_tls/compare</a> puts the newest toytls and TLS 1.3 '
            "connections side by side. "
            "These pages reveal the session secrets of every connection listed: a learning "
            "mode, never for a public server.</p>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</body></html>"
        )
        return body.encode("utf-8")


def _e(text: str) -> str:
    return html.escape(printable(text), quote=True)


def _connection_page(kept: KeptConnection) -> bytes:
    facts = kept.handshake_facts()
    title = f"{facts['protocol']} connection #{kept.number} from {kept.peer}, the server's side"
    # HTTP/2 frames are decoded inside the records, as `get --trace-html` does.
    page = render_html(kept, title=title, describe_application_data=Http2Annotator().describe)
    notes = [
        f'<p class="served">Served by tls_trace: <a href="/_tls/">all kept connections</a> · '
        f'<a href="/_tls/{kept.number}.keylog" download="connection-{kept.number}.keylog">'
        "key log (NSS format, for Wireshark)</a>. The response carrying this page is not on "
        "it: the page was drawn before it was sent.</p>"
    ]
    if kept.dropped_records or kept.dropped_events:
        notes.append(
            f'<p class="elided">Kept to bound memory: the first {APPLICATION_BYTES_KEPT} bytes '
            f"of application records; {kept.dropped_records} later application records and "
            f"{kept.dropped_events} other events are not shown.</p>"
        )
    heading_end = page.index("</h1>") + len("</h1>")  # under the page's own heading
    return (page[:heading_end] + "".join(notes) + page[heading_end:]).encode("utf-8")


def _page(request: Request, status: int, content_type: str, body: bytes, now: float) -> Response:
    headers = [
        ("Date", http_date(now)),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        # The page holds secrets: no cache may keep it.
        ("Cache-Control", "no-store"),
    ]
    if not request.keep_alive:
        headers.append(("Connection", "close"))
    return Response(status, headers, None if request.method == "HEAD" else body, request.keep_alive)


def respond_or_page(
    pages: TraceStore | None, trace: object, request: Request, site: SiteSettings, now: float
) -> Response:
    """A session's answer: with `tls_trace on`, /_tls/ is answered before the static router.

    `trace` is the connection's trace (the transport's), noted with the
    request so that the list page can show its User-Agent.  HTTP/1.1 and
    HTTP/2 sessions both answer through here.
    """
    if pages is None:
        return respond(request, site, now)
    kept = trace if isinstance(trace, KeptConnection) else None
    if kept is not None:
        kept.saw_request(request)
    if request.target.startswith(PREFIX):
        return pages.respond(request, kept, now)
    return respond(request, site, now)
