"""The local scaling loop ``auto-lambda local up`` runs: every ``period`` seconds one
checker tick (publish the metrics), with ``control="direct"`` one direct-control step
(set the emulator group's desired capacity, as ``checker --control direct`` does on
AWS), and one autoscaler tick (follow the group, apply target tracking, resize the
worker pool). It ends when ``stop()`` returns true or after ``max_ticks``.

Wiring only: the checker, the rule and the pool live in their own modules. Clock and
sleep are injected so tests run it without real waiting. Never raises for AWS errors
(both ticks swallow and count them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from auto_lambda_dev.autoscaler import LocalAutoscaler, Pool
from checker.controller import ControlStep, DirectController
from checker.direct import DirectPolicy
from checker.metric import Checker, CheckerOptions, TickResult
from checker.rule import Decision, ScalingPolicy
from orchestrator.aws.facade import Aws

CONTROLS = ("tracking", "direct")


@dataclass(frozen=True)
class LoopStep:
    """What one pass of the loop saw and did."""

    tick: TickResult
    decision: Decision
    workers: int
    control: ControlStep | None = None


def run_local_scaling_loop(
    aws: Aws,
    pool: Pool,
    *,
    policy: ScalingPolicy | None = None,
    checker_options: CheckerOptions | None = None,
    control: str = "tracking",
    direct_policy: DirectPolicy | None = None,
    period: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], object] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
    on_step: Callable[[LoopStep], None] | None = None,
    max_ticks: int | None = None,
) -> LocalAutoscaler:
    """Run checker + autoscaler every ``period`` seconds; returns the autoscaler (its
    ``history`` and ``errors`` are useful afterwards)."""
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
    options = checker_options or CheckerOptions(interval=period)
    checker = Checker(aws, options, clock=clock)
    policy = policy or ScalingPolicy()
    autoscaler = LocalAutoscaler(aws, aws.settings, pool, policy,
                                 clock=clock, checker_options=options)
    controller = (DirectController(aws, direct_policy or DirectPolicy(target=policy.target))
                  if control == "direct" else None)
    done = 0
    next_at = clock()
    while not stop() and (max_ticks is None or done < max_ticks):
        result = checker.tick()
        step = controller.step(result) if controller is not None else None
        decision = autoscaler.tick()
        done += 1
        if on_step is not None:
            on_step(LoopStep(result, decision, pool.size(), step))
        next_at += period
        now = clock()
        next_at = max(next_at, now)
        if max_ticks is None or done < max_ticks:
            sleep(next_at - now)
    return autoscaler
