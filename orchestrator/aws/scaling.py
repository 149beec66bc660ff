"""The Auto Scaling door: the worker group as the checker and the workers see it.

A group that does not exist is ``None``; every failure leaves as an ``AwsError`` with
its code. Decides nothing about how many workers there should be (``checker``).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient

__all__ = ["GroupState", "Scaling", "TargetTracking"]


@dataclass(frozen=True)
class GroupState:
    """What the worker group looks like now."""

    in_service: int
    desired: int
    min_size: int
    max_size: int


@dataclass(frozen=True)
class TargetTracking:
    """A target-tracking policy of a group: the value it aims at."""

    value: float
    policy_name: str


class Scaling:
    """Auto Scaling, one method per call auto-lambda makes."""

    def __init__(self, client: BotoClient) -> None:
        self._asg = client

    def group(self, name: str) -> GroupState | None:
        """The group's InService count, desired capacity and bounds; None when the group
        does not exist (yet)."""
        with aws_call("autoscaling.describe_auto_scaling_groups"):
            groups = self._asg.describe_auto_scaling_groups(
                AutoScalingGroupNames=[name])["AutoScalingGroups"]
        if not groups:
            return None
        group = groups[0]
        in_service = sum(1 for inst in group.get("Instances", [])
                         if inst.get("LifecycleState") == "InService")
        return GroupState(in_service=in_service, desired=int(group.get("DesiredCapacity", 0)),
                          min_size=int(group.get("MinSize", 0)),
                          max_size=int(group.get("MaxSize", 0)))

    def set_desired_capacity(self, name: str, desired: int) -> None:
        """Set the group's desired capacity now (no cooldown: the checker has its own)."""
        with aws_call("autoscaling.set_desired_capacity"):
            self._asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=desired,
                                           HonorCooldown=False)

    def target_tracking(self, name: str) -> TargetTracking | None:
        """The group's first target-tracking policy with a target value (None: none)."""
        with aws_call("autoscaling.describe_policies"):
            policies = self._asg.describe_policies(
                AutoScalingGroupName=name, PolicyTypes=["TargetTrackingScaling"]
            ).get("ScalingPolicies", [])
        for policy in policies:
            value = (policy.get("TargetTrackingConfiguration") or {}).get("TargetValue")
            if value is not None:
                return TargetTracking(float(value), str(policy.get("PolicyName")))
        return None

    def set_instance_protection(self, group: str, instance_id: str, protected: bool) -> None:
        with aws_call("autoscaling.set_instance_protection"):
            self._asg.set_instance_protection(InstanceIds=[instance_id],
                                              AutoScalingGroupName=group,
                                              ProtectedFromScaleIn=protected)

    def complete_lifecycle_action(self, hook: str, group: str, instance_id: str,
                                  result: str = "CONTINUE") -> None:
        with aws_call("autoscaling.complete_lifecycle_action"):
            self._asg.complete_lifecycle_action(LifecycleHookName=hook,
                                                AutoScalingGroupName=group,
                                                LifecycleActionResult=result,
                                                InstanceId=instance_id)
