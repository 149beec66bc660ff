"""The jobs queue, its dead-letter queue, and the incoming bucket's notification into it.

The visibility timeout outlasts the longest job (a 15-minute build plus deploy and verify);
the worker also extends it while it works. Both queues are encrypted and TLS-only.
This module grants nothing to the instances: see iam.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .names import Names
from .params import Params


@dataclass(frozen=True)
class Queues:
    jobs: sqs.Queue
    dlq: sqs.Queue


def create_queues(scope: Construct, names: Names, params: Params) -> Queues:
    dlq = sqs.Queue(
        scope,
        "JobsDlq",
        queue_name=names.dlq,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        # The longest SQS allows: failed jobs wait here for `auto-lambda replay --dlq`.
        retention_period=Duration.days(14),
    )
    jobs = sqs.Queue(
        scope,
        "JobsQueue",
        queue_name=names.queue,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.minutes(params.visibility_timeout_minutes),
        receive_message_wait_time=Duration.seconds(20),
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dlq, max_receive_count=params.max_receive_count
        ),
    )
    return Queues(jobs=jobs, dlq=dlq)


def notify_on_zip_upload(incoming: s3.Bucket, jobs: sqs.Queue) -> None:
    """ObjectCreated (an upload: a deployment) and ObjectRemoved (a delete or a delete
    marker: the app's deletion) for ``*.zip`` → jobs queue; CDK adds the queue policy
    letting S3 send."""
    for event in (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED):
        incoming.add_event_notification(
            event,
            s3n.SqsDestination(jobs),
            s3.NotificationKeyFilter(suffix=".zip"),
        )
