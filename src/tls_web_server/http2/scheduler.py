"""Where response bodies come from, and the order DATA frames leave in.

What this module owns:
- `BodySource`, what a caller hands the connection to send as DATA: read up
  to n bytes and say whether they are the last.  `BufferedBody` holds bytes
  given bit by bit; `FileRangeBody` reads a file range with os.pread, a slice
  at a time, so a large file is never read whole.
- `RoundRobin`: the streams with something to send, served one frame each
  in turn, so no stream starves another (RFC 9113 section 5.3 leaves the
  order to us; deprecated priorities are ignored).

What it must never do: look at windows or frames (connection.py sizes each
frame to the windows and the peer's SETTINGS_MAX_FRAME_SIZE), or seek a
shared file (http/file_cache.py shares descriptors between responses).
"""

from __future__ import annotations

import os
from collections import deque
from typing import Protocol


class BodySource(Protocol):
    def read(self, max_length: int) -> tuple[bytes, bool]:
        """Up to `max_length` bytes (possibly none, for now), and whether the body ends there."""
        ...


class BufferedBody:
    """Bytes appended as the caller has them; `finish()` marks the end."""

    __slots__ = ("_buffer", "_offset", "finished")

    def __init__(self, data: bytes = b"", finished: bool = False) -> None:
        self._buffer = bytearray(data)
        self._offset = 0
        self.finished = finished

    def append(self, data: bytes) -> None:
        if self._offset:
            del self._buffer[: self._offset]
            self._offset = 0
        self._buffer += data

    def finish(self) -> None:
        self.finished = True

    @property
    def pending(self) -> int:
        return len(self._buffer) - self._offset

    def read(self, max_length: int) -> tuple[bytes, bool]:
        end = min(len(self._buffer), self._offset + max(max_length, 0))
        chunk = bytes(self._buffer[self._offset : end])
        self._offset = end
        return chunk, self.finished and end == len(self._buffer)


class OpenFile(Protocol):
    def fileno(self) -> int: ...


class FileRangeBody:
    """`length` bytes of an open file from `offset`, read with pread (the file is never seeked).

    It keeps the file object, not only its descriptor: http/file_cache.py
    closes a shared descriptor when the last object holding it goes.
    """

    __slots__ = ("_descriptor", "_file", "_offset", "remaining")

    def __init__(self, file: OpenFile, offset: int, length: int) -> None:
        self._file = file
        self._descriptor = file.fileno()
        self._offset = offset
        self.remaining = length

    def read(self, max_length: int) -> tuple[bytes, bool]:
        wanted = min(max_length, self.remaining)
        if wanted <= 0:
            return b"", self.remaining == 0
        chunk = os.pread(self._descriptor, wanted, self._offset)
        if not chunk:
            # The file shrank under us: the body cannot end as announced.
            raise OSError(f"file ended {self.remaining} bytes early")
        self._offset += len(chunk)
        self.remaining -= len(chunk)
        return chunk, self.remaining == 0


class RoundRobin:
    """Stream ids waiting to send, in turn; each id at most once."""

    __slots__ = ("_members", "_order")

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._members: set[int] = set()

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, stream_id: int) -> bool:
        return stream_id in self._members

    def add(self, stream_id: int) -> None:
        if stream_id not in self._members:
            self._members.add(stream_id)
            self._order.append(stream_id)

    def next(self) -> int:
        stream_id = self._order.popleft()
        self._members.discard(stream_id)
        return stream_id

    def discard(self, stream_id: int) -> None:
        if stream_id in self._members:
            self._members.discard(stream_id)
            self._order.remove(stream_id)
