"""Reading a blob: count and hash every byte; read and hash ahead in a thread.

:class:`ReadAhead` runs the blob's reads and its hashing in a thread, one step ahead of
the layer scan's decompression: reading, hashing (``hashlib``) and inflating (isal, zlib)
release the GIL, so they overlap.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import IO, Any

CHUNK = 1 << 20


class HashingReader:
    """Wrap a binary stream; hash and count every byte read from it."""

    def __init__(self, raw: IO[bytes] | Any, algorithm: str = "sha256") -> None:
        self.raw = raw
        self.hash = hashlib.new(algorithm)
        self.algorithm = algorithm
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n)
        if data:
            self.hash.update(data)
            self.count += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return f"{self.algorithm}:{self.hash.hexdigest()}"


class ReadAhead:
    """A :class:`HashingReader` whose reads and hashing run in a thread, one step ahead of
    the decompression (both release the GIL, so reading, hashing and inflating overlap);
    at most ``depth`` chunks wait in memory.  An error of the stream is raised by ``read``."""

    _END = b""

    def __init__(self, raw: IO[bytes] | Any, algorithm: str = "sha256", depth: int = 4) -> None:
        self.inner = HashingReader(raw, algorithm)
        self.queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self.stop = threading.Event()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True, name="layer-read-ahead")
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                data = self.inner.read(CHUNK)
                self.queue.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader
            self.queue.put(exc)

    def read(self, n: int = -1) -> bytes:
        """The next chunk of the stream (whatever ``n``: callers read on until ``b""``)."""
        if self.done:
            return self._END
        got = self.queue.get()
        if isinstance(got, BaseException):
            self.done = True
            raise got
        if not got:
            self.done = True
        return got

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        """Stop the thread (a scan that ended early), not waiting for a blocked read."""
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass

    @property
    def count(self) -> int:
        return self.inner.count

    @property
    def digest(self) -> str:
        return self.inner.digest
