"""The Huffman code of RFC 7541 appendix B, as data: one (code, bit length) per symbol.

Appendix B's code is canonical: within one bit length the codes are
consecutive numbers in symbol order, and the first code of each length
continues from the last code of the shorter one, shifted left.  So the 257
rows of the appendix are fully determined by which symbols have which
length, and that is what this module writes down (`SYMBOLS_BY_LENGTH`);
`CODES` is built from it at import.  tests/http2/test_huffman.py compares
rows with the appendix and the whole code with RFC 7541's examples.

Symbol 256 is EOS: never sent; its leading bits pad the last byte.

What it must never do: decode or encode (hpack.py does), or change a row:
every HTTP/2 peer on earth uses exactly this table.
"""

from __future__ import annotations

EOS = 256


def _characters(text: str) -> tuple[int, ...]:
    return tuple(ord(character) for character in text)


# Bit length -> symbols with a code of that length, in increasing symbol order.
SYMBOLS_BY_LENGTH: dict[int, tuple[int, ...]] = {
    5: _characters("012aceiost"),
    6: _characters(" %-./3456789=A_bdfghlmnpru"),
    7: _characters(":BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz"),
    8: _characters("&*,;XZ"),
    10: _characters('!"()?'),
    11: _characters("'+|"),
    12: _characters("#>"),
    13: (0, *_characters("$@[]~")),
    14: _characters("^}"),
    15: _characters("<`{"),
    19: (92, 195, 208),
    20: (128, 130, 131, 162, 184, 194, 224, 226),
    21: (153, 161, 167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230),
    22: (
        129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170,
        173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232, 233,
    ),
    23: (
        1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157,
        158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239,
    ),
    24: (9, 142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237),
    25: (199, 207, 234, 235),
    26: (192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255),
    27: (
        203, 204, 211, 212, 214, 221, 222, 223, 241, 244,
        245, 246, 247, 248, 250, 251, 252, 253, 254,
    ),
    28: (
        2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21,
        23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220, 249,
    ),
    30: (10, 13, 22, EOS),
}  # fmt: skip


def _canonical_codes() -> tuple[tuple[int, int], ...]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    previous_length = 0
    for length in sorted(SYMBOLS_BY_LENGTH):
        code <<= length - previous_length
        for symbol in SYMBOLS_BY_LENGTH[length]:
            codes[symbol] = (code, length)
            code += 1
        previous_length = length
    return tuple(codes[symbol] for symbol in range(EOS + 1))


# CODES[symbol] = (code, bit length), as the appendix's "code as hex" and "len" columns.
CODES: tuple[tuple[int, int], ...] = _canonical_codes()
EOS_CODE, EOS_LENGTH = CODES[EOS]
