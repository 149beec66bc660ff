"""The DynamoDB jobs table: one item per job, keyed by job_id, written with optimistic locks.

On-demand billing (no capacity to tune; idle costs nothing), point-in-time recovery,
retained when the stack is deleted. Two listing indexes, both sorted by created_at and
projecting only the summary attributes: ``by-state`` (hash state) and ``by-week`` (hash
created_week, whole weeks since the epoch). They repeat ``orchestrator.jobs.listing`` on
purpose (this app imports none of the project's packages); a test checks they agree.
Grants nothing: see iam.py.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .names import Names

STATE_INDEX = "by-state"
WEEK_INDEX = "by-week"
SUMMARY_ATTRIBUTES = ("app_name", "key", "status", "updated_at", "finished_at", "error",
                      "published_version", "redrive_count", "state", "created_week")


def create_table(scope: Construct, names: Names) -> dynamodb.Table:
    table = dynamodb.Table(
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
    for index, hash_key, hash_type in ((STATE_INDEX, "state", dynamodb.AttributeType.STRING),
                                       (WEEK_INDEX, "created_week",
                                        dynamodb.AttributeType.NUMBER)):
        table.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=hash_key, type=hash_type),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=[a for a in SUMMARY_ATTRIBUTES if a != hash_key],
        )
    return table
