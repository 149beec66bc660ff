"""Keeps a message invisible and a job's lease alive while the job runs.

A daemon thread that, every ``interval`` seconds, extends the SQS message's
visibility and the job's DynamoDB lease. If the worker dies the heartbeats stop, the
lease expires and another worker resumes the job from its last persisted state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, beat: Callable[[], None], interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._beat = beat
        self._interval = max(interval, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self.beats = 0
        self.failures = 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
                self.beats += 1
            except Exception:  # a missed beat is retried next interval; never kill the job
                self.failures += 1
                log.warning("heartbeat failed", exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
