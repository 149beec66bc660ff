"""A pool of user ids for the jails of a root worker: each running jail gets a uid no
other running jail on this host has.

The kernel counts processes per user id, so jails sharing one uid would share one
process limit: a fork bomb in one upload could make another team's concurrent build
fail. A lease is an exclusive ``flock`` on ``<dir>/<uid>.lock`` (a root-only folder), so
it holds across the worker processes of one host and ends with its holder, crash
included. Leases are handed out round-robin, so a uid whose last processes are still
being reaped is not the next one given. No processes are started here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from pathlib import Path

from orchestrator.errors import SandboxUnavailable

_RUN_DIR = Path("/run/auto-lambda/jail-uids")


class UidLease:
    def __init__(self, uid: int, fd: int) -> None:
        self.uid = uid
        self._fd: int | None = fd
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the uid back (idempotent)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class UidPool:
    def __init__(self, first: int, count: int, lock_dir: Path | None = None) -> None:
        self.first, self.count = first, max(1, count)
        self.lock_dir = lock_dir or _default_lock_dir()
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self) -> UidLease:
        """A uid no other running jail on this host holds; SandboxUnavailable if all are
        taken."""
        self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % self.count
        for step in range(self.count):
            uid = self.first + (start + step) % self.count
            fd = os.open(self.lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return UidLease(uid, fd)
        raise SandboxUnavailable(
            f"all {self.count} jail user ids ({self.first}..{self.first + self.count - 1}) "
            "are in use by running jails on this host",
            hint="raise AUTO_LAMBDA_JAIL_UID_COUNT, or run fewer jobs at once per host")


def _default_lock_dir() -> Path:
    if os.access("/run", os.W_OK):
        return _RUN_DIR
    return Path(tempfile.gettempdir()) / f"auto-lambda-jail-uids-{os.getuid()}"
