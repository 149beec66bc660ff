"""What triggers need: the role EventBridge Scheduler invokes functions as, and the
worker's permissions to attach triggers to the ``live`` alias of its own functions.

- The scheduler role (``<prefix>-scheduler-role``) may only invoke
  ``function:<prefix>-*:live``.
- The worker may manage function URLs and resource-based permissions only of functions
  that carry the managed tag; create event source mappings only to ``<prefix>-*:live``
  (``lambda:FunctionArn``); manage schedules only in ``<prefix>-*`` schedule groups and
  pass the scheduler role only to EventBridge Scheduler; and create HTTP APIs only with
  the managed tag, changing or deleting only APIs that carry it.

Statements whose resource must be ``*`` (the action has no resource type) are
acknowledged for cdk-nag in nag.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from constructs import Construct

from .names import TAG_MANAGED, Names

LAMBDA_TRIGGER_ACTIONS = [
    "lambda:GetFunctionUrlConfig",
    "lambda:CreateFunctionUrlConfig",
    "lambda:UpdateFunctionUrlConfig",
    "lambda:DeleteFunctionUrlConfig",
    "lambda:GetPolicy",
    "lambda:AddPermission",
    "lambda:RemovePermission",
]
MAPPING_ACTIONS = ["lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping",
                   "lambda:GetEventSourceMapping"]
SCHEDULE_ACTIONS = ["scheduler:GetSchedule", "scheduler:CreateSchedule",
                    "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]
GROUP_ACTIONS = ["scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup",
                 "scheduler:TagResource"]


@dataclass(frozen=True)
class TriggerRoles:
    scheduler: iam.Role
    worker_policy: iam.Policy


def live_alias_pattern(names: Names) -> str:
    return f"arn:aws:lambda:*:*:function:{names.prefix}-*:live"


def create_trigger_roles(scope: Construct, names: Names, worker: iam.Role) -> TriggerRoles:
    scheduler = iam.Role(
        scope, "SchedulerRole", role_name=f"{names.prefix}-scheduler-role",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
        description="EventBridge Scheduler invokes the live alias of auto-lambda functions",
    )
    scheduler.add_to_policy(iam.PolicyStatement(
        sid="InvokeLiveOnly", actions=["lambda:InvokeFunction"],
        resources=[live_alias_pattern(names)]))
    managed = {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
    to_live = {"StringLike": {"lambda:FunctionArn": live_alias_pattern(names)}}
    apis = "arn:aws:apigateway:*::/apis"
    statements = [
        iam.PolicyStatement(
            sid="TriggersOfTaggedFunctions", actions=LAMBDA_TRIGGER_ACTIONS,
            resources=[names.function_arn_pattern, names.qualified_function_arn_pattern],
            conditions=managed),
        iam.PolicyStatement(
            sid="MappingsToLiveOnly", actions=MAPPING_ACTIONS, resources=["*"],
            conditions=to_live),
        iam.PolicyStatement(
            sid="ListMappingsAndSchedules",
            actions=["lambda:ListEventSourceMappings", "scheduler:ListSchedules"],
            resources=["*"]),
        iam.PolicyStatement(
            sid="OwnScheduleGroups", actions=GROUP_ACTIONS,
            resources=[f"arn:aws:scheduler:*:*:schedule-group/{names.prefix}-*"]),
        iam.PolicyStatement(
            sid="SchedulesInOwnGroups", actions=SCHEDULE_ACTIONS,
            resources=[f"arn:aws:scheduler:*:*:schedule/{names.prefix}-*/*"]),
        iam.PolicyStatement(
            sid="PassSchedulerRoleToSchedulerOnly", actions=["iam:PassRole"],
            resources=[scheduler.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}),
        iam.PolicyStatement(sid="ReadHttpApis", actions=["apigateway:GET"],
                            resources=[apis, f"{apis}/*"]),
        iam.PolicyStatement(
            sid="CreateOnlyTaggedHttpApis", actions=["apigateway:POST"],
            resources=[apis, "arn:aws:apigateway:*::/tags/*"],
            conditions={"StringEquals": {f"aws:RequestTag/{TAG_MANAGED}": "true"}}),
        iam.PolicyStatement(
            sid="ChangeOnlyTaggedHttpApis",
            actions=["apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"],
            resources=[f"{apis}/*"], conditions=managed),
    ]
    policy = iam.Policy(scope, "WorkerTriggersPolicy", statements=statements, roles=[worker])
    return TriggerRoles(scheduler, policy)
