"""The index-based extension decoders given a SpanRecorder: the trace page's view of their reads.

The ClientHello payloads the server decodes on every handshake (extensions.py
`decode_X(data, spans=None)`) are read by index, and the trace page runs those
very decoders with a span_reader.SpanRecorder instead of walking the payloads
itself.  A decoder given `spans` must decide exactly as without (same value,
or the same refusal with the same alert), and what it notes must be a layout:
fields that tile the payload it accepted, vectors with their length prefix
first, and, for a payload it refuses, nothing outside the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mutations import mutations
from tls_web_server.tls.errors import AlertDescription, TLSError
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import ExtensionType, NamedGroup
from tls_web_server.tls.tls13.messages import ClientHello
from tls_web_server.tls.tls13.span_reader import Field, SpanRecorder

CORPUS = Path(__file__).resolve().parents[3] / "fuzz" / "corpus" / "tls13_codec"
CLIENTS = ("chromium", "curl", "openssl-s_client", "ours-clienthello")

DECODERS: dict[int, Callable[..., object]] = {
    ExtensionType.server_name: ext.decode_server_name,
    ExtensionType.supported_versions: ext.decode_client_supported_versions,
    ExtensionType.supported_groups: ext.decode_supported_groups,
    ExtensionType.key_share: ext.decode_client_key_shares,
    ExtensionType.signature_algorithms: ext.decode_signature_algorithms,
    ExtensionType.signature_algorithms_cert: partial(
        ext.decode_signature_algorithms, extension_type=ExtensionType.signature_algorithms_cert
    ),
    ExtensionType.psk_key_exchange_modes: ext.decode_psk_key_exchange_modes,
    ExtensionType.application_layer_protocol_negotiation: ext.decode_application_protocols,
}


def captured_payloads() -> list[tuple[str, int, bytes]]:
    """(client, extension type, payload) for every decoder's payload in the captured hellos."""
    found = []
    for client in CLIENTS:
        hello = ClientHello.decode((CORPUS / f"{client}-client_hello.bin").read_bytes()[1:])
        found += [(client, kind, data) for kind, data in hello.extensions if kind in DECODERS]
    return found


PAYLOADS = captured_payloads()


@dataclass(frozen=True)
class Refused:
    alert: AlertDescription
    reason: str


def outcome(decode: Callable[..., object], data: bytes, **spans: object) -> object:
    """What the decoder returns, or how it refuses (alert and reason)."""
    try:
        return decode(data, **spans)
    except TLSError as error:
        return Refused(error.alert, str(error))


def assert_tiles(fields: list[Field], start: int, end: int) -> None:
    """`fields` cover [start, end) exactly, in order, and each node's children cover it."""
    position = start
    for field in fields:
        assert field.start == position, (field, position)
        position = field.end
        if field.children:
            if field.children[0].name == "length":  # a vector: its prefix, then what it holds
                assert field.children[0].start == field.start
            assert_tiles(field.children, field.start, field.end)
    assert position == end, (fields, end)


def assert_within(fields: list[Field], start: int, end: int) -> None:
    for field in fields:
        assert start <= field.start and field.end <= end and field.length >= 0, field
        assert_within(field.children, field.start, field.end)


def test_the_captured_hellos_carry_every_payload_decoded_by_index() -> None:
    assert {kind for _, kind, _ in PAYLOADS} >= set(DECODERS) - {
        ExtensionType.signature_algorithms_cert
    }


@pytest.mark.parametrize(("client", "kind", "data"), PAYLOADS)
def test_a_recorder_sees_the_same_decoding_and_the_whole_layout(
    client: str, kind: int, data: bytes
) -> None:
    recorder = SpanRecorder(data)
    value = DECODERS[kind](data, spans=recorder)
    assert value == DECODERS[kind](data)
    assert len(recorder.fields) == 1  # each of these payloads is one vector
    assert_tiles(recorder.fields, 0, len(data))


@settings(max_examples=300)
@given(st.data())
def test_a_damaged_payload_is_judged_the_same_with_a_recorder(data: st.DataObject) -> None:
    _, kind, original = data.draw(st.sampled_from(PAYLOADS))
    damaged = data.draw(mutations(original))
    recorder = SpanRecorder(damaged)
    with_spans = outcome(DECODERS[kind], damaged, spans=recorder)
    assert with_spans == outcome(DECODERS[kind], damaged)
    assert_within(recorder.fields, 0, len(damaged))
    if not isinstance(with_spans, Refused):
        assert_tiles(recorder.fields, 0, len(damaged))  # accepted: every byte is a field


def test_a_list_notes_its_elements_unnamed_after_its_prefix() -> None:
    data = ext.encode_supported_groups((0x2A2A, NamedGroup.x25519))
    recorder = SpanRecorder(data)
    ext.decode_supported_groups(data, spans=recorder)
    (node,) = recorder.fields
    assert node.name == "named_group_list"
    assert [(f.name, f.start, f.length, f.value) for f in node.children] == [
        ("length", 0, 2, 4),
        ("", 2, 2, 0x2A2A),
        ("", 4, 2, NamedGroup.x25519),
    ]


def test_a_server_name_cut_short_shows_its_prefix_and_what_is_there() -> None:
    data = ext.encode_server_name("example.com")[:9]
    recorder = SpanRecorder(data)
    with pytest.raises(TLSError):
        ext.decode_server_name(data, spans=recorder)
    (node,) = recorder.fields
    prefix, contents = node.children
    assert prefix.value == 14 and "announces 14 bytes, but only 7 remain" in prefix.note
    assert contents.name == "server_name_list bytes (cut short: 7 of 14)"
    assert contents.value == data[2:]


def test_a_refused_key_share_is_noted_up_to_the_share_refused() -> None:
    shares = (ext.KeyShareEntry(NamedGroup.x25519, bytes(32)),) * 2  # one group twice
    data = ext.encode_client_key_shares(shares)
    recorder = SpanRecorder(data)
    with pytest.raises(TLSError) as refused:
        ext.decode_client_key_shares(data, spans=recorder)
    assert refused.value.alert == AlertDescription.illegal_parameter
    (node,) = recorder.fields
    entries = [field for field in node.children if field.name == "KeyShareEntry"]
    assert len(entries) == 2
    assert [child.name for child in entries[1].children] == ["group", "key_exchange"]
    assert_tiles(recorder.fields, 0, len(data))


def test_protocol_names_and_host_names_carry_their_bytes() -> None:
    data = ext.encode_application_protocols((b"h2", b"http/1.1"))
    recorder = SpanRecorder(data)
    ext.decode_application_protocols(data, spans=recorder)
    names = [field for field in recorder.fields[0].children if field.name == "ProtocolName"]
    assert [field.value for field in names] == [b"h2", b"http/1.1"]
    assert [child.name for child in names[1].children] == ["length", "ProtocolName bytes"]

    data = ext.encode_server_name("localhost")
    recorder = SpanRecorder(data)
    assert ext.decode_server_name(data, spans=recorder) == "localhost"
    (entry,) = [f for f in recorder.fields[0].children if f.name == "ServerName"]
    assert [(child.name, child.value) for child in entry.children] == [
        ("name_type", 0),
        ("host_name", b"localhost"),
    ]
