"""Hand-written fakes the tests share: a clock whose sleep moves time forward instead of
waiting, and a two-step workflow (fetch, then a build retried on ``Transient``) small
enough to reason about span by span."""

from __future__ import annotations

from states import Catcher, Definition, FailState, Retrier, SucceedState, TaskState


class FakeClock:
    """Wall time that jumps forward on ``sleep`` (each sleep is recorded in ``slept``), so
    retry and backoff waits take no real time. Call it to read the time."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)


FETCH_BUILD = Definition(start_at="received", states=(
    TaskState("received", resource="fetch", next="fetched",
              catch=(Catcher(("States.ALL",), "failed"),)),
    TaskState("fetched", resource="build", next="built",
              retry=(Retrier(("Transient",), interval_seconds=1.0, max_attempts=2),),
              catch=(Catcher(("States.ALL",), "failed"),)),
    SucceedState("built"),
    FailState("failed"),
))


class Flaky(Exception):
    """A step failure ``FETCH_BUILD`` retries."""

    code = "Transient"
