"""The worker group's scaling, as synthesized: target tracking on BacklogPerSlot always,
the checker's direct control (and its one extra permission) by default, the warm pool
and its launch hook when asked for, and the job slots both sides count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cdk.conftest import Synth
from tests.cdk.helpers import actions, as_list, logical_id, role_statements, text, user_data

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"
GROUP_ARN_TAIL = f':autoScalingGroup:*:autoScalingGroupName/{PREFIX}-workers"]]}}'


def _autoscaling_grants(synth: Synth, role: Any) -> list[dict[str, Any]]:
    return [s for s in role_statements(synth, role)
            if any(a.startswith("autoscaling:") for a in actions(s))]


def test_direct_control_lets_the_checker_set_only_the_worker_groups_capacity(
        synth: Synth) -> None:
    statements = _autoscaling_grants(synth, synth.stack.checker_role)
    setting = [s for s in statements if "autoscaling:SetDesiredCapacity" in actions(s)]
    (statement,) = setting
    assert actions(statement) == ["autoscaling:SetDesiredCapacity"]
    (resource,) = as_list(statement["Resource"])
    assert text(resource).endswith(GROUP_ARN_TAIL)
    assert "checker" not in text(resource)
    # Nothing else it may change: describing is all the rest.
    others = {a for s in statements if s is not statement for a in actions(s)}
    assert others == {"autoscaling:DescribeAutoScalingGroups"}


def test_direct_control_runs_in_the_checker_with_tracking_left_as_fallback(
        synth: Synth) -> None:
    script = user_data(synth, "Checker")
    assert ("ExecStart=/opt/auto-lambda/bin/auto-lambda checker --interval 5s "
            "--control direct --target 1\n") in script
    (policy,) = synth.of_type("AWS::AutoScaling::ScalingPolicy").values()
    assert policy["Properties"]["AutoScalingGroupName"] == {
        "Ref": logical_id(synth, synth.stack.workers.group)}
    assert policy["Properties"]["PolicyType"] == "TargetTrackingScaling"
    # The fallback only adds capacity; scaling in is the controller's.
    assert policy["Properties"]["TargetTrackingConfiguration"]["DisableScaleIn"] is True


def test_tracking_only_grants_the_checker_no_capacity_change(tracking_warm: Synth) -> None:
    statements = _autoscaling_grants(tracking_warm, tracking_warm.stack.checker_role)
    assert {a for s in statements for a in actions(s)} == {
        "autoscaling:DescribeAutoScalingGroups"}
    script = user_data(tracking_warm, "Checker")
    assert "ExecStart=/opt/auto-lambda/bin/auto-lambda checker --interval 10s\n" in script
    assert "--control" not in script
    (policy,) = tracking_warm.of_type("AWS::AutoScaling::ScalingPolicy").values()
    assert policy["Properties"]["TargetTrackingConfiguration"]["DisableScaleIn"] is False


def test_tracking_targets_backlog_per_job_slot(synth: Synth) -> None:
    (policy,) = synth.of_type("AWS::AutoScaling::ScalingPolicy").values()
    tracking = policy["Properties"]["TargetTrackingConfiguration"]
    assert tracking["TargetValue"] == 1
    (query,) = tracking["CustomizedMetricSpecification"]["Metrics"]
    assert query["MetricStat"]["Metric"]["MetricName"] == "BacklogPerSlot"


def test_workers_and_checker_count_the_same_job_slots(synth: Synth) -> None:
    parameters = {p["Properties"]["Name"]: p["Properties"]["Value"]
                  for p in synth.of_type("AWS::SSM::Parameter").values()}
    # t3.medium: 2 vCPUs, 4 GiB.
    assert parameters[f"/{PREFIX}/worker-concurrency"] == "3"
    # Both services read /<prefix>/ into AUTO_LAMBDA_*: worker-concurrency becomes
    # AUTO_LAMBDA_WORKER_CONCURRENCY for the worker and the checker alike.
    for part in ("Workers", "Checker"):
        assert f"--path /{PREFIX} " in user_data(synth, part)


def test_no_warm_pool_or_launch_hook_unless_asked(synth: Synth) -> None:
    assert not synth.of_type("AWS::AutoScaling::WarmPool")
    hooks = synth.of_type("AWS::AutoScaling::LifecycleHook").values()
    assert [h["Properties"]["LifecycleTransition"] for h in hooks] == [
        "autoscaling:EC2_INSTANCE_TERMINATING"]
    assert "auto-lambda-ready" not in user_data(synth, "Workers")


def test_warm_pool_has_a_fixed_size_of_stopped_instances(tracking_warm: Synth) -> None:
    group = {"Ref": logical_id(tracking_warm, tracking_warm.stack.workers.group)}
    (pool,) = tracking_warm.of_type("AWS::AutoScaling::WarmPool").values()
    assert pool["Properties"] == {
        "AutoScalingGroupName": group,
        "MinSize": 3,
        "MaxGroupPreparedCapacity": 3,
        "PoolState": "Stopped",
        "InstanceReusePolicy": {"ReuseOnScaleIn": False},
    }


def test_warm_pool_instances_finish_initialising_before_they_are_stopped(
        tracking_warm: Synth) -> None:
    group = {"Ref": logical_id(tracking_warm, tracking_warm.stack.workers.group)}
    hooks = {h["Properties"]["LifecycleTransition"]: h["Properties"]
             for h in tracking_warm.of_type("AWS::AutoScaling::LifecycleHook").values()}
    launch = hooks["autoscaling:EC2_INSTANCE_LAUNCHING"]
    assert launch["AutoScalingGroupName"] == group
    assert launch["LifecycleHookName"] == f"{PREFIX}-worker-launch"
    assert launch["DefaultResult"] == "ABANDON"
    assert launch["HeartbeatTimeout"] >= 30 * 60  # covers a first boot without the AMI
    assert "autoscaling:EC2_INSTANCE_TERMINATING" in hooks
    script = user_data(tracking_warm, "Workers")
    # The instance completes the hook once installed, and at every later boot...
    assert "complete-lifecycle-action" in script
    assert f"--lifecycle-hook-name {PREFIX}-worker-launch" in script
    assert f"--auto-scaling-group-name {PREFIX}-workers" in script
    assert "systemctl enable --now auto-lambda-ready.service" in script
    # ...and the worker takes jobs only once the instance is InService.
    assert "ExecStartPre=/usr/local/bin/auto-lambda-wait-in-service" in script
    assert "autoscaling/target-lifecycle-state" in script
    assert "systemctl enable --now --no-block auto-lambda-worker.service" in script
    assert script.index("auto-lambda-ready.service\n") < script.index(
        "--no-block auto-lambda-worker.service")
    # The checker never waits for a warm pool.
    assert "wait-in-service" not in user_data(tracking_warm, "Checker")
    # The worker may complete lifecycle actions on its own group only (iam.py).
    granted = [s for s in role_statements(tracking_warm, tracking_warm.stack.worker_role)
               if "autoscaling:CompleteLifecycleAction" in actions(s)]
    assert granted and all(text(s["Resource"]).endswith(GROUP_ARN_TAIL) for s in granted)


def test_the_variant_passes_cdk_nag_too(tracking_warm: Synth) -> None:
    (report,) = tracking_warm.report["pluginReports"]
    assert report["violations"] == []
    assert tracking_warm.synth_error is None
    used = {v["acknowledgedId"] for v in report["suppressedViolations"]}
    assert {a.id for a in tracking_warm.acknowledgements} <= used
