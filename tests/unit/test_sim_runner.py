"""Whole-simulation invariants: no job lost, latency never below the build time,
the same seed gives the same numbers, and the control delays behave as modelled; the
oracle, the direct policy, job slots on shared CPUs and the warm pool."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auto_lambda_dev.sim.policies import COMPARED, POLICIES, ControlParams
from auto_lambda_dev.sim.runner import SimOptions, run_policy, simulate
from auto_lambda_dev.sim.scenarios import SCENARIOS, get_scenario
from auto_lambda_dev.sim.workload import Fixed, Workload
from auto_lambda_dev.sim.world import GroupConfig, World

# whole simulated days and bursts: `make test` runs them, `make check` does not
pytestmark = pytest.mark.slow

BURST = get_scenario("burst")
# Policies that can start the first instance for any backlog (target tracking cannot
# for a backlog under one instance's slots x target: test below).
FROM_ZERO = ("keda", "direct", "oracle")


@pytest.mark.parametrize("policy", [*COMPARED, "oracle"])
def test_no_job_is_lost(policy: str) -> None:
    scenarios = [BURST] + ([get_scenario("idle-wake")] if policy in FROM_ZERO else [])
    for scenario in scenarios:
        workload, results = simulate(scenario, seed=3, policy_names=[policy],
                                     with_oracle=False)
        (result,) = results
        assert result.jobs == len(workload.arrivals) > 0
        assert result.finished == result.jobs
        assert result.p50 <= result.p95 <= result.p99 <= result.max_latency


def test_tracking_cannot_start_an_instance_for_a_small_backlog_but_direct_can() -> None:
    """At zero instances BacklogPerSlot is the backlog over one instance's slots: two
    jobs on four slots read 0.5, never above a target of 1, so target tracking strands
    them; the direct controller starts one instance. Stranded jobs still count."""
    workload = Workload([100.0, 100.0], [30.0, 30.0], "two jobs")
    group = GroupConfig(min_capacity=0, initial_capacity=0, concurrency=4)
    options = SimOptions(drain_limit=3600)
    tracking = run_policy(POLICIES["checker-10s"], workload, group, 1800, options)
    direct = run_policy(POLICIES["direct"], workload, group, 1800, options)
    assert tracking.finished == 0 and tracking.instance_hours == 0
    assert tracking.p95 >= 1800 - 100  # counted with the time they waited
    assert direct.finished == 2
    assert direct.max_latency < 30 + 65 + 10 + 1  # a tick, a launch and boot, the build


def test_each_job_latency_is_at_least_its_build_time() -> None:
    import simpy

    from auto_lambda_dev.sim import policies
    from auto_lambda_dev.sim.world import World

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
    _, results = simulate(BURST, seed=1, policy_names=["builtin", "checker-10s"],
                          with_oracle=False)
    builtin, fast = results
    assert fast.p95 < builtin.p95


def test_idle_queue_wakes_late_for_builtin_only() -> None:
    """After 6 idle hours SQS metrics resume up to 15 minutes late; the checker does not
    depend on them."""
    scenario = get_scenario("idle-wake")
    _, results = simulate(scenario, seed=1, policy_names=["builtin", "checker-10s"],
                          with_oracle=False)
    builtin, checker = results
    assert builtin.max_latency > ControlParams().wake_delay
    # (p95: target tracking may strand the hour's last lone upload at zero instances,
    # test_tracking_cannot_start_an_instance_for_a_small_backlog_but_direct_can)
    assert checker.p95 < ControlParams().wake_delay < builtin.p99


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
    assert result.warm_pool_hours == 0
    assert result.control_cost == 0
    prices = options.prices
    volume = prices.volume_gb * prices.ebs_gb_month / 730
    assert result.instance_cost == pytest.approx(2 * (prices.instance_per_hour + volume))


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
    assert [p["policy"] for p in doc["policies"]] == [*COMPARED, "oracle"]
    assert 0 < doc["p95_ratio_checker_10s_to_builtin"] < 1
    oracle = doc["policies"][-1]
    assert doc["oracle"] == {"p95": oracle["p95"], "instance_hours": oracle["instance_hours"]}
    for policy in doc["policies"]:
        assert policy["p95_vs_oracle"] == pytest.approx(policy["p95"] / oracle["p95"])
        assert policy["instance_hours_vs_oracle"] == pytest.approx(
            policy["instance_hours"] / oracle["instance_hours"])
    check = doc["floor_check"]
    assert check["policy"] == "direct" and check["baseline"] == "builtin"
    assert check["ok"] is (check["p95_vs_oracle"] <= 1.15
                           and check["instance_hours_vs_baseline"] <= 1)
    assert out.read_bytes().startswith(b"\x89PNG")


def test_cli_refuses_an_impossible_group(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.cli.main import main

    monkeypatch.setattr("sys.argv", ["auto-lambda", "simulate", "--min", "5", "--max", "2"])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("error [CheckerConfigInvalid]: invalid group") and "--min" in err


# ---- the oracle ----
def _world(group: GroupConfig, policy: str, arrivals: list[float], builds: list[float],
           control: ControlParams | None = None) -> World:
    import simpy

    from auto_lambda_dev.sim import policies

    world = World(simpy.Environment(), group)
    world.start(arrivals, builds)
    policies.start(world, POLICIES[policy], control or ControlParams())
    return world


def test_oracle_sets_the_fastest_draining_capacity_the_instant_uploads_land() -> None:
    world = _world(GroupConfig(concurrency=4, max_capacity=20), "oracle",
                   [100.0] * 40, [30.0] * 40)
    world.env.run(until=100.0001)
    assert world.desired() == 10  # one slot per job: 40 / 4, no step limit
    assert all(t == 100.0 for t, _ in world.scale_events)


def test_oracle_stays_within_the_groups_bounds() -> None:
    world = _world(GroupConfig(concurrency=1, max_capacity=5), "oracle",
                   [10.0] * 50, [30.0] * 50)
    world.env.run(until=11)
    assert world.desired() == 5


@pytest.mark.parametrize("seed", [1, 2])
def test_oracle_is_the_floor_in_a_burst(seed: int) -> None:
    _, results = simulate(BURST, seed=seed, policy_names=list(COMPARED))
    oracle = results[-1]
    assert oracle.policy == "oracle"
    for result in results[:-1]:
        assert oracle.p95 <= result.p95, result.policy


# ---- the direct policy ----
def test_direct_reacts_within_a_tick_and_limits_its_steps() -> None:
    control = ControlParams(direct_step_up=4)
    world = _world(GroupConfig(concurrency=1, max_capacity=20), "direct",
                   [600.0] * 100, [30.0] * 100, control)
    world.env.run(until=700)
    first_at, first_size = world.scale_events[0]
    assert 600 < first_at <= 600 + control.direct_interval
    assert first_size == 1 + 4  # from one instance: at most max(4, 100 %) more
    sizes = [n for _, n in world.scale_events]
    assert sizes[:3] == [5, 10, 20]  # then doubling each tick up to max


def test_direct_scales_in_only_after_its_window() -> None:
    """Every scale-in goes no lower than the need any tick saw within the window before
    it, and comes within a tick of the window running out (the direct rule alone: its
    target-tracking fallback has its own, per-slot scale-in rule)."""
    control = ControlParams(direct_window=120.0, direct_fallback=False)
    arrivals = [100.0] * 8 + [400.0] * 3 + [410.0] * 6
    # 31.3 s builds: no job ends at the very instant of a tick, where the order of two
    # simultaneous events would decide what the tick saw.
    world = _world(GroupConfig(concurrency=1, max_capacity=20), "direct",
                   arrivals, [31.3] * len(arrivals), control)
    world.env.run(until=1500)
    step = control.direct_interval
    ticks = [step / 2 + i * step for i in range(int(1500 / step))]

    def need(t: float) -> int:
        return max(1, sum(1 for j in world.jobs if j.arrived <= t
                          and (j.finished is None or j.finished > t)))

    previous = 1
    downs = 0
    for at, size in world.scale_events:
        if size < previous:
            downs += 1
            window = [need(t) for t in ticks if at - control.direct_window < t <= at]
            assert max(window) <= size, (at, size)
            # ...and it did not wait a tick longer than it had to.
            earlier = [need(t) for t in ticks
                       if at - step - control.direct_window < t <= at - step]
            assert max(earlier) > size, (at, size)
        previous = size
    assert downs >= 2 and world.desired() == 1


# ---- job slots on shared CPUs ----
@pytest.mark.parametrize(("cpu_fraction", "finish"), [(0.0, 10.0), (1.0, 20.0), (0.5, 15.0)])
def test_slots_share_the_instances_cpus(cpu_fraction: float, finish: float) -> None:
    """Four 10 s builds on one instance with four slots and two vCPUs: waiting needs no
    CPU; computing four at once on two cores takes twice as long."""
    group = GroupConfig(min_capacity=1, max_capacity=1, concurrency=4, vcpus=2,
                        cpu_fraction=cpu_fraction)
    world = _world(group, "fixed", [0.0] * 4, [10.0] * 4)
    world.env.run(until=100)
    assert [j.finished for j in world.jobs] == [pytest.approx(finish)] * 4


def test_more_slots_do_not_help_a_cpu_bound_build() -> None:
    workload = Workload([0.0] * 16, [10.0] * 16, "sixteen cpu-bound jobs")
    one = GroupConfig(min_capacity=1, max_capacity=1, concurrency=2, vcpus=2, cpu_fraction=1)
    eight = GroupConfig(min_capacity=1, max_capacity=1, concurrency=8, vcpus=2, cpu_fraction=1)
    a = run_policy(POLICIES["fixed"], workload, one, 600, SimOptions())
    b = run_policy(POLICIES["fixed"], workload, eight, 600, SimOptions())
    assert a.max_latency == pytest.approx(b.max_latency) == pytest.approx(80)


# ---- the warm pool ----
def test_warm_pool_serves_sooner_and_bills_its_stopped_disks() -> None:
    cold_group = GroupConfig(min_capacity=0, initial_capacity=0, concurrency=1)
    warm_group = GroupConfig(min_capacity=0, initial_capacity=0, concurrency=1,
                             warm_pool_size=3)
    workload = Workload([100.0] * 3, [30.0] * 3, "three jobs")
    options = SimOptions(drain_limit=0)
    cold = run_policy(POLICIES["oracle"], workload, cold_group, 3600, options)
    warm = run_policy(POLICIES["oracle"], workload, warm_group, 3600, options)
    assert cold.max_latency == pytest.approx(45 + 20 + 30)
    assert warm.max_latency == pytest.approx(20 + 10 + 30)
    # Three stopped instances all along, less the refills' running time.
    assert warm.warm_pool_hours == pytest.approx(3 - 3 * 65 / 3600, abs=1e-6)
    assert cold.warm_pool_hours == 0
    # The refills run a full launch and boot, billed.
    assert warm.instance_hours > cold.instance_hours
    assert warm.instance_cost > cold.instance_cost


def test_warm_pool_cost_per_month_is_its_volumes() -> None:
    from auto_lambda_dev.sim.costs import Prices

    prices = Prices()
    assert prices.warm_pool_per_month(5) == pytest.approx(5 * 30 * 0.08)
