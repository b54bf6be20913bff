"""The server side of an HTTP/2 connection: requests in on odd streams, responses out.

What this module owns: what only a server checks and does (RFC 9113): the
client's connection preface (section 3.4), new streams opened by HEADERS with
increasing odd ids (5.1.1) up to SETTINGS_MAX_CONCURRENT_STREAMS (5.1.2),
requests checked by fields.py (malformed: RST_STREAM PROTOCOL_ERROR), too
large field sections answered by the caller with 431 (RequestRejected),
trailers, streams the client opens after our GOAWAY ignored (6.8), and
`send_response`.

What it must never do: interpret the request (exchange.py and http/ do), or
read the clock: timeouts are the caller's, which ends with close().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .connection import Http2Connection
from .errors import ConnectionFailure, ErrorCode, StreamFailure
from .events import Event, RequestReceived, RequestRejected, StreamEnded
from .fields import check_request, content_length
from .frames import CLIENT_PREFACE, SettingCode
from .hpack import FieldSectionTooLarge
from .limits import Http2Limits
from .streams import PEER_MAY_SEND, Stream, StreamEvent, StreamTransition


class ServerConnection(Http2Connection):
    is_client = False

    def __init__(
        self,
        limits: Http2Limits | None = None,
        on_transition: Callable[[int, StreamTransition], None] | None = None,
    ) -> None:
        super().__init__(limits, on_transition)
        self._preface_missing = len(CLIENT_PREFACE)  # bytes of the magic string still due

    def _strip_preface(self, data: bytes) -> bytes:
        if not self._preface_missing:
            return data
        seen = len(CLIENT_PREFACE) - self._preface_missing
        expected = CLIENT_PREFACE[seen : seen + len(data)]
        if data[: len(expected)] != expected:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "not the HTTP/2 connection preface")
        self._preface_missing -= len(expected)
        return data[len(expected) :]

    def _fields_received(
        self,
        stream_id: int,
        fields: list[tuple[str, str]],
        end_stream: bool,
        too_large: FieldSectionTooLarge | None,
        events: list[Event],
    ) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            self._open_stream(stream_id, fields, end_stream, too_large, events)
            return
        # A second field block on an open stream: trailers (section 8.1).
        if stream.state not in PEER_MAY_SEND:
            raise StreamFailure(stream_id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM")
        if too_large is not None:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, str(too_large))
        self._trailers_received(stream, fields, end_stream, events)

    def _open_stream(
        self,
        stream_id: int,
        fields: list[tuple[str, str]],
        end_stream: bool,
        too_large: FieldSectionTooLarge | None,
        events: list[Event],
    ) -> None:
        if not self._is_peer_stream(stream_id):
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, f"even stream id {stream_id}")
        if stream_id <= self.highest_peer_stream_id:
            if stream_id in self._reset_by_us:
                return  # section 5.1, closed: in flight when we reset it; HPACK already read
            # Section 5.1: a stream that ended is closed (STREAM_CLOSED); a lower id
            # never used went from idle to closed when a higher one opened (5.1.1).
            code = (
                ErrorCode.STREAM_CLOSED
                if stream_id in self._recently_closed
                else ErrorCode.PROTOCOL_ERROR
            )
            raise ConnectionFailure(
                code, f"HEADERS on stream {stream_id}, at or below {self.highest_peer_stream_id}"
            )
        self.highest_peer_stream_id = stream_id
        if self.goaway_sent_last_stream_id is not None:
            # Section 6.8: streams opened after our GOAWAY are ignored, and so is
            # whatever the client sends on them before it reads the GOAWAY.
            self._reset_by_us.append(stream_id)
            return
        if len(self.streams) >= self.limits.max_concurrent_streams:
            raise StreamFailure(
                stream_id,
                ErrorCode.REFUSED_STREAM,
                f"more than {self.limits.max_concurrent_streams} concurrent streams",
            )
        stream = Stream(
            stream_id,
            send_window=self.peer_settings[SettingCode.INITIAL_WINDOW_SIZE],
            receive_window=self.limits.initial_window_size,
        )
        self.streams[stream_id] = stream
        self._transition(stream, StreamEvent.RECV_HEADERS)
        stream.received_final_head = True
        if too_large is not None:
            events.append(RequestRejected(stream_id, 431, str(too_large)))
        else:
            check_request(stream_id, fields)
            stream.content_length = content_length(stream_id, fields)
            if end_stream and stream.content_length not in (None, 0):
                raise StreamFailure(
                    stream_id, ErrorCode.PROTOCOL_ERROR, "content-length without DATA"
                )
            events.append(RequestReceived(stream_id, tuple(fields), end_stream))
        if end_stream:
            self._transition(stream, StreamEvent.RECV_END_STREAM)
            events.append(StreamEnded(stream_id))

    def send_response(
        self, stream_id: int, fields: Iterable[tuple[str, str]], end_stream: bool = False
    ) -> None:
        """The response head (":status" first); with `end_stream` there is no body."""
        stream = self._stream_to_send_on(stream_id)
        stream.response_started = True
        self._send_field_block(stream, fields, end_stream)
        if end_stream:
            self._stream_finished_sending(stream)
