"""HTTP/2 explained for the trace: the frames inside decrypted records, a line per field.

What this module owns: `Http2Annotator`, which reads one connection's
plaintext, direction by direction and in the order it travelled, with the
same frame codec (frames.py) and HPACK decoder (hpack.py) the connection
uses, and says what each record carried:

    SETTINGS: HEADER_TABLE_SIZE=4096 ENABLE_PUSH=0 MAX_CONCURRENT_STREAMS=128 ...
    HEADERS stream 1 [END_STREAM END_HEADERS]: 31-byte field block
      :method: GET                      static table 2
      user-agent: curl/7.88.1           literal, name from static table 58, added as dynamic 62
      dynamic table: 1 entries, 45 of 4096 bytes
    WINDOW_UPDATE stream 0: +983041 (the connection's window)
    DATA stream 1 [END_STREAM]: 1024 bytes

HTTP/2 is recognised by its first bytes (RFC 9113 section 3.4): the client's
preface, and the server's first frame, which must be SETTINGS.  Anything
else (HTTP/1.1) is not ours to describe: `describe` returns None.

What it must never do: keep anything beyond the connection it explains, or
raise on bad bytes (a trace shows broken peers too: the first undecodable
frame ends the description of that direction, saying why).
"""

from __future__ import annotations

from . import frames as f
from .errors import ErrorCode, HTTP2Error
from .hpack import STATIC_TABLE_LENGTH, Decoder, FieldRepresentation, FieldSectionTooLarge

# The trace sees both directions whatever either side advertised: frames up to
# the protocol's largest (section 4.2) and field sections up to 1 MiB are shown.
_MAX_FRAME_SIZE = (1 << 24) - 1
_MAX_FIELD_SECTION = 1 << 20
_VALUE_WIDTH = 60  # a field's value is cut here in the trace (a cookie can be long)


class _Direction:
    """One side's bytes: its frame reader, its HPACK decoder, and whether it is HTTP/2."""

    __slots__ = (
        "block",
        "connection_window",
        "decoder",
        "failed",
        "initial_window",
        "is_http2",
        "preface_missing",
        "reader",
        "stream_windows",
    )

    def __init__(self, expects_preface: bool) -> None:
        self.reader = f.FrameReader(_MAX_FRAME_SIZE)
        self.decoder = Decoder(f.DEFAULT_SETTINGS[f.SettingCode.HEADER_TABLE_SIZE])
        self.decoder.max_field_section_size = _MAX_FIELD_SECTION
        self.preface_missing = len(f.CLIENT_PREFACE) if expects_preface else 0
        self.is_http2: bool | None = None  # unknown until the first bytes
        self.failed = False
        self.block: bytearray | None = None  # a field block awaiting its CONTINUATION
        # The windows this side grants the other (section 6.9): DATA the other side
        # sends spends them, this side's WINDOW_UPDATEs and SETTINGS change them.
        self.connection_window = f.DEFAULT_WINDOW
        self.initial_window = f.DEFAULT_WINDOW
        self.stream_windows: dict[int, int] = {}


class Http2Annotator:
    """Describes one connection's application data, record by record, in travel order."""

    def __init__(self) -> None:
        self._directions = {"client": _Direction(True), "server": _Direction(False)}

    def describe(self, sender: str, plaintext: bytes) -> list[str] | None:
        """Lines for one record `sender` ("client" or "server") sent; None: not HTTP/2."""
        direction = self._directions.get(sender)
        if direction is None or direction.is_http2 is False:
            return None
        lines: list[str] = []
        if direction.is_http2 is None:
            if not _starts_http2(sender, plaintext):
                direction.is_http2 = False
                return None
            direction.is_http2 = True
        if direction.failed:
            return [f"{len(plaintext)} more bytes (HTTP/2 no longer decoded)"]
        if direction.preface_missing:
            taken = plaintext[: direction.preface_missing]
            direction.preface_missing -= len(taken)
            plaintext = plaintext[len(taken) :]
            lines.append("connection preface: PRI * HTTP/2.0 (RFC 9113 section 3.4)")
        direction.reader.feed(plaintext)
        try:
            while not direction.failed and (received := direction.reader.next_frame()):
                lines += self._frame_lines(direction, received.frame)
        except HTTP2Error as error:
            direction.failed = True
            lines.append(f"!! not valid HTTP/2 here: {error}")
        if direction.reader.buffered and not direction.failed:
            lines.append(f"(+ {direction.reader.buffered} bytes of a frame that continues)")
        return lines

    # ------------------------------------------------------------------ frames

    def _frame_lines(self, direction: _Direction, frame: f.Frame) -> list[str]:
        if isinstance(frame, f.DataFrame):
            padded = f" (+{frame.padding_length} padding)" if frame.padding_length else ""
            title = _title("DATA", frame.stream_id, END_STREAM=frame.end_stream)
            receiver = self._other(direction)
            receiver.connection_window -= frame.flow_controlled_length
            stream_window = receiver.stream_windows.get(frame.stream_id, receiver.initial_window)
            stream_window -= frame.flow_controlled_length
            receiver.stream_windows[frame.stream_id] = stream_window
            return [
                f"{title}: {len(frame.data)} bytes{padded}; windows left: "
                f"stream {stream_window}, connection {receiver.connection_window}"
            ]
        if isinstance(frame, f.HeadersFrame):
            return self._block_start(direction, frame)
        if isinstance(frame, f.ContinuationFrame):
            return self._block_continue(direction, frame)
        if isinstance(frame, f.SettingsFrame):
            if frame.ack:
                return ["SETTINGS [ACK]: the peer's settings are now in force"]
            settings = " ".join(f"{f.setting_name(code)}={value}" for code, value in frame.settings)
            for code, value in frame.settings:
                if code == f.SettingCode.INITIAL_WINDOW_SIZE:
                    # Section 6.9.2: every open stream's window moves by the difference.
                    change = value - direction.initial_window
                    direction.initial_window = value
                    for stream_id in direction.stream_windows:
                        direction.stream_windows[stream_id] += change
                if code == f.SettingCode.HEADER_TABLE_SIZE:
                    # What this side allows the *other* side's encoder; the decoder of
                    # the other direction may now see tables up to this size.
                    self._other(direction).decoder.max_table_size = value
            return [f"SETTINGS: {settings or '(none: the defaults)'}"]
        if isinstance(frame, f.WindowUpdateFrame):
            if frame.stream_id == 0:
                direction.connection_window += frame.increment
                now = f"the connection's window, now {direction.connection_window}"
            else:
                windows = direction.stream_windows
                window = windows.get(frame.stream_id, direction.initial_window) + frame.increment
                windows[frame.stream_id] = window
                now = f"the stream's window, now {window}"
            return [f"WINDOW_UPDATE stream {frame.stream_id}: +{frame.increment} ({now})"]
        if isinstance(frame, f.PingFrame):
            return [f"PING{' [ACK]' if frame.ack else ''}: {frame.opaque_data.hex()}"]
        if isinstance(frame, f.GoAwayFrame):
            debug = f", {frame.debug_data[:60]!r}" if frame.debug_data else ""
            return [
                f"GOAWAY: last stream {frame.last_stream_id}, "
                f"{_error_name(frame.error_code)}{debug}"
            ]
        if isinstance(frame, f.RstStreamFrame):
            return [f"RST_STREAM stream {frame.stream_id}: {_error_name(frame.error_code)}"]
        if isinstance(frame, f.PriorityFrame):
            return [f"PRIORITY stream {frame.stream_id} (deprecated; ignored)"]
        if isinstance(frame, f.PushPromiseFrame):
            return [f"PUSH_PROMISE stream {frame.stream_id} (we never allow push)"]
        return [f"unknown frame type {frame.frame_type} ({len(frame.payload)} bytes, ignored)"]

    def _block_start(self, direction: _Direction, frame: f.HeadersFrame) -> list[str]:
        block = frame.header_block
        flags = _title(
            "HEADERS",
            frame.stream_id,
            END_STREAM=frame.end_stream,
            END_HEADERS=frame.end_headers,
            PRIORITY=frame.priority is not None,
        )
        title = f"{flags}: {len(block)}-byte field block"
        if not frame.end_headers:
            direction.block = bytearray(block)
            return [title + ", continued in CONTINUATION"]
        return [title, *self._fields(direction, block)]

    def _block_continue(self, direction: _Direction, frame: f.ContinuationFrame) -> list[str]:
        flags = _title("CONTINUATION", frame.stream_id, END_HEADERS=frame.end_headers)
        title = f"{flags}: {len(frame.header_block)} more bytes"
        if direction.block is None:
            return [title + " (outside a field block)"]
        direction.block += frame.header_block
        if not frame.end_headers:
            return [title]
        block, direction.block = bytes(direction.block), None
        return [title, *self._fields(direction, block)]

    def _fields(self, direction: _Direction, block: bytes) -> list[str]:
        representations: list[FieldRepresentation] = []
        try:
            direction.decoder.decode(block, representations)
        except FieldSectionTooLarge as error:
            return [f"  (field section too large to show: {error})"]
        except HTTP2Error as error:
            # The dynamic table is now unknown: nothing after this can be read.
            direction.failed = True
            return [f"  !! not valid HPACK: {error}"]
        lines = [
            f"  {name}: {_cut(value)}".ljust(40) + f"  {_origin(representation)}"
            for representation in representations
            for name, value in [(representation.name, representation.value)]
        ]
        table = direction.decoder.table
        lines.append(
            f"  dynamic table: {len(table)} entries, {table.size} of {table.max_size} bytes"
        )
        return lines

    def _other(self, direction: _Direction) -> _Direction:
        client = self._directions["client"]
        return self._directions["server"] if direction is client else client


def _starts_http2(sender: str, plaintext: bytes) -> bool:
    if sender == "client":
        head = plaintext[: len(f.CLIENT_PREFACE)]
        return bool(head) and f.CLIENT_PREFACE.startswith(head)
    # The server's preface is a SETTINGS frame on stream 0 (section 3.4); an
    # HTTP/1.1 status line read as a frame header is nothing like it.
    if len(plaintext) < f.FRAME_HEADER_LENGTH:
        return False
    length = int.from_bytes(plaintext[:3], "big")
    stream_id = int.from_bytes(plaintext[5:9], "big")
    return plaintext[3] == f.FrameType.SETTINGS and stream_id == 0 and length % 6 == 0


def _title(name: str, stream_id: int, **flags: bool) -> str:
    """ "HEADERS stream 1 [END_STREAM END_HEADERS]": the frame, its stream, the flags set."""
    set_flags = " ".join(flag for flag, is_set in flags.items() if is_set)
    return f"{name} stream {stream_id}" + (f" [{set_flags}]" if set_flags else "")


def _origin(field: FieldRepresentation) -> str:
    """Where a field came from (RFC 7541 section 2.3): static table, dynamic table, literal."""
    if field.kind == "indexed":
        return _table_entry(field.index)
    name = f"name from {_table_entry(field.index)}" if field.index else "new name"
    if field.kind == "literal with indexing":
        return f"literal, {name}, added to the dynamic table"
    return f"literal ({field.kind}), {name}"


def _table_entry(index: int) -> str:
    return f"static table {index}" if index <= STATIC_TABLE_LENGTH else f"dynamic table {index}"


def _cut(value: str) -> str:
    return value if len(value) <= _VALUE_WIDTH else value[: _VALUE_WIDTH - 1] + "…"


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"error {code}"
