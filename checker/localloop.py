"""The local scaling loop ``auto-lambda local up`` runs: every ``period`` seconds one
checker tick (publish the metrics) and one autoscaler tick (resize the worker pool and
the emulator group). It ends when ``stop()`` returns true or after ``max_ticks``.

Wiring only: the checker, the rule and the pool live in their own modules. Clock and
sleep are injected so tests run it without real waiting. Never raises for AWS errors
(both ticks swallow and count them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from checker.autoscaler import LocalAutoscaler, Pool
from checker.metric import Checker, CheckerOptions, TickResult
from checker.rule import Decision, ScalingPolicy
from orchestrator.aws.facade import Aws


@dataclass(frozen=True)
class LoopStep:
    """What one pass of the loop saw and did."""

    tick: TickResult
    decision: Decision
    workers: int


def run_local_scaling_loop(
    aws: Aws,
    pool: Pool,
    *,
    policy: ScalingPolicy | None = None,
    checker_options: CheckerOptions | None = None,
    period: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], object] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
    on_step: Callable[[LoopStep], None] | None = None,
    max_ticks: int | None = None,
) -> LocalAutoscaler:
    """Run checker + autoscaler every ``period`` seconds; returns the autoscaler (its
    ``history`` and ``errors`` are useful afterwards)."""
    options = checker_options or CheckerOptions(interval=period)
    checker = Checker(aws, options, clock=clock)
    autoscaler = LocalAutoscaler(aws, aws.settings, pool, policy or ScalingPolicy(),
                                 clock=clock, checker_options=options)
    done = 0
    next_at = clock()
    while not stop() and (max_ticks is None or done < max_ticks):
        result = checker.tick()
        decision = autoscaler.tick()
        done += 1
        if on_step is not None:
            on_step(LoopStep(result, decision, pool.size()))
        next_at += period
        now = clock()
        next_at = max(next_at, now)
        if max_ticks is None or done < max_ticks:
            sleep(next_at - now)
    return autoscaler
