"""An open-file cache, as nginx's open_file_cache: resolve a path once, keep the file open.

Answering a request for a file costs, without a cache: realpath() on the root
and on the file (one lstat per path component), open, fstat and close.  For
small files that is most of the work.  This cache remembers, per (root,
request path):

- the real path, already checked to be inside the root, for `valid_seconds`
  (so a symlink changed under us is noticed within that time, and a path
  that was checked is never re-resolved through the new link);
- the open file, shared by every response that sends it: `SharedFile`'s
  close() does nothing, and the descriptor is closed when the cache has
  forgotten the entry and the last response using it is done (CPython frees
  it at once when its last reference goes);
- what the headers need: size, modification time, ETag, Content-Type, and
  (in `response_heads`, filled by static.py) the encoded heads of recent
  plain 200 responses, which die with the entry when the file changes.

Every use stats the real path (one system call): a file replaced or
modified since it was cached is reopened, so responses are never stale.

What it must never do: read the clock (`now` is passed in), cache a refusal
(probing many bad paths must not fill it), or grow beyond `max_entries`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field


class SharedFile:
    """A read-only descriptor shared by concurrent responses; sent with offsets, never seeked."""

    __slots__ = ("_descriptor",)

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def fileno(self) -> int:
        return self._descriptor

    def close(self) -> None:
        """Nothing: others may be sending from the same descriptor (see the module docstring)."""

    def __del__(self) -> None:
        try:
            os.close(self._descriptor)
        except OSError:
            pass


# static.py's memo of encoded heads:
# (Date second, Connection value) -> (header fields, encoded head).
ResponseHeads = dict[tuple[int, str | None], tuple[tuple[tuple[str, str], ...], bytes]]


@dataclass(slots=True)
class CachedFile:
    real_path: str
    file: SharedFile
    size: int
    mtime_ns: int
    inode: tuple[int, int]  # (st_dev, st_ino)
    content_type: str
    checked_at: float  # when real_path was last resolved and checked inside the root
    response_heads: ResponseHeads = field(default_factory=dict)


class OpenFileCache:
    def __init__(self, max_entries: int = 1024, valid_seconds: float = 1.0) -> None:
        self.max_entries = max_entries
        self.valid_seconds = valid_seconds
        self._entries: OrderedDict[tuple[str, str], CachedFile] = OrderedDict()

    def get(self, root: str, path: str, now: float) -> CachedFile | None:
        """A current entry for this request path, or None (the caller resolves it)."""
        key = (root, path)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry.checked_at > self.valid_seconds:
            del self._entries[key]  # resolve the path again: symlinks may have changed
            return None
        try:
            status = os.stat(entry.real_path)
        except OSError:
            del self._entries[key]
            return None
        if (
            (status.st_dev, status.st_ino) != entry.inode
            or status.st_size != entry.size
            or status.st_mtime_ns != entry.mtime_ns
        ):
            del self._entries[key]  # replaced or modified: reopen
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, root: str, path: str, entry: CachedFile) -> None:
        self._entries[(root, path)] = entry
        self._entries.move_to_end((root, path))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
