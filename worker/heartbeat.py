"""Keeps a message invisible while its job runs.

A daemon thread that, every ``interval`` seconds, calls ``beat`` (the worker extends
the SQS message's visibility; the job's DynamoDB lease has its own keeper in
``orchestrator.pipeline``). If the worker dies the heartbeats stop, the message
reappears, the lease expires and another worker resumes the job from its last
persisted state. A failed beat is logged and retried; it never touches the job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, beat: Callable[[], None], interval: float) -> None:
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

    def stop(self) -> None:
        """No more beats (the thread ends at its next wake-up)."""
        self._stop.set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
