"""Create the pipeline's AWS resources when they are missing (the local stack's
equivalent of the CDK app): incoming bucket with its ObjectCreated → queue
notification, the jobs queue with its DLQ redrive, the artifacts bucket, the jobs
and history tables, the role EventBridge Scheduler invokes schedule triggers as, and a
plain Lambda role (tests and the bare benchmark hand it to
Lambda directly; the pipeline gives every function a role of its own at deploy,
``orchestrator.steps.deploy.approle``, and makes each team's boundary on first use); and
what tells teams what happened: the results bucket, auto-lambda's event bus, a rule
copying every event to a log group (``auto-lambda events``) and one sending them to the
webhooks queue (with its dead-letter queue; docs/results.md).

Idempotent: running it twice changes nothing. On a real account the CDK stack owns
these resources and this module is not used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from orchestrator.aws.facade import Aws, error_code
from orchestrator.aws.tables import create_history_table_request, create_table_request
from orchestrator.retries import WEBHOOK_RECEIVES

log = logging.getLogger(__name__)

_ASSUME_LAMBDA = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})

_ASSUME_SCHEDULER = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


@dataclass(frozen=True)
class StackInfo:
    queue_url: str
    queue_arn: str
    dlq_url: str
    role_arn: str
    webhooks_queue_url: str = ""
    webhooks_dlq_url: str = ""


def _ensure_bucket(aws: Aws, name: str) -> None:
    try:
        aws.s3.head_bucket(Bucket=name)
        return
    except Exception as exc:
        if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    if aws.settings.region == "us-east-1":
        aws.s3.create_bucket(Bucket=name)
    else:
        aws.s3.create_bucket(Bucket=name, CreateBucketConfiguration={
            "LocationConstraint": aws.settings.region})
    aws.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def _queue_arn(aws: Aws, url: str) -> str:
    attrs = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attrs["Attributes"]["QueueArn"])


def ensure_resources(aws: Aws) -> StackInfo:
    s = aws.settings
    dlq_url = aws.sqs.create_queue(QueueName=s.dlq_name, Attributes={
        "MessageRetentionPeriod": str(14 * 24 * 3600)})["QueueUrl"]
    dlq_arn = _queue_arn(aws, dlq_url)
    queue_url = aws.sqs.create_queue(QueueName=s.queue_name, Attributes={
        "VisibilityTimeout": str(s.visibility_timeout),
        "ReceiveMessageWaitTimeSeconds": "20",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": str(s.max_receive_count)}),
    })["QueueUrl"]
    queue_arn = _queue_arn(aws, queue_url)

    _ensure_bucket(aws, s.artifacts_bucket)
    _ensure_bucket(aws, s.incoming_bucket)
    aws.s3.put_bucket_notification_configuration(
        Bucket=s.incoming_bucket,
        NotificationConfiguration={"QueueConfigurations": [{
            "Id": "auto-lambda-zip-uploads",
            "QueueArn": queue_arn,
            # an upload deploys; a delete (or a delete marker) starts the app's deletion
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".zip"}]}},
        }]},
    )

    for request in (create_table_request(s.table_name),
                    create_history_table_request(s.history_table_name)):
        _ensure_table(aws, request)

    role_arn = s.deployed_role_arn or _ensure_role(aws)
    webhooks_url, webhooks_dlq_url = _ensure_feedback(aws)
    if not s.scheduler_role_arn:
        ensure_scheduler_role(aws)
    log.info("resources ready: queue=%s bucket=%s table=%s", s.queue_name,
             s.incoming_bucket, s.table_name)
    return StackInfo(queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url, role_arn=role_arn,
                     webhooks_queue_url=webhooks_url, webhooks_dlq_url=webhooks_dlq_url)


# Every event auto-lambda puts on its bus.
ALL_EVENTS = {"source": ["auto-lambda"]}


def _ensure_feedback(aws: Aws) -> tuple[str, str]:
    """The results bucket, the bus, its log rule and its webhooks rule and queues."""
    s = aws.settings
    _ensure_bucket(aws, s.results_bucket)
    aws.events.ensure_bus(s.event_bus_name)
    group_arn = aws.logs.ensure_group(s.events_log_group)
    aws.events.ensure_rule(s.event_bus_name, f"{s.prefix}-events-log", ALL_EVENTS, group_arn)
    dlq_url = aws.sqs.create_queue(QueueName=s.webhooks_dlq_name, Attributes={
        "MessageRetentionPeriod": str(14 * 24 * 3600)})["QueueUrl"]
    url = aws.sqs.create_queue(QueueName=s.webhooks_queue_name, Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": _queue_arn(aws, dlq_url),
                                     "maxReceiveCount": str(WEBHOOK_RECEIVES)}),
    })["QueueUrl"]
    aws.events.ensure_rule(s.event_bus_name, f"{s.prefix}-webhooks", ALL_EVENTS,
                           _queue_arn(aws, url))
    return str(url), str(dlq_url)


def _ensure_table(aws: Aws, request: dict[str, object]) -> None:
    try:
        aws.dynamodb.describe_table(TableName=request["TableName"])
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        aws.dynamodb.create_table(**request)


def _ensure_role(aws: Aws) -> str:
    name = aws.settings.role_name
    try:
        return str(aws.iam.get_role(RoleName=name)["Role"]["Arn"])
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    return str(aws.iam.create_role(RoleName=name,
                                   AssumeRolePolicyDocument=_ASSUME_LAMBDA)["Role"]["Arn"])


def ensure_scheduler_role(aws: Aws) -> str:
    """The role schedules invoke functions as: only the ``live`` alias of the stack's
    functions (the CDK stack makes the same role)."""
    s = aws.settings
    try:
        return str(aws.iam.get_role(RoleName=s.scheduler_role_name)["Role"]["Arn"])
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    arn = str(aws.iam.create_role(RoleName=s.scheduler_role_name,
                                  AssumeRolePolicyDocument=_ASSUME_SCHEDULER)["Role"]["Arn"])
    aws.iam.put_role_policy(RoleName=s.scheduler_role_name, PolicyName="invoke-live",
                            PolicyDocument=json.dumps({
                                "Version": "2012-10-17",
                                "Statement": [{
                                    "Effect": "Allow", "Action": "lambda:InvokeFunction",
                                    "Resource": f"arn:aws:lambda:*:*:function:{s.prefix}-*:live",
                                }]}))
    return arn
