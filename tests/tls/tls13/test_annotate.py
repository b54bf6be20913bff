"""A browser's ClientHello, annotated: every extension, group and GREASE value named, none an error.

The hello is the one headless Chromium sent when fuzz/capture_seeds.py
recorded the seed corpus (post-quantum key share, ECH GREASE, ALPS,
certificate compression, an experimental 0xCA34), plus a hand-built one that
adds what Chromium sends only on other connections (padding, a resumption
offer with early data) or what other browsers send (delegated_credential,
record_size_limit, post_handshake_auth, the old ALPS code point, the NIST
hybrid groups, a GREASE ALPN name).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tls_web_server.tls.names import describe
from tls_web_server.tls.span import Span
from tls_web_server.tls.tls13 import annotate
from tls_web_server.tls.tls13 import extensions as ext
from tls_web_server.tls.tls13.enums import (
    CipherSuite,
    ContentType,
    ExtensionType,
    NamedGroup,
    SignatureScheme,
)
from tls_web_server.tls.tls13.extension_registry import UNKNOWN_EXPLANATION
from tls_web_server.tls.tls13.extensions import Extension, OfferedPsks, PskIdentity
from tls_web_server.tls.tls13.messages import ClientHello
from tls_web_server.tls.tls13.record import encode_plaintext_record
from tls_web_server.tls.trace import Trace, message_lines

# The codec harness's seed: one selector byte, then the ClientHello body.
CHROMIUM_SEED = (
    Path(__file__).resolve().parents[3]
    / "fuzz"
    / "corpus"
    / "tls13_codec"
    / "chromium-client_hello.bin"
)
EXPERIMENTAL = 0xCA34  # a code point Chromium 156 tries out; nobody has named it


def chromium_hello() -> ClientHello:
    return ClientHello.decode(CHROMIUM_SEED.read_bytes()[1:])


def browser_hello() -> ClientHello:
    """Chromium's hello with every other extension a 2026 browser may send added."""
    chromium = chromium_hello()
    extra = (
        Extension(
            ExtensionType.application_settings_old, ext.encode_application_protocols((b"h2",))
        ),
        Extension(ExtensionType.delegated_credential, ext.encode_signature_algorithms((0x0403,))),
        Extension(ExtensionType.record_size_limit, ext.encode_record_size_limit(16385)),
        Extension(ExtensionType.post_handshake_auth, b""),
        Extension(
            ExtensionType.application_layer_protocol_negotiation,
            ext.encode_application_protocols((b"\x3a\x3a", b"h2", b"http/1.1")),
        ),
        Extension(
            ExtensionType.supported_groups,
            ext.encode_supported_groups(
                (0x5A5A, NamedGroup.SecP256r1MLKEM768, NamedGroup.SecP384r1MLKEM1024, 29)
            ),
        ),
        Extension(ExtensionType.early_data, b""),
        Extension(ExtensionType.padding, bytes(37)),
        Extension(
            ExtensionType.pre_shared_key,
            ext.encode_offered_psks(OfferedPsks((PskIdentity(b"ticket", 1234),), (bytes(32),))),
        ),
    )
    replaced = {extension.type for extension in extra}
    kept = tuple(e for e in chromium.extensions if e.type not in replaced)
    return ClientHello(
        chromium.legacy_version,
        chromium.random,
        chromium.legacy_session_id,
        chromium.cipher_suites,
        chromium.legacy_compression_methods,
        kept + extra,
    )


def spans_of(hello: ClientHello) -> list[Span]:
    record = encode_plaintext_record(ContentType.handshake, hello.encode())
    return annotate.annotate_record(record, record[5:], False)


def walk(spans: tuple[Span, ...] | list[Span]) -> Iterator[Span]:
    for span in spans:
        yield span
        yield from walk(span.children)


def values(spans: list[Span], field: str) -> list[str]:
    return [span.value for span in walk(spans) if span.field == field]


def extension_spans(spans: list[Span]) -> dict[int, Span]:
    """Each extension's span by type number, read from its extension_type child."""
    found = {}
    for span in walk(spans):
        if span.field.startswith("extension ") and span.children:
            number = int(span.children[0].value.split(" ", 1)[0])
            found[number] = span
    return found


@pytest.mark.parametrize("make_hello", [chromium_hello, browser_hello])
def test_every_extension_of_a_browser_hello_is_named_and_explained(make_hello) -> None:
    hello = make_hello()
    spans = spans_of(hello)
    by_type = extension_spans(spans)
    assert set(by_type) == {extension.type for extension in hello.extensions}
    for number, span in by_type.items():
        name = describe(ExtensionType, number)
        assert span.field == f"extension {name}"
        if number == EXPERIMENTAL:
            assert name == "unknown 0xca34" and span.explanation == UNKNOWN_EXPLANATION
        elif name.startswith("GREASE"):
            assert "RFC 8701" in span.explanation
        else:
            assert not name.startswith("unknown"), number
            assert "does not look inside" not in span.explanation, name
            assert span.explanation != UNKNOWN_EXPLANATION, name


def test_the_chromium_hello_shows_what_chromium_sends() -> None:
    spans = spans_of(chromium_hello())
    names = {span.field for span in walk(spans)}
    for extension in (
        "encrypted_client_hello",
        "application_settings",
        "compress_certificate",
        "signed_certificate_timestamp",
        "status_request",
        "extended_master_secret",
        "renegotiation_info",
        "session_ticket",
        "ec_point_formats",
    ):
        assert f"extension {extension}" in names
    assert "X25519MLKEM768" in values(spans, "group")
    assert [value for value in values(spans, "group") if value.startswith("GREASE")]
    assert values(spans, "cipher_suite")[0].startswith("GREASE 0x")
    assert values(spans, "version")[0].startswith("GREASE 0x")
    assert values(spans, "compression_algorithm") == ["brotli"]
    assert values(spans, "kdf_id") == ["HKDF-SHA256"]  # the GREASE ECH's shape
    assert values(spans, "aead_id")
    assert "mldsa65" in values(spans, "scheme")  # post-quantum signatures, named
    assert "h2" in values(spans, "ProtocolName")  # ALPS lists h2 as well
    # Suites from TLS 1.2 are shown with their number, never an error.
    assert "unknown 0xc02b" in values(spans, "cipher_suite")
    # Every byte is still explained once at each depth, with nothing left unparsed.
    assert annotate.UNPARSED not in {span.field for span in walk(spans)}


def test_the_hand_built_hello_names_the_rest() -> None:
    spans = spans_of(browser_hello())
    groups = values(spans, "group")
    assert "SecP256r1MLKEM768" in groups and "SecP384r1MLKEM1024" in groups
    assert "GREASE 0x3a3a" in values(spans, "ProtocolName")
    assert values(spans, "record_size_limit") == ["16385"]
    assert values(spans, "padding") == ["37 bytes"]
    assert describe(SignatureScheme, 0x0403) in values(spans, "scheme")
    assert values(spans, "obfuscated_ticket_age") == ["1234"]
    assert annotate.UNPARSED not in {span.field for span in walk(spans)}


def test_the_terminal_trace_names_them_too() -> None:
    hello = browser_hello()
    trace = Trace("server")
    raw = hello.encode()
    event = {"kind": "message", "protocol": "TLSv1.3", "direction": "received", "raw": raw}
    trace(event)
    lines = message_lines(event)
    text = "\n".join(lines)
    assert "X25519MLKEM768" in text and "SecP384r1MLKEM1024" in text
    assert f"GREASE 0x{hello.cipher_suites[0]:04x}" in text
    assert describe(CipherSuite, 0x1301) in text
    (others,) = [line for line in lines if line.startswith("other extensions: ")]
    for name in (
        "encrypted_client_hello",
        "application_settings",
        "application_settings_old",
        "compress_certificate",
        "delegated_credential",
        "record_size_limit",
        "post_handshake_auth",
        "padding",
        "unknown 0xca34",
    ):
        assert name in others
