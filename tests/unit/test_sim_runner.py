"""Whole-simulation invariants: no job lost, latency never below the build time,
the same seed gives the same numbers, and the control delays behave as modelled."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from checker.sim.policies import COMPARED, POLICIES, ControlParams
from checker.sim.runner import SimOptions, run_policy, simulate
from checker.sim.scenarios import SCENARIOS, get_scenario
from checker.sim.workload import Fixed, Workload
from checker.sim.world import GroupConfig

BURST = get_scenario("burst")


@pytest.mark.parametrize("policy", COMPARED)
def test_no_job_is_lost(policy: str) -> None:
    for scenario in (BURST, get_scenario("idle-wake")):
        workload, results = simulate(scenario, seed=3, policy_names=[policy])
        (result,) = results
        assert result.jobs == len(workload.arrivals) > 0
        assert result.finished == result.jobs
        assert result.p50 <= result.p95 <= result.p99 <= result.max_latency


def test_each_job_latency_is_at_least_its_build_time() -> None:
    import simpy

    from checker.sim import policies
    from checker.sim.world import World

    workload, _ = simulate(BURST, seed=5, policy_names=["fixed"])
    env = simpy.Environment()
    world = World(env, GroupConfig(max_capacity=20))
    world.start(workload.arrivals, workload.build_times)
    policies.start(world, POLICIES["checker-10s"], ControlParams())
    env.run(until=BURST.horizon)
    assert len(world.jobs) == 500
    for job in world.jobs:
        assert job.finished is not None
        assert job.latency >= job.build_seconds - 1e-9
        assert job.started is not None and job.started >= job.arrived


def test_same_seed_same_numbers_different_seed_different_numbers() -> None:
    steady = get_scenario("steady")
    _, first = simulate(steady, seed=7, policy_names=["checker-10s", "builtin"])
    _, again = simulate(steady, seed=7, policy_names=["checker-10s", "builtin"])
    _, other = simulate(steady, seed=8, policy_names=["checker-10s", "builtin"])
    assert [r.as_json() for r in first] == [r.as_json() for r in again]
    assert [r.as_json() for r in first] != [r.as_json() for r in other]


def test_checker_10s_reacts_to_a_burst_before_builtin() -> None:
    _, results = simulate(BURST, seed=1, policy_names=["builtin", "checker-10s"])
    builtin, fast = results
    assert fast.p95 < builtin.p95


def test_idle_queue_wakes_late_for_builtin_only() -> None:
    """After 6 idle hours SQS metrics resume up to 15 minutes late; the checker does not
    depend on them."""
    scenario = get_scenario("idle-wake")
    _, results = simulate(scenario, seed=1, policy_names=["builtin", "checker-10s"])
    builtin, checker = results
    assert builtin.max_latency > ControlParams().wake_delay
    assert checker.max_latency < ControlParams().wake_delay


def test_scale_from_zero_when_nothing_is_in_service() -> None:
    workload = Workload([100.0] * 10, [30.0] * 10, "ten jobs")
    group = GroupConfig(min_capacity=0, initial_capacity=0)
    result = run_policy(POLICIES["checker-10s"], workload, group, 3600, SimOptions())
    assert result.finished == 10
    assert result.instance_hours > 0


def test_fixed_capacity_costs_exactly_its_instances() -> None:
    workload = Workload([0.0], [10.0], "one job")
    options = SimOptions(builds=Fixed(10.0))
    result = run_policy(POLICIES["fixed"], workload, GroupConfig(min_capacity=2, max_capacity=2),
                        3600, options)
    assert result.instance_hours == pytest.approx(2.0)
    assert result.control_cost == 0
    assert result.instance_cost == pytest.approx(2 * options.prices.instance_per_hour)


def test_every_scenario_is_known_and_unknown_ones_are_refused() -> None:
    assert set(SCENARIOS) == {"steady", "burst", "diurnal", "idle-wake"}
    from checker.errors import CheckerConfigError

    with pytest.raises(CheckerConfigError):
        get_scenario("monday")
    with pytest.raises(CheckerConfigError):
        simulate(BURST, seed=1, policy_names=["magic"])


def test_cli_json_and_plot(tmp_path: object) -> None:
    from pathlib import Path

    from orchestrator.cli.main import cli

    out = Path(str(tmp_path)) / "burst.png"
    result = CliRunner().invoke(cli, ["simulate", "--scenario", "burst", "--seed", "2",
                                      "--json", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [p["policy"] for p in doc["policies"]] == list(COMPARED)
    assert 0 < doc["p95_ratio_checker_10s_to_builtin"] < 1
    assert out.read_bytes().startswith(b"\x89PNG")
