"""A launch template and an Auto Scaling group for auto-lambda instances (worker or checker).

Amazon Linux 2023 (or a baked AMI), IMDSv2 only, no SSH key, encrypted root volume, and
user data built by scripts.py. Knows nothing about scaling policies, hooks or warm pools:
the callers (workers.py, checker.py) add those, and name the launch hook the user data
completes when they add one.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Aws, Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import scripts
from .names import Names
from .params import Params


@jsii.implements(ec2.IMachineImage)
class BakedImage:
    """A fixed AMI id given by context (the Image Builder pipeline's output)."""

    def __init__(self, ami_id: str) -> None:
        self._ami_id = ami_id

    def get_image(self, scope: Construct) -> ec2.MachineImageConfig:
        return ec2.MachineImageConfig(
            image_id=self._ami_id, os_type=ec2.OperatingSystemType.LINUX,
            user_data=ec2.UserData.for_linux(),
        )


@dataclass(frozen=True)
class FleetSpec:
    name: str  # "worker" or "checker": the systemd unit is auto-lambda-<name>
    group_name: str
    command: str
    instance_type: str
    min_capacity: int
    max_capacity: int
    stop_timeout_seconds: int
    image: ec2.IMachineImage
    with_runtimes: bool
    # With a warm pool: the launch hook the instance completes once initialised.
    launch_hook: str | None = None


def machine_image(params: Params) -> ec2.IMachineImage:
    """Phase 2 uses the baked AMI; phase 1 (no ``worker_ami_id``) the latest AL2023."""
    if params.worker_ami_id:
        return BakedImage(params.worker_ami_id)
    return ec2.MachineImage.latest_amazon_linux2023()


def create_fleet(
    scope: Construct, spec: FleetSpec, names: Names, params: Params, *, role: iam.IRole,
    vpc: ec2.IVpc, security_group: ec2.ISecurityGroup,
) -> autoscaling.AutoScalingGroup:
    user_data = ec2.UserData.for_linux()
    user_data.add_commands(
        *scripts.instance_user_data(
            package=params.auto_lambda_package, ssm_path=names.ssm_path, region=Aws.REGION,
            name=spec.name, command=spec.command,
            stop_timeout_seconds=spec.stop_timeout_seconds, with_runtimes=spec.with_runtimes,
            launch_hook=(spec.group_name, spec.launch_hook) if spec.launch_hook else None,
            log_group=names.instance_log_group,
        )
    )
    template = ec2.LaunchTemplate(
        scope,
        "LaunchTemplate",
        launch_template_name=spec.group_name,
        machine_image=spec.image,
        instance_type=ec2.InstanceType(spec.instance_type),
        role=role,
        security_group=security_group,
        user_data=user_data,
        require_imdsv2=True,
        http_put_response_hop_limit=1,
        detailed_monitoring=True,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    30, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3,
                    delete_on_termination=True,
                ),
            )
        ],
    )
    return autoscaling.AutoScalingGroup(
        scope,
        "Group",
        auto_scaling_group_name=spec.group_name,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        launch_template=template,
        min_capacity=spec.min_capacity,
        max_capacity=spec.max_capacity,
        health_checks=autoscaling.HealthChecks.ec2(grace_period=Duration.minutes(5)),
        update_policy=autoscaling.UpdatePolicy.rolling_update(),
    )
