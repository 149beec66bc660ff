"""The checker: one small instance, kept alive by a group of exactly one, publishing the
backlog metric every 10 s (``auto-lambda checker --interval 10s`` under systemd), or with
``scaling_control=direct`` every 5 s while setting the worker group's desired capacity
each tick (``--control direct``; the worker group's target tracking on the 10 s metric
stays as the fallback).

A group with min = max = 1 replaces the instance if it fails its health check; there is no
scaling policy. Job slots per worker come from the ``worker-concurrency`` parameter
(AUTO_LAMBDA_WORKER_CONCURRENCY). Permissions live in iam.py.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .fleet import FleetSpec, create_fleet, machine_image
from .names import Names
from .params import Params

CHECKER_COMMAND = "checker --interval 10s"


def checker_command(params: Params) -> str:
    """The checker's command line for the chosen scaling control."""
    if params.scaling_control != "direct":
        return CHECKER_COMMAND
    # Reading the queue every 5 s costs little (SQS requests); publishing twice as often
    # costs about $2.60 a month more, and halves the controller's reaction time.
    return f"checker --interval 5s --control direct --target {params.slot_backlog_target:g}"


class Checker(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, params: Params,
        role: iam.IRole, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        spec = FleetSpec(
            name="checker",
            group_name=names.checker_group,
            command=checker_command(params),
            instance_type=params.checker_instance_type,
            min_capacity=1,
            max_capacity=1,
            stop_timeout_seconds=30,
            # The baked AMI, when given, makes a replacement checker start in seconds.
            image=machine_image(params),
            with_runtimes=False,
        )
        self.group = create_fleet(
            self, spec, names, params, role=role, vpc=vpc, security_group=security_group
        )
