"""One hypothesis strategy for the codec property tests: a valid encoding, damaged once."""

from __future__ import annotations

from hypothesis import strategies as st

ANY_BYTE = st.integers(0, 255)


@st.composite
def mutations(draw: st.DrawFn, original: bytes, byte_values: st.SearchStrategy[int] = ANY_BYTE):
    """`original` with one byte replaced, inserted or deleted, or cut short; never unchanged.

    `byte_values` draws the inserted or replacing byte: a codec's test may
    favour the bytes that steer its parser into its rules.
    """
    kinds = ["insert"]
    if original:
        kinds += ["replace", "delete", "truncate"]
    kind = draw(st.sampled_from(kinds))
    if kind == "insert":
        position = draw(st.integers(0, len(original)))
        return original[:position] + bytes((draw(byte_values),)) + original[position:]
    position = draw(st.integers(0, len(original) - 1))
    if kind == "replace":
        old = original[position]
        byte = draw(byte_values.filter(lambda value: value != old))
        return original[:position] + bytes((byte,)) + original[position + 1 :]
    if kind == "delete":
        return original[:position] + original[position + 1 :]
    return original[:position]
