"""An HTTP/2 connection, sans-IO: what the client and server roles share.

What this module owns (RFC 9113):
- the preface and SETTINGS both ways with their ACK (section 3.4, 6.5),
  PING (6.7), GOAWAY (6.8), RST_STREAM (6.4), unknown frames ignored (5.5);
- stream states through streams.py's table, with the errors section 5.1
  names: frames on idle streams, DATA on half-closed or closed streams,
  stream ids that go down or have the wrong parity;
- field blocks: HEADERS + CONTINUATION reassembled (section 4.3), nothing
  else allowed in between, HPACK decoding for every block (also on streams we
  ignore, so the table stays in step), each limit of limits.py;
- flow control both ways on the connection and on every stream (6.9), with
  SETTINGS_INITIAL_WINDOW_SIZE changes applied to open streams (windows may
  go negative) and our receive windows credited back as data arrives;
- RST_STREAM for the stream errors a peer causes, counted with the PING and
  SETTINGS answers against limits.MAX_QUEUED_CONTROL_ANSWERS (a peer that
  makes us reset streams without reading our resets is flooding us too).

sending.py is the other half (field blocks and DATA out, within the peer's
windows); server.py and client.py add what each role checks in field sections.

Use: `receive_data(bytes) -> events`, then `data_to_send() -> bytes` for the
socket.  A connection error queues GOAWAY and returns ConnectionFailed; the
caller sends what is queued and closes.  Stream errors queue RST_STREAM.

What it must never do: touch sockets, TLS or the clock; let any exception but
InvalidTransition (a caller's mistake) out of its methods; buffer more than
one frame of unread input, one field block, and the acknowledgements limits.py
bounds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from . import frames as f
from .errors import ConnectionFailure, ErrorCode, HTTP2Error, StreamFailure
from .events import (
    ConnectionFailed,
    DataReceived,
    Event,
    GoAwayReceived,
    PingAcknowledged,
    PingReceived,
    SettingsAcknowledged,
    SettingsReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
    WindowUpdated,
)
from .fields import check_trailers
from .hpack import Decoder, Encoder, FieldSectionTooLarge
from .limits import REMEMBERED_RESET_STREAMS, Http2Limits
from .scheduler import RoundRobin
from .sending import SendingSide
from .streams import (
    PEER_MAY_SEND,
    Stream,
    StreamEvent,
    StreamState,
    StreamTransition,
)


class Http2Connection(SendingSide):
    """The shared machinery; use ServerConnection or ClientConnection."""

    is_client = False

    def __init__(
        self,
        limits: Http2Limits | None = None,
        on_transition: Callable[[int, StreamTransition], None] | None = None,
    ) -> None:
        self.limits = limits = limits or Http2Limits()
        self._on_transition = on_transition
        self._reader = f.FrameReader(limits.max_frame_size)
        self._decoder = Decoder(
            limits.header_table_size, limits.max_field_section_size, limits.max_field_size
        )
        self._encoder = Encoder()
        self._outbound = bytearray()
        self.streams: dict[int, Stream] = {}
        self.peer_settings: dict[int, int] = dict(f.DEFAULT_SETTINGS)
        self.local_settings: tuple[tuple[int, int], ...] = (
            (f.SettingCode.HEADER_TABLE_SIZE, limits.header_table_size),
            (f.SettingCode.ENABLE_PUSH, 0),
            (f.SettingCode.MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams),
            (f.SettingCode.INITIAL_WINDOW_SIZE, limits.initial_window_size),
            (f.SettingCode.MAX_FRAME_SIZE, limits.max_frame_size),
            (f.SettingCode.MAX_HEADER_LIST_SIZE, limits.max_field_section_size),
        )
        self._settings_unacknowledged = 0
        # Until the peer acknowledges our SETTINGS it may use the defaults (section 6.5.3).
        self._receive_initial_window = f.DEFAULT_WINDOW
        self.send_window = f.DEFAULT_WINDOW
        self.receive_window = f.DEFAULT_WINDOW
        self._connection_credit_due = 0
        self.highest_peer_stream_id = 0
        self.next_local_stream_id = 1 if self.is_client else 2
        self._block: f.FieldBlock | None = None
        self._ready = RoundRobin()
        self._reset_by_us: deque[int] = deque(maxlen=REMEMBERED_RESET_STREAMS)
        self._recently_closed: deque[int] = deque(maxlen=REMEMBERED_RESET_STREAMS)
        self._control_answers_queued = 0
        self._reset_allowance = limits.rapid_reset_allowance
        self._seen_peer_settings = False
        self.goaway_sent_last_stream_id: int | None = None
        self.goaway_received: GoAwayReceived | None = None
        self.failed: ConnectionFailed | None = None

    # -- starting ---------------------------------------------------------------

    def initiate(self) -> None:
        """Queue our preface: SETTINGS (after the magic string for a client), window growth."""
        if self.is_client:
            self._outbound += f.CLIENT_PREFACE
        self._outbound += f.SettingsFrame(self.local_settings).encode()
        self._settings_unacknowledged += 1
        growth = self.limits.connection_window_size - f.DEFAULT_WINDOW
        if growth > 0:
            self._outbound += f.WindowUpdateFrame(0, growth).encode()
            self.receive_window += growth

    # -- receiving --------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.failed is not None:
            return events
        try:
            data = self._strip_preface(data)
            self._reader.feed(data)
            while True:
                try:
                    received = self._reader.next_frame()
                    if received is None:
                        break
                    self._dispatch(received.frame, events)
                except StreamFailure as failure:
                    self._count_control_answer()
                    self._reset(failure.stream_id, failure.code, failure.reason, events)
        except ConnectionFailure as failure:
            self._fail(failure, events)
        self._credit_connection_window()
        return events

    def _strip_preface(self, data: bytes) -> bytes:
        return data  # the server overrides: only it receives the client's magic string

    def _dispatch(self, frame: f.Frame, events: list[Event]) -> None:
        if not self._seen_peer_settings:
            # Section 3.4: the peer's preface is a SETTINGS frame, first.
            if not isinstance(frame, f.SettingsFrame) or frame.ack:
                raise ConnectionFailure(
                    ErrorCode.PROTOCOL_ERROR, f"preface began with {type(frame).__name__}"
                )
            self._seen_peer_settings = True
        if self._block is not None:
            self._continue_block(frame, events)
            return
        if isinstance(frame, f.DataFrame):
            self._receive_data_frame(frame, events)
        elif isinstance(frame, f.HeadersFrame):
            self._receive_headers(frame, events)
        elif isinstance(frame, f.ContinuationFrame):
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS")
        elif isinstance(frame, f.PriorityFrame):
            self._check_priority(frame.stream_id, frame.priority)
        elif isinstance(frame, f.RstStreamFrame):
            self._receive_reset(frame, events)
        elif isinstance(frame, f.SettingsFrame):
            self._receive_settings(frame, events)
        elif isinstance(frame, f.PushPromiseFrame):
            # Section 8.4: we announced SETTINGS_ENABLE_PUSH 0, and clients never push.
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled")
        elif isinstance(frame, f.PingFrame):
            self._receive_ping(frame, events)
        elif isinstance(frame, f.GoAwayFrame):
            self._receive_goaway(frame, events)
        elif isinstance(frame, f.WindowUpdateFrame):
            self._receive_window_update(frame, events)
        # UnknownFrame: section 5.5, ignored.

    def _is_peer_stream(self, stream_id: int) -> bool:
        # Section 5.1.1: clients open odd streams, servers even ones.
        return (stream_id % 2 == 1) != self.is_client

    def _is_idle(self, stream_id: int) -> bool:
        """Never opened by either side: an id above everything used so far (section 5.1.1)."""
        if stream_id in self.streams:
            return False
        if self._is_peer_stream(stream_id):
            return stream_id > self.highest_peer_stream_id
        return stream_id >= self.next_local_stream_id

    def _check_priority(self, stream_id: int, priority: f.PriorityField) -> None:
        # Section 5.3.1: a stream cannot depend on itself.  Otherwise ignored (section 5.3.2).
        if priority.depends_on == stream_id:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, "stream depends on itself")

    def _transition(self, stream: Stream, event: StreamEvent) -> None:
        before = stream.state
        after = stream.apply(event)
        if self._on_transition is not None:
            self._on_transition(stream.stream_id, StreamTransition(before, event, after))
        if after is StreamState.CLOSED:
            self._forget(stream)

    def _forget(self, stream: Stream) -> None:
        if self.streams.pop(stream.stream_id, None) is not None:
            self._recently_closed.append(stream.stream_id)
        self._ready.discard(stream.stream_id)
        stream.body = None

    # DATA (section 6.1)

    def _receive_data_frame(self, frame: f.DataFrame, events: list[Event]) -> None:
        stream_id = frame.stream_id
        if self._is_idle(stream_id):
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
        length = frame.flow_controlled_length
        # Section 6.9: DATA counts against the connection window on every stream, even closed.
        if length > self.receive_window:
            raise ConnectionFailure(
                ErrorCode.FLOW_CONTROL_ERROR,
                f"{length} bytes of DATA with a connection window of {self.receive_window}",
            )
        self.receive_window -= length
        self._connection_credit_due += length
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id in self._reset_by_us:
                return  # section 5.1, closed: frames in flight after our RST_STREAM
            raise StreamFailure(stream_id, ErrorCode.STREAM_CLOSED, "DATA on a closed stream")
        if stream.state not in PEER_MAY_SEND:
            raise StreamFailure(
                stream_id, ErrorCode.STREAM_CLOSED, f"DATA in state {stream.state.value}"
            )
        if not stream.received_final_head:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, "DATA before the final head")
        if length > stream.receive_window:
            raise StreamFailure(
                stream_id,
                ErrorCode.FLOW_CONTROL_ERROR,
                f"{length} bytes of DATA with a stream window of {stream.receive_window}",
            )
        stream.receive_window -= length
        stream.data_received += len(frame.data)
        if stream.content_length is not None and (
            stream.data_received > stream.content_length
            or (frame.end_stream and stream.data_received != stream.content_length)
        ):
            # Section 8.1.1: DATA that disagrees with content-length is malformed.
            raise StreamFailure(
                stream_id, ErrorCode.PROTOCOL_ERROR, "DATA length differs from content-length"
            )
        events.append(DataReceived(stream_id, frame.data, length, frame.end_stream))
        if frame.end_stream:
            self._transition(stream, StreamEvent.RECV_END_STREAM)
            events.append(StreamEnded(stream_id))
        elif stream.receive_window <= self._receive_initial_window // 2:
            # We consume bodies at once: give the window back before the peer stalls.
            credit = self.limits.initial_window_size - stream.receive_window
            stream.receive_window += credit
            self._outbound += f.WindowUpdateFrame(stream_id, credit).encode()

    def _credit_connection_window(self) -> None:
        if (
            self._connection_credit_due
            and self.failed is None
            and (self.receive_window <= self.limits.connection_window_size // 2)
        ):
            credit = self._connection_credit_due
            self._connection_credit_due = 0
            self.receive_window += credit
            self._outbound += f.WindowUpdateFrame(0, credit).encode()

    # HEADERS and CONTINUATION (sections 6.2, 6.10)

    def _receive_headers(self, frame: f.HeadersFrame, events: list[Event]) -> None:
        if frame.priority is not None:
            self._check_priority(frame.stream_id, frame.priority)
        block = f.FieldBlock(frame.stream_id, frame.header_block, frame.end_stream)
        if frame.end_headers:
            self._complete_block(block, events)
        else:
            self._block = block
            self._check_block_size(block)

    def _continue_block(self, frame: f.Frame, events: list[Event]) -> None:
        block = self._block
        assert block is not None
        if not isinstance(frame, f.ContinuationFrame) or frame.stream_id != block.stream_id:
            # Section 6.10: nothing but CONTINUATION on the same stream until END_HEADERS.
            raise ConnectionFailure(
                ErrorCode.PROTOCOL_ERROR,
                f"{type(frame).__name__} inside the field block of stream {block.stream_id}",
            )
        block.add(frame.header_block)
        self._check_block_size(block)
        if frame.end_headers:
            self._block = None
            self._complete_block(block, events)

    def _check_block_size(self, block: f.FieldBlock) -> None:
        limits = self.limits
        if block.size > limits.max_header_block_bytes or (
            block.frame_count > limits.max_continuation_frames
        ):
            raise ConnectionFailure(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"a field block of {block.size} bytes in {block.frame_count} frames",
            )

    def _complete_block(self, block: f.FieldBlock, events: list[Event]) -> None:
        data = block.joined()
        too_large: FieldSectionTooLarge | None = None
        try:
            fields = self._decoder.decode(data)
        except FieldSectionTooLarge as error:
            fields, too_large = [], error
        self._fields_received(block.stream_id, fields, block.end_stream, too_large, events)

    def _fields_received(
        self,
        stream_id: int,
        fields: list[tuple[str, str]],
        end_stream: bool,
        too_large: FieldSectionTooLarge | None,
        events: list[Event],
    ) -> None:
        raise NotImplementedError  # the role decides

    def _trailers_received(
        self, stream: Stream, fields: list[tuple[str, str]], end_stream: bool, events: list[Event]
    ) -> None:
        """A field block after the final head: trailers, which end the stream (section 8.1).

        The same for both roles: END_STREAM set, no pseudo-header, and the
        DATA received must add up to a content-length the head announced.
        """
        stream_id = stream.stream_id
        if not end_stream:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM")
        check_trailers(stream_id, fields)
        if stream.content_length is not None and stream.data_received != stream.content_length:
            raise StreamFailure(
                stream_id, ErrorCode.PROTOCOL_ERROR, "DATA length differs from content-length"
            )
        events.append(TrailersReceived(stream_id, tuple(fields)))
        self._transition(stream, StreamEvent.RECV_END_STREAM)
        events.append(StreamEnded(stream_id))

    # RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE

    def _receive_reset(self, frame: f.RstStreamFrame, events: list[Event]) -> None:
        if self._is_idle(frame.stream_id):
            raise ConnectionFailure(
                ErrorCode.PROTOCOL_ERROR, f"RST_STREAM on idle stream {frame.stream_id}"
            )
        stream = self.streams.get(frame.stream_id)
        if stream is None:
            return  # already closed: nothing to undo
        self._transition(stream, StreamEvent.RECV_RST_STREAM)
        events.append(StreamReset(frame.stream_id, frame.error_code, by_peer=True))
        if not self.is_client:
            # limits.RAPID_RESET_ALLOWANCE: a cancel before our answer was complete.
            self._reset_allowance -= 1
            if self._reset_allowance < 0:
                raise ConnectionFailure(
                    ErrorCode.ENHANCE_YOUR_CALM, "streams cancelled faster than they are served"
                )

    def _receive_settings(self, frame: f.SettingsFrame, events: list[Event]) -> None:
        if frame.ack:
            if self._settings_unacknowledged == 0:
                raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "SETTINGS ACK without SETTINGS")
            self._settings_unacknowledged -= 1
            self._receive_initial_window = self.limits.initial_window_size
            events.append(SettingsAcknowledged())
            return
        for code, value in frame.settings:
            if code == f.SettingCode.INITIAL_WINDOW_SIZE:
                self._apply_initial_window(value)
            elif code == f.SettingCode.HEADER_TABLE_SIZE:
                self._encoder.set_max_table_size(min(value, self.limits.max_encoder_table_size))
            elif code == f.SettingCode.ENABLE_PUSH and value and self.is_client:
                raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "a server enabled push")
            self.peer_settings[code] = value
        self._queue_control_answer(f.SettingsFrame(ack=True))
        events.append(SettingsReceived(frame.settings))

    def _apply_initial_window(self, value: int) -> None:
        # Section 6.9.2: the change applies to every stream's window, which may go negative.
        delta = value - self.peer_settings[f.SettingCode.INITIAL_WINDOW_SIZE]
        for stream in self.streams.values():
            stream.send_window += delta
            if stream.send_window > f.LARGEST_WINDOW:
                raise ConnectionFailure(
                    ErrorCode.FLOW_CONTROL_ERROR,
                    f"SETTINGS_INITIAL_WINDOW_SIZE makes stream {stream.stream_id}'s window "
                    f"{stream.send_window}",
                )
            if delta > 0 and stream.body is not None:
                self._ready.add(stream.stream_id)

    def _receive_ping(self, frame: f.PingFrame, events: list[Event]) -> None:
        if frame.ack:
            events.append(PingAcknowledged(frame.opaque_data))
            return
        self._queue_control_answer(f.PingFrame(frame.opaque_data, ack=True))
        events.append(PingReceived(frame.opaque_data))

    def _receive_goaway(self, frame: f.GoAwayFrame, events: list[Event]) -> None:
        event = GoAwayReceived(frame.last_stream_id, frame.error_code, frame.debug_data)
        self.goaway_received = event
        events.append(event)
        # Section 6.8: streams we opened above last_stream_id were never processed.
        for stream_id in sorted(self.streams):
            if not self._is_peer_stream(stream_id) and stream_id > frame.last_stream_id:
                self._forget(self.streams[stream_id])
                events.append(StreamReset(stream_id, ErrorCode.REFUSED_STREAM, by_peer=True))

    def _receive_window_update(self, frame: f.WindowUpdateFrame, events: list[Event]) -> None:
        stream_id = frame.stream_id
        if stream_id == 0:
            self.send_window += frame.increment
            if self.send_window > f.LARGEST_WINDOW:
                raise ConnectionFailure(
                    ErrorCode.FLOW_CONTROL_ERROR, f"connection window of {self.send_window}"
                )
            events.append(WindowUpdated(0, frame.increment))
            return
        if self._is_idle(stream_id):
            raise ConnectionFailure(
                ErrorCode.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {stream_id}"
            )
        stream = self.streams.get(stream_id)
        if stream is None:
            return  # section 6.9: may arrive after we closed the stream
        stream.send_window += frame.increment
        if stream.send_window > f.LARGEST_WINDOW:
            raise StreamFailure(
                stream_id, ErrorCode.FLOW_CONTROL_ERROR, f"stream window of {stream.send_window}"
            )
        if stream.body is not None:
            self._ready.add(stream_id)
        events.append(WindowUpdated(stream_id, frame.increment))

    # -- errors -----------------------------------------------------------------

    def _reset(self, stream_id: int, code: ErrorCode, reason: str, events: list[Event]) -> None:
        """A stream error (section 5.4.2): RST_STREAM, and the stream is closed for us."""
        self._outbound += f.RstStreamFrame(stream_id, code).encode()
        self._reset_by_us.append(stream_id)
        stream = self.streams.get(stream_id)
        if stream is not None:
            self._transition(stream, StreamEvent.SEND_RST_STREAM)
        elif self._is_peer_stream(stream_id):
            self.highest_peer_stream_id = max(self.highest_peer_stream_id, stream_id)
        events.append(StreamReset(stream_id, code, by_peer=False, reason=reason))

    def _fail(self, failure: HTTP2Error, events: list[Event]) -> None:
        """A connection error (section 5.4.1): GOAWAY, and nothing more is read."""
        self._outbound += f.GoAwayFrame(
            self.highest_peer_stream_id, failure.code, failure.reason.encode()[:200]
        ).encode()
        self.goaway_sent_last_stream_id = self.highest_peer_stream_id
        self.failed = ConnectionFailed(failure.code, failure.reason)
        self._block = None
        for stream in list(self.streams.values()):
            self._forget(stream)
        events.append(self.failed)

    # -- what the caller asks for -----------------------------------------------

    def reset_stream(self, stream_id: int, code: ErrorCode = ErrorCode.CANCEL) -> None:
        """Our own RST_STREAM (for instance a response we cannot finish)."""
        if stream_id in self.streams:
            self._reset(stream_id, code, "reset by us", [])

    def ping(self, opaque_data: bytes) -> None:
        self._outbound += f.PingFrame(opaque_data[:8].ljust(8, b"\0")).encode()

    def close(self, code: ErrorCode = ErrorCode.NO_ERROR, debug: bytes = b"") -> None:
        """GOAWAY: no new streams; those up to the last one we saw still finish (section 6.8)."""
        if self.goaway_sent_last_stream_id is None:
            self.goaway_sent_last_stream_id = self.highest_peer_stream_id
            self._outbound += f.GoAwayFrame(self.highest_peer_stream_id, code, debug).encode()

    @property
    def is_finished(self) -> bool:
        """True when the connection should close: failed, or after GOAWAY with nothing to finish."""
        if self.failed is not None:
            return True
        stopping = self.goaway_sent_last_stream_id is not None or self.goaway_received is not None
        return stopping and not self.streams and not self._outbound
