"""The sending half of an HTTP/2 connection: field blocks and DATA, within the peer's limits.

What this module owns (RFC 9113):
- field blocks encoded with HPACK and cut into HEADERS + CONTINUATION at the
  peer's SETTINGS_MAX_FRAME_SIZE (section 4.3);
- response bodies queued per stream (`send_data`, or `send_body` with a
  scheduler.BodySource) and their trailers (`send_trailers`), sent by
  `data_to_send`: ready streams served round robin, one DATA frame each in
  turn, every frame sized to the connection window, the stream's window
  (which may be negative: then it waits) and the peer's maximum frame size
  (section 6.9);
- the output buffer, and the count of acknowledgements queued in it since
  the caller last took it (limits.MAX_QUEUED_CONTROL_ANSWERS).

What it must never do: read frames (connection.py does and calls back in
through the members declared below), or send DATA beyond a window.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import frames as f
from .errors import ConnectionFailure, ErrorCode
from .events import Event
from .hpack import Encoder
from .limits import Http2Limits
from .scheduler import BodySource, BufferedBody, RoundRobin
from .streams import WE_MAY_SEND, InvalidTransition, Stream, StreamEvent

# How many bytes of DATA one call to data_to_send produces at most, so that a
# large file is read a slice at a time as the socket drains.
DATA_PER_CALL = 256 * 1024


class SendingSide:
    """Mixed into connection.Http2Connection, which sets these members up."""

    is_client: bool
    limits: Http2Limits
    streams: dict[int, Stream]
    peer_settings: dict[int, int]
    send_window: int
    failed: object | None
    _encoder: Encoder
    _outbound: bytearray
    _ready: RoundRobin
    _control_answers_queued: int
    _reset_allowance: int

    def _transition(self, stream: Stream, event: StreamEvent) -> None:
        raise NotImplementedError

    def _reset(self, stream_id: int, code: ErrorCode, reason: str, events: list[Event]) -> None:
        raise NotImplementedError

    def _count_control_answer(self) -> None:
        """One more frame we owe the peer for what it sent (limits.MAX_QUEUED_CONTROL_ANSWERS)."""
        self._control_answers_queued += 1
        if self._control_answers_queued > self.limits.max_queued_control_answers:
            raise ConnectionFailure(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"{self._control_answers_queued} answers to PING, SETTINGS or stream errors unread",
            )

    def _queue_control_answer(self, frame: f.SettingsFrame | f.PingFrame) -> None:
        self._count_control_answer()
        self._outbound += frame.encode()

    def _stream_to_send_on(self, stream_id: int) -> Stream:
        stream = self.streams.get(stream_id)
        if stream is None or stream.state not in WE_MAY_SEND:
            state = "closed or idle" if stream is None else stream.state.value
            raise InvalidTransition(f"cannot send on stream {stream_id}: {state}")
        return stream

    def _send_field_block(
        self, stream: Stream, fields: Iterable[tuple[str, str]], end_stream: bool
    ) -> None:
        block = self._encoder.encode(fields)
        max_size = self.peer_settings[f.SettingCode.MAX_FRAME_SIZE]
        first, rest = block[:max_size], block[max_size:]
        self._outbound += f.HeadersFrame(
            stream.stream_id, first, end_stream=end_stream, end_headers=not rest
        ).encode()
        while rest:
            piece, rest = rest[:max_size], rest[max_size:]
            self._outbound += f.ContinuationFrame(stream.stream_id, piece, not rest).encode()
        if end_stream:
            self._transition(stream, StreamEvent.SEND_END_STREAM)

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """Queue body bytes; they leave as the windows allow (see data_to_send)."""
        stream = self._stream_to_send_on(stream_id)
        body = stream.body
        if body is None:
            body = stream.body = BufferedBody()
        if not isinstance(body, BufferedBody):
            raise InvalidTransition(f"stream {stream_id} already sends from a body source")
        body.append(data)
        if end_stream:
            body.finish()
        self._ready.add(stream_id)

    def send_body(
        self,
        stream_id: int,
        source: BodySource,
        trailers: Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """Send `source` as DATA as the windows allow, then END_STREAM (or `trailers`)."""
        stream = self._stream_to_send_on(stream_id)
        if stream.body is not None:
            raise InvalidTransition(f"stream {stream_id} already has a body")
        stream.body = source
        stream.trailers = None if trailers is None else tuple(trailers)
        self._ready.add(stream_id)

    def send_trailers(self, stream_id: int, fields: Iterable[tuple[str, str]]) -> None:
        """End the stream with a trailer section, after whatever body is queued (section 8.1)."""
        stream = self._stream_to_send_on(stream_id)
        if stream.trailers is not None:
            raise InvalidTransition(f"stream {stream_id} already has trailers")
        trailers = tuple(fields)
        body = stream.body
        if body is None:
            self._send_field_block(stream, trailers, end_stream=True)
            self._stream_finished_sending(stream)
            return
        stream.trailers = trailers
        if isinstance(body, BufferedBody):
            body.finish()
        self._ready.add(stream_id)

    def data_to_send(self, max_data: int = DATA_PER_CALL) -> bytes:
        """Everything queued, plus DATA frames for ready streams up to `max_data` bytes."""
        if self.failed is None:
            self._schedule_data(max_data)
        out = bytes(self._outbound)
        self._outbound.clear()
        self._control_answers_queued = 0
        return out

    def _schedule_data(self, budget: int) -> None:
        """Round robin: one frame per ready stream in turn (limits fairness, not throughput)."""
        max_frame = self.peer_settings[f.SettingCode.MAX_FRAME_SIZE]
        idle_turns = 0
        while self._ready and idle_turns < len(self._ready) and budget > 0:
            stream_id = self._ready.next()
            stream = self.streams.get(stream_id)
            if stream is None or stream.body is None:
                continue
            allowed = min(self.send_window, stream.send_window, max_frame, budget)
            try:
                chunk, last = stream.body.read(max(allowed, 0))
            except OSError as error:
                self._reset(stream_id, ErrorCode.INTERNAL_ERROR, str(error), [])
                continue
            if not chunk and not last:
                idle_turns += 1
                # Waiting for its stream window (its WINDOW_UPDATE re-adds it) or for the
                # caller's next bytes (send_data does); waiting for the connection window,
                # it keeps its turn.
                body = stream.body
                has_bytes = not isinstance(body, BufferedBody) or body.pending > 0
                if has_bytes and stream.send_window > 0 and self.send_window <= 0:
                    self._ready.add(stream_id)
                continue
            idle_turns = 0
            self.send_window -= len(chunk)
            stream.send_window -= len(chunk)
            budget -= len(chunk)
            end_stream = last and stream.trailers is None
            self._outbound += f.DataFrame(stream_id, chunk, end_stream).encode()
            if last:
                stream.body = None
                if stream.trailers is not None:
                    self._send_field_block(stream, stream.trailers, end_stream=True)
                else:
                    self._transition(stream, StreamEvent.SEND_END_STREAM)
                self._stream_finished_sending(stream)
            else:
                self._ready.add(stream_id)

    def _stream_finished_sending(self, stream: Stream) -> None:
        if not self.is_client:
            # limits.RAPID_RESET_ALLOWANCE: a served response earns an allowance back.
            self._reset_allowance = min(
                self._reset_allowance + 1, self.limits.rapid_reset_allowance
            )
