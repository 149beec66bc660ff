"""cdk-nag (AwsSolutions pack) wiring and every acknowledgement, each with its reason.

cdk-nag 3 runs as a policy-validation plugin (``Validations.of(app).add_plugins``), not an
Aspect; a finding is accepted with ``Validations.of(construct).acknowledge``, one finding id
at a time (``AwsSolutions::<Rule>[<Finding>]``), never a whole rule. All of them are listed
in ``acknowledgements`` so they can be reviewed (and counted) in one place.
This module changes no resource.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from .boundaries import boundary_document
from .stack import AutoLambdaStack

PACK = "AwsSolutions"
# CDK's singleton function that writes the bucket's notification configuration.
NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
SSM_CORE = "Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"

SSM_CORE_REASON = (
    "Session Manager replaces SSH (no key pair, no inbound port); AWS maintains the exact "
    "set of ssm/ssmmessages/ec2messages actions the agent needs."
)


@dataclass(frozen=True)
class Acknowledgement:
    construct: IConstruct
    finding: str  # e.g. "AwsSolutions-IAM5[Resource::*]"
    reason: str

    @property
    def id(self) -> str:
        return f"{PACK}::{self.finding}"


def _token(stack: Stack, construct: IConstruct, attribute: str) -> str:
    """How cdk-nag spells a reference to ``construct``'s attribute in a finding id."""
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return f"<{stack.get_logical_id(resource)}.{attribute}>"


def _trigger_acknowledgements(stack: AutoLambdaStack) -> list[Acknowledgement]:
    """The triggers' statements (triggers.py): the worker's policy and the scheduler role."""
    prefix = stack.names.prefix
    policy = stack.triggers.worker_policy
    live = f"arn:aws:lambda:*:*:function:{prefix}-*:live"
    return [
        Acknowledgement(
            policy, "AwsSolutions-IAM5[Resource::*]",
            "Event source mappings are created before they have an ARN and listed by "
            "function, and schedules are listed by group: these actions have no resource "
            "type. Creating and deleting mappings is limited by lambda:FunctionArn to the "
            f"live alias of {prefix}- functions."),
        Acknowledgement(
            policy, f"AwsSolutions-IAM5[Resource::arn:aws:lambda:*:*:function:{prefix}-*]",
            "URLs and permissions of the functions the worker deploys (managed tag only)."),
        Acknowledgement(
            policy, f"AwsSolutions-IAM5[Resource::arn:aws:lambda:*:*:function:{prefix}-*:*]",
            "The live alias of those functions carries their URL and permissions."),
        Acknowledgement(
            policy, f"AwsSolutions-IAM5[Resource::arn:aws:scheduler:*:*:schedule-group/"
                    f"{prefix}-*]",
            "One schedule group per team, created on first use, named after the prefix."),
        Acknowledgement(
            policy, f"AwsSolutions-IAM5[Resource::arn:aws:scheduler:*:*:schedule/{prefix}-*/*]",
            "Schedules are named after each app; only in the teams' own groups."),
        Acknowledgement(
            policy, "AwsSolutions-IAM5[Resource::arn:aws:apigateway:*::/apis]",
            "The HTTP API collection of the stack's region (API Gateway ARNs name no "
            "account); creating in it needs the managed tag in the request."),
        Acknowledgement(
            policy, "AwsSolutions-IAM5[Resource::arn:aws:apigateway:*::/apis/*]",
            "HTTP APIs get their ids at creation; changes only to APIs with the managed tag."),
        Acknowledgement(
            policy, "AwsSolutions-IAM5[Resource::arn:aws:apigateway:*::/tags/*]",
            "Tagging a new HTTP API, only with the managed tag in the request."),
        Acknowledgement(
            stack.triggers.scheduler, f"AwsSolutions-IAM5[Resource::{live}]",
            "Schedules invoke the live alias of functions created at run time, all named "
            f"{prefix}-*."),
    ]


def acknowledgements(stack: AutoLambdaStack) -> list[Acknowledgement]:
    """Every accepted finding, with why it is acceptable."""
    prefix = stack.names.prefix
    incoming = _token(stack, stack.buckets.incoming, "Arn")
    artifacts = _token(stack, stack.buckets.artifacts, "Arn")
    xray = "X-Ray trace and sampling actions support no resource-level permissions."
    indexes = (f"AwsSolutions-IAM5[Resource::{_token(stack, stack.table, 'Arn')}/index/*]",
               "The jobs table's own listing indexes (by-state, by-week, by-app): listing and "
               "counting query them instead of scanning the table; no other table is named.")
    instance_logs = (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
        f"<AWS::AccountId>:log-group:{stack.names.instance_log_group}:*]",
        "The CloudWatch agent names one stream per instance and service (<instance id>/"
        "worker); the '*' is those streams of the stack's own instance log group.")
    result = [
        Acknowledgement(stack.worker_role, *instance_logs),
        Acknowledgement(stack.checker_role, *instance_logs),
        # ---- the worker ----
        Acknowledgement(
            stack.worker_role, "AwsSolutions-IAM5[Resource::*]",
            xray + " lambda:ListEventSourceMappings and scheduler:ListSchedules (a deleted "
            "app's triggers are found by listing) authorize on no resource either; "
            "cloudwatch:PutMetricData (the PausedWorkers signal) has no "
            "resource-level permissions and is limited by the cloudwatch:namespace "
            "condition to AutoLambda.",
        ),
        Acknowledgement(
            stack.worker_role, f"AwsSolutions-IAM5[Resource::{incoming}/*]",
            "The worker fetches whatever zip a user uploads; keys are not known in advance.",
        ),
        Acknowledgement(
            stack.worker_role, f"AwsSolutions-IAM5[Resource::{artifacts}/*]",
            "The worker writes and reads one build artifact per job under keys it derives.",
        ),
        Acknowledgement(
            stack.worker_role,
            f"AwsSolutions-IAM5[Resource::arn:aws:lambda:*:*:function:{prefix}-*]",
            "Deploying is the worker's job: it creates functions named after each uploaded "
            f"app, confined to the {prefix}- name prefix.",
        ),
        Acknowledgement(
            stack.worker_role,
            f"AwsSolutions-IAM5[Resource::arn:aws:lambda:*:*:function:{prefix}-*:*]",
            "Versions and the live alias of those same functions (qualified ARNs).",
        ),
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:"
            f"<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{prefix}-workers]",
            "The '*' is the group's id, assigned at creation; the name pins the worker's own "
            "group (drain hook and scale-in protection).",
        ),
        Acknowledgement(
            stack.worker_role,
            f"AwsSolutions-IAM5[Resource::arn:aws:cloudwatch:*:*:alarm:{prefix}-*]",
            "A rollout reads the team alarms that gate it and creates and deletes alarms of "
            "its own per new version, all named after the apps, confined to the "
            f"{prefix}- name prefix.",
        ),
        Acknowledgement(stack.worker_role, f"AwsSolutions-IAM4[{SSM_CORE}]", SSM_CORE_REASON),
        Acknowledgement(stack.worker_role, *indexes),
        *lifecycle_acknowledgements(stack),
        *_trigger_acknowledgements(stack),
        # ---- the checker ----
        Acknowledgement(
            stack.checker_role, "AwsSolutions-IAM5[Resource::*]",
            "autoscaling:DescribeAutoScalingGroups has no resource-level permissions; "
            "cloudwatch:PutMetricData has none either and is limited by the "
            "cloudwatch:namespace condition to AutoLambda; cloudwatch:GetMetricData (the "
            "workers' PausedWorkers signal) has no resource-level permissions; " + xray,
        ),
        Acknowledgement(stack.checker_role, f"AwsSolutions-IAM4[{SSM_CORE}]", SSM_CORE_REASON),
        Acknowledgement(stack.checker_role, *indexes),
        # ---- the image builder's build instances ----
        Acknowledgement(
            stack.image_pipeline.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "EC2InstanceProfileForImageBuilder]",
            "The policy AWS documents for Image Builder build instances; it tracks the "
            "service's needs (component download, logs, image tagging).",
        ),
        Acknowledgement(
            stack.image_pipeline.role, f"AwsSolutions-IAM4[{SSM_CORE}]",
            "Image Builder drives build instances through Systems Manager; required.",
        ),
        Acknowledgement(
            stack.image_pipeline.role, f"AwsSolutions-IAM5[Resource::{artifacts}/*]",
            "The package to bake may be any wheel uploaded to the artifacts bucket "
            "(auto_lambda_package=s3://...); read-only.",
        ),
        # ---- Auto Scaling notifications ----
        Acknowledgement(
            stack.workers.group, "AwsSolutions-AS3",
            "Scaling is automatic and frequent; its activity history and the "
            "BacklogPerSlot metric are the record. An SNS topic nobody reads adds cost "
            "and noise.",
        ),
        Acknowledgement(
            stack.checker.group, "AwsSolutions-AS3",
            "A fixed group of one; a replacement is visible in the group's activity history "
            "and as a gap in the BacklogPerSlot metric.",
        ),
    ]
    if stack.params.scaling_control == "direct":
        result.append(
            Acknowledgement(
                stack.checker_role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:"
                f"<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/{prefix}-workers]",
                "The '*' is the group's id, assigned at creation; the name pins the worker "
                "group, the only group whose desired capacity the checker may set.",
            )
        )
    for team, role in stack.upload_roles.items():
        resource = f"{incoming}/*.zip" if team == "default" else f"{incoming}/{team}/*"
        result.append(Acknowledgement(
            role, f"AwsSolutions-IAM5[Resource::{resource}]",
            f"Team {team} uploads zips it names itself, only under its own prefix (the bucket "
            "policy denies that prefix to every other principal).",
        ))
    results = _token(stack, stack.feedback.results, "Arn")
    result.append(Acknowledgement(
        stack.worker_role, f"AwsSolutions-IAM5[Resource::{results}/*]",
        "The worker writes each upload's result object under its team's prefix, named "
        "after the upload: keys are not known in advance.",
    ))
    if stack.params.webhook_teams:
        result.append(Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:"
            f"<AWS::AccountId>:parameter/{prefix}/webhooks/*]",
            "The teams' webhook signing secrets, named by the operator under this path "
            "only; `auto-lambda webhooks` reads the one each team's file entry names.",
        ))
    for team, role in stack.upload_roles.items():
        own = f"{results}/*.result*" if team == "default" else f"{results}/{team}/*"
        result.append(Acknowledgement(
            role, f"AwsSolutions-IAM5[Resource::{own}]",
            f"Team {team} reads the results of its own uploads, named after them, only "
            "under its own prefix (the bucket policy denies them to every other principal "
            "but the worker, which writes them).",
        ))
    result += _boundary_acknowledgements(stack)
    result += [
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/"
            f"{prefix}/apps/{prefix}-*]",
            "Each deployed function gets its own role, named after it, under the app path; "
            "creating or changing one needs a team's permission boundary on it "
            "(iam:PermissionsBoundary), deleting one the managed tag, passing one Lambda.",
        ),
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:*:layer:*:*]",
            "Lambda checks the deployer may read each layer a function names; which layers "
            "a team may use is the operator's allow-list, checked before deploy.",
        ),
    ]
    handler = stack.node.try_find_child(NOTIFICATIONS_HANDLER)
    if handler is not None:
        result.append(
            Acknowledgement(
                handler,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "CDK's own custom resource that writes the incoming bucket's notification "
                "configuration; it only needs to log.",
            )
        )
    return result


def lifecycle_acknowledgements(stack: AutoLambdaStack) -> list[Acknowledgement]:
    """What a deleted app's removal needs (lifecycle.py): names known only at run time."""
    prefix = stack.names.prefix
    here = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:"
    return [
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::" + here.format(service="lambda")
            + "event-source-mapping:*]",
            "A mapping's ARN is its UUID, not its function's name; the worker deletes only "
            "mappings it found invoking a function it is removing.",
        ),
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::" + here.format(service="scheduler") + "schedule/*/*]",
            "Read-only (GetSchedule): a deleted app's schedules are found by their target.",
        ),
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::" + here.format(service="scheduler")
            + f"schedule/*/{prefix}-*]",
            f"Deleting only schedules named {prefix}-*, in any group.",
        ),
        Acknowledgement(
            stack.worker_role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::"
            "/apis/*]",
            "HTTP APIs are found by their integrations (GET); DELETE is conditioned on the "
            "auto-lambda:managed tag.",
        ),
    ]
def _boundary_acknowledgements(stack: AutoLambdaStack) -> list[Acknowledgement]:
    """A boundary is a ceiling made of patterns (the team's names, paths and tag), never a
    grant: each wildcard in it is acknowledged, one finding at a time."""
    out = []
    for team, policy in stack.boundaries.items():
        document = boundary_document(stack.names.prefix, team,
                                     stack.params.team_services.get(team, ()),
                                     "<AWS::Partition>")
        findings: set[str] = set()
        for statement in document["Statement"]:
            for key, kind in (("Resource", "Resource"), ("Action", "Action")):
                values = statement[key] if isinstance(statement[key], list) else [statement[key]]
                findings.update(f"{kind}::{v}" for v in values if "*" in v)
        out += [Acknowledgement(
            policy, f"AwsSolutions-IAM5[{finding}]",
            f"Team {team}'s permission boundary: the most its apps' roles may ever do, by "
            "the team's names, paths and tag; each role's own policy grants exact resources.")
            for finding in sorted(findings)]
    return out


def apply(app: App, stack: AutoLambdaStack) -> list[Acknowledgement]:
    """Register the AwsSolutions pack on ``app`` and acknowledge the accepted findings."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    accepted = acknowledgements(stack)
    for item in accepted:
        Validations.of(item.construct).acknowledge(Acknowledgment(id=item.id, reason=item.reason))
    return accepted
