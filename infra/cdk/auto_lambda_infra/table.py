"""The DynamoDB job tables: the jobs table (one item per job, keyed by job_id, written with
optimistic locks) and the history table (one item per history event, keyed by job_id and
the event's number), so a job's item never grows with its history.

On-demand billing (no capacity to tune; idle costs nothing), point-in-time recovery,
retained when the stack is deleted. The jobs table has three listing indexes, all sorted
by created_at and projecting only the summary attributes: ``by-state`` (hash state),
``by-week`` (hash created_week, whole weeks since the epoch) and ``by-app`` (hash
app_key, ``<team>/<app>``; it also projects deployed_version). They repeat
``orchestrator.jobs.listing`` on purpose (this app imports none of the project's
packages); a test checks they agree. Grants nothing: see iam.py.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .names import Names

STATE_INDEX = "by-state"
WEEK_INDEX = "by-week"
APP_INDEX = "by-app"
SUMMARY_ATTRIBUTES = ("app_name", "key", "status", "updated_at", "finished_at", "error",
                      "published_version", "redrive_count", "state", "created_week")
APP_ATTRIBUTES = (*SUMMARY_ATTRIBUTES, "deployed_version")


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
    table = _table(scope, "JobsTable", names.table)
    string, number = dynamodb.AttributeType.STRING, dynamodb.AttributeType.NUMBER
    for index, hash_key, hash_type, projected in (
            (STATE_INDEX, "state", string, SUMMARY_ATTRIBUTES),
            (WEEK_INDEX, "created_week", number, SUMMARY_ATTRIBUTES),
            (APP_INDEX, "app_key", string, APP_ATTRIBUTES)):
        table.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=hash_key, type=hash_type),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=[a for a in projected if a != hash_key],
        )
    return table


def create_history_table(scope: Construct, names: Names) -> dynamodb.Table:
    return _table(scope, "HistoryTable", names.history_table,
                  dynamodb.Attribute(name="seq", type=dynamodb.AttributeType.NUMBER))
