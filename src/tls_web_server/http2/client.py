"""The client side of an HTTP/2 connection: requests out on odd streams, responses in.

What this module owns: what only a client does (RFC 9113): the preface's
magic string (section 3.4), new streams with increasing odd ids, respecting
the server's SETTINGS_MAX_CONCURRENT_STREAMS, response heads checked by
fields.py (1xx heads before the final one, then trailers), and no pushed
streams (we send SETTINGS_ENABLE_PUSH 0).

What it must never do: open a stream after the server's GOAWAY, or read the
clock; the blocking client that drives it owns the socket and the timeouts.
"""

from __future__ import annotations

from collections.abc import Iterable

from .connection import Http2Connection
from .errors import ConnectionFailure, ErrorCode, StreamFailure
from .events import Event, ResponseReceived, StreamEnded
from .fields import check_response, content_length
from .frames import SettingCode
from .hpack import FieldSectionTooLarge
from .streams import PEER_MAY_SEND, InvalidTransition, Stream, StreamEvent


class ClientConnection(Http2Connection):
    is_client = True

    @property
    def can_open_stream(self) -> bool:
        limit = self.peer_settings[SettingCode.MAX_CONCURRENT_STREAMS]
        return self.goaway_received is None and self.failed is None and len(self.streams) < limit

    def send_request(self, fields: Iterable[tuple[str, str]], end_stream: bool = True) -> int:
        """Open the next stream with this request head; returns its id."""
        if not self.can_open_stream:
            raise InvalidTransition("no stream may be opened now (GOAWAY, or the server's limit)")
        stream_id = self.next_local_stream_id
        self.next_local_stream_id += 2
        stream = Stream(
            stream_id,
            send_window=self.peer_settings[SettingCode.INITIAL_WINDOW_SIZE],
            receive_window=self.limits.initial_window_size,
        )
        self.streams[stream_id] = stream
        self._transition(stream, StreamEvent.SEND_HEADERS)
        self._send_field_block(stream, fields, end_stream)
        return stream_id

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
            if self._is_peer_stream(stream_id) or self._is_idle(stream_id):
                raise ConnectionFailure(
                    ErrorCode.PROTOCOL_ERROR, f"HEADERS on stream {stream_id} we never opened"
                )
            if stream_id in self._reset_by_us:
                return
            raise ConnectionFailure(ErrorCode.STREAM_CLOSED, f"HEADERS on closed {stream_id}")
        if stream.state not in PEER_MAY_SEND:
            raise StreamFailure(stream_id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM")
        if too_large is not None:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, str(too_large))
        if stream.received_final_head:
            self._trailers_received(stream, fields, end_stream, events)
            return
        status = check_response(stream_id, fields)
        informational = 100 <= status < 200
        if informational and end_stream:
            raise StreamFailure(stream_id, ErrorCode.PROTOCOL_ERROR, "1xx with END_STREAM")
        if not informational:
            stream.received_final_head = True
            stream.content_length = content_length(stream_id, fields)
        events.append(ResponseReceived(stream_id, tuple(fields), end_stream, informational))
        if end_stream:
            self._transition(stream, StreamEvent.RECV_END_STREAM)
            events.append(StreamEnded(stream_id))
