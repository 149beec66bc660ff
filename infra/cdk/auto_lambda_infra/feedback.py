"""What tells teams what happened to their uploads (docs/results.md): the results bucket,
auto-lambda's own event bus, a rule copying every event to a log group, per-team rules
to an SNS topic (``event_topic_teams``) and to the webhooks queue (``webhook_teams``),
that queue's dead-letter queue, and the grants around them.

Results: ``<team>/<app>.result.json`` is readable by that team's upload role only (and
the worker, which writes it): each team role may GetObject under its prefix, and the
bucket policy denies GetObject under ``<team>/`` to every other principal, and at the
root (the default team's) to all but the default role and the worker. The bus is
auto-lambda's own, so schedules on the default bus never share it. The worker may put
events on this bus only; webhooks are delivered by ``auto-lambda webhooks`` from the
webhooks queue (EventBridge cannot sign with a secret of ours).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .names import Names

SOURCE = "auto-lambda"
DEFAULT_TEAM = "default"
# The queue's redrive after this many receives, as orchestrator.retries.WEBHOOK_RECEIVES.
WEBHOOK_RECEIVES = 8


@dataclass
class Feedback:
    results: s3.Bucket
    bus: events.EventBus
    log_group: logs.LogGroup
    webhooks: sqs.Queue
    webhooks_dlq: sqs.Queue
    topics: dict[str, sns.Topic] = field(default_factory=dict)


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """A rule target writing to a log group whose resource policy this module declares
    itself (``targets.CloudWatchLogGroup`` would add a custom-resource Lambda for it)."""

    def __init__(self, group: logs.LogGroup) -> None:
        self.group = group

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.group.log_group_arn)


def _log_policy(scope: Construct, group: logs.LogGroup, name: str) -> None:
    """EventBridge may write the events to ``group`` (and nowhere else)."""
    document = {"Version": "2012-10-17", "Statement": [{
        "Sid": "EventBridgeWritesAutoLambdaEvents", "Effect": "Allow",
        "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": group.log_group_arn}]}
    logs.CfnResourcePolicy(scope, "EventsLogPolicy",
                           policy_name=name,
                           policy_document=Stack.of(scope).to_json_string(document))


def _team_pattern(team: str) -> events.EventPattern:
    return events.EventPattern(source=[SOURCE], detail={"team": [team]})


def _id(team: str) -> str:
    return "".join(part.capitalize() for part in team.split("_"))


def create_feedback(scope: Construct, names: Names, logs_bucket: s3.Bucket,
                    upload_roles: dict[str, iam.Role], worker_role: iam.Role,
                    topic_teams: tuple[str, ...] = (),
                    webhook_teams: tuple[str, ...] = ()) -> Feedback:
    results = s3.Bucket(
        scope, "ResultsBucket", bucket_name=names.results_bucket(Aws.ACCOUNT_ID),
        encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN, server_access_logs_bucket=logs_bucket,
        server_access_logs_prefix="results/",
        lifecycle_rules=[s3.LifecycleRule(id="expire-old-results",
                                          expiration=Duration.days(400))],
    )
    # GetObject too: the latest result is replaced only by a newer upload's.
    worker_role.add_to_policy(iam.PolicyStatement(
        sid="WriteAndReadResults", actions=["s3:PutObject", "s3:GetObject"],
        resources=[results.arn_for_objects("*")]))
    teams = [t for t in upload_roles if t != DEFAULT_TEAM]
    for team, role in upload_roles.items():
        prefix = "*.result*" if team == DEFAULT_TEAM else f"{team}/*"
        role.add_to_policy(iam.PolicyStatement(
            sid="ReadOwnResults", actions=["s3:GetObject"],
            resources=[results.arn_for_objects(prefix)]))
        if team != DEFAULT_TEAM:
            results.add_to_resource_policy(iam.PolicyStatement(
                sid=f"OnlyTeam{_id(team)}ReadsItsResults", effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()], actions=["s3:GetObject"],
                resources=[results.arn_for_objects(f"{team}/*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": [
                    role.role_arn, worker_role.role_arn]}}))
    results.add_to_resource_policy(iam.PolicyStatement(
        sid="OnlyTheDefaultTeamReadsElsewhere", effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()], actions=["s3:GetObject"],
        not_resources=[results.arn_for_objects(f"{t}/*") for t in teams]
        or [results.arn_for_objects("nothing-is-exempt/*")],
        conditions={"ArnNotEquals": {"aws:PrincipalArn": [
            upload_roles[DEFAULT_TEAM].role_arn, worker_role.role_arn]}}))

    bus = events.EventBus(scope, "EventBus", event_bus_name=names.event_bus)
    bus.grant_put_events_to(worker_role)
    log_group = logs.LogGroup(scope, "EventsLog", log_group_name=names.events_log_group,
                              retention=logs.RetentionDays.ONE_MONTH,
                              removal_policy=RemovalPolicy.DESTROY)
    events.Rule(scope, "EventsToLog", event_bus=bus, rule_name=f"{names.prefix}-events-log",
                event_pattern=events.EventPattern(source=[SOURCE]),
                targets=[_LogGroupTarget(log_group)])
    _log_policy(scope, log_group, f"{names.prefix}-events-log")
    log_group.grant_read(worker_role)  # `auto-lambda events` on an instance

    webhooks_dlq = sqs.Queue(scope, "WebhooksDlq", queue_name=names.webhooks_dlq,
                             encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                             retention_period=Duration.days(14))
    webhooks = sqs.Queue(scope, "WebhooksQueue", queue_name=names.webhooks_queue,
                         encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                         visibility_timeout=Duration.seconds(30),
                         retention_period=Duration.days(4),
                         dead_letter_queue=sqs.DeadLetterQueue(
                             queue=webhooks_dlq, max_receive_count=WEBHOOK_RECEIVES))
    webhooks.grant_consume_messages(worker_role)
    webhooks_dlq.grant_consume_messages(worker_role)
    if webhook_teams:
        # The teams' signing secrets, by reference: SecureStrings under /<prefix>/webhooks/.
        worker_role.add_to_policy(iam.PolicyStatement(
            sid="ReadWebhookSecrets", actions=["ssm:GetParameter"],
            resources=[Stack.of(scope).format_arn(
                service="ssm", resource="parameter",
                resource_name=f"{names.prefix}/webhooks/*")]))
    for team in webhook_teams:
        events.Rule(scope, f"Webhook{_id(team)}", event_bus=bus,
                    rule_name=f"{names.prefix}-webhook-{team}",
                    event_pattern=_team_pattern(team),
                    targets=[targets.SqsQueue(webhooks, dead_letter_queue=webhooks_dlq,
                                              retry_attempts=20)])

    topics: dict[str, sns.Topic] = {}
    if topic_teams:
        key = kms.Key(scope, "EventTopicsKey", enable_key_rotation=True,
                      description="auto-lambda: encrypts the teams' event topics",
                      removal_policy=RemovalPolicy.RETAIN)
        key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt",
                  "kms:GenerateDataKey*")
        for team in topic_teams:
            topic = sns.Topic(scope, f"EventsTopic{_id(team)}",
                              topic_name=f"{names.prefix}-events-{team}",
                              master_key=key, enforce_ssl=True)
            events.Rule(scope, f"EventsToTopic{_id(team)}", event_bus=bus,
                        rule_name=f"{names.prefix}-topic-{team}",
                        event_pattern=_team_pattern(team),
                        targets=[targets.SnsTopic(topic, dead_letter_queue=webhooks_dlq)])
            topics[team] = topic
    return Feedback(results=results, bus=bus, log_group=log_group, webhooks=webhooks,
                    webhooks_dlq=webhooks_dlq, topics=topics)
