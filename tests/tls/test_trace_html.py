"""The trace page (tls/trace_html.py) and the byte annotations under it (tls13, toy annotate.py).

The page is parsed back with html.parser into a tree, and checked the way a
learner would rely on it: every record of the connection is there in order
with its sender, the annotated ranges cover every byte of every record
exactly once at every depth (and of every decrypted payload), the bytes shown
are the bytes that travelled, hostile strings stay text, and nothing is
loaded from outside the page.  Headless Chromium opens it for real.  The
annotators are also fed random and mutated bytes: they must still cover
every byte and never raise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tls.conftest import DemoPki, make_demo_pki
from tests.tls.trace_support import (
    grease_client_hello,
    pump,
    python_ssl_client_session,
    python_ssl_server_session,
    resumed_session,
    tls13_server,
    tls13_session,
    toy_session,
)
from tls_web_server.tls.tls13 import annotate as tls13_annotate
from tls_web_server.tls.tls13.enums import ContentType, NamedGroup
from tls_web_server.tls.tls13.record import encode_plaintext_record
from tls_web_server.tls.toy import annotate as toy_annotate
from tls_web_server.tls.trace import Trace
from tls_web_server.tls.trace_html import MAX_HEX_BYTES, render_html

# ---------------------------------------------------------------------------
# the page, parsed back
# ---------------------------------------------------------------------------

VOID_ELEMENTS = {"meta", "br", "hr", "img", "input", "link", "wbr", "source", "area", "col"}


@dataclass
class Node:
    tag: str
    attributes: dict[str, str]
    content: list[Node | str] = field(default_factory=list)  # child elements and text, in order

    @property
    def children(self) -> list[Node]:
        return [item for item in self.content if isinstance(item, Node)]

    @property
    def classes(self) -> set[str]:
        return set(self.attributes.get("class", "").split())

    def text(self) -> str:
        return "".join(item if isinstance(item, str) else item.text() for item in self.content)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, css_class: str) -> list[Node]:
        return [node for node in self.walk() if css_class in node.classes]


class TreeBuilder(HTMLParser):
    """A strict little DOM: every element must be closed by its own end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].content.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            return
        open_tag = self.stack.pop().tag
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"

    def handle_data(self, data: str) -> None:
        self.stack[-1].content.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def child_ranges(node: Node) -> list[Node]:
    """The nearest range elements below `node` (not the ranges inside those)."""
    found = []
    for child in node.children:
        if "range" in child.classes:
            found.append(child)
        else:
            found += child_ranges(child)
    return found


def assert_partition(ranges: list[Node], start: int, length: int) -> None:
    """`ranges` cover [start, start + length) exactly once, in order; so do their children."""
    position = start
    for node in ranges:
        range_start = int(node.attributes["data-start"])
        range_length = int(node.attributes["data-length"])
        assert range_start == position, f"gap or overlap at byte {position}"
        assert range_length > 0
        children = child_ranges(node)
        if children:
            assert_partition(children, range_start, range_length)
        position += range_length
    assert position == start + length, f"bytes {position}..{start + length} not covered"


def leaf_hex(container: Node) -> str:
    """The hex the page shows for the leaves of one byte container, in order."""
    return " ".join(
        node.text().strip()
        for node in container.walk()
        if "hex" in node.classes and node.tag == "code"
    )


def record_events(trace: Trace) -> list[dict[str, Any]]:
    return [event for event in trace.events if event["kind"] == "record"]


def expected_decrypted_length(event: dict[str, Any]) -> int:
    if event["protocol"] == "toytls":
        return len(event["plaintext"])
    return len(event["raw"]) - 5 - 16  # the TLSInnerPlaintext: ciphertext minus the tag


def check_page(trace: Trace) -> Node:
    """Parse the page of `trace` and check every record against its event."""
    root = parse(render_html(trace, title="trace"))
    items = root.find_all("record")
    events = record_events(trace)
    assert len(items) == len(events) > 0
    for item, event in zip(items, events, strict=True):
        assert item.attributes["data-sender"] == trace.sender(event)
        containers = {node.attributes["data-bytes"]: node for node in item.find_all("ranges")}
        wire = containers["wire"]
        assert int(wire.attributes["data-total"]) == len(event["raw"])
        assert_partition(child_ranges(wire), 0, len(event["raw"]))
        if len(event["raw"]) <= MAX_HEX_BYTES:  # longer records are shown elided
            assert leaf_hex(wire) == event["raw"].hex(" ")
        if event["protected"]:
            decrypted = containers["decrypted"]
            total = int(decrypted.attributes["data-total"])
            assert total == expected_decrypted_length(event)
            assert_partition(child_ranges(decrypted), 0, total)
        else:
            assert "decrypted" not in containers
        if "decompressed" in containers:  # a CompressedCertificate's Certificate (RFC 8879)
            inside = containers["decompressed"]
            assert_partition(child_ranges(inside), 0, int(inside.attributes["data-total"]))
    return root


def find_range(root: Node, field_name: str) -> list[Node]:
    return [
        node for node in root.walk() if "range" in node.classes and field_of(node) == field_name
    ]


def field_of(node: Node) -> str:
    return next(n for n in node.walk() if "field" in n.classes).text()


def value_of(node: Node) -> str:
    values = [n for n in node.walk() if "value" in n.classes]
    return values[0].text() if values else ""


# ---------------------------------------------------------------------------
# coverage on real connections
# ---------------------------------------------------------------------------


def test_every_byte_of_a_tls13_conversation_is_annotated_once(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        check_page(trace)


def test_other_key_types(demo_pki_factory):
    session = tls13_session(demo_pki_factory("rsa-2048"))
    check_page(session.client_trace)
    # Our client refuses Ed25519 certificates: the server's page of OpenSSL's
    # connection shows an Ed25519 chain and CertificateVerify.
    server_trace, _client = python_ssl_client_session(demo_pki_factory("ed25519"))
    root = check_page(server_trace)
    assert [value_of(n) for n in find_range(root, "algorithm")] == ["ed25519"]


def test_hello_retry_resumption_and_key_update_pages(ecdsa_pki: DemoPki):
    retry = tls13_session(ecdsa_pki, server_settings={"groups": (NamedGroup.secp384r1,)})
    root = check_page(retry.client_trace)
    assert len(find_range(root, "hello_retry_request")) == 1
    check_page(retry.server_trace)

    _first, second = resumed_session(ecdsa_pki)
    root = check_page(second.client_trace)
    (identities,) = find_range(root, "identities")
    assert find_range(identities, "obfuscated_ticket_age")
    check_page(second.server_trace)

    updated = tls13_session(ecdsa_pki, exchange=False)
    updated.client.request_key_update()
    pump(updated.client, updated.server)
    root = check_page(updated.client_trace)
    assert [value_of(n) for n in find_range(root, "request_update")] == [
        "1 (update_requested)",
        "0 (update_not_requested)",
    ]


def test_python_ssl_on_either_side(ecdsa_pki: DemoPki, tmp_path: Path):
    client_trace, _server = python_ssl_server_session(ecdsa_pki, tmp_path)
    check_page(client_trace)
    server_trace, _client = python_ssl_client_session(ecdsa_pki)
    root = check_page(server_trace)
    # OpenSSL's hello carries extensions we only name: still every byte covered.
    types = [value_of(node) for node in find_range(root, "extension_type")]
    assert "11 (ec_point_formats)" in types and "22 (encrypt_then_mac)" in types


def test_toytls_pages(ecdsa_pki: DemoPki):
    session = toy_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        root = check_page(trace)
        assert [value_of(n) for n in find_range(root, "sequence")] == ["0", "0"]
        assert len(find_range(root, "nonce")) == 2
        assert {field_of(n) for n in root.find_all("range")} >= {
            "record length",
            "field X25519_PUBLIC_KEY",
            "field CERTIFICATE",
            "field SIGNATURE",
            "ciphertext",
            "tag",
            "HTTP start line",
        }


def test_fields_and_explanations_of_a_client_hello(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki)
    root = check_page(session.client_trace)
    first_record = root.find_all("record")[0]
    (version,) = find_range(first_record, "legacy_record_version")
    assert value_of(version) == "0x0303"
    assert "supported_versions" in version.text()
    (host_name,) = find_range(first_record, "host_name")
    assert value_of(host_name) == "localhost"
    suites = [value_of(n) for n in find_range(first_record, "cipher_suite")]
    assert suites == [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ]
    # A protected record: header, ciphertext, 16-byte tag; then the decrypted view.
    flight = root.find_all("record")[3]  # after ClientHello, ServerHello, ChangeCipherSpec
    (tag,) = find_range(flight, "authentication tag")
    assert tag.attributes["data-length"] == "16"
    names = [field_of(n) for n in flight.find_all("range")]
    for message in (
        "encrypted_extensions",
        "compressed_certificate",
        "certificate_verify",
        "finished",
    ):
        assert message in names
    assert "EncryptedExtensions, CompressedCertificate, CertificateVerify, Finished" in (
        flight.text()
    )


def test_the_hybrid_shares_and_the_compressed_certificate_are_explained(ecdsa_pki: DemoPki):
    root = check_page(tls13_session(ecdsa_pki).client_trace)
    hello, server_hello, _ccs, flight = root.find_all("record")[:4]
    # The client's X25519MLKEM768 share: ML-KEM first, then X25519 (draft-ietf-tls-ecdhe-mlkem).
    (encapsulation_key,) = find_range(hello, "ML-KEM-768 encapsulation key")
    assert encapsulation_key.attributes["data-length"] == "1184"
    assert "post-quantum" in encapsulation_key.text()
    x25519_parts = find_range(hello, "x25519 public key")
    assert [part.attributes["data-length"] for part in x25519_parts] == ["32"]
    start = int(encapsulation_key.attributes["data-start"])
    assert int(x25519_parts[0].attributes["data-start"]) == start + 1184
    # The server's share: the ciphertext, then its X25519 key.
    (ciphertext,) = find_range(server_hello, "ML-KEM-768 ciphertext")
    assert ciphertext.attributes["data-length"] == "1088"
    assert [p.attributes["data-length"] for p in find_range(server_hello, "x25519 public key")] == [
        "32"
    ]
    # CompressedCertificate: its fields, and the Certificate it carries, annotated below it.
    (algorithm,) = find_range(flight, "algorithm")[:1]
    assert value_of(algorithm) == "brotli"
    (length,) = find_range(flight, "uncompressed_length")
    containers = {node.attributes["data-bytes"]: node for node in flight.find_all("ranges")}
    inside = containers["decompressed"]
    assert value_of(length) == str(int(inside.attributes["data-total"]) - 4)
    assert [field_of(node) for node in find_range(inside, "certificate")] == ["certificate"]
    assert len(find_range(inside, "cert_data")) == 2
    # The joined secret, explained where it was derived.
    secrets = [node.text() for node in root.walk() if "secret" in node.classes]
    (shared,) = [text for text in secrets if "shared_secret" in text]
    assert "ML-KEM-768 secret (32 bytes) || x25519 secret (32 bytes)" in shared


def test_http_inside_application_data_is_split(ecdsa_pki: DemoPki):
    root = check_page(tls13_session(ecdsa_pki).client_trace)
    lines = [value_of(n) for n in find_range(root, "HTTP start line")]
    assert lines == ["GET /index.html HTTP/1.1", "HTTP/1.1 200 OK"]
    (body,) = find_range(root, "HTTP body")
    assert b"<h1>hello</h1>".hex(" ") in body.text()


def test_secrets_sit_between_the_records_where_they_were_derived(ecdsa_pki: DemoPki):
    root = check_page(tls13_session(ecdsa_pki).client_trace)
    (timeline,) = [node for node in root.walk() if node.attributes.get("id") == "timeline"]
    order = []
    for item in timeline.children:
        if "record" in item.classes:
            order.append(f"record {item.attributes['id']}")
        elif "secret" in item.classes:
            order.append(item.text().split()[1])
    hello_at = order.index("record record-2")  # the ServerHello
    assert order[hello_at + 1 : hello_at + 6] == [
        "shared_secret",
        "early_secret",
        "handshake_secret",
        "server_handshake_traffic_secret",
        "client_handshake_traffic_secret",
    ]
    # Then the server's ChangeCipherSpec and its encrypted flight.
    assert order[hello_at + 6 : hello_at + 8] == ["record record-3", "record record-4"]


def test_a_handshake_message_spanning_two_records_is_followed_across(ecdsa_pki: DemoPki):
    session = tls13_session(ecdsa_pki)
    hello = next(e for e in session.client_trace.events if e["kind"] == "message")["raw"]
    trace = Trace("client")
    for piece in (hello[:100], hello[100:]):
        raw = encode_plaintext_record(ContentType.handshake, piece)
        trace(
            {
                "kind": "record",
                "protocol": "TLSv1.3",
                "direction": "sent",
                "content_type": "handshake",
                "raw": raw,
                "plaintext": piece,
                "protected": False,
            }
        )
    root = check_page(trace)
    first, second = root.find_all("record")
    assert find_range(first, "client_hello (first part, continues later)")
    (rest,) = find_range(second, "handshake message (continued)")
    assert rest.attributes["data-length"] == str(len(hello) - 100)


# ---------------------------------------------------------------------------
# hostile strings, and a page that needs nothing from outside
# ---------------------------------------------------------------------------


def test_hostile_strings_stay_text(ecdsa_pki: DemoPki):
    trace = Trace("server")
    server = tls13_server(ecdsa_pki, trace)
    server.feed_wire_data(grease_client_hello('<b onclick="x()">&amp;</b>'))
    trace(
        {
            "kind": "verified",
            "protocol": "TLSv1.3",
            "name": "certificate chain",
            "detail": "CN=<script>alert(2)</script>,O=x",
        }
    )
    trace.add_note('<img src=x onerror="alert(3)">')
    page = render_html(trace, title="<script>alert(1)</script>")
    check_page(trace)
    root = parse(page)

    assert [node.tag for node in root.walk()].count("script") == 1  # ours
    assert not [node for node in root.walk() if node.tag in ("b", "img")]
    (title,) = [node for node in root.walk() if node.tag == "title"]
    assert title.text() == "<script>alert(1)</script>"
    (host_name,) = find_range(root, "host_name")
    assert value_of(host_name) == '<b onclick="x()">&amp;</b>'
    assert "&lt;script&gt;alert(2)" in page and "&lt;img src=x" in page


def test_the_page_loads_nothing_from_outside(ecdsa_pki: DemoPki):
    page = render_html(tls13_session(ecdsa_pki).client_trace, title="offline")
    root = parse(page)
    for node in root.walk():
        assert node.tag not in ("link", "img", "iframe", "object", "embed")
        assert "src" not in node.attributes
        # A link loads nothing until followed: only <a> may have href (contents, RFC sections).
        assert "href" not in node.attributes or node.tag == "a"
    style = "".join(node.text() for node in root.walk() if node.tag == "style")
    assert "url(" not in style and "@import" not in style and "@font-face" not in style


def test_headless_chromium_renders_the_record_list(ecdsa_pki: DemoPki, tmp_path: Path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed here (.ci/run installs it with apt-get)")
    session = tls13_session(ecdsa_pki)
    page = tmp_path / "trace.html"
    page.write_text(render_html(session.client_trace, title="chromium"), encoding="utf-8")
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = parse(result.stdout)
    records = dom.find_all("record")
    assert len(records) == len(record_events(session.client_trace))
    assert "ClientHello" in records[0].text()
    (status,) = [node for node in dom.walk() if node.attributes.get("id") == "script-status"]
    assert status.text().startswith("Interactive")  # the page's script ran without error


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_page_of_damaged_records_still_covers_every_byte(data: st.DataObject):
    trace = Trace(data.draw(st.sampled_from(["client", "server"])))
    for event in DAMAGE_MATERIAL:
        raw = bytearray(event["raw"])
        for _ in range(data.draw(st.integers(0, 3))):
            position = data.draw(st.integers(0, len(raw) - 1))
            raw[position] = data.draw(st.integers(0, 255))
        raw = raw[: data.draw(st.integers(0, len(raw)))]
        trace({**event, "raw": bytes(raw)})
    root = parse(render_html(trace, title="damaged"))
    for container in root.find_all("ranges"):
        assert_partition(child_ranges(container), 0, int(container.attributes["data-total"]))


# ---------------------------------------------------------------------------
# the annotators on bytes nobody should send
# ---------------------------------------------------------------------------


def assert_spans_partition(spans, start: int, length: int) -> None:
    position = start
    for span in spans:
        assert span.start == position and span.length > 0
        if span.children:
            assert_spans_partition(span.children, span.start, span.length)
        position += span.length
    assert position == start + length


SAMPLE_HELLO_RECORD = grease_client_hello()


def _damage_material() -> list[dict[str, Any]]:
    """The record events of a real TLS 1.3 and a real toytls conversation, made once."""
    with tempfile.TemporaryDirectory() as folder:
        demo = make_demo_pki(Path(folder), "ecdsa-p256")
        sessions = (tls13_session(demo), toy_session(demo))
    return [
        event
        for session in sessions
        for event in session.client_trace.events
        if event["kind"] == "record" and event["raw"]
    ]


DAMAGE_MATERIAL = _damage_material()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_tls13_annotator_covers_any_bytes(raw: bytes, protected: bool):
    assert_spans_partition(tls13_annotate.annotate_record(raw, None, protected), 0, len(raw))
    assert_spans_partition(tls13_annotate.annotate_inner_plaintext(raw), 0, len(raw))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(SAMPLE_HELLO_RECORD) - 1), st.integers(0, 255), st.integers(1, 600))
def test_tls13_annotator_covers_a_damaged_client_hello(position: int, byte: int, keep: int):
    damaged = bytearray(SAMPLE_HELLO_RECORD)
    damaged[position] = byte
    raw = bytes(damaged[:keep])
    spans = tls13_annotate.annotate_record(raw, raw[5:], False)
    assert_spans_partition(spans, 0, len(raw))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_toy_annotator_covers_any_bytes(raw: bytes, protected: bool):
    assert_spans_partition(toy_annotate.annotate_record(raw, None, protected), 0, len(raw))
    assert_spans_partition(toy_annotate.annotate_plaintext(raw), 0, len(raw))


def test_malformed_bytes_are_named_for_what_they_are():
    cut = SAMPLE_HELLO_RECORD[:60]  # the hello cut inside its session id
    leaves = list(_leaves(tls13_annotate.annotate_record(cut, cut[5:], False)))
    assert leaves[-1].field == "legacy_session_id bytes (cut short: 16 of 32)"
    # One byte too many after the extensions, with every length adjusted to include it.
    message = bytearray(SAMPLE_HELLO_RECORD[5:] + b"\x00")
    message[1:4] = (len(message) - 4).to_bytes(3, "big")
    record = encode_plaintext_record(ContentType.handshake, bytes(message))
    leaves = list(_leaves(tls13_annotate.annotate_record(record, bytes(message), False)))
    assert (leaves[-1].field, leaves[-1].length) == (tls13_annotate.UNPARSED, 1)
    toy_record = b"\x00\x00\x00\x09\x00\x10\x00\x00\x00\x20abc"
    toy_spans = toy_annotate.annotate_record(toy_record, None, False)
    assert list(_leaves(toy_spans))[-1].field == "value"
    length = toy_spans[1].children[0].children[1]
    assert (length.start, length.length) == (6, 4)  # tag uint16, then length uint32
    assert "uint32: 32 bytes of value follow, only 3 remain" in length.explanation


def _leaves(spans):
    for span in spans:
        if span.children:
            yield from _leaves(span.children)
        else:
            yield span
