"""Direct control against the emulator (moto in-process): the checker sets the worker
group's desired capacity from the backlog, within the group's bounds and its own step
limit; it holds on a tick without metrics and survives API errors. The local
autoscaler follows a desired capacity set on the group, as Auto Scaling does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from auto_lambda_dev.autoscaler import LocalAutoscaler
from auto_lambda_dev.localgroup import set_capacity
from checker.controller import DirectController
from checker.direct import DirectPolicy
from checker.metric import Checker, CheckerOptions, TickResult
from checker.rule import ScalingPolicy
from checker.sources import read_group
from orchestrator.aws.facade import Aws
from tests.functional.conftest import emulated_group
from tests.functional.test_checker import Faults
from tests.functional.test_local_autoscaler import FakePool, _burst, run_loop

NOW = 1_900_000_000.0


@pytest.fixture
def aws() -> Iterator[Aws]:
    with emulated_group(min_size=1, max_size=10) as client:
        yield client


def _tick(aws: Aws, slots: int, now: float = NOW) -> TickResult:
    return Checker(aws, CheckerOptions(slots_per_instance=slots), clock=lambda: now).tick()


def _group(aws: Aws) -> tuple[int, int]:
    state = read_group(aws, aws.settings.worker_group_name)
    assert state is not None
    return state.desired, state.in_service


def test_sets_the_desired_capacity_the_backlog_needs(aws: Aws) -> None:
    _burst(aws, 17)
    controller = DirectController(aws, DirectPolicy(target=1.0, step_up=10))
    step = controller.step(_tick(aws, slots=4))
    assert step.applied and step.error is None
    assert step.decision is not None and step.decision.source == "direct"
    assert (step.decision.previous, step.decision.desired) == (1, 5)  # ceil(17 / 4)
    assert _group(aws) == (5, 5)  # the emulator shows the instances InService


def test_steps_up_at_most_the_limit_and_stays_within_the_groups_max(aws: Aws) -> None:
    _burst(aws, 100)
    controller = DirectController(aws, DirectPolicy(target=1.0, step_up=2, step_up_ratio=0))
    desired = [controller.step(_tick(aws, slots=1, now=NOW + 10 * i)).decision
               for i in range(6)]
    assert [d.desired for d in desired if d is not None] == [3, 5, 7, 9, 10, 10]
    assert _group(aws)[0] == 10  # the group's MaxSize


def test_scales_in_after_its_window_never_below_the_groups_min(aws: Aws) -> None:
    set_capacity(aws, aws.settings, 6)
    controller = DirectController(aws, DirectPolicy(scale_in_window=30))
    held = controller.step(_tick(aws, slots=2, now=NOW))
    assert held.decision is not None and held.decision.desired == 6  # still watching
    assert "watched for less than 30s" in held.decision.reason
    done = controller.step(_tick(aws, slots=2, now=NOW + 30))
    assert done.applied and done.decision is not None
    assert done.decision.desired == 1 and _group(aws)[0] == 1


def test_holds_without_metrics_and_survives_api_errors(aws: Aws) -> None:
    _burst(aws, 8)
    controller = DirectController(aws)
    nothing = controller.step(TickResult(NOW, None, False, ["queue depth: AccessDenied"]))
    assert nothing.decision is None and not nothing.applied
    assert _group(aws)[0] == 1

    aws.autoscaling.meta.events.register("before-call.auto-scaling.SetDesiredCapacity",
                                         Faults("AccessDenied", 1))
    refused = controller.step(_tick(aws, slots=1))
    assert not refused.applied and refused.error == "set_desired_capacity: AwsAccessDenied"
    assert controller.error_count == 1 and _group(aws)[0] == 1
    assert "NOT applied" in refused.line()
    retried = controller.step(_tick(aws, slots=1, now=NOW + 10))
    assert retried.applied and _group(aws)[0] == 8  # the backlog's 8, within one step


def test_local_autoscaler_follows_a_desired_capacity_set_on_the_group(aws: Aws) -> None:
    pool = FakePool(1)
    scaler = LocalAutoscaler(aws, aws.settings, pool,
                             ScalingPolicy(target=5, min_capacity=1, max_capacity=10,
                                           warmup=5, scale_in_window=30),
                             clock=lambda: NOW)
    set_capacity(aws, aws.settings, 4)  # as `aws autoscaling set-desired-capacity` would
    decision = scaler.tick()
    assert (decision.previous, decision.desired, decision.source) == (1, 4, "group")
    assert pool.sizes == [1, 4]
    assert scaler.tick().desired == 4  # nothing new on the group: tracking holds


def test_local_loop_with_direct_control_scales_out_and_back_in(aws: Aws) -> None:
    _burst(aws, 30)
    pool = FakePool(1)
    # The fallback as the stack sets it beside direct control: slower out, never in.
    policy = ScalingPolicy(target=2, min_capacity=1, max_capacity=10, scale_in_window=60,
                           scale_in_cooldown=10, warmup=5, scale_out_after=3, scale_in=False)
    steps = run_loop(aws, pool, 120, policy=policy, control="direct",
                     direct_policy=DirectPolicy(target=2, scale_in_window=10, step_up=4),
                     checker_options=CheckerOptions(interval=1.0))
    first = steps[0]
    assert first.control is not None and first.control.applied
    assert first.decision.source == "group" and first.workers == 5  # 1 + max(4, 100 %)
    assert max(pool.sizes) == 10  # ceil(30 / 2), capped at the group's max
    # The direct controller brought it back to the minimum (tracking may not scale in).
    ins = [s for s in steps if s.control is not None and s.control.decision is not None
           and s.control.decision.action == "in"]
    assert ins and pool.size() == 1
    assert _group(aws)[0] == 1


def test_checker_cli_with_direct_control_prints_its_decision(aws: Aws) -> None:
    from orchestrator.cli.main import cli

    _burst(aws, 9)
    result = CliRunner().invoke(cli, ["checker", "--once", "--json", "--control", "direct",
                                      "--slots-per-instance", "2"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert doc["metrics"]["BacklogPerSlot"] == 4.5
    assert doc["control"] == {"previous": 1, "desired": 5, "action": "out",
                              "reason": "backlog needs 5", "applied": True, "error": None}
    assert _group(aws)[0] == 5
    text = CliRunner().invoke(cli, ["checker", "--once", "--control", "direct",
                                    "--slots-per-instance", "2"])
    assert "control: desired=5 (backlog needs 5)" in text.output
