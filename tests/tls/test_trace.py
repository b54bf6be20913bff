"""The terminal diagram of a handshake (tls/trace.py), drawn from real connections' events.

Every trace here comes from real TLS objects talking in memory (trace_support.py):
our TLS 1.3 client and server, Python's ssl on either side, a HelloRetryRequest,
a resumption, a KeyUpdate, toytls.  The tests read the diagram the way a
learner would: are all the messages there, in order, with the arrows pointing
the right way and the values that were really negotiated?
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.tls.conftest import DemoPki
from tests.tls.trace_support import (
    REQUEST,
    grease_client_hello,
    pump,
    python_ssl_client_session,
    python_ssl_server_session,
    resumed_session,
    tls13_client,
    tls13_server,
    tls13_session,
    toy_session,
)
from tls_web_server.tls import pki
from tls_web_server.tls.errors import TLSError
from tls_web_server.tls.tls13.client_authentication import ClientAuthentication, ClientVerifyMode
from tls_web_server.tls.tls13.connection import TLS13Connection
from tls_web_server.tls.tls13.enums import CipherSuite, NamedGroup
from tls_web_server.tls.tls13.tickets import TicketKey
from tls_web_server.tls.toy import ToyTLSClientConnection, ToyTLSServerConnection
from tls_web_server.tls.toy.connection import ToyConnection
from tls_web_server.tls.trace import Trace, render_text, use_color
from tls_web_server.tls.trace_html import render_html

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def arrows(text: str) -> list[tuple[str, str]]:
    """(sender, label) of every arrow in a diagram, top to bottom."""
    found = []
    for line in text.splitlines():
        if match := re.search(r"├── (.+?) ─+►│", line):
            found.append(("client", match.group(1)))
        elif match := re.search(r"│◄─+ (.+?) ──┤", line):
            found.append(("server", match.group(1)))
    return found


def assert_in_order(text: str, *pieces: str) -> None:
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        assert found >= 0, f"{piece!r} missing (or out of order) in:\n{text}"
        position = found + len(piece)


# ---------------------------------------------------------------------------
# TLS 1.3, our client and our server
# ---------------------------------------------------------------------------


def test_client_diagram_has_every_message_in_order_with_its_arrow(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki)
    text = render_text(session.client_trace, color=False)

    assert arrows(text) == [
        ("client", "ClientHello"),
        ("server", "ServerHello"),
        ("server", "ChangeCipherSpec"),
        ("server", "EncryptedExtensions [encrypted]"),
        ("server", "CompressedCertificate [encrypted]"),
        ("server", "CertificateVerify [encrypted]"),
        ("server", "Finished [encrypted]"),
        ("client", "ChangeCipherSpec"),
        ("client", "Finished [encrypted]"),
        ("client", "application data [encrypted]"),
        ("server", "application data [encrypted]"),
        ("client", "Alert close_notify [encrypted]"),
    ]


def test_server_diagram_shows_its_flight_and_the_tickets(ecdsa_pki: DemoPki):
    ticket_key = TicketKey.generate(os.urandom)
    session = tls13_session(ecdsa_pki, server_settings={"ticket_key": ticket_key})
    labels = arrows(render_text(session.server_trace, color=False))

    assert labels[:7] == [
        ("client", "ClientHello"),
        ("server", "ServerHello"),
        ("server", "ChangeCipherSpec"),
        ("server", "EncryptedExtensions [encrypted]"),
        ("server", "CompressedCertificate [encrypted]"),
        ("server", "CertificateVerify [encrypted]"),
        ("server", "Finished [encrypted]"),
    ]
    assert labels[7:] == [
        ("client", "ChangeCipherSpec"),
        ("client", "Finished [encrypted]"),
        ("server", "NewSessionTicket [encrypted]"),
        ("server", "NewSessionTicket [encrypted]"),
        ("client", "application data [encrypted]"),
        ("server", "application data [encrypted]"),
        ("client", "Alert close_notify [encrypted]"),
    ]


@pytest.mark.parametrize("suite", list(CipherSuite), ids=lambda suite: suite.name)
def test_negotiated_values_appear_under_their_messages(ecdsa_pki: DemoPki, suite: CipherSuite):
    session = tls13_session(ecdsa_pki, client_settings={"cipher_suites": (suite,)})
    text = render_text(session.client_trace, color=False)
    negotiated = session.client.negotiated

    assert_in_order(
        text,
        "ClientHello",
        "versions offered: TLS 1.3",
        f"cipher suites: {suite.name}",
        "groups: X25519MLKEM768, SecP256r1MLKEM768, x25519, secp256r1, SecP384r1MLKEM1024,",
        "key shares: X25519MLKEM768 ",
        "= ML-KEM-768 encapsulation key (1184",
        "x25519 public key (32 bytes), x25519 ",
        "SNI: localhost",
        "ALPN: http/1.1",
        "signature algorithms: ecdsa-p256, ecdsa-p384, pss-sha256",
        "ServerHello",
        "version chosen: TLS 1.3",
        f"cipher suite: {negotiated.cipher_suite}",
        f"key share: {negotiated.group} ",
        "= ML-KEM-768 ciphertext (1088 bytes) +",
        "derive shared_secret = ",
        "shared_secret = ML-KEM-768 secret (32 bytes) || x25519 secret (32 bytes)",
        "EncryptedExtensions",
        "ALPN: http/1.1",
        "CompressedCertificate [encrypted]",
        "algorithm: brotli, ",
        "decompressed, a Certificate:",
        "chain: 2 certificate(s), leaf first",
        "✔ verified certificate chain, leaf first:",
        "CN=localhost",
        "← CN=tls-web-server demo intermediate CA",
        "CertificateVerify",
        f"signature scheme: {negotiated.signature_scheme}",
        "✔ verified CertificateVerify",
        "GET /index.html HTTP/1.1",
        "HTTP/1.1 200 OK (headers, then 14 body bytes here)",
    )


@pytest.mark.parametrize("group", ["SecP256r1MLKEM768", "SecP384r1MLKEM1024"])
def test_the_nist_hybrids_show_their_ecdh_part_first(ecdsa_pki: DemoPki, group: str):
    settings = {"groups": (NamedGroup[group],), "key_share_groups": (NamedGroup[group],)}
    session = tls13_session(ecdsa_pki, client_settings=settings)
    text = render_text(session.client_trace, color=False)
    curve, mlkem, point, secret = {
        "SecP256r1MLKEM768": ("secp256r1", "ML-KEM-768", 65, 32),
        "SecP384r1MLKEM1024": ("secp384r1", "ML-KEM-1024", 97, 48),
    }[group]
    assert_in_order(
        text,
        f"key shares: {group} ",
        f"= {curve} public key ({point} bytes) +",
        f"{mlkem} encapsulation key (",
        f"key share: {group} ",
        f"= {curve} public key ({point} bytes) +",
        f"{mlkem} ciphertext (",
        f"shared_secret = {curve} secret ({secret} bytes) || {mlkem} secret (32 bytes)",
    )


def test_a_classical_handshake_shows_plain_shares_and_an_uncompressed_certificate(
    ecdsa_pki: DemoPki,
):
    session = tls13_session(
        ecdsa_pki,
        client_settings={"key_share_groups": (NamedGroup.x25519,), "certificate_compression": ()},
    )
    text = render_text(session.client_trace, color=False)
    assert "ML-KEM" not in text and "CompressedCertificate" not in text
    assert_in_order(text, "key shares: x25519 ", "key share: x25519 ", "Certificate [encrypted]")


def test_secrets_appear_where_derived_shortened_on_the_deriving_side(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        text = render_text(trace, color=False, width=100)
        secrets = [e for e in trace.events if e["kind"] == "secret"]
        assert {e["name"] for e in secrets} >= {
            "client_handshake_traffic_secret",
            "server_handshake_traffic_secret",
            "client_application_traffic_secret_0",
            "server_application_traffic_secret_0",
        }
        for event in secrets:
            value = event["value"]
            assert value.hex() not in text  # never in full
            line = next(line for line in text.splitlines() if value[:6].hex() in line)
            assert f"derive {event['name']} = {value[:6].hex()}…" in line
            column = line.index("derive")
            # Client notes hug the left lifeline, server notes the right one.
            assert (column < 10) == (trace.role == "client")


def test_handshake_secrets_come_between_server_hello_and_encrypted_extensions(
    ecdsa_pki: DemoPki,
):
    text = render_text(tls13_session(ecdsa_pki).client_trace, color=False)
    assert_in_order(
        text,
        "ServerHello",
        "derive server_handshake_traffic_secret",
        "EncryptedExtensions [encrypted]",
        "Finished [encrypted]",
        "keys from client_handshake_traffic_secret now in use",
        "Finished [encrypted]",
        "derive client_application_traffic_secret_0",
    )


def test_colour_codes_only_when_asked(ecdsa_pki: DemoPki):
    trace = tls13_session(ecdsa_pki).client_trace
    plain = render_text(trace, color=False)
    coloured = render_text(trace, color=True)
    assert "\x1b" not in plain
    assert "\x1b[36m" in coloured and "\x1b[35m" in coloured  # client and server arrows
    assert ANSI.sub("", coloured) == plain


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_no_line_is_wider_than_asked(ecdsa_pki: DemoPki, width: int):
    session = tls13_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        lines = render_text(trace, color=False, width=width).splitlines()
        assert max(len(line) for line in lines) <= width
        assert len(arrows("\n".join(lines))) >= 10


def test_notes_appear_where_they_were_added(ecdsa_pki: DemoPki):
    trace = Trace("client")
    server = tls13_server(ecdsa_pki, None)
    client = tls13_client(ecdsa_pki, trace)
    pump(client, server)
    trace.add_note("handshake done, now HTTP")
    server.feed_wire_data(client.protect_application_data(REQUEST))
    trace.add_note("GET /index.html -> 200 OK")
    text = render_text(trace, color=False)
    assert_in_order(
        text, "Finished [encrypted]", "▸ handshake done", "application data", "▸ GET /index.html"
    )


def test_key_update_is_drawn_with_the_next_generation_of_keys(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki, exchange=False)
    session.client.request_key_update()
    pump(session.client, session.server)
    text = render_text(session.client_trace, color=False)
    assert_in_order(
        text,
        "KeyUpdate [encrypted]",
        "request_update: update_requested",
        "derive next_write_application_traffic_secret",
        "KeyUpdate [encrypted]",
        "request_update: update_not_requested",
        "derive next_read_application_traffic_secret",
    )


def test_hello_retry_request_is_marked_and_both_hellos_are_drawn(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)})
    for trace in (session.client_trace, session.server_trace):
        text = render_text(trace, color=False)
        # The server also draws the ChangeCipherSpec it sends after the retry; the
        # client's events do not include a received ChangeCipherSpec.
        labels = [arrow for arrow in arrows(text) if arrow[1] != "ChangeCipherSpec"]
        assert labels[:3] == [
            ("client", "ClientHello"),
            ("server", "HelloRetryRequest"),
            ("client", "ClientHello"),
        ]
        assert_in_order(
            text,
            "HelloRetryRequest",
            "!! HelloRetryRequest: no usable key share",
            "group requested: secp384r1",
            "ClientHello",
            "key shares: secp384r1 ",
            "key share: secp384r1 ",
        )
    coloured = render_text(session.client_trace, color=True)
    retry_line = next(line for line in coloured.splitlines() if "HelloRetryRequest ──" in line)
    assert "\x1b[31m" in retry_line  # drawn in the alert colour


def test_resumption_offers_and_accepts_a_ticket_without_certificates(ecdsa_pki: DemoPki):
    first, second = resumed_session(ecdsa_pki)
    assert not first.client.negotiated.resumed and second.client.negotiated.resumed
    text = render_text(second.client_trace, color=False)
    assert_in_order(
        text,
        "ClientHello",
        "PSK modes: psk_dhe_ke",
        "resumption: 1 ticket(s) offered, with binders",
        "ServerHello",
        "resumption: ticket 0 accepted (no certificate)",
        "Finished [encrypted]",
    )
    assert "Certificate [encrypted]" not in text and "CertificateVerify" not in text
    first_text = render_text(first.client_trace, color=False)
    assert first_text.count("NewSessionTicket [encrypted]") == 2
    assert "ticket lifetime: 7200 s" in first_text


# ---------------------------------------------------------------------------
# Python's ssl module as the peer
# ---------------------------------------------------------------------------


def test_our_client_against_python_ssl(ecdsa_pki: DemoPki, tmp_path: Path):
    trace, server = python_ssl_server_session(ecdsa_pki, tmp_path)
    text = render_text(trace, color=False)
    suite = server.tls.cipher()[0]
    assert [label for _, label in arrows(text)][:7] == [
        "ClientHello",
        "ServerHello",
        "ChangeCipherSpec",
        "EncryptedExtensions [encrypted]",
        "Certificate [encrypted]",
        "CertificateVerify [encrypted]",
        "Finished [encrypted]",
    ]
    assert_in_order(
        text, f"cipher suite: {suite}", "ALPN: http/1.1", "CN=localhost", "HTTP/1.1 200 OK"
    )
    # OpenSSL sends two tickets after our Finished.
    assert "NewSessionTicket [encrypted]" in text


def test_python_ssl_client_against_our_server(ecdsa_pki: DemoPki):
    trace, client = python_ssl_client_session(ecdsa_pki)
    text = render_text(trace, color=False)
    assert_in_order(
        text,
        "ClientHello",
        "versions offered: TLS 1.3, TLS 1.2",
        "SNI: localhost",
        "ALPN: http/1.1",
        "other extensions:",
        "ServerHello",
        f"cipher suite: {client.tls.cipher()[0]}",
        "GET /index.html HTTP/1.1",
    )


# ---------------------------------------------------------------------------
# toytls
# ---------------------------------------------------------------------------


def test_toytls_diagram(ecdsa_pki: DemoPki):
    session = toy_session(ecdsa_pki)
    client_text = render_text(session.client_trace, color=False)
    assert arrows(client_text) == [
        ("client", "ClientHello"),
        ("server", "ServerHello"),
        ("server", "ServerAuth"),
        ("client", "application record #0 [encrypted]"),
        ("server", "application record #0 [encrypted]"),
    ]
    assert_in_order(
        client_text,
        "toytls, as the client saw it",
        "X25519 public key: ",
        "X25519 public key: ",
        "certificates: 2, leaf first",
        "✔ verified certificate chain",
        "CN=localhost",
        "✔ verified ServerAuth signature: ecdsa_secp256r1_sha256",
        "derive shared_secret = ",
        "derive client_write_key = ",
        "derive server_write_key = ",
        "GET /index.html HTTP/1.1",
        "HTTP/1.1 200 OK",
    )
    server_text = render_text(session.server_trace, color=False)
    assert arrows(server_text) == arrows(client_text)
    assert "(ecdsa_secp256r1_sha256)" in server_text  # the scheme the server signed with


# ---------------------------------------------------------------------------
# peers that send odd things
# ---------------------------------------------------------------------------


def test_grease_values_are_shown_as_hex(ecdsa_pki: DemoPki):
    trace = Trace("server")
    server = tls13_server(ecdsa_pki, trace)
    server.feed_wire_data(grease_client_hello())
    assert server.pop_pending_wire_data()  # the server answered
    text = render_text(trace, color=False)
    assert_in_order(
        text,
        "versions offered: GREASE 0x2a2a, TLS 1.3",
        "cipher suites: GREASE 0x0a0a, TLS_AES_128_GCM_SHA256",
        "groups: GREASE 0x3a3a, x25519",
        "key shares: GREASE 0x3a3a 00, x25519 ",
        "other extensions: GREASE 0x1a1a, GREASE 0x4a4a",
        "ServerHello",
    )


def test_a_hostile_server_name_cannot_drive_the_terminal(ecdsa_pki: DemoPki):
    trace = Trace("server")
    server = tls13_server(ecdsa_pki, trace)
    server.feed_wire_data(grease_client_hello("evil\x1b]0;owned\x07\x1b[2J.example"))
    text = render_text(trace, color=False)
    assert "\x1b" not in text and "\x07" not in text
    assert "SNI: evil\\x1b]0;owned\\x07\\x1b[2J.example" in text


def test_events_that_make_no_sense_are_drawn_not_raised():
    trace = Trace("client")
    trace({"kind": "message", "protocol": "TLSv1.3", "direction": "received", "name": "Finished"})
    tls13 = {"protocol": "TLSv1.3", "kind": "message"}
    trace({**tls13, "direction": "sent", "raw": b"\x01\x00\x00\x05abc"})  # cut short
    trace({**tls13, "direction": "received", "raw": b"\x02\x00\x00\x01\xff"})  # no ServerHello
    trace({**tls13, "kind": "record", "direction": "received", "content_type": "alert"})
    trace({"kind": "message", "protocol": "toytls", "name": "ServerAuth", "fields": "?"})
    trace({"kind": "secret"})
    trace({"kind": "mystery", "protocol": "TLSv1.3"})
    trace({})
    text = render_text(trace, color=True)
    render_html(trace, title="nonsense")  # must not raise either
    assert "does not decode" in text
    assert "do not form one handshake message" in text
    assert "Alert (malformed)" in text
    assert "(event mystery)" in text


def test_a_failed_handshake_shows_the_alert_that_ended_it(ecdsa_pki: DemoPki, demo_pki_factory):
    stranger = demo_pki_factory("ed25519")  # a PKI whose root the server's chain is not under
    trace = Trace("client")
    server = tls13_server(ecdsa_pki, None)
    client = tls13_client(ecdsa_pki, trace, trusted_roots=stranger.roots)
    with pytest.raises(TLSError) as failure:
        pump(client, server)
    text = render_text(trace, color=False)
    alert = failure.value.alert
    assert alert is not None
    assert_in_order(text, "Certificate [encrypted]", f"Alert {alert.name}", "level: fatal")
    assert "✔ verified certificate chain" not in text
    assert "\x1b[31m" in next(
        line for line in render_text(trace, color=True).splitlines() if alert.name in line
    )


def test_trace_role_must_be_client_or_server():
    with pytest.raises(ValueError, match="role"):
        Trace("middlebox")


# ---------------------------------------------------------------------------
# colour decision, and no cost without an observer
# ---------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(
    ("tty", "environment", "expected"),
    [
        (True, {"TERM": "xterm-256color"}, True),
        (False, {"TERM": "xterm-256color"}, False),
        (True, {"TERM": "dumb"}, False),
        (True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
        (True, {"TERM": "xterm", "NO_COLOR": ""}, True),  # no-color.org: empty means unset
    ],
)
def test_use_color(tty: bool, environment: dict[str, str], expected: bool):
    assert use_color(FakeTerminal(tty), environment) is expected


def test_use_color_on_a_closed_or_plain_stream():
    closed = FakeTerminal(True)
    closed.close()
    assert use_color(io.StringIO(), {}) is False
    assert use_color(object(), {}) is False  # type: ignore[arg-type]


def test_without_an_observer_no_event_is_built(ecdsa_pki: DemoPki, monkeypatch: pytest.MonkeyPatch):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an event was built although nobody observes")

    monkeypatch.setattr(Trace, "__call__", refuse)
    monkeypatch.setattr(Trace, "add_note", refuse)
    monkeypatch.setattr(TLS13Connection, "observe", refuse)
    monkeypatch.setattr(ToyConnection, "_observe", refuse)

    server = tls13_server(ecdsa_pki, None)
    client = tls13_client(ecdsa_pki, None)
    pump(client, server)
    server.feed_wire_data(client.protect_application_data(REQUEST))
    assert server.read_plaintext() == REQUEST
    client.request_key_update()
    client.close()
    pump(client, server)
    assert server.peer_closed

    toy_server = ToyTLSServerConnection(ecdsa_pki.credentials, random_bytes=os.urandom)
    toy_client = ToyTLSClientConnection(
        "localhost", ecdsa_pki.roots, random_bytes=os.urandom, now=ecdsa_pki.now
    )
    pump(toy_client, toy_server)
    toy_server.feed_wire_data(toy_client.protect_application_data(REQUEST))
    assert toy_server.read_plaintext() == REQUEST

    # The guard is real: with an observer, the patched code is reached.
    with pytest.raises(AssertionError, match="nobody observes"):
        tls13_client(ecdsa_pki, Trace("client"))


# ---------------------------------------------------------------------------
# mutual TLS: CertificateRequest and the client's Certificate and CertificateVerify
# ---------------------------------------------------------------------------


def test_both_diagrams_draw_the_client_certificate(ecdsa_pki: DemoPki, tmp_path: Path) -> None:
    pki.issue_client_certificate(
        ecdsa_pki.files.intermediate_cert,
        ecdsa_pki.files.intermediate_key,
        tmp_path / "alice.pem",
        tmp_path / "alice_key.pem",
        "alice",
        now=ecdsa_pki.now,
    )
    alice = pki.load_server_credentials(tmp_path / "alice.pem", tmp_path / "alice_key.pem")
    authentication = ClientAuthentication(
        ClientVerifyMode.ON,
        ecdsa_pki.roots,
        authority_names=pki.certificate_subjects_der(ecdsa_pki.roots),
    )
    session = tls13_session(
        ecdsa_pki,
        client_settings={"client_credentials": alice},
        server_settings={"client_authentication": authentication},
    )
    root = pki.describe_subject(ecdsa_pki.roots[0])
    for trace in (session.client_trace, session.server_trace):
        text = render_text(trace, color=False)
        assert arrows(text)[:10] == [
            ("client", "ClientHello"),
            ("server", "ServerHello"),
            ("server", "ChangeCipherSpec"),
            ("server", "EncryptedExtensions [encrypted]"),
            ("server", "CertificateRequest [encrypted]"),
            ("server", "CompressedCertificate [encrypted]"),
            ("server", "CertificateVerify [encrypted]"),
            ("server", "Finished [encrypted]"),
            ("client", "ChangeCipherSpec"),
            ("client", "Certificate [encrypted]"),
        ]
        assert arrows(text)[10] == ("client", "CertificateVerify [encrypted]")
        flat = " ".join(text.replace("│", " ").split())  # wrapped lines joined again
        assert f"client certificates from: {root}" in flat
        assert "CN=alice,O=tls-web-server demo (issued by" in flat
    server_text = " ".join(render_text(session.server_trace, color=False).replace("│", " ").split())
    assert_in_order(
        server_text,
        "state ExpectClientHello → ExpectCertificate",
        "verified client certificate chain",
        "CN=alice",
        "state ExpectCertificate → ExpectCertificateVerify",
        "verified client CertificateVerify: ecdsa_secp256r1_sha256",
        "state ExpectCertificateVerify → ExpectFinished",
        "state ExpectFinished → Traffic",
    )
