"""A periodic beat on a daemon thread: what keeps a message invisible and a job's
lease alive while the job runs.

``beat`` is called every ``interval`` seconds. It returns False to end the beating
(the lease is no longer ours, or the step is hung and should be let go); a beat that
raises is logged and tried again next interval, it never touches the job. If the
process dies the beats stop with it, and the lease and the message expire on their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, beat: Callable[[], bool | None], interval: float,
                 name: str = "heartbeat") -> None:
        self._beat = beat
        self._interval = max(interval, 0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.beats = 0
        self.failures = 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._beat() is False:
                    return
                self.beats += 1
            except Exception:  # a missed beat is retried next interval; never kill the job
                self.failures += 1
                log.warning("%s failed", self._thread.name, exc_info=True)

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
