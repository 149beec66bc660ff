"""Scaling policies as simpy processes, with AWS's control-loop delays.

- target tracking (``builtin``, ``checker-60s``, ``checker-10s``): the alarm pair
  Auto Scaling creates: scale out when the last ``out_points`` datapoints are all above
  the target, scale in when the last ``in_points`` are all below ``target * in_ratio``
  and no instance is warming up. Missing datapoints never breach (no action on missing
  data). The new capacity is ``ceil(value * InService / target)``, as target tracking
  computes it for a per-instance metric; scale-in removes at most ``in_step_fraction``
  of the capacity (at least one) per evaluation, since AWS scales in "more gradually".
- step scaling (``checker-step``): one datapoint above the target adds capacity by step
  (+1 up to 2x the target, +2 up to 4x, else +100% with at least 4), counted from the
  instances past warm-up; ``in_points`` datapoints below ``target * step_in_ratio``
  remove one instance per evaluation.
- ``keda``: a direct poller (no CloudWatch): every ``keda_poll`` seconds
  ``ceil(backlog / (target x slots))``, scale-up at most +100% (at least +4) per poll,
  scale-down to the highest recommendation of the last ``keda_down_window`` seconds
  (HPA defaults).
- ``direct``: what ``auto-lambda checker --control direct`` does: every
  ``direct_interval`` seconds (the checker's tick, 5 s) the rule of ``checker.direct``
  sets the desired capacity from the queue's backlog, with target tracking on the
  metric the same ticks publish (10 s period) left in place as its fallback (both run);
  beside the controller, tracking only scales out (DisableScaleIn), as the stack sets it.
- ``oracle``: the floor for a controller that reacts to what it sees: it learns of each
  upload and each finished job the instant it happens (no polling, metric or alarm
  delay) and at once sets the capacity that drains the backlog fastest, one job slot
  per job (``ceil(backlog / slots)`` within [min, max], no step limit). Launch, boot and
  warm-pool delays apply as for every policy. It cannot foresee the next upload either,
  so it keeps capacity as the default policy does: scale-in goes to the largest need of
  the last ``direct_window`` seconds (releasing instances the moment the backlog dips
  would relaunch them, cold, for the next upload: slower and dearer). A policy that
  holds idle instances longer can beat its p95 at more instance-hours.
- ``fixed``: never changes capacity (baseline and queueing-theory checks).

Every target is a backlog per job slot (instances x ``concurrency``). Only these
processes call ``World.set_desired``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from auto_lambda_dev.sim import signals
from auto_lambda_dev.sim.signals import Point, Series
from auto_lambda_dev.sim.world import World
from checker.direct import DirectPolicy, DirectRule, needed_instances
from checker.rule import needed_capacity


@dataclass(frozen=True)
class ControlParams:
    """Knobs of the control loops (AWS's defaults where AWS has them)."""

    target: float = 1.0  # backlog per job slot
    out_points: int = 3
    in_points: int = 15
    in_ratio: float = 0.9
    # AWS: target tracking "scales in more gradually" (rate not published). Assumed: at
    # most this fraction of the capacity (at least one instance) per evaluation.
    in_step_fraction: float = 0.1
    builtin_lag: float = 60.0
    checker_lag: float = 2.0
    sleep_after: float = 6 * 3600.0
    wake_delay: float = 900.0
    step_in_points: int = 30
    step_in_ratio: float = 0.5
    keda_poll: float = 30.0
    keda_activation: int = 0
    keda_down_window: float = 300.0
    direct_interval: float = 5.0
    direct_step_up: int = 10
    direct_step_up_ratio: float = 1.0
    direct_window: float = 120.0
    # The target-tracking policy the CDK stack leaves in place beside direct control.
    direct_fallback: bool = True

    def direct_policy(self) -> DirectPolicy:
        return DirectPolicy(target=self.target, step_up=self.direct_step_up,
                            step_up_ratio=self.direct_step_up_ratio,
                            scale_in_window=self.direct_window)


@dataclass(frozen=True)
class PolicySpec:
    name: str
    kind: str  # "target" | "target-out" | "step" | "keda" | "direct" | "oracle" | "fixed"
    signal: str  # "builtin" | "checker" | "direct" | "none"
    interval: float  # checker sample / poll interval, seconds
    period: float  # metric and alarm period, seconds
    description: str


POLICIES: dict[str, PolicySpec] = {
    "builtin": PolicySpec("builtin", "target", "builtin", 60, 60,
                          "target tracking on SQS's built-in metric / InService (60 s)"),
    "checker-60s": PolicySpec("checker-60s", "target", "checker", 60, 60,
                              "target tracking on the checker's metric, 60 s"),
    "checker-10s": PolicySpec("checker-10s", "target", "checker", 10, 10,
                              "target tracking on the checker's high-res metric, 10 s"),
    "checker-step": PolicySpec("checker-step", "step", "checker", 10, 10,
                               "step scaling on the checker's high-res metric, 10 s"),
    "keda": PolicySpec("keda", "keda", "direct", 30, 30,
                       "KEDA-like poller setting desired capacity directly, 30 s"),
    "direct": PolicySpec("direct", "direct", "checker", 5, 10,
                         "the checker sets desired capacity every 5 s; target tracking "
                         "on its metric (10 s) as the fallback"),
    "oracle": PolicySpec("oracle", "oracle", "none", 0, 0,
                         "knows each upload at once, sets the fastest-draining capacity"),
    "fixed": PolicySpec("fixed", "fixed", "none", 0, 0, "fixed capacity (no scaling)"),
}
COMPARED = ("builtin", "checker-60s", "checker-10s", "checker-step", "keda", "direct")
# The project's default (what the CDK stack deploys) and the baseline it must beat.
DEFAULT_POLICY = "direct"
BASELINE_POLICY = "builtin"
ORACLE = "oracle"


def start(world: World, spec: PolicySpec, params: ControlParams) -> Series | None:
    """Start the policy's processes in ``world``; returns the metric series it reads."""
    env = world.env
    if spec.kind == "fixed":
        return None
    if spec.kind == "oracle":
        _start_oracle(world, params)
        return None
    if spec.kind == "keda":
        env.process(_keda(world, spec, params))
        return None
    if spec.kind == "direct":
        env.process(_direct(world, spec, params))
        if not params.direct_fallback:
            return None
        # Target tracking on the metric the same checker publishes stays as the fallback,
        # scale-out only.
        fallback = PolicySpec(f"{spec.name}-fallback", "target-out", "checker",
                              params.direct_interval, spec.period,
                              "target tracking, scale-in disabled")
        return start(world, fallback, params)
    if spec.signal == "builtin":
        series = Series(spec.period, params.builtin_lag)
        env.process(signals.builtin_sqs(world, series, sleep_after=params.sleep_after,
                                        wake_delay=params.wake_delay))
    else:
        series = Series(spec.period, params.checker_lag)
        env.process(signals.checker(world, series, spec.interval))
    if spec.kind == "step":
        def rule(pts: list[Point | None]) -> None:
            _step_scaling(world, pts, params)
    else:
        # Beside direct control the tracking policy only scales out (DisableScaleIn):
        # scaling in is the controller's, with its stabilisation window.
        scale_in = spec.kind != "target-out"

        def rule(pts: list[Point | None]) -> None:
            _target_tracking(world, pts, params, scale_in=scale_in)
    env.process(_evaluate_every_period(world, series, rule,
                                       max(params.in_points, params.step_in_points)))
    return series


def _evaluate_every_period(world: World, series: Series, rule: Any,
                           depth: int) -> Generator[Any, Any, None]:
    env = world.env
    yield env.timeout(series.period + series.lag)
    while True:
        rule(series.window(world.now, depth))
        yield env.timeout(series.period)


def _all(points: list[Point | None], test: Any) -> bool:
    return bool(points) and all(p is not None and test(p.value) for p in points)


def _needed(point: Point, target: float) -> int:
    return needed_capacity(point.value * max(point.in_service, 1), target)


def _target_tracking(world: World, points: list[Point | None], params: ControlParams,
                     scale_in: bool = True) -> None:
    latest = points[-1]
    if latest is None:
        return
    if _all(points[-params.out_points:], lambda v: v > params.target):
        needed = _needed(latest, params.target)
        if needed > world.desired():
            world.set_desired(needed)
    elif (scale_in
          and _all(points[-params.in_points:], lambda v: v < params.target * params.in_ratio)
          and world.warming() == 0):
        needed = _needed(latest, params.target)
        current = world.desired()
        if needed < current:
            step = max(1, math.floor(current * params.in_step_fraction))
            world.set_desired(max(needed, current - step))


def step_adjustment(ratio: float, ready: int) -> int:
    """Instances to add when BacklogPerInstance is ``ratio`` times the target."""
    if ratio <= 2:
        return 1
    if ratio <= 4:
        return 2
    return max(4, ready)


def _step_scaling(world: World, points: list[Point | None], params: ControlParams) -> None:
    latest = points[-1]
    if latest is None:
        return
    if latest.value > params.target:
        ready = world.ready()
        wanted = ready + step_adjustment(latest.value / params.target, ready)
        if wanted > world.desired():
            world.set_desired(wanted)
    elif (_all(points[-params.step_in_points:],
               lambda v: v < params.target * params.step_in_ratio)
          and world.warming() == 0 and world.desired() > world.config.min_capacity):
        world.set_desired(world.desired() - 1)


def _keda(world: World, spec: PolicySpec, params: ControlParams) -> Generator[Any, Any, None]:
    env = world.env
    recommendations: list[tuple[float, int]] = []
    while True:
        backlog = world.backlog()
        wanted = (0 if backlog <= params.keda_activation
                  else needed_instances(backlog, world.slots_per_instance, params.target))
        wanted = max(world.config.min_capacity, min(world.config.max_capacity, wanted))
        now = world.now
        recommendations = [(t, r) for t, r in recommendations
                           if now - t < params.keda_down_window] + [(now, wanted)]
        current = world.desired()
        if wanted > current:
            world.set_desired(min(wanted, current + max(4, current)))
        else:
            stabilised = max(r for _, r in recommendations)
            if stabilised < current:
                world.set_desired(stabilised)
        yield env.timeout(spec.interval)


def _direct(world: World, spec: PolicySpec, params: ControlParams) -> Generator[Any, Any, None]:
    env = world.env
    rule = DirectRule(params.direct_policy())
    cfg = world.config
    interval = params.direct_interval
    # Ticks fall half an interval after round times, so an upload at a round time waits
    # the average half interval, not none.
    yield env.timeout(interval / 2)
    while True:
        needed = needed_instances(world.backlog(), world.slots_per_instance, params.target)
        decision = rule.decide(world.now, world.desired(), needed, cfg.min_capacity,
                               cfg.max_capacity)
        if decision.changed:
            world.set_desired(decision.desired)
        yield env.timeout(interval)


def _start_oracle(world: World, params: ControlParams) -> None:
    cfg = world.config
    # The direct rule without its delays: every event, no step limit, one slot per job.
    rule = DirectRule(DirectPolicy(target=1.0, step_up=cfg.max_capacity,
                                   scale_in_window=params.direct_window))

    def react() -> None:
        needed = needed_instances(world.backlog(), world.slots_per_instance, 1.0)
        decision = rule.decide(world.now, world.desired(), needed, cfg.min_capacity,
                               cfg.max_capacity)
        if decision.changed:
            world.set_desired(decision.desired)

    def expire() -> Generator[Any, Any, None]:
        # A need leaving the window can allow scale-in with no event to notice it: look
        # again every second (the oracle's only clock).
        while True:
            yield world.env.timeout(1.0)
            react()

    world.listeners.append(react)
    world.env.process(expire())
    react()
