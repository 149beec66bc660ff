"""Bounded capture of a jailed process's output: each stream is a pipe drained by a
thread that keeps only the last ``keep`` bytes and counts the rest.

Past ``limit`` bytes in one stream the capture calls ``on_overflow`` once (the jail
stops the process: a tool printing hundreds of megabytes must cost neither the worker's
memory nor its disk). Reading the tail never holds more than ``keep`` bytes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

DEFAULT_KEEP = 64 * 1024
DEFAULT_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


class TailCapture:
    """Drains one pipe (a file descriptor it owns and closes) in a daemon thread."""

    def __init__(self, fd: int, *, name: str, keep: int = DEFAULT_KEEP,
                 limit: int = DEFAULT_LIMIT,
                 on_overflow: Callable[[], None] = lambda: None) -> None:
        self.keep = keep
        self.limit = limit
        self.total = 0
        self.overflowed = False
        self._fd = fd
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._on_overflow = on_overflow
        self._thread = threading.Thread(target=self._drain, name=f"jail-{name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._fd, _CHUNK)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                fire = False
                with self._lock:
                    self.total += len(chunk)
                    self._buffer += chunk
                    if len(self._buffer) > self.keep:
                        del self._buffer[: len(self._buffer) - self.keep]
                    if self.total > self.limit and not self.overflowed:
                        self.overflowed = fire = True
                if fire:
                    self._on_overflow()
        finally:
            os.close(self._fd)

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def tail(self, limit: int | None = None) -> str:
        with self._lock:
            data = bytes(self._buffer if limit is None else self._buffer[-limit:])
        return data.decode("utf-8", errors="replace")
