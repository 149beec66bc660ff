"""Circuit breakers, one per AWS service and operation, so a worker notices an outage
and stops burning receives on it.

A breaker is closed while calls succeed. ``threshold`` transient failures in a row
(throttling, 5xx, resets, timeouts: whatever the caller reports as transient) open it:
while open, ``allow()`` is False and the worker takes no new messages and hands back
the ones it holds with a delay. After ``cooldown`` seconds one probe is let through
(half open): a success closes the breaker, a failure opens it again with the cooldown
doubled, up to ``max_cooldown``. A permanent error (a refusal, a validation error) says
the service answered, so it counts as a success here.

Pure: state and arithmetic on an injected clock; no AWS, no threads of its own (a lock
guards the state, since a worker's job threads report concurrently).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_THRESHOLD = 5
DEFAULT_COOLDOWN = 2.0
DEFAULT_MAX_COOLDOWN = 60.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class Breaker:
    """One service operation's breaker (see the module docstring)."""

    threshold: int = DEFAULT_THRESHOLD
    cooldown: float = DEFAULT_COOLDOWN
    max_cooldown: float = DEFAULT_MAX_COOLDOWN
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    current_cooldown: float = 0.0
    probing: bool = False
    opened: int = 0   # how often it opened (a figure for logs and benches)

    def allow(self, now: float) -> bool:
        """Whether a call may go now; in half-open state, only one probe at a time."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.current_cooldown:
            self.state = BreakerState.HALF_OPEN
            self.probing = False
        if self.state is BreakerState.HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def retry_after(self, now: float) -> float:
        """Seconds until the next probe may go (0 when closed)."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        return max(0.0, self.opened_at + self.current_cooldown - now)

    def success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.probing = False
        self.current_cooldown = 0.0

    def failure(self, now: float) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self._open(now, min(self.max_cooldown, max(self.current_cooldown, self.cooldown) * 2))
        elif self.state is BreakerState.CLOSED and self.failures >= self.threshold:
            self._open(now, self.cooldown)

    def _open(self, now: float, cooldown: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = now
        self.current_cooldown = cooldown
        self.probing = False
        self.opened += 1


@dataclass
class Breakers:
    """The worker's breakers, by ``(service, operation)``; thread-safe."""

    threshold: int = DEFAULT_THRESHOLD
    cooldown: float = DEFAULT_COOLDOWN
    max_cooldown: float = DEFAULT_MAX_COOLDOWN
    clock: Callable[[], float] = time.monotonic
    _by_key: dict[tuple[str, str], Breaker] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _get(self, service: str, operation: str) -> Breaker:
        key = (service.lower(), operation)
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = Breaker(self.threshold, self.cooldown,
                                                self.max_cooldown)
        return found

    def record(self, service: str, operation: str, *, transient: bool) -> None:
        """Report one call's outcome (``transient``: it failed in a way that may pass)."""
        with self._lock:
            breaker = self._get(service, operation)
            if transient:
                breaker.failure(self.clock())
            else:
                breaker.success()

    def allow(self, service: str, operation: str) -> bool:
        with self._lock:
            return self._get(service, operation).allow(self.clock())

    def open_ones(self) -> list[tuple[str, str]]:
        """The (service, operation) pairs whose breaker is not closed."""
        with self._lock:
            return sorted(k for k, b in self._by_key.items() if b.state is not BreakerState.CLOSED)

    def any_open(self, services: Iterable[str] | None = None) -> bool:
        wanted = None if services is None else {s.lower() for s in services}
        return any(wanted is None or s in wanted for s, _op in self.open_ones())

    def retry_after(self) -> float:
        """Seconds until the soonest probe of an open breaker (0 when all are closed)."""
        with self._lock:
            now = self.clock()
            waits = [b.retry_after(now) for b in self._by_key.values()
                     if b.state is not BreakerState.CLOSED]
        return min(waits, default=0.0)
