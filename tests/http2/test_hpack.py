"""HPACK against RFC 7541: appendix C byte for byte, both directions, and every decoding failure."""

from __future__ import annotations

import hpack as hyper_hpack  # python-hyper's HPACK, installed with h2: an independent oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls_web_server.http2.errors import ConnectionFailure, ErrorCode
from tls_web_server.http2.hpack import (
    STATIC_TABLE,
    Decoder,
    DynamicTable,
    Encoder,
    FieldRepresentation,
    FieldSectionTooLarge,
    decode_integer,
    encode_integer,
    huffman_decode,
    huffman_encode,
)
from tls_web_server.http2.huffman_table import CODES, EOS


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


# -- C.1: integers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "prefix", "encoded"),
    [(10, 5, "0a"), (1337, 5, "1f9a0a"), (42, 8, "2a")],  # C.1.1, C.1.2, C.1.3
)
def test_integer_examples_of_c1(value: int, prefix: int, encoded: str) -> None:
    assert encode_integer(value, prefix) == bytes.fromhex(encoded)
    assert decode_integer(bytes.fromhex(encoded), 0, prefix) == (value, len(encoded) // 2)


def test_an_overlong_or_cut_integer_is_a_compression_error() -> None:
    for data in (b"\x1f\xff\xff\xff\xff\xff\x0f", b"\x1f\x9a"):
        with pytest.raises(ConnectionFailure) as caught:
            decode_integer(data, 0, 5)
        assert caught.value.code == ErrorCode.COMPRESSION_ERROR


# -- C.2: one representation each --------------------------------------------


def test_c2_1_literal_with_indexing() -> None:
    block = hexbytes("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
    decoder = Decoder()
    assert decoder.decode(block) == [("custom-key", "custom-header")]
    assert decoder.table.size == 55
    assert list(decoder.table.entries) == [("custom-key", "custom-header")]


def test_c2_2_literal_without_indexing() -> None:
    decoder = Decoder()
    block = hexbytes("040c 2f73 616d 706c 652f 7061 7468")
    assert decoder.decode(block) == [(":path", "/sample/path")]
    assert len(decoder.table) == 0


def test_c2_3_never_indexed() -> None:
    decoder = Decoder()
    block = hexbytes("1008 7061 7373 776f 7264 0673 6563 7265 74")
    representations: list[FieldRepresentation] = []
    assert decoder.decode(block, representations) == [("password", "secret")]
    assert len(decoder.table) == 0
    assert representations[0].kind == "never indexed" and representations[0].end == len(block)
    # Our encoder never indexes credentials either (section 7.1.3).
    assert Encoder(huffman=False).encode([("authorization", "secret")])[0] == 0x10 | 0x0F


def test_c2_4_indexed() -> None:
    assert Decoder().decode(b"\x82") == [(":method", "GET")]


# -- C.3 to C.6: sequences sharing a table -----------------------------------

REQUESTS = [
    [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")],
    [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ],
    [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ],
]
C3_BLOCKS = [
    hexbytes("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
    hexbytes("8286 84be 5808 6e6f 2d63 6163 6865"),
    hexbytes("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"),
]
C4_BLOCKS = [
    hexbytes("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
    hexbytes("8286 84be 5886 a8eb 1064 9cbf"),
    hexbytes("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
]
REQUEST_TABLE_SIZES = [57, 110, 164]

COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
RESPONSES = [
    [
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ],
    [
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ],
    [
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        ("set-cookie", COOKIE),
    ],
]
# C.5 as the appendix lays it out: representation bytes, then the literal text.
C5_BLOCKS = [
    hexbytes("4803") + b"302" + hexbytes("5807") + b"private"
    + hexbytes("611d") + b"Mon, 21 Oct 2013 20:13:21 GMT"
    + hexbytes("6e17") + b"https://www.example.com",
    hexbytes("4803") + b"307" + hexbytes("c1c0bf"),
    hexbytes("88c1 611d") + b"Mon, 21 Oct 2013 20:13:22 GMT"
    + hexbytes("c05a04") + b"gzip" + hexbytes("7738") + COOKIE.encode(),
]  # fmt: skip
C6_BLOCKS = [
    hexbytes(
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
        "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"
    ),
    hexbytes("4883 640e ffc1 c0bf"),
    hexbytes(
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
        "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
        "9587 3160 65c0 03ed 4ee5 b106 3d50 07"
    ),
]
RESPONSE_TABLE_SIZES = [222, 222, 215]
C5_TABLES_AFTER = [
    [
        ("location", "https://www.example.com"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("cache-control", "private"),
        (":status", "302"),
    ],
    [
        (":status", "307"),
        ("location", "https://www.example.com"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("cache-control", "private"),
    ],
    [
        ("set-cookie", COOKIE),
        ("content-encoding", "gzip"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ],
]

SEQUENCES = {
    "C.3": (REQUESTS, C3_BLOCKS, REQUEST_TABLE_SIZES, 4096, False),
    "C.4": (REQUESTS, C4_BLOCKS, REQUEST_TABLE_SIZES, 4096, True),
    "C.5": (RESPONSES, C5_BLOCKS, RESPONSE_TABLE_SIZES, 256, False),
    "C.6": (RESPONSES, C6_BLOCKS, RESPONSE_TABLE_SIZES, 256, True),
}


@pytest.mark.parametrize("section", sorted(SEQUENCES))
def test_appendix_c_sequences_decode(section: str) -> None:
    field_lists, blocks, sizes, table_size, _huffman = SEQUENCES[section]
    decoder = Decoder(max_table_size=table_size)
    decoder.table.resize(table_size)
    for fields, block, size in zip(field_lists, blocks, sizes, strict=True):
        assert decoder.decode(block) == fields
        assert decoder.table.size == size


@pytest.mark.parametrize("section", sorted(SEQUENCES))
def test_appendix_c_sequences_encode_byte_for_byte(section: str) -> None:
    field_lists, blocks, sizes, table_size, huffman = SEQUENCES[section]
    encoder = Encoder(max_table_size=table_size, huffman=huffman)
    for fields, block, size in zip(field_lists, blocks, sizes, strict=True):
        assert encoder.encode(fields).hex(" ") == block.hex(" ")
        assert encoder.table.size == size


def test_c5_evicts_the_oldest_entries() -> None:
    decoder = Decoder(max_table_size=256)
    decoder.table.resize(256)
    for block, table in zip(C5_BLOCKS, C5_TABLES_AFTER, strict=True):
        decoder.decode(block)
        assert list(decoder.table.entries) == table


# -- Huffman (appendix B) ----------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "code", "length"),
    # Rows of appendix B: sym, code as hex, len.
    [
        (0, 0x1FF8, 13),
        (1, 0x7FFFD8, 23),
        (2, 0xFFFFFE2, 28),
        (9, 0xFFFFEA, 24),
        (10, 0x3FFFFFFC, 30),
        (26, 0xFFFFFF6, 28),
        (ord(" "), 0x14, 6),
        (ord("0"), 0x0, 5),
        (ord("a"), 0x3, 5),
        (ord(":"), 0x5C, 7),
        (127, 0xFFFFFFC, 28),
        (255, 0x3FFFFEE, 26),
        (EOS, 0x3FFFFFFF, 30),
    ],
)
def test_huffman_rows_of_appendix_b(symbol: int, code: int, length: int) -> None:
    assert CODES[symbol] == (code, length)


def test_the_huffman_code_is_complete_and_prefix_free() -> None:
    assert len(set(CODES)) == 257
    # Kraft's equality: a complete prefix code, so every bit string decodes.
    assert sum(2 ** (30 - length) for _code, length in CODES) == 2**30


def test_every_byte_codes_as_python_hyper_codes_it() -> None:
    everything = bytes(range(256))
    assert huffman_encode(everything) == hyper_hpack.huffman.HuffmanEncoder(
        hyper_hpack.huffman_constants.REQUEST_CODES,
        hyper_hpack.huffman_constants.REQUEST_CODES_LENGTH,
    ).encode(everything)
    assert huffman_decode(huffman_encode(everything)) == everything


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xff\xff\xff",  # EOS decoded
        huffman_encode(b"www.example.com")[:-1] + b"\xfe",  # padding with a zero bit
        huffman_encode(b"a") + b"\xff",  # eight bits of padding
    ],
)
def test_bad_huffman_is_a_compression_error(data: bytes) -> None:
    with pytest.raises(ConnectionFailure) as caught:
        huffman_decode(data)
    assert caught.value.code == ErrorCode.COMPRESSION_ERROR


# -- decoding failures -------------------------------------------------------


@pytest.mark.parametrize(
    "block",
    [
        b"\x80",  # index 0
        b"\xbe",  # dynamic index 62 into an empty table
        bytes((0x80 | 0x7F, 0x7F)),  # index 254
        b"\x40\x05abc",  # name past the end of the block
        b"\x04\x85\xff",  # Huffman value cut short
        b"\x82\x20",  # size update after a field
        b"\x3f\xe2\x1f",  # size update to 4065 + ... above our setting of 4096
        b"\x40",  # literal without its name
    ],
)
def test_malformed_blocks_are_compression_errors(block: bytes) -> None:
    if block == b"\x3f\xe2\x1f":
        block = encode_integer(4097, 5, 0x20)
    with pytest.raises(ConnectionFailure) as caught:
        Decoder().decode(block)
    assert caught.value.code == ErrorCode.COMPRESSION_ERROR


def test_size_updates_at_the_start_resize_and_evict() -> None:
    decoder = Decoder()
    decoder.decode(C3_BLOCKS[0])
    assert decoder.table.size == 57
    assert decoder.decode(encode_integer(0, 5, 0x20) + encode_integer(100, 5, 0x20) + b"\x82") == [
        (":method", "GET")
    ]
    assert decoder.table.size == 0 and decoder.table.max_size == 100


def test_encoder_announces_a_smaller_table_then_the_final_size() -> None:
    encoder = Encoder()
    encoder.set_max_table_size(0)
    encoder.set_max_table_size(1024)
    block = encoder.encode([(":method", "GET")])
    assert block == encode_integer(0, 5, 0x20) + encode_integer(1024, 5, 0x20) + b"\x82"
    decoder = Decoder()
    assert decoder.decode(block) == [(":method", "GET")]
    assert decoder.table.max_size == 1024


def test_an_entry_larger_than_the_table_empties_it() -> None:
    table = DynamicTable(64)
    table.add("a", "b")
    table.add("x" * 40, "y")
    assert table.size == 0 and len(table) == 0


def test_the_field_section_limit_counts_references_but_keeps_the_table_in_step() -> None:
    decoder = Decoder(max_field_section_size=200)
    big = Encoder(huffman=False).encode([("x-big", "v" * 100)])
    with pytest.raises(FieldSectionTooLarge):
        # The entry (137 bytes) then four references to it: 685 bytes decoded from 5 bytes.
        decoder.decode(big + b"\xbe" * 4)
    # The table still holds what the encoder added, so the next block decodes.
    assert decoder.decode(b"\xbe") == [("x-big", "v" * 100)]


def test_the_static_table_has_61_entries() -> None:
    assert len(STATIC_TABLE) == 61
    assert STATIC_TABLE[0] == (":authority", "") and STATIC_TABLE[60] == ("www-authenticate", "")


# -- round trips --------------------------------------------------------------

field_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=20)
field_values = st.binary(max_size=60).map(lambda raw: raw.decode("latin-1"))
field_lists = st.lists(st.tuples(field_names, field_values), max_size=12)


@given(st.lists(field_lists, min_size=1, max_size=6), st.sampled_from([0, 64, 256, 4096]))
def test_encoded_blocks_decode_to_the_same_fields(blocks, table_size: int) -> None:
    # The decoder's setting stays 4096; the encoder chooses a smaller table and announces it.
    encoder = Encoder()
    encoder.set_max_table_size(table_size)
    decoder = Decoder()
    for fields in blocks:
        assert decoder.decode(encoder.encode(fields)) == fields
    assert decoder.table.entries == encoder.table.entries


@given(st.lists(field_lists, min_size=1, max_size=4))
def test_python_hyper_decodes_what_we_encode_and_we_decode_what_it_encodes(blocks) -> None:
    ours_out, theirs_in = Encoder(), hyper_hpack.Decoder()
    theirs_out, ours_in = hyper_hpack.Encoder(), Decoder()
    for fields in blocks:
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in fields]
        assert theirs_in.decode(ours_out.encode(fields), raw=True) == raw
        assert ours_in.decode(theirs_out.encode(raw)) == fields


@given(st.binary(max_size=200))
def test_huffman_round_trips(data: bytes) -> None:
    assert huffman_decode(huffman_encode(data)) == data


@given(st.binary(max_size=100))
def test_any_block_decodes_or_fails_with_compression_error(block: bytes) -> None:
    try:
        Decoder(max_field_section_size=10_000).decode(block)
    except ConnectionFailure as failure:
        assert failure.code == ErrorCode.COMPRESSION_ERROR
    except FieldSectionTooLarge as too_large:
        assert too_large.size > 10_000


@given(st.binary(max_size=40))
def test_any_huffman_string_that_decodes_is_the_one_encoding_of_its_text(data: bytes) -> None:
    # The code is prefix-free and padding is fixed (ones, under 8 bits): one text, one encoding.
    try:
        text = huffman_decode(data)
    except ConnectionFailure as failure:
        assert failure.code == ErrorCode.COMPRESSION_ERROR
        return
    assert huffman_encode(text) == data
