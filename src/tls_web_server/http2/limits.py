"""The limits an HTTP/2 connection keeps against a peer that abuses it: each named, each explained.

What this module owns: one constant per limit, with the sentence saying what
it stops, and `Http2Limits`, the frozen bundle a connection is built with
(the wiring layer fills it from the config: http2_max_concurrent_streams,
large_client_header_buffers).

What it must never do: enforce anything itself (connection.py and server.py do).
"""

from __future__ import annotations

from dataclasses import dataclass

# SETTINGS_MAX_CONCURRENT_STREAMS we advertise (nginx's http2_max_concurrent_streams
# default): a HEADERS opening one stream more is refused with RST_STREAM
# REFUSED_STREAM (RFC 9113 section 5.1.2), so the client may retry it later.
MAX_CONCURRENT_STREAMS = 128

# The largest decoded field section (names + values + 32 bytes each, RFC 9113
# section 6.5.2) we accept, advertised as SETTINGS_MAX_HEADER_LIST_SIZE; a
# larger request is answered 431 (section 10.5.1).  32 KiB is nginx's
# large_client_header_buffers default (4 buffers of 8k).
MAX_FIELD_SECTION_SIZE = 32_768

# The HPACK dynamic table the peer may fill in our decoder
# (SETTINGS_HEADER_TABLE_SIZE), and the most we use of the one it offers us:
# memory per connection stays at 4 KiB per direction whatever it advertises.
HEADER_TABLE_SIZE = 4096
MAX_ENCODER_TABLE_SIZE = 4096

# A field block arriving as HEADERS + CONTINUATION is buffered until
# END_HEADERS before HPACK can read it.  A peer that never ends it
# (the CONTINUATION flood of 2024) gets GOAWAY ENHANCE_YOUR_CALM once the
# block exceeds this many compressed bytes (Huffman can code one byte in up to
# 30 bits, hence 4x the decoded limit) or this many frames (empty
# CONTINUATION frames cost us a frame each and add nothing).
MAX_HEADER_BLOCK_BYTES = 4 * MAX_FIELD_SECTION_SIZE
MAX_CONTINUATION_FRAMES = 64

# Rapid reset (CVE-2023-44487): a client that opens streams and cancels them
# at once makes us start work it never waits for.  Every stream the peer
# resets before our response finished spends one unit of this allowance and
# every response we complete earns one back (up to the allowance); a peer
# that runs out cancels faster than we serve and gets GOAWAY ENHANCE_YOUR_CALM.
RAPID_RESET_ALLOWANCE = 200

# PING and SETTINGS each make us queue an acknowledgement, and a stream error
# an RST_STREAM.  A peer that causes them without reading our answers grows
# our output buffer (the PING, SETTINGS and reset floods of 2019); this many
# answers queued since the caller last took our bytes is a flood: GOAWAY
# ENHANCE_YOUR_CALM.
MAX_QUEUED_CONTROL_ANSWERS = 1000

# Our receive windows: 64 KiB - 1 per stream (the protocol's default, RFC 9113
# section 6.9.2: requests to a static file server carry small bodies), and
# 1 MiB for the connection.  We credit them back as bytes arrive.
INITIAL_WINDOW_SIZE = 65_535
CONNECTION_WINDOW_SIZE = 1 << 20

# The largest frame payload we accept (SETTINGS_MAX_FRAME_SIZE): the protocol's
# minimum, so one buffered frame never exceeds 16 KiB + 9 bytes.
MAX_FRAME_SIZE = 16_384

# Streams we reset and remember, so that frames the peer had already sent on
# them are ignored (RFC 9113 section 5.1, "closed") instead of failing the
# connection; older ones are forgotten.
REMEMBERED_RESET_STREAMS = 256


@dataclass(frozen=True, slots=True)
class Http2Limits:
    max_concurrent_streams: int = MAX_CONCURRENT_STREAMS
    max_field_section_size: int = MAX_FIELD_SECTION_SIZE
    max_field_size: int | None = None  # one field's name + value; None: only the section's bound
    header_table_size: int = HEADER_TABLE_SIZE
    max_encoder_table_size: int = MAX_ENCODER_TABLE_SIZE
    max_header_block_bytes: int = MAX_HEADER_BLOCK_BYTES
    max_continuation_frames: int = MAX_CONTINUATION_FRAMES
    rapid_reset_allowance: int = RAPID_RESET_ALLOWANCE
    max_queued_control_answers: int = MAX_QUEUED_CONTROL_ANSWERS
    initial_window_size: int = INITIAL_WINDOW_SIZE
    connection_window_size: int = CONNECTION_WINDOW_SIZE
    max_frame_size: int = MAX_FRAME_SIZE
