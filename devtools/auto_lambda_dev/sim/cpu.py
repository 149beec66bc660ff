"""An instance's CPUs shared by the builds it runs at once (processor sharing).

Each build asks for ``work`` CPU-seconds; while ``n`` builds compute on ``cores`` cores,
each progresses at ``min(1, cores / n)`` CPU-seconds per second (a build is one
process: it never uses more than one core). ``run(work)`` returns a simpy event that
fires when that build's work is done. Rates change whenever a build starts or ends, so
the remaining work of every build is brought up to date at each change.

Simulation only: it knows nothing about queues, jobs or scaling.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

EPSILON = 1e-9


class SharedCpu:
    def __init__(self, env: simpy.Environment, cores: int) -> None:
        if cores < 1:
            raise ValueError("an instance needs at least one core")
        self.env = env
        self.cores = cores
        self._remaining: dict[simpy.Event, float] = {}
        self._updated = float(env.now)
        self._changed = env.event()
        self.busy_seconds = 0.0  # core-seconds spent computing (utilisation = this / (cores * t))
        env.process(self._loop())

    @property
    def running(self) -> int:
        return len(self._remaining)

    def rate(self) -> float:
        """CPU-seconds per second each running build gets now."""
        n = len(self._remaining)
        return min(1.0, self.cores / n) if n else 1.0

    def run(self, work: float) -> simpy.Event:
        done = self.env.event()
        if work <= EPSILON:
            done.succeed()
            return done
        self._advance()
        self._remaining[done] = work
        self._wake()
        return done

    # ---- internals ----
    def _advance(self) -> None:
        now = float(self.env.now)
        elapsed = now - self._updated
        self._updated = now
        if elapsed <= 0 or not self._remaining:
            return
        step = elapsed * self.rate()
        self.busy_seconds += step * len(self._remaining)
        for event in self._remaining:
            self._remaining[event] -= step

    def _wake(self) -> None:
        if not self._changed.triggered:
            self._changed.succeed()

    def _loop(self) -> Generator[Any, Any, None]:
        while True:
            if self._remaining:
                until_next = min(self._remaining.values()) / self.rate()
                yield self.env.timeout(max(until_next, 0.0)) | self._changed
            else:
                yield self._changed
            if self._changed.triggered:
                self._changed = self.env.event()
            self._advance()
            finished = [e for e, left in self._remaining.items() if left <= EPSILON]
            for event in finished:
                del self._remaining[event]
                event.succeed()
