"""The target-tracking rule on BacklogPerSlot, as pure functions.

``decide(capacity, history, policy, now)`` returns the capacity the group should have:

- scale out when the latest BacklogPerSlot is above the target, to
  ``ceil(value * InService / target)`` instances (InService: the count the value was
  divided by, at least 1; the slots per instance cancel out, since both the value and
  the target count jobs per slot): at once, or with ``scale_out_after`` only once every
  sample of that many seconds was above the target (AWS's alarm waits for three
  datapoints);
- scale in only when every sample of the last ``scale_in_window`` seconds was below
  ``target * scale_in_ratio``, no instance is still warming up and the last scale-in is
  at least ``scale_in_cooldown`` ago; never below what the backlog needs;
- never scale in while the latest value exceeds the target, nor at all with
  ``scale_in=False`` (AWS's DisableScaleIn: beside direct control, tracking only adds);
- always within [min_capacity, max_capacity].

This mirrors what EC2 Auto Scaling target tracking does with the checker's metric
(fast scale-out, slow scale-in, instance warm-up). No I/O, no clock: ``now`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingPolicy:
    target: float = 5.0
    min_capacity: int = 1
    max_capacity: int = 20
    scale_in_ratio: float = 0.9
    scale_in_window: float = 60.0
    scale_in_cooldown: float = 30.0
    warmup: float = 60.0
    # Remove at most this many instances per decision (0 = no limit).
    max_scale_in_step: int = 0
    # Scale out only after the metric stayed above the target this long (0 = at once).
    scale_out_after: float = 0.0
    # False: never scale in (DisableScaleIn), as the fallback beside direct control.
    scale_in: bool = True

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise ValueError("target must be more than zero")
        if not 0 <= self.min_capacity <= self.max_capacity:
            raise ValueError("need 0 <= min_capacity <= max_capacity")


@dataclass(frozen=True)
class MetricSample:
    """One BacklogPerSlot datapoint; ``in_service`` is the InService count it was divided by
    (None: assume the current capacity)."""

    time: float
    value: float
    in_service: int | None = None


@dataclass(frozen=True)
class Capacity:
    """The group as the rule sees it."""

    current: int
    launched_at: tuple[float, ...] = ()
    last_scale_in_at: float | None = None

    def warming(self, now: float, warmup: float) -> int:
        return sum(1 for t in self.launched_at if now - t < warmup)


@dataclass(frozen=True)
class Decision:
    previous: int
    desired: int
    action: str  # "out" | "in" | "hold"
    reason: str
    metric: float | None = None
    source: str = ""

    @property
    def changed(self) -> bool:
        return self.desired != self.previous


def needed_capacity(backlog: float, target: float) -> int:
    """Instances that bring ``backlog`` per instance down to ``target`` (per instance;
    ``backlog`` may be in slot units, as ``value * InService``)."""
    if backlog <= 0:
        return 0
    return math.ceil(backlog / target - 1e-9)


def _clamp(n: int, policy: ScalingPolicy) -> int:
    return max(policy.min_capacity, min(policy.max_capacity, n))


def _action(previous: int, desired: int) -> str:
    return "out" if desired > previous else "in" if desired < previous else "hold"


def decide(capacity: Capacity, history: Sequence[MetricSample], policy: ScalingPolicy,
           now: float) -> Decision:
    cur = capacity.current
    if not history:
        desired = _clamp(cur, policy)
        return Decision(cur, desired, _action(cur, desired), "no metric yet")
    latest = history[-1]
    divisor = latest.in_service if latest.in_service is not None else cur
    backlog = latest.value * max(divisor, 1)
    needed = needed_capacity(backlog, policy.target)

    if latest.value > policy.target:
        desired = _clamp(max(cur, needed), policy)
        reason = (f"backlog/slot {latest.value:.2f} > target {policy.target:g}: "
                  f"need {needed}")
        if desired < cur:  # only possible above max_capacity
            reason = f"capacity {cur} above max {policy.max_capacity}"
        elif desired > cur and not _above_long_enough(history, policy, now):
            desired = cur
            reason += f"; not yet: above the target for less than {policy.scale_out_after:g}s"
        return Decision(cur, desired, _action(cur, desired), reason, latest.value)

    desired = cur
    reason = f"backlog/slot {latest.value:.2f} within target {policy.target:g}"
    if needed < cur:
        blocker = _scale_in_blocker(capacity, history, policy, now)
        if blocker:
            reason += f"; not scaling in: {blocker}"
        else:
            desired = needed
            if policy.max_scale_in_step > 0:
                desired = max(desired, cur - policy.max_scale_in_step)
            reason = (f"backlog/slot below {policy.target * policy.scale_in_ratio:g} "
                      f"for {policy.scale_in_window:g}s: need {needed}")
    clamped = _clamp(desired, policy)
    if clamped != desired:
        reason += f"; kept within [{policy.min_capacity}, {policy.max_capacity}]"
    return Decision(cur, clamped, _action(cur, clamped), reason, latest.value)


def _above_long_enough(history: Sequence[MetricSample], policy: ScalingPolicy,
                       now: float) -> bool:
    if policy.scale_out_after <= 0:
        return True
    start = now - policy.scale_out_after
    if history[0].time > start:
        return False
    in_force = [s for s in history if s.time <= start][-1:]
    recent = in_force + [s for s in history if s.time > start]
    return all(s.value > policy.target for s in recent)


def _scale_in_blocker(capacity: Capacity, history: Sequence[MetricSample],
                      policy: ScalingPolicy, now: float) -> str:
    """Why scale-in must wait, or '' when it may go ahead."""
    if not policy.scale_in:
        return "scale-in disabled"
    warming = capacity.warming(now, policy.warmup)
    if warming:
        return f"{warming} instance(s) warming up"
    if (capacity.last_scale_in_at is not None
            and now - capacity.last_scale_in_at < policy.scale_in_cooldown):
        return "scale-in cooldown"
    start = now - policy.scale_in_window
    if history[0].time > start:
        return f"less than {policy.scale_in_window:g}s of metric history"
    threshold = policy.target * policy.scale_in_ratio
    # The sample in force at the window's start counts too: it held until the next one.
    in_force = [s for s in history if s.time <= start][-1:]
    recent = in_force + [s for s in history if s.time > start]
    if any(s.value >= threshold for s in recent):
        return f"metric reached {threshold:g} within the last {policy.scale_in_window:g}s"
    return ""
