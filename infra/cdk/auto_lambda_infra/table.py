"""The DynamoDB job tables: the jobs table (one item per job, keyed by job_id, written with
optimistic locks) and the history table (one item per history event, keyed by job_id and
the event's number), so a job's item never grows with its history.

On-demand billing (no capacity to tune; idle costs nothing), point-in-time recovery,
retained when the stack is deleted. Grants nothing: see iam.py.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .names import Names


def _table(scope: Construct, construct_id: str, name: str,
           sort_key: dynamodb.Attribute | None = None) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        construct_id,
        table_name=name,
        partition_key=dynamodb.Attribute(name="job_id", type=dynamodb.AttributeType.STRING),
        sort_key=sort_key,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.RETAIN,
    )


def create_table(scope: Construct, names: Names) -> dynamodb.Table:
    return _table(scope, "JobsTable", names.table)


def create_history_table(scope: Construct, names: Names) -> dynamodb.Table:
    return _table(scope, "HistoryTable", names.history_table,
                  dynamodb.Attribute(name="seq", type=dynamodb.AttributeType.NUMBER))
