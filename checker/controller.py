"""Direct control (``auto-lambda checker --control direct``): after each checker tick,
set the worker group's desired capacity from the backlog the tick measured.

The rule is ``checker.direct`` (step limits, a scale-in stabilisation window, the
group's own min and max read each step). The group's target-tracking policy on
BacklogPerSlot stays attached as the fallback: if this process stops, the metric stops
with it and Auto Scaling holds the group where it is (it never scales in on missing
data) until the checker instance is replaced; if only SetDesiredCapacity fails, target
tracking keeps scaling on the metric the checker still publishes.

A tick without metrics (the queue or the group could not be read) changes nothing: a
made-up backlog would steer the group wrongly. API errors are logged and counted, never
raised. Only this module and the local autoscaler call SetDesiredCapacity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from checker.direct import DirectPolicy, DirectRule
from checker.metric import BACKLOG_PER_SLOT, TickResult
from checker.rule import Decision, needed_capacity
from checker.sources import read_group
from orchestrator.aws.facade import Aws, error_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlStep:
    """What one control step decided and whether the group took it."""

    decision: Decision | None
    applied: bool = False
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        d = self.decision
        return {"previous": d.previous if d else None, "desired": d.desired if d else None,
                "action": d.action if d else "none", "reason": d.reason if d else self.error,
                "applied": self.applied, "error": self.error}

    def line(self) -> str:
        if self.decision is None:
            return f"control: no decision ({self.error})"
        d = self.decision
        arrow = f"{d.previous}->{d.desired}" if d.changed else str(d.desired)
        text = f"control: desired={arrow} ({d.reason})"
        if self.error:
            text += f" NOT applied: {self.error}"
        return text


class DirectController:
    def __init__(self, aws: Aws, policy: DirectPolicy | None = None) -> None:
        self.aws = aws
        self.settings = aws.settings
        self.rule = DirectRule(policy or DirectPolicy())
        self.error_count = 0

    def step(self, tick: TickResult) -> ControlStep:
        if tick.metrics is None:
            return ControlStep(None, error="no metrics this tick: holding")
        try:
            group = read_group(self.aws, self.settings.worker_group_name)
        except Exception as exc:  # the loop must outlive any API failure
            return self._failed(None, "describe_auto_scaling_groups", exc)
        if group is None:
            return ControlStep(None, error=f"group {self.settings.worker_group_name} not found")
        value = tick.metrics[BACKLOG_PER_SLOT]
        in_service = int(tick.metrics["InServiceInstances"])
        needed = needed_capacity(value * max(in_service, 1), self.rule.policy.target)
        decision = replace(self.rule.decide(tick.time, group.desired, needed, group.min_size,
                                            group.max_size), metric=value)
        if not decision.changed:
            return ControlStep(decision)
        try:
            self.aws.scaling.set_desired_capacity(self.settings.worker_group_name,
                                                  decision.desired)
        except Exception as exc:
            return self._failed(decision, "set_desired_capacity", exc)
        log.info("control: %d -> %d (%s)", decision.previous, decision.desired, decision.reason)
        return ControlStep(decision, applied=True)

    def _failed(self, decision: Decision | None, what: str, exc: Exception) -> ControlStep:
        self.error_count += 1
        code = getattr(exc, "code", None) or error_code(exc) or type(exc).__name__
        log.warning("control: %s failed (%s): %s", what, code, exc)
        return ControlStep(decision, error=f"{what}: {code}")
