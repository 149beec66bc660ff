"""The worker group inside the emulator, for local mode.

moto records Auto Scaling groups but never scales them on its own. When the desired
capacity is set (``set_desired_capacity``), it does create fake instances that report
``LifecycleState: InService`` (checked with moto 5.2: 3 → three InService, 0 → none),
so the checker reads InService from the emulator exactly as it does on AWS. The local
autoscaler calls ``set_capacity`` whenever it resizes the process pool.

Only for the emulator: on AWS the CDK stack owns the group and nothing here runs.
"""

from __future__ import annotations

import logging

from orchestrator.aws.facade import Aws, aws_call, error_code
from orchestrator.config import Settings

log = logging.getLogger(__name__)

# One of the images moto ships with; the emulator launches nothing real.
LOCAL_IMAGE_ID = "ami-12c6146b"
LOCAL_INSTANCE_TYPE = "t3.micro"


def launch_template_name(settings: Settings) -> str:
    return f"{settings.prefix}-worker-local"


def ensure_local_group(aws: Aws, settings: Settings, min_size: int, max_size: int) -> None:
    """Create (or update the size limits of) the emulator's worker group. Idempotent.

    The group starts at ``min_size`` desired capacity, so the checker immediately sees
    that many InService instances.
    """
    name = settings.worker_group_name
    template = launch_template_name(settings)
    try:
        with aws_call("ec2.create_launch_template"):
            aws.client("ec2").create_launch_template(
                LaunchTemplateName=template,
                LaunchTemplateData={"ImageId": LOCAL_IMAGE_ID,
                                    "InstanceType": LOCAL_INSTANCE_TYPE})
    except Exception as exc:
        if error_code(exc) != "InvalidLaunchTemplateName.AlreadyExistsException":
            raise
    with aws_call("autoscaling.describe_auto_scaling_groups"):
        existing = aws.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"]
    if existing:
        with aws_call("autoscaling.update_auto_scaling_group"):
            aws.autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=name, MinSize=min_size, MaxSize=max_size)
        return
    with aws_call("ec2.describe_availability_zones"):
        zones = [z["ZoneName"] for z in aws.client("ec2").describe_availability_zones()[
            "AvailabilityZones"]]
    with aws_call("autoscaling.create_auto_scaling_group"):
        aws.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
            MinSize=min_size, MaxSize=max_size, DesiredCapacity=min_size,
            AvailabilityZones=zones[:1], DefaultInstanceWarmup=60)
    log.info("local worker group %s created (min=%d max=%d)", name, min_size, max_size)


def set_capacity(aws: Aws, settings: Settings, n: int) -> None:
    """Set the emulator group's desired capacity to ``n`` (instances appear InService)."""
    with aws_call("autoscaling.set_desired_capacity"):
        aws.autoscaling.set_desired_capacity(
            AutoScalingGroupName=settings.worker_group_name, DesiredCapacity=n,
            HonorCooldown=False)


def put_local_policy(aws: Aws, settings: Settings, target: float) -> None:
    """Record the local autoscaler's target as the group's target-tracking policy, as the
    CDK stack does on AWS, so everything that reads the group's policy (the console's
    fleet chart) finds the same target. The emulator only records it."""
    from checker.metric import BACKLOG_PER_SLOT, metric_dimensions
    from orchestrator.config import METRIC_NAMESPACE

    with aws_call("autoscaling.put_scaling_policy"):
        aws.autoscaling.put_scaling_policy(
            AutoScalingGroupName=settings.worker_group_name,
            PolicyName=f"{settings.prefix}-backlog-per-slot",
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={
                "CustomizedMetricSpecification": {
                    "MetricName": BACKLOG_PER_SLOT, "Namespace": METRIC_NAMESPACE,
                    "Dimensions": metric_dimensions(settings), "Statistic": "Average"},
                "TargetValue": target})
