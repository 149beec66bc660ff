"""What the worker may remove when an app's zip is deleted (the deletion workflow), and
nothing more: only functions, roles and HTTP APIs tagged ``auto-lambda:managed``, only
schedules named with the stack's prefix, and the event source mappings (whose ARNs carry
no function name). Reads that the services authorize on no resource (listing event
source mappings and schedules) are the only ``*`` statements added.

Moving ``live`` back (the rollback workflow) needs nothing beyond what deploying does.
Grants only; creates no resource.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

from .names import TAG_MANAGED, Names

MANAGED = {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": "true"}}
LIST_ACTIONS = ["lambda:ListEventSourceMappings", "scheduler:ListSchedules"]


def grant_lifecycle(role: iam.Role, names: Names) -> None:
    """Let ``role`` (the worker's) remove a deleted app's function, triggers and role."""
    stack = Stack.of(role)
    functions = [names.function_arn_pattern, names.qualified_function_arn_pattern]
    role.add_to_policy(iam.PolicyStatement(
        sid="RemoveOnlyTaggedFunctions", resources=functions, conditions=MANAGED,
        actions=["lambda:DeleteFunction", "lambda:DeleteAlias",
                 "lambda:GetFunctionUrlConfig", "lambda:DeleteFunctionUrlConfig"]))
    role.add_to_policy(iam.PolicyStatement(
        sid="ListTriggersOnNoResource", actions=LIST_ACTIONS, resources=["*"]))
    role.add_to_policy(iam.PolicyStatement(
        sid="RemoveEventSourceMappings", actions=["lambda:DeleteEventSourceMapping"],
        resources=[stack.format_arn(service="lambda", resource="event-source-mapping",
                                    resource_name="*",
                                    arn_format=ArnFormat.COLON_RESOURCE_NAME)]))
    role.add_to_policy(iam.PolicyStatement(
        sid="ReadSchedules", actions=["scheduler:GetSchedule"],
        resources=[stack.format_arn(service="scheduler", resource="schedule",
                                    resource_name="*/*")]))
    role.add_to_policy(iam.PolicyStatement(
        sid="RemoveOwnSchedules", actions=["scheduler:DeleteSchedule"],
        resources=[stack.format_arn(service="scheduler", resource="schedule",
                                    resource_name=f"*/{names.prefix}-*")]))
    apis = f"arn:{stack.partition}:apigateway:{stack.region}::/apis"
    role.add_to_policy(iam.PolicyStatement(
        sid="ReadHttpApis", actions=["apigateway:GET"], resources=[apis, f"{apis}/*"]))
    role.add_to_policy(iam.PolicyStatement(
        sid="RemoveOnlyTaggedHttpApis", actions=["apigateway:DELETE"],
        resources=[f"{apis}/*"], conditions=MANAGED))
    # A deleted app's own role is read and deleted with the rights deploy has over app
    # roles (iam.py: ReadAppRoles, RetireOwnAppRoles, only roles tagged as auto-lambda's).
