"""A client written frame by frame, to send our server what no polite client would."""

from __future__ import annotations

from tls_web_server.http2 import frames as f
from tls_web_server.http2.events import Event
from tls_web_server.http2.hpack import Decoder, Encoder
from tls_web_server.http2.limits import Http2Limits
from tls_web_server.http2.server import ServerConnection

REQUEST = [(":method", "GET"), (":scheme", "https"), (":authority", "example"), (":path", "/")]


class FrameClient:
    def __init__(self, limits: Http2Limits | None = None, settings=()) -> None:
        self.server = ServerConnection(limits)
        self.server.initiate()
        self.encoder = Encoder()
        self.decoder = Decoder(max_field_section_size=1 << 20)
        self._reader = f.FrameReader(f.LARGEST_MAX_FRAME_SIZE)
        self.events: list[Event] = self.send_raw(
            f.CLIENT_PREFACE + f.SettingsFrame(tuple(settings)).encode()
        )
        self.read()  # the server's SETTINGS, window growth, and the ACK of ours
        self.events += self.send(f.SettingsFrame(ack=True))

    def send_raw(self, data: bytes) -> list[Event]:
        return self.server.receive_data(data)

    def send(self, *frames: f.Frame) -> list[Event]:
        return self.send_raw(b"".join(frame.encode() for frame in frames))

    def block(self, fields) -> bytes:
        return self.encoder.encode(fields)

    def headers(self, stream_id: int, fields=REQUEST, end_stream: bool = True) -> f.HeadersFrame:
        return f.HeadersFrame(stream_id, self.block(fields), end_stream=end_stream)

    def read(self, max_data: int = 1 << 30) -> list[f.Frame]:
        self._reader.feed(self.server.data_to_send(max_data))
        out = []
        while (received := self._reader.next_frame()) is not None:
            out.append(received.frame)
        return out

    def goaway_code(self) -> int | None:
        for frame in self.read():
            if isinstance(frame, f.GoAwayFrame):
                return frame.error_code
        return None

    def resets(self) -> dict[int, int]:
        return {
            frame.stream_id: frame.error_code
            for frame in self.read()
            if isinstance(frame, f.RstStreamFrame)
        }
