"""IAM roles: the worker's and the checker's instance roles.

Least privilege is the point of this module. The worker may manage only functions named
``<prefix>-*`` that carry the ``auto-lambda:managed`` tag (and create functions only with
that tag); it may create and change only roles under ``/<prefix>/apps/`` that carry one
of the teams' permission boundaries (the ``iam:PermissionsBoundary`` condition:
boundaries.py), tag them only as its own, and pass only those roles and only to Lambda;
it touches only this stack's buckets, queues, table and its own Auto Scaling group.
Every function runs as its own role (orchestrator/steps/deploy/approle.py), so there is
no shared function role. The checker may read queue
attributes, describe groups, read the table and put metrics in the AutoLambda namespace;
with direct control it may also set the desired capacity of the worker group, and of no
other group.
Statements whose resource must be ``*`` (the service has no resource-level permissions)
are acknowledged for cdk-nag in nag.py, each with its reason.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .names import METRIC_NAMESPACE, TAG_MANAGED, Names
from .queue import Queues
from .storage import Buckets

# Creating a function (with its tags) is allowed only with the managed tag in the request;
# every other action only on a function that carries it.
LAMBDA_CREATE_ACTIONS = ["lambda:CreateFunction", "lambda:TagResource"]
LAMBDA_MANAGE_ACTIONS = [
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:ListVersionsByFunction",
    "lambda:CreateAlias",
    "lambda:UpdateAlias",
    "lambda:GetAlias",
    "lambda:InvokeFunction",
    "lambda:ListTags",
    "lambda:GetFunctionConcurrency",
    "lambda:PutFunctionConcurrency",
    "lambda:DeleteFunctionConcurrency",
]
# Roles under the app path whose boundary is a team's: the only ones the worker may make
# or change the permissions of.
BOUNDED_ROLE_ACTIONS = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                        "iam:PutRolePermissionsBoundary"]
APP_ROLE_READ_ACTIONS = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies"]
OWN_APP_ROLE_ACTIONS = ["iam:UpdateAssumeRolePolicy", "iam:DeleteRole"]
XRAY_WRITE_ACTIONS = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
]


def group_arn(stack: Stack, group_name: str) -> str:
    """The group's ARN; the ``*`` stands for the group id, unknown until it exists."""
    return stack.format_arn(
        service="autoscaling",
        resource="autoScalingGroup",
        resource_name=f"*:autoScalingGroupName/{group_name}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _ssm_read(stack: Stack, names: Names) -> iam.PolicyStatement:
    # GetParametersByPath is authorized against the requested path, not each parameter.
    return iam.PolicyStatement(
        sid="ReadOwnConfiguration",
        actions=["ssm:GetParametersByPath"],
        resources=[
            stack.format_arn(service="ssm", resource="parameter", resource_name=names.prefix)
        ],
    )


def read_objects(bucket: s3.IBucket) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("*")]
    )


def list_bucket(*buckets: s3.IBucket) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["s3:ListBucket", "s3:ListBucketVersions"],
        resources=[bucket.bucket_arn for bucket in buckets],
    )


def _xray_write() -> iam.PolicyStatement:
    return iam.PolicyStatement(sid="XRayDaemon", actions=XRAY_WRITE_ACTIONS, resources=["*"])


def _instance_role(scope: Construct, construct_id: str, description: str) -> iam.Role:
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        description=description,
        # Session Manager replaces SSH: no key pair, no open port.
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")
        ],
    )


def app_role_arn_pattern(stack: Stack, names: Names) -> str:
    """Every function's own role (``/<prefix>/apps/<prefix>-<team>-<app>``)."""
    return stack.format_arn(service="iam", region="", resource="role",
                            resource_name=f"{names.app_role_path[1:]}{names.prefix}-*")


def _app_role_statements(stack: Stack, names: Names,
                         boundaries: list[str]) -> list[iam.PolicyStatement]:
    roles = [app_role_arn_pattern(stack, names)]
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundaries}}
    return [
        iam.PolicyStatement(
            sid="CreateOnlyBoundedTaggedAppRoles", actions=["iam:CreateRole"], resources=roles,
            conditions={"StringEquals": {"iam:PermissionsBoundary": boundaries,
                                         f"aws:RequestTag/{TAG_MANAGED}": "true"}}),
        iam.PolicyStatement(
            sid="ChangeOnlyBoundedAppRoles", actions=BOUNDED_ROLE_ACTIONS[1:],
            resources=roles, conditions=bounded),
        iam.PolicyStatement(
            sid="TagAppRolesAsOwn", actions=["iam:TagRole"], resources=roles,
            conditions={"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}}),
        iam.PolicyStatement(sid="ReadAppRoles", actions=APP_ROLE_READ_ACTIONS,
                            resources=roles),
        iam.PolicyStatement(
            sid="RetireOwnAppRoles", actions=OWN_APP_ROLE_ACTIONS, resources=roles,
            conditions={"StringEquals": {f"iam:ResourceTag/{TAG_MANAGED}": "true"}}),
        iam.PolicyStatement(
            sid="PassAppRolesToLambdaOnly", actions=["iam:PassRole"], resources=roles,
            conditions={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
        # Lambda checks the caller may read the layers and the VPC a function names.
        iam.PolicyStatement(
            sid="UseLayers", actions=["lambda:GetLayerVersion"],
            resources=[stack.format_arn(service="lambda", resource="layer",
                                        resource_name="*:*", account="*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)]),
        iam.PolicyStatement(
            sid="DescribeVpcProfiles",
            actions=["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            resources=["*"]),
    ]


def create_worker_role(
    scope: Construct, names: Names, buckets: Buckets, queues: Queues,
    tables: tuple[dynamodb.Table, ...], boundaries: list[str],
) -> iam.Role:
    stack = Stack.of(scope)
    role = _instance_role(scope, "WorkerRole", "auto-lambda worker instances")
    role.add_to_policy(read_objects(buckets.incoming))
    role.add_to_policy(read_objects(buckets.artifacts))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"], resources=[buckets.artifacts.arn_for_objects("*")]
        )
    )
    role.add_to_policy(list_bucket(buckets.incoming, buckets.artifacts))
    queues.jobs.grant_consume_messages(role)
    queues.jobs.grant_send_messages(role)  # replay re-sends a job
    queues.dlq.grant_consume_messages(role)  # replay --dlq
    for table in tables:  # the jobs table and the history table
        table.grant_read_write_data(role)
    functions = [names.function_arn_pattern, names.qualified_function_arn_pattern]
    role.add_to_policy(
        iam.PolicyStatement(
            sid="CreateOnlyTaggedFunctions",
            actions=LAMBDA_CREATE_ACTIONS,
            resources=functions,
            conditions={"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}},
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ManageOnlyTaggedFunctions",
            actions=LAMBDA_MANAGE_ACTIONS,
            resources=functions,
            conditions={"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}},
        )
    )
    for statement in _app_role_statements(stack, names, boundaries):
        role.add_to_policy(statement)
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DrainAndProtectOwnGroup",
            actions=[
                "autoscaling:CompleteLifecycleAction",
                "autoscaling:RecordLifecycleActionHeartbeat",
                "autoscaling:SetInstanceProtection",
            ],
            resources=[group_arn(stack, names.worker_group)],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReportOutagePause",  # PausedWorkers: the checker holds the backlog
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
        )
    )
    role.add_to_policy(_ssm_read(stack, names))
    role.add_to_policy(_xray_write())
    return role


def create_checker_role(
    scope: Construct, names: Names, queues: Queues, table: dynamodb.Table,
    direct_control: bool = False,
) -> iam.Role:
    stack = Stack.of(scope)
    role = _instance_role(scope, "CheckerRole", "auto-lambda checker instance")
    if direct_control:
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SetWorkerGroupCapacity",
                actions=["autoscaling:SetDesiredCapacity"],
                resources=[group_arn(stack, names.worker_group)],
            )
        )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadQueueDepth",
            actions=["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            resources=[queues.jobs.queue_arn, queues.dlq.queue_arn],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DescribeWorkerGroup",
            actions=["autoscaling:DescribeAutoScalingGroups"],
            resources=["*"],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="PublishBacklogMetric",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadPausedWorkers",  # the workers' outage signal
            actions=["cloudwatch:GetMetricData"],
            resources=["*"],
        )
    )
    table.grant_read_data(role)
    role.add_to_policy(_ssm_read(stack, names))
    role.add_to_policy(_xray_write())
    return role

