"""server/transport.py with a scripted TLS object: what reaches the wire and the session.

No sockets here: the fakes record what the transport asks of them, so each
rule of the transport is checked on its own.
"""

from __future__ import annotations

from enum import Enum

from tls_web_server.config import ListenProtocol
from tls_web_server.http.parser import HttpLimits
from tls_web_server.http.router import LocationSettings, SiteSettings, VirtualHosts
from tls_web_server.server.settings import ConnectionSettings, ListenerSpec, Timeout
from tls_web_server.server.transport import TlsTransport
from tls_web_server.tls.api import Negotiated
from tls_web_server.tls.errors import TLSError


class FakeConnection:
    def __init__(self) -> None:
        self.peer = "192.0.2.1"
        self.written: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.timeouts: list[Enum] = []
        self.output_size = 0

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def set_timeout(self, seconds: float, reason: Enum) -> None:
        self.timeouts.append(reason)


class ScriptedTLS:
    """Plays a TLS object: `feed_wire_data` follows what each test scripts."""

    def __init__(self) -> None:
        self.is_established = False
        self.peer_closed = False
        self.negotiated: Negotiated | None = None
        self.pending = b""
        self.plaintext = b""
        self.fail_with: TLSError | None = None

    def feed_wire_data(self, data: bytes) -> None:
        if self.fail_with is not None:
            self.pending += b"<alert>"
            raise self.fail_with
        if data == b"<finished>":
            self.is_established = True
            self.negotiated = Negotiated(
                protocol="test", cipher_suite="-", group="-", alpn="http/1.1"
            )
            self.pending += b"<ticket>"
        elif data == b"<close_notify>":
            self.peer_closed = True
        else:
            self.plaintext += data.removeprefix(b"<record>")

    def pop_pending_wire_data(self) -> bytes:
        pending, self.pending = self.pending, b""
        return pending

    def read_plaintext(self) -> bytes:
        plaintext, self.plaintext = self.plaintext, b""
        return plaintext

    def protect_application_data(self, data: bytes) -> bytes:
        return b"<record>" + data

    def close(self) -> None:
        self.pending += b"<close_notify>"


class RecordingSession:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    def data_received(self, data: bytes) -> None:
        self.events.append(f"data {data.decode()}")

    def eof_received(self) -> None:
        self.events.append("eof")

    def output_drained(self) -> None:
        self.events.append("drained")

    def timed_out(self, reason: Enum) -> None:
        self.events.append(f"timed out {reason}")

    def stop_gracefully(self) -> None:
        self.events.append("stop")

    def connection_lost(self) -> None:
        self.events.append("lost")


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, level: str, message: str, *, peer: str | None = None) -> None:
        self.lines.append(message)


def make_transport(events: list[str], alpn_seen: list[str | None] | None = None):
    site = SiteSettings(("localhost",), (LocationSettings("/", "/nonexistent"),))
    log = RecordingLog()
    spec = ListenerSpec(
        address="127.0.0.1",
        port=0,
        protocol=ListenProtocol.SSL,
        virtual_hosts=VirtualHosts([site], site),
        default_site=site,
        settings=ConnectionSettings(75.0, 100, 60.0, 60.0, 10.0, 60.0, HttpLimits()),
        access_logs={site: None},
        error_log=log,  # type: ignore[arg-type]  # a recording stand-in
    )

    def new_session(transport, alpn):
        if alpn_seen is not None:
            alpn_seen.append(alpn)
        return RecordingSession(events)

    connection, tls = FakeConnection(), ScriptedTLS()
    transport = TlsTransport(connection, tls, spec, new_session)  # type: ignore[arg-type]
    return transport, connection, tls, log


def test_the_handshake_runs_on_its_own_deadline_and_the_session_starts_at_its_end():
    events: list[str] = []
    alpn_seen: list[str | None] = []
    transport, connection, _, _ = make_transport(events, alpn_seen)
    assert connection.timeouts == [Timeout.SSL_HANDSHAKE]
    transport.output_drained()  # nothing to tell before there is a session
    assert transport.session is None and events == []
    transport.data_received(b"<finished>")
    assert alpn_seen == ["http/1.1"]
    assert connection.written == [b"<ticket>"]
    transport.data_received(b"<record>GET /")
    assert events == ["data GET /"]


def test_close_notify_and_a_later_fin_are_one_end_of_input_for_the_session():
    events: list[str] = []
    transport, *_ = make_transport(events)
    transport.data_received(b"<finished>")
    transport.data_received(b"<close_notify>")
    transport.eof_received()
    assert events == ["eof"]


def test_the_session_writes_plaintext_and_records_leave():
    events: list[str] = []
    transport, connection, _, _ = make_transport(events)
    transport.data_received(b"<finished>")
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert connection.written[-1] == b"<record>HTTP/1.1 200 OK\r\n\r\n"
    transport.close()
    assert connection.written[-1] == b"<close_notify>" and connection.closed


def test_a_tls_failure_sends_the_alert_and_nothing_after_it():
    events: list[str] = []
    transport, connection, tls, log = make_transport(events)
    transport.data_received(b"<finished>")
    tls.fail_with = TLSError("bad record")
    transport.data_received(b"garbage")
    assert connection.written[-1] == b"<alert>" and connection.closed
    assert any("TLS: bad record" in line for line in log.lines)
    transport.eof_received()
    transport.timed_out(Timeout.KEEPALIVE)
    transport.output_drained()
    assert connection.written[-1] == b"<alert>"  # no close_notify after a fatal alert
    assert events == []  # the session hears nothing more...
    transport.connection_lost()
    assert events == ["lost"]  # ...but that the connection is gone


def test_a_handshake_that_does_not_end_in_time_is_logged_and_closed():
    events: list[str] = []
    transport, connection, _, log = make_transport(events)
    transport.timed_out(Timeout.SSL_HANDSHAKE)
    assert log.lines == ["client timed out (ssl_handshake_timeout)"]
    assert connection.written == [b"<close_notify>"] and connection.closed


def test_a_client_that_stops_reading_mid_handshake_is_cut_off():
    events: list[str] = []
    transport, connection, _, _ = make_transport(events)
    connection.output_size = 1000
    transport.timed_out(Timeout.SEND)
    assert connection.aborted and not connection.closed
