"""The direct control rule: the capacity the worker group should have, from the backlog.

Each step (one per checker tick) ``DirectRule.decide`` is told how many instances the
backlog needs (``needed_instances``: every waiting or running job gets
``1 / target`` of a job slot) and the group's current desired capacity and bounds:

- scale-out goes to the need at once, but at most ``max(step_up, step_up_ratio x
  current)`` instances more per step, so one bad reading cannot launch the whole group;
- scale-in follows the highest need seen within the last ``scale_in_window`` seconds
  (the stabilisation window, as Kubernetes' HPA and KEDA do), at most ``max_step_down``
  instances per step (0: no limit), so a queue that empties for a moment keeps its
  workers; a rule that has not yet watched for a whole window (a checker that just
  started) does not scale in at all;
- it never moves the other way: between the instant need and the stabilised need it
  holds, so it does not fight the target-tracking policy left in place as its fallback
  (which only scales out above the target and only scales in below it);
- the result always stays within the group's [min, max].

The same rule runs in ``auto-lambda checker --control direct`` and in the simulator's
``direct`` policy. No I/O and no clock: ``now`` is given, and the only state is the
window of recent needs (only those that can still be its highest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from checker.rule import Decision, needed_capacity


@dataclass(frozen=True)
class DirectPolicy:
    target: float = 1.0  # backlog per job slot
    step_up: int = 10
    step_up_ratio: float = 1.0
    scale_in_window: float = 120.0
    max_step_down: int = 0

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise ValueError("target must be more than zero")
        if self.step_up < 1 or self.step_up_ratio < 0:
            raise ValueError("step_up must be at least 1 and step_up_ratio at least 0")
        if self.scale_in_window < 0 or self.max_step_down < 0:
            raise ValueError("scale_in_window and max_step_down must be 0 or more")


def needed_instances(backlog: float, slots_per_instance: int, target: float) -> int:
    """Instances whose slots hold the backlog at ``target`` jobs per slot."""
    return needed_capacity(backlog, target * max(1, slots_per_instance))


@dataclass
class DirectRule:
    policy: DirectPolicy = field(default_factory=DirectPolicy)
    recent: list[tuple[float, int]] = field(default_factory=list)
    started_at: float | None = None

    def decide(self, now: float, current: int, needed: int, low: int, high: int) -> Decision:
        """The desired capacity for ``needed`` instances, from ``current`` within
        [``low``, ``high``]; remembers ``needed`` for the scale-in window."""
        p = self.policy
        if self.started_at is None:
            self.started_at = now
        needed = max(low, min(high, needed))
        self._remember(now, needed)
        if needed > current:
            step = max(p.step_up, math.ceil(current * p.step_up_ratio))
            desired = min(needed, current + step)
            reason = f"backlog needs {needed}"
            if desired < needed:
                reason += f"; at most +{step} per step"
            return self._decision(current, desired, reason)
        stabilised = max(n for _, n in self.recent)  # the window's highest need
        watching = now - self.started_at < p.scale_in_window
        if stabilised < current and not watching:
            desired = stabilised
            if p.max_step_down:
                desired = max(desired, current - p.max_step_down)
            return self._decision(current, desired,
                                  f"backlog needed at most {stabilised} for "
                                  f"{p.scale_in_window:g}s")
        reason = f"backlog needs {needed}"
        if needed < current:
            reason += (f"; holding: watched for less than {p.scale_in_window:g}s" if watching
                       else f"; holding: needed {stabilised} within the last "
                            f"{p.scale_in_window:g}s")
        return self._decision(current, current, reason)

    def _remember(self, now: float, needed: int) -> None:
        """Keep the needs of the window that can still be its highest: a need no higher
        than ``needed``, seen no later, leaves the window no later than ``needed`` does,
        so it can never be the highest again. With a clock that only moves forward what
        is kept is a few falling needs, however often ``decide`` runs (the simulator
        calls it at every change of the backlog), and the highest is what keeping every
        need would give (tests/property/test_direct_rule.py compares both)."""
        kept = [(t, n) for t, n in self.recent if now - t < self.policy.scale_in_window]
        while kept and kept[-1][1] <= needed and kept[-1][0] <= now:
            kept.pop()
        kept.append((now, needed))
        self.recent = kept

    @staticmethod
    def _decision(current: int, desired: int, reason: str) -> Decision:
        action = "out" if desired > current else "in" if desired < current else "hold"
        return Decision(current, desired, action, reason, source="direct")
