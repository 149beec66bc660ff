"""A pool of identical local worker processes that the local autoscaler resizes.

``resize(n)`` starts new processes or sends SIGTERM to the newest ones (the worker
drains on SIGTERM: it finishes or hands back its jobs) and reaps them without blocking;
``stop(timeout)`` terminates everything, waits, and kills what outlives the timeout.
Each process writes to its own log file under ``log_dir``. The child environment is
this process's environment updated with ``env``.

This module knows nothing about queues or scaling rules; it only runs processes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class ProcessPool:
    """Processes running ``argv``; newest last."""

    def __init__(self, argv: list[str], env: dict[str, str], log_dir: Path,
                 popen: Callable[..., subprocess.Popen[Any]] = subprocess.Popen,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, **env}
        self.log_dir = Path(log_dir)
        self._popen = popen
        self._clock = clock
        self._running: list[tuple[subprocess.Popen[Any], IO[bytes]]] = []
        self._draining: list[tuple[subprocess.Popen[Any], IO[bytes]]] = []
        self._numbers = itertools.count(1)

    def size(self) -> int:
        """Live processes that are not draining (a crashed worker no longer counts)."""
        self._reap()
        return len(self._running)

    def draining(self) -> int:
        self._reap()
        return len(self._draining)

    def pids(self) -> list[int]:
        self._reap()
        return [proc.pid for proc, _ in self._running]

    def resize(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"pool size must be 0 or more, got {n}")
        self._reap()
        while len(self._running) < n:
            self._start()
        while len(self._running) > n:
            proc, out = self._running.pop()
            self._signal(proc, signal.SIGTERM)
            self._draining.append((proc, out))
            log.info("worker pid=%d asked to stop (pool now %d)", proc.pid, len(self._running))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every process, wait up to ``timeout`` in total, SIGKILL the rest."""
        self.resize(0)
        deadline = self._clock() + timeout
        for proc, out in self._draining:
            remaining = max(0.0, deadline - self._clock())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                log.warning("worker pid=%d ignored SIGTERM for %.0fs: killing it",
                            proc.pid, timeout)
                self._signal(proc, signal.SIGKILL)
                proc.wait()
            out.close()
        self._draining.clear()

    # ---- internals ----
    def _start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        number = next(self._numbers)
        out = open(self.log_dir / f"worker-{number}.log", "ab")  # noqa: SIM115 - kept open
        try:
            proc = self._popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
        except Exception:
            out.close()
            raise
        self._running.append((proc, out))
        log.info("worker %d started pid=%d (pool now %d)", number, proc.pid, len(self._running))

    def _reap(self) -> None:
        alive = []
        for proc, out in self._running:
            if proc.poll() is None:
                alive.append((proc, out))
            else:
                log.warning("worker pid=%d exited on its own with %s", proc.pid, proc.returncode)
                out.close()
        self._running = alive
        still = []
        for proc, out in self._draining:
            if proc.poll() is None:
                still.append((proc, out))
            else:
                out.close()
        self._draining = still

    @staticmethod
    def _signal(proc: subprocess.Popen[Any], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
