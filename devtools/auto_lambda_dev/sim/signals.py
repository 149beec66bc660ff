"""What CloudWatch sees: the metric pipelines the scaling policies read.

A ``Series`` holds datapoints by period slot (slot k covers [k*P, (k+1)*P)), each the
average of the samples taken in it, and knows when each becomes visible (``lag``).
Two producers fill one:

- ``builtin_sqs``: SQS's own ApproximateNumberOfMessagesVisible, one sample a minute,
  divided by the group's job slots (metric math: InService x slots per instance, at
  least one instance). After ``sleep_after`` seconds with no message and no poller the
  queue is "asleep" and emits nothing; after it wakes, datapoints resume only
  ``wake_delay`` seconds later.
- ``checker``: the checker's BacklogPerSlot, one sample every ``interval`` seconds,
  (visible + in-flight) / (InService x slots per instance), counting one instance's
  slots when nothing is InService.

Observation only: nothing here changes capacity.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from auto_lambda_dev.sim.world import World


@dataclass
class Point:
    total: float = 0.0
    count: int = 0
    in_service: int = 0
    visible_at: float = 0.0

    @property
    def value(self) -> float:
        return self.total / self.count


@dataclass
class Series:
    period: float
    lag: float = 0.0
    points: dict[int, Point] = field(default_factory=dict)

    def add(self, time: float, value: float, in_service: int) -> None:
        slot = math.floor(time / self.period + 1e-9)
        point = self.points.setdefault(slot, Point())
        point.total += value
        point.count += 1
        point.in_service = in_service
        point.visible_at = max(point.visible_at, (slot + 1) * self.period + self.lag)

    def last_complete_slot(self, now: float) -> int:
        """The newest slot whose period has ended and whose data could be visible."""
        return math.floor((now - self.lag) / self.period + 1e-9) - 1

    def window(self, now: float, count: int) -> list[Point | None]:
        """The last ``count`` complete slots, oldest first; None where data is missing."""
        last = self.last_complete_slot(now)
        out: list[Point | None] = []
        for slot in range(last - count + 1, last + 1):
            point = self.points.get(slot)
            out.append(point if point is not None and point.visible_at <= now + 1e-9 else None)
        return out


def per_slot(backlog: int, in_service: int, slots_per_instance: int) -> float:
    """Backlog per job slot; with nothing InService, per slot of one instance (so the
    need computed from it, value x max(InService, 1) / target, stays right)."""
    return backlog / (max(in_service, 1) * slots_per_instance)


def builtin_sqs(world: World, series: Series, *, sleep_after: float = 6 * 3600.0,
                wake_delay: float = 900.0) -> Generator[Any, Any, None]:
    """SQS's built-in metric (visible messages) divided by InService, once a minute."""
    env = world.env
    asleep = False
    awake_from = 0.0
    last_seen_active = 0.0
    # Sample in the middle of each minute.
    yield env.timeout(series.period / 2)
    while True:
        now = world.now
        if world.visible() > 0 or world.in_flight() > 0 or world.is_polled():
            last_seen_active = max(last_seen_active, now)
        last_active = max(last_seen_active, world.last_activity)
        if not asleep and now - last_active >= sleep_after:
            asleep = True
        elif asleep and now - last_active < sleep_after:
            asleep = False
            awake_from = now + wake_delay
        if not asleep and now >= awake_from:
            in_service = world.in_service()
            series.add(now, per_slot(world.visible(), in_service, world.slots_per_instance),
                       in_service)
        yield env.timeout(series.period)


def checker(world: World, series: Series, interval: float) -> Generator[Any, Any, None]:
    """The checker: (visible + in-flight) per job slot every ``interval`` seconds."""
    while True:
        in_service = world.in_service()
        series.add(world.now, per_slot(world.backlog(), in_service, world.slots_per_instance),
                   in_service)
        yield world.env.timeout(interval)
