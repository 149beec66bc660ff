"""Parked bakes do not inflate instance-hours: in the simulator, the steady scenario (6
uploads a minute for 3 h) with every job baking 30 minutes between its build and its
check costs what the same jobs cost with a 1 s bake when jobs park, and many times more
when each bake holds its slot (the rollout as a loop inside the promote step).

Figures (seed 7, target tracking on the checker's 10 s metric, docs/scaling.md): no
rollout 7.8 instance-hours; build, 1 s bake, check 10.3; build, 30 min parked bake,
check 10.7 (the last bakes keep the run 30 minutes longer); the same bakes held 191."""

from __future__ import annotations

from dataclasses import replace

from auto_lambda_dev.sim.policies import POLICIES
from auto_lambda_dev.sim.runner import PolicyResult, SimOptions, make_workload, run_policy
from auto_lambda_dev.sim.scenarios import get_scenario
from auto_lambda_dev.sim.world import GroupConfig

STEADY = get_scenario("steady")
BAKE = 1800.0


def run(**group: object) -> PolicyResult:
    options = SimOptions(group=replace(GroupConfig(max_capacity=60), **group))  # type: ignore[arg-type]
    workload = make_workload(STEADY, 7, options.builds)
    return run_policy(POLICIES["checker-10s"], workload, options.group, STEADY.horizon,
                      options, STEADY.sample_every)


def test_parked_bakes_cost_what_a_moment_of_baking_costs_and_held_bakes_do_not() -> None:
    instant = run(bake_seconds=1.0)
    parked = run(bake_seconds=BAKE)
    held = run(bake_seconds=BAKE, hold_bakes=True)
    assert instant.finished == parked.finished == held.finished == instant.jobs > 1000
    # parking: the same work (build, then check) costs the same within 10 %, whether the
    # bake between them lasts a second or half an hour
    assert parked.instance_hours <= instant.instance_hours * 1.10
    # holding: every slot sits through 30 minutes per job
    assert held.instance_hours > 10 * parked.instance_hours
    # the bake is in every job's latency either way, and parking adds little to it
    assert parked.p50 >= BAKE and parked.p95 < held.p95 + 120
    print(f"instance-hours: 1 s bakes {instant.instance_hours:.1f}, parked "
          f"{parked.instance_hours:.1f}, held {held.instance_hours:.1f}; p95 latency "
          f"parked {parked.p95:.0f} s, held {held.p95:.0f} s")
