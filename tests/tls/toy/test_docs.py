"""docs/toytls.md is checked against the code: every byte dump and both state tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tls_web_server.tls import crypto
from tls_web_server.tls.toy.client import CLIENT_TRANSITIONS
from tls_web_server.tls.toy.record import (
    CLIENT_WRITE_KEY_INFO,
    SERVER_WRITE_KEY_INFO,
    RecordSealer,
    derive_session_keys,
)
from tls_web_server.tls.toy.server import SERVER_TRANSITIONS
from tls_web_server.tls.toy.wire import (
    MAX_RECORD_LENGTH,
    MAX_RECORD_LENGTH_FROM_SERVER,
    ClientHello,
    ServerAuth,
    ServerHello,
    frame_record,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "toytls.md"
DUMP_LINE = re.compile(r"^([0-9a-f]{4}) {4}((?:[0-9a-f]{2} )*[0-9a-f]{2})(?: |$)")

# The fixed "random" values the page announces.
CLIENT_PRIVATE_KEY = bytes(range(0x00, 0x20))
SERVER_PRIVATE_KEY = bytes(range(0x20, 0x40))
RECORD_NONCE = bytes(range(0x40, 0x4C))
REQUEST = b"GET / HTTP/1.1\r\n\r\n"


def fixed(*values: bytes) -> Callable[[int], bytes]:
    """A random source that returns the given values, in order, each exactly once."""
    queue = list(values)

    def random_bytes(count: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == count
        return value

    return random_bytes


def code_block_after(marker: str) -> list[str]:
    text = DOC.read_text()
    start = text.index(f"<!-- dump: {marker} -->")
    opening = text.index("```text\n", start) + len("```text\n")
    return text[opening : text.index("```", opening)].splitlines()


def dumped_bytes(marker: str) -> bytes:
    """The bytes of a dump block, checking that its offsets run without a gap."""
    data = bytearray()
    for line in code_block_after(marker)[1:]:
        match = DUMP_LINE.match(line)
        assert match, f"unreadable dump line in {marker}: {line!r}"
        assert int(match.group(1), 16) == len(data), f"offset gap in {marker}: {line!r}"
        data += bytes.fromhex(match.group(2))
    return bytes(data)


def example_values() -> dict[str, bytes]:
    client = crypto.EphemeralKey("x25519", fixed(CLIENT_PRIVATE_KEY))
    server = crypto.EphemeralKey("x25519", fixed(SERVER_PRIVATE_KEY))
    shared_secret = client.exchange(server.public_bytes)
    assert shared_secret == server.exchange(client.public_bytes)
    keys = derive_session_keys(shared_secret)
    sealer = RecordSealer(keys.client_write_key, fixed(RECORD_NONCE))
    return {
        "client_hello": frame_record(ClientHello(client.public_bytes).encode()),
        "server_hello": frame_record(ServerHello(server.public_bytes).encode()),
        "shared_secret": shared_secret,
        "client_write_key": keys.client_write_key,
        "server_write_key": keys.server_write_key,
        "application_record": sealer.seal_record(REQUEST),
    }


@pytest.mark.parametrize("marker", sorted(example_values()))
def test_every_dump_on_the_page_matches_the_code(marker: str) -> None:
    assert dumped_bytes(marker) == example_values()[marker]


def test_server_auth_layout_matches_an_encoding_with_those_sizes() -> None:
    text = DOC.read_text()
    start = text.index("### ServerAuth")
    opening = text.index("```text\n", start) + len("```text\n")
    lines = text[opening : text.index("```", opening)].splitlines()[1:]
    leaf = b"\x30\x82\x02\x25" + bytes(549)
    intermediate = b"\x30\x82\x01\xf9" + bytes(505)
    signature = b"\x30\x45\x02\x21" + bytes(67)
    record = frame_record(ServerAuth((leaf, intermediate), signature).encode())
    assert len(lines) == 10
    for line in lines:
        match = DUMP_LINE.match(line)
        assert match, line
        offset = int(match.group(1), 16)
        shown = bytes.fromhex(match.group(2))
        assert record[offset : offset + len(shown)] == shown, line
    assert "to 0x0482" in lines[-1] and len(record) - 1 == 0x0482


def table_rows(heading: str) -> list[tuple[str, ...]]:
    text = DOC.read_text()
    start = text.index(f"\n{heading}:\n")
    rows = []
    for line in text[start:].splitlines()[3:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            rows.append(tuple(cell.strip() for cell in line.strip("|").split("|")))
    return rows


def test_state_tables_are_the_code_transition_tables() -> None:
    assert table_rows("Server")[1:] == list(SERVER_TRANSITIONS)
    assert table_rows("Client")[1:] == list(CLIENT_TRANSITIONS)


def test_the_limits_quoted_are_the_code_limits() -> None:
    text = DOC.read_text()
    assert f"longer than **{MAX_RECORD_LENGTH} bytes (64 KiB)**" in text
    assert f"up to **16 MiB ({MAX_RECORD_LENGTH_FROM_SERVER} bytes)**" in text
    assert "at most 16 KiB (16384 bytes) of plaintext" in text


def test_the_labels_quoted_are_the_code_labels() -> None:
    text = DOC.read_text()
    for label in (CLIENT_WRITE_KEY_INFO, SERVER_WRITE_KEY_INFO):
        assert f'HKDF-Expand(PRK, "{label.decode("ascii")}", 32)' in text
