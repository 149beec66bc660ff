"""The instances' own logs in CloudWatch Logs: one log group, ``/<prefix>/instances``,
with a retention (context ``log_retention_days``, default 30), that the worker and
checker instances' CloudWatch agent writes to (``scripts.cloudwatch_agent``: a stream
per instance and service, ``<instance id>/worker``, ``<instance id>/checker``,
``<instance id>/boot``). So a worker's log outlives the instance that scale-in ends.

The roles may create streams and put events in this group only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .names import Names
from .params import Params


def create_instance_logs(scope: Construct, names: Names, params: Params,
                         roles: Sequence[iam.Role]) -> logs.CfnLogGroup:
    # The L1 construct takes the retention in days as CloudWatch Logs does (params.py
    # checks it is one of the accepted values).
    group = logs.CfnLogGroup(scope, "InstanceLogs", log_group_name=names.instance_log_group,
                             retention_in_days=params.log_retention_days)
    group.apply_removal_policy(RemovalPolicy.RETAIN)
    stack = Stack.of(scope)
    arn = stack.format_arn(service="logs", resource="log-group",
                           resource_name=f"{names.instance_log_group}:*",
                           arn_format=ArnFormat.COLON_RESOURCE_NAME)
    for role in roles:
        role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnInstanceLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[arn],
        ))
    return group
