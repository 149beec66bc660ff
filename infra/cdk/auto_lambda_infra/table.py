"""The DynamoDB jobs table: one item per job, keyed by job_id, written with optimistic locks.

On-demand billing (no capacity to tune; idle costs nothing), point-in-time recovery,
retained when the stack is deleted. Grants nothing: see iam.py.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .names import Names


def create_table(scope: Construct, names: Names) -> dynamodb.Table:
    return dynamodb.Table(
        scope,
        "JobsTable",
        table_name=names.table,
        partition_key=dynamodb.Attribute(name="job_id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.RETAIN,
    )
