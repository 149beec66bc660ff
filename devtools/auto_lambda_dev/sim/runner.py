"""Run one scenario under several policies and summarise each run.

Every policy sees the same workload (arrival times and per-job build times drawn once
from the seed), so differences come from the policies alone, and a seed reproduces
the numbers exactly. Runs continue past the horizon until every job is finished (up
to ``drain_limit``), so no job is left uncounted. ``simulate`` also runs the oracle
(same group, same delays) unless asked not to, so each result can be read against it.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import simpy

from auto_lambda_dev.sim import policies
from auto_lambda_dev.sim.costs import HOURS_PER_MONTH, Prices, control_cost_per_month
from auto_lambda_dev.sim.policies import ORACLE, POLICIES, ControlParams, PolicySpec
from auto_lambda_dev.sim.scenarios import Scenario
from auto_lambda_dev.sim.workload import BuildTimes, LogNormal, Workload
from auto_lambda_dev.sim.world import GroupConfig, Sample, World
from checker.errors import CheckerConfigError


@dataclass
class PolicyResult:
    policy: str
    description: str
    jobs: int
    finished: int
    p50: float
    p95: float
    p99: float
    mean_latency: float
    max_latency: float
    mean_wait: float
    max_backlog: int
    instance_hours: float
    warm_pool_hours: float
    instance_cost: float
    control_cost: float
    total_cost: float
    control_cost_per_month: float
    control_cost_items: dict[str, float]
    scale_events: int
    simulated_seconds: float
    samples: list[Sample] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("samples")
        return out


@dataclass(frozen=True)
class SimOptions:
    group: GroupConfig = field(default_factory=GroupConfig)
    control: ControlParams = field(default_factory=ControlParams)
    prices: Prices = field(default_factory=Prices)
    builds: BuildTimes = field(default_factory=lambda: LogNormal.from_mean(30.0, 0.5))
    drain_limit: float = 24 * 3600.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return float(cuts[int(q) - 1]) if 1 <= q <= 99 else float(max(values))


def make_workload(scenario: Scenario, seed: int, builds: BuildTimes,
                  arrivals: Sequence[float] | None = None) -> Workload:
    rng = random.Random(seed)
    times = list(arrivals) if arrivals is not None else scenario.arrivals(rng)
    return Workload.make(times, builds, random.Random(seed + 1), builds.describe())


def group_for(scenario: Scenario, base: GroupConfig) -> GroupConfig:
    return replace(base, **scenario.group)  # type: ignore[arg-type]


def run_policy(spec: PolicySpec, workload: Workload, group: GroupConfig, horizon: float,
               options: SimOptions, sample_every: float = 10.0) -> PolicyResult:
    env = simpy.Environment()
    world = World(env, group)
    world.start(workload.arrivals, workload.build_times)
    env.process(world.record(sample_every))
    policies.start(world, spec, options.control)
    env.run(until=horizon)
    end = horizon
    total = len(workload.arrivals)
    while sum(1 for j in world.jobs if j.finished is not None) < total:
        if end - horizon >= options.drain_limit:
            break
        end += 600.0
        env.run(until=end)
    return summarise(spec, world, end, options.prices)


def summarise(spec: PolicySpec, world: World, end: float, prices: Prices) -> PolicyResult:
    done = [j for j in world.jobs if j.finished is not None]
    # A job still unfinished at the end counts with the time it has waited so far (a
    # lower bound), so a policy that strands jobs cannot look fast.
    latencies = sorted([j.latency for j in done]
                       + [end - j.arrived for j in world.jobs if j.finished is None])
    waits = [j.started - j.arrived for j in done if j.started is not None]
    hours = world.instance_seconds(end) / 3600
    stopped = world.warm_pool_seconds(end) / 3600
    items = control_cost_per_month(spec, prices)
    per_month = sum(items.values())
    control = per_month * (end / 3600) / HOURS_PER_MONTH
    instance_cost = prices.workers(hours, stopped)
    return PolicyResult(
        policy=spec.name, description=spec.description, jobs=len(world.jobs),
        finished=len(done),
        p50=percentile(latencies, 50), p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        mean_latency=statistics.fmean(latencies) if latencies else 0.0,
        max_latency=latencies[-1] if latencies else 0.0,
        mean_wait=statistics.fmean(waits) if waits else 0.0,
        max_backlog=world.max_backlog, instance_hours=hours, warm_pool_hours=stopped,
        instance_cost=instance_cost,
        control_cost=control, total_cost=instance_cost + control,
        control_cost_per_month=per_month, control_cost_items=items,
        scale_events=len(world.scale_events), simulated_seconds=end,
        samples=world.samples)


def simulate(scenario: Scenario, seed: int, policy_names: Sequence[str],
             options: SimOptions | None = None,
             arrivals: Sequence[float] | None = None,
             with_oracle: bool = True) -> tuple[Workload, list[PolicyResult]]:
    """Run ``scenario`` once per policy; returns the workload and one result each, the
    oracle's last (unless ``with_oracle`` is false or it was named already)."""
    options = options or SimOptions()
    policy_names = list(policy_names)
    if with_oracle and ORACLE not in policy_names:
        policy_names.append(ORACLE)
    unknown = [p for p in policy_names if p not in POLICIES]
    if unknown:
        raise CheckerConfigError(f"unknown policy {', '.join(unknown)}",
                                 hint="choose from " + ", ".join(POLICIES))
    workload = make_workload(scenario, seed, options.builds, arrivals)
    horizon = scenario.horizon
    if arrivals is not None and workload.arrivals:
        horizon = max(horizon, workload.arrivals[-1] + 1800)
    try:
        group = group_for(scenario, options.group)
    except ValueError as exc:
        raise CheckerConfigError(f"invalid group: {exc}",
                                 hint="check --min, --max, --concurrency and --vcpus") from exc
    results = [run_policy(POLICIES[name], workload, group, horizon, options,
                          scenario.sample_every) for name in policy_names]
    return workload, results
