"""The HTTP/2 frame codec (RFC 9113 sections 4 and 6): one grammar, both directions.

What this module owns:
- `FrameType`, the flags, `SettingCode`, and one frozen dataclass per frame
  type of section 6 (plus `UnknownFrame`, which section 5.5 says to ignore),
  each with `encode()`;
- `decode_frame`, which checks every rule that needs no connection state:
  the stream identifier a type must or must not carry, the payload length a
  type requires (FRAME_SIZE_ERROR), padding longer than the payload and
  setting values out of range (PROTOCOL_ERROR, FLOW_CONTROL_ERROR);
- `FieldBlock`, a HEADERS block and its CONTINUATION fragments put back together;
- `FrameReader`, which cuts a byte stream into frames, bounded by our
  SETTINGS_MAX_FRAME_SIZE before a payload is buffered, and reports where
  each frame lies in the stream (`ReceivedFrame.offset`) so that a trace can
  point at its bytes (`FRAME_HEADER_FIELDS` names the header's parts).

What it must never do: keep connection state (stream states, windows, HPACK
tables live in connection.py and hpack.py), or accept a length it has not
bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .errors import ConnectionFailure, ErrorCode, StreamFailure

FRAME_HEADER_LENGTH = 9
# (name, start, end) of each field of the 9-byte frame header (section 4.1).
FRAME_HEADER_FIELDS = (("length", 0, 3), ("type", 3, 4), ("flags", 4, 5), ("stream_id", 5, 9))
# Section 4.2: every endpoint accepts 16,384-byte payloads; no one may ask for more than 2^24-1.
DEFAULT_MAX_FRAME_SIZE = 16_384
LARGEST_MAX_FRAME_SIZE = 16_777_215
# Section 6.9.1: windows and increments are 31-bit numbers.
LARGEST_WINDOW = 2**31 - 1
STREAM_ID_MASK = 0x7FFF_FFFF


class FrameType(IntEnum):
    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


# Flags, section 6: the same bit means different things on different types.
FLAG_END_STREAM = 0x1  # DATA, HEADERS
FLAG_ACK = 0x1  # SETTINGS, PING
FLAG_END_HEADERS = 0x4  # HEADERS, PUSH_PROMISE, CONTINUATION
FLAG_PADDED = 0x8  # DATA, HEADERS, PUSH_PROMISE
FLAG_PRIORITY = 0x20  # HEADERS


CLIENT_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # section 3.4, before the client's SETTINGS
DEFAULT_WINDOW = 65_535  # section 6.9.2: every window starts here until SETTINGS say otherwise


class SettingCode(IntEnum):
    """Section 6.5.2 (and RFC 8441's ENABLE_CONNECT_PROTOCOL, which we never turn on)."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8


# Each setting's value until the peer's SETTINGS frame says otherwise (section 6.5.2).
DEFAULT_SETTINGS = {
    SettingCode.HEADER_TABLE_SIZE: 4096,
    SettingCode.ENABLE_PUSH: 1,
    SettingCode.MAX_CONCURRENT_STREAMS: 2**31 - 1,
    SettingCode.INITIAL_WINDOW_SIZE: DEFAULT_WINDOW,
    SettingCode.MAX_FRAME_SIZE: DEFAULT_MAX_FRAME_SIZE,
    SettingCode.MAX_HEADER_LIST_SIZE: 2**32 - 1,
}


def setting_name(code: int) -> str:
    try:
        return "SETTINGS_" + SettingCode(code).name
    except ValueError:
        return f"unknown setting 0x{code:x}"


def _header(length: int, frame_type: int, flags: int, stream_id: int) -> bytes:
    return (
        length.to_bytes(3, "big")
        + bytes((frame_type, flags))
        + (stream_id & STREAM_ID_MASK).to_bytes(4, "big")
    )


def _padding(padding_length: int) -> tuple[bytes, bytes, int]:
    """(pad length field, padding, flag) for a padded frame; nothing when unpadded."""
    if padding_length == 0:
        return b"", b"", 0
    return bytes((padding_length - 1,)), bytes(padding_length - 1), FLAG_PADDED


@dataclass(frozen=True, slots=True)
class PriorityField:
    """The deprecated priority of section 5.3.2: parsed so the frame can be checked; ignored."""

    depends_on: int
    exclusive: bool
    weight: int  # 1..256, sent as weight - 1

    def encode(self) -> bytes:
        dependency = self.depends_on | (0x8000_0000 if self.exclusive else 0)
        return dependency.to_bytes(4, "big") + bytes((self.weight - 1,))

    @classmethod
    def decode(cls, data: bytes) -> PriorityField:
        dependency = int.from_bytes(data[:4], "big")
        return cls(dependency & STREAM_ID_MASK, bool(dependency >> 31), data[4] + 1)


@dataclass(frozen=True, slots=True)
class DataFrame:
    """Section 6.1. `padding_length` counts the Pad Length byte too (0: not padded);
    flow control counts the whole payload, padding included."""

    stream_id: int
    data: bytes
    end_stream: bool = False
    padding_length: int = 0

    @property
    def flow_controlled_length(self) -> int:
        return len(self.data) + self.padding_length

    def encode(self) -> bytes:
        pad_field, padding, flag = _padding(self.padding_length)
        payload = pad_field + self.data + padding
        flags = flag | (FLAG_END_STREAM if self.end_stream else 0)
        return _header(len(payload), FrameType.DATA, flags, self.stream_id) + payload


@dataclass(frozen=True, slots=True)
class HeadersFrame:
    """Section 6.2: the start of a field block, continued by CONTINUATION until END_HEADERS."""

    stream_id: int
    header_block: bytes
    end_stream: bool = False
    end_headers: bool = True
    priority: PriorityField | None = None
    padding_length: int = 0

    def encode(self) -> bytes:
        pad_field, padding, flag = _padding(self.padding_length)
        priority = b"" if self.priority is None else self.priority.encode()
        payload = pad_field + priority + self.header_block + padding
        flags = (
            flag
            | (FLAG_END_STREAM if self.end_stream else 0)
            | (FLAG_END_HEADERS if self.end_headers else 0)
            | (FLAG_PRIORITY if self.priority is not None else 0)
        )
        return _header(len(payload), FrameType.HEADERS, flags, self.stream_id) + payload


@dataclass(frozen=True, slots=True)
class PriorityFrame:
    """Section 6.3: deprecated by RFC 9113; read, checked and ignored."""

    stream_id: int
    priority: PriorityField

    def encode(self) -> bytes:
        return _header(5, FrameType.PRIORITY, 0, self.stream_id) + self.priority.encode()


@dataclass(frozen=True, slots=True)
class RstStreamFrame:
    """Section 6.4: ends one stream at once."""

    stream_id: int
    error_code: int

    def encode(self) -> bytes:
        return _header(4, FrameType.RST_STREAM, 0, self.stream_id) + self.error_code.to_bytes(
            4, "big"
        )


@dataclass(frozen=True, slots=True)
class SettingsFrame:
    """Section 6.5: (identifier, value) pairs in the order sent, or an empty ACK."""

    settings: tuple[tuple[int, int], ...] = ()
    ack: bool = False

    def encode(self) -> bytes:
        payload = b"".join(
            code.to_bytes(2, "big") + value.to_bytes(4, "big") for code, value in self.settings
        )
        return _header(len(payload), FrameType.SETTINGS, FLAG_ACK if self.ack else 0, 0) + payload


@dataclass(frozen=True, slots=True)
class PushPromiseFrame:
    """Section 6.6: only a server sends it, and we never do (SETTINGS_ENABLE_PUSH is 0)."""

    stream_id: int
    promised_stream_id: int
    header_block: bytes
    end_headers: bool = True
    padding_length: int = 0

    def encode(self) -> bytes:
        pad_field, padding, flag = _padding(self.padding_length)
        payload = (
            pad_field
            + (self.promised_stream_id & STREAM_ID_MASK).to_bytes(4, "big")
            + self.header_block
            + padding
        )
        flags = flag | (FLAG_END_HEADERS if self.end_headers else 0)
        return _header(len(payload), FrameType.PUSH_PROMISE, flags, self.stream_id) + payload


@dataclass(frozen=True, slots=True)
class PingFrame:
    """Section 6.7: eight opaque bytes, echoed back with ACK."""

    opaque_data: bytes
    ack: bool = False

    def encode(self) -> bytes:
        return _header(8, FrameType.PING, FLAG_ACK if self.ack else 0, 0) + self.opaque_data


@dataclass(frozen=True, slots=True)
class GoAwayFrame:
    """Section 6.8: the last stream the sender may still process, and why it stops."""

    last_stream_id: int
    error_code: int
    debug_data: bytes = b""

    def encode(self) -> bytes:
        payload = (
            (self.last_stream_id & STREAM_ID_MASK).to_bytes(4, "big")
            + self.error_code.to_bytes(4, "big")
            + self.debug_data
        )
        return _header(len(payload), FrameType.GOAWAY, 0, 0) + payload


@dataclass(frozen=True, slots=True)
class WindowUpdateFrame:
    """Section 6.9: credit for `increment` more bytes of DATA on a stream, or (0) the connection."""

    stream_id: int
    increment: int

    def encode(self) -> bytes:
        return _header(4, FrameType.WINDOW_UPDATE, 0, self.stream_id) + self.increment.to_bytes(
            4, "big"
        )


@dataclass(frozen=True, slots=True)
class ContinuationFrame:
    """Section 6.10: more of the field block a HEADERS or PUSH_PROMISE began."""

    stream_id: int
    header_block: bytes
    end_headers: bool = True

    def encode(self) -> bytes:
        flags = FLAG_END_HEADERS if self.end_headers else 0
        return (
            _header(len(self.header_block), FrameType.CONTINUATION, flags, self.stream_id)
            + self.header_block
        )


@dataclass(frozen=True, slots=True)
class UnknownFrame:
    """Section 5.5: a type we do not know; the connection ignores it (unless mid field block)."""

    frame_type: int
    flags: int
    stream_id: int
    payload: bytes

    def encode(self) -> bytes:
        header = _header(len(self.payload), self.frame_type, self.flags, self.stream_id)
        return header + self.payload


Frame = (
    DataFrame
    | HeadersFrame
    | PriorityFrame
    | RstStreamFrame
    | SettingsFrame
    | PushPromiseFrame
    | PingFrame
    | GoAwayFrame
    | WindowUpdateFrame
    | ContinuationFrame
    | UnknownFrame
)


# -- decoding ----------------------------------------------------------------


def _frame_size_error(frame_type: FrameType, length: int) -> ConnectionFailure:
    return ConnectionFailure(
        ErrorCode.FRAME_SIZE_ERROR, f"{frame_type.name} frame with a {length}-byte payload"
    )


def _require_stream(frame_type: FrameType, stream_id: int) -> None:
    if stream_id == 0:
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, f"{frame_type.name} frame on stream 0")


def _require_connection(frame_type: FrameType, stream_id: int) -> None:
    if stream_id != 0:
        raise ConnectionFailure(
            ErrorCode.PROTOCOL_ERROR, f"{frame_type.name} frame on stream {stream_id}, not 0"
        )


def _strip_padding(frame_type: FrameType, flags: int, payload: bytes) -> tuple[bytes, int]:
    """(payload without Pad Length and padding, padding length counting the Pad Length byte)."""
    if not flags & FLAG_PADDED:
        return payload, 0
    if not payload:
        raise _frame_size_error(frame_type, 0)
    pad_length = payload[0]
    # Sections 6.1, 6.2, 6.6: padding as long as the rest of the payload is a PROTOCOL_ERROR.
    if pad_length >= len(payload):
        raise ConnectionFailure(
            ErrorCode.PROTOCOL_ERROR,
            f"{frame_type.name} padding of {pad_length} bytes in a {len(payload)}-byte payload",
        )
    return payload[1 : len(payload) - pad_length], pad_length + 1


def _decode_settings(flags: int, payload: bytes) -> SettingsFrame:
    if flags & FLAG_ACK:
        if payload:
            raise _frame_size_error(FrameType.SETTINGS, len(payload))  # section 6.5
        return SettingsFrame(ack=True)
    if len(payload) % 6:
        raise _frame_size_error(FrameType.SETTINGS, len(payload))
    settings = []
    for start in range(0, len(payload), 6):
        code = int.from_bytes(payload[start : start + 2], "big")
        value = int.from_bytes(payload[start + 2 : start + 6], "big")
        check_setting(code, value)
        settings.append((code, value))
    return SettingsFrame(tuple(settings))


def check_setting(code: int, value: int) -> None:
    """Section 6.5.2: the values a peer may not send."""
    if code == SettingCode.ENABLE_PUSH and value > 1:
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH of {value}")
    if code == SettingCode.INITIAL_WINDOW_SIZE and value > LARGEST_WINDOW:
        raise ConnectionFailure(
            ErrorCode.FLOW_CONTROL_ERROR, f"SETTINGS_INITIAL_WINDOW_SIZE of {value}"
        )
    if code == SettingCode.MAX_FRAME_SIZE and not (
        DEFAULT_MAX_FRAME_SIZE <= value <= LARGEST_MAX_FRAME_SIZE
    ):
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value}")
    if code == SettingCode.ENABLE_CONNECT_PROTOCOL and value > 1:
        raise ConnectionFailure(
            ErrorCode.PROTOCOL_ERROR, f"SETTINGS_ENABLE_CONNECT_PROTOCOL of {value}"
        )


def decode_frame(frame_type: int, flags: int, stream_id: int, payload: bytes) -> Frame:
    """One frame from its header fields and payload; raises ConnectionFailure or StreamFailure.

    `stream_id` has the reserved bit already cleared (section 4.1: ignored on receipt).
    """
    length = len(payload)
    if frame_type == FrameType.DATA:
        _require_stream(FrameType.DATA, stream_id)
        data, padding_length = _strip_padding(FrameType.DATA, flags, payload)
        return DataFrame(stream_id, data, bool(flags & FLAG_END_STREAM), padding_length)
    if frame_type == FrameType.HEADERS:
        _require_stream(FrameType.HEADERS, stream_id)
        block, padding_length = _strip_padding(FrameType.HEADERS, flags, payload)
        priority = None
        if flags & FLAG_PRIORITY:
            if len(block) < 5:
                raise _frame_size_error(FrameType.HEADERS, length)
            priority = PriorityField.decode(block[:5])
            block = block[5:]
        return HeadersFrame(
            stream_id,
            block,
            bool(flags & FLAG_END_STREAM),
            bool(flags & FLAG_END_HEADERS),
            priority,
            padding_length,
        )
    if frame_type == FrameType.PRIORITY:
        _require_stream(FrameType.PRIORITY, stream_id)
        if length != 5:
            # Section 6.3: a stream error, not a connection error.
            raise StreamFailure(
                stream_id, ErrorCode.FRAME_SIZE_ERROR, f"PRIORITY frame of {length} bytes"
            )
        return PriorityFrame(stream_id, PriorityField.decode(payload))
    if frame_type == FrameType.RST_STREAM:
        _require_stream(FrameType.RST_STREAM, stream_id)
        if length != 4:
            raise _frame_size_error(FrameType.RST_STREAM, length)
        return RstStreamFrame(stream_id, int.from_bytes(payload, "big"))
    if frame_type == FrameType.SETTINGS:
        _require_connection(FrameType.SETTINGS, stream_id)
        return _decode_settings(flags, payload)
    if frame_type == FrameType.PUSH_PROMISE:
        _require_stream(FrameType.PUSH_PROMISE, stream_id)
        block, padding_length = _strip_padding(FrameType.PUSH_PROMISE, flags, payload)
        if len(block) < 4:
            raise _frame_size_error(FrameType.PUSH_PROMISE, length)
        promised = int.from_bytes(block[:4], "big") & STREAM_ID_MASK
        return PushPromiseFrame(
            stream_id, promised, block[4:], bool(flags & FLAG_END_HEADERS), padding_length
        )
    if frame_type == FrameType.PING:
        _require_connection(FrameType.PING, stream_id)
        if length != 8:
            raise _frame_size_error(FrameType.PING, length)
        return PingFrame(payload, bool(flags & FLAG_ACK))
    if frame_type == FrameType.GOAWAY:
        _require_connection(FrameType.GOAWAY, stream_id)
        if length < 8:
            raise _frame_size_error(FrameType.GOAWAY, length)
        last_stream_id = int.from_bytes(payload[:4], "big") & STREAM_ID_MASK
        return GoAwayFrame(last_stream_id, int.from_bytes(payload[4:8], "big"), payload[8:])
    if frame_type == FrameType.WINDOW_UPDATE:
        if length != 4:
            raise _frame_size_error(FrameType.WINDOW_UPDATE, length)
        increment = int.from_bytes(payload, "big") & STREAM_ID_MASK
        if increment == 0:
            # Section 6.9: an error on the stream it names, or on the connection for stream 0.
            reason = "WINDOW_UPDATE with an increment of 0"
            if stream_id == 0:
                raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, reason)
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, reason)
        return WindowUpdateFrame(stream_id, increment)
    if frame_type == FrameType.CONTINUATION:
        _require_stream(FrameType.CONTINUATION, stream_id)
        return ContinuationFrame(stream_id, payload, bool(flags & FLAG_END_HEADERS))
    return UnknownFrame(frame_type, flags, stream_id, payload)


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """A decoded frame and where its 9-byte header starts in the bytes the reader was fed."""

    frame: Frame
    offset: int
    length: int  # header included


class FieldBlock:
    """A field block being put together from HEADERS + CONTINUATION (section 4.3)."""

    __slots__ = ("end_stream", "fragments", "frame_count", "size", "stream_id")

    def __init__(self, stream_id: int, first: bytes, end_stream: bool) -> None:
        self.stream_id = stream_id
        self.fragments = [first]
        self.size = len(first)
        self.end_stream = end_stream
        self.frame_count = 1

    def add(self, fragment: bytes) -> None:
        self.fragments.append(fragment)
        self.size += len(fragment)
        self.frame_count += 1

    def joined(self) -> bytes:
        return self.fragments[0] if len(self.fragments) == 1 else b"".join(self.fragments)


class FrameReader:
    """Frames out of a byte stream fed in any pieces.

    `max_frame_size` is the SETTINGS_MAX_FRAME_SIZE we advertised: a larger
    length is a FRAME_SIZE_ERROR (section 4.2) found from the header alone,
    so no more than one bounded frame is ever buffered.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        self._start = 0
        self._consumed = 0  # bytes of the stream before _buffer[0]

    def feed(self, data: bytes) -> None:
        if self._start:
            del self._buffer[: self._start]
            self._consumed += self._start
            self._start = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._start

    def next_frame(self) -> ReceivedFrame | None:
        """The next complete frame, or None until more bytes arrive."""
        buffer, start = self._buffer, self._start
        if len(buffer) - start < FRAME_HEADER_LENGTH:
            return None
        length = int.from_bytes(buffer[start : start + 3], "big")
        if length > self.max_frame_size:
            raise ConnectionFailure(
                ErrorCode.FRAME_SIZE_ERROR,
                f"a {length}-byte frame; SETTINGS_MAX_FRAME_SIZE is {self.max_frame_size}",
            )
        end = start + FRAME_HEADER_LENGTH + length
        if len(buffer) < end:
            return None
        frame_type, flags = buffer[start + 3], buffer[start + 4]
        stream_id = int.from_bytes(buffer[start + 5 : start + 9], "big") & STREAM_ID_MASK
        payload = bytes(buffer[start + FRAME_HEADER_LENGTH : end])
        self._start = end
        frame = decode_frame(frame_type, flags, stream_id, payload)
        return ReceivedFrame(frame, self._consumed + start, FRAME_HEADER_LENGTH + length)
