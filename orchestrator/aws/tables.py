"""The jobs table's definition: its keys, its listing indexes, and the request that
creates it.

One source for the layout: the job store (``orchestrator.jobs.store``) reads and writes
items by these names, the listing (``orchestrator.jobs.listing``) queries the indexes,
the local stack creates the table from ``create_table_request``, and the CDK stack
declares the same keys and indexes (checked by its tests). Data only: no calls.

The two listing indexes are both sorted by ``created_at`` and project only what a list
row shows (never the execution snapshot): ``by-state`` (hash ``state``) and ``by-week``
(hash ``created_week``, whole weeks since the epoch, written with every item).
"""

from __future__ import annotations

from typing import Any

JOB_KEY = "job_id"
STATE_INDEX = "by-state"
WEEK_INDEX = "by-week"
WEEK_SECONDS = 7 * 24 * 3600
# What both listing indexes project besides their keys: everything a list row shows.
SUMMARY_ATTRIBUTES = ("app_name", "key", "status", "updated_at", "finished_at", "error",
                      "published_version", "redrive_count", "state", "created_week")


def week_bucket(created_at: float) -> int:
    """The ``created_week`` of a job created at ``created_at`` (seconds since the epoch)."""
    return int(created_at // WEEK_SECONDS)


def listing_indexes() -> list[dict[str, Any]]:
    """The GlobalSecondaryIndexes of the jobs table."""

    def index(name: str, hash_key: str) -> dict[str, Any]:
        return {"IndexName": name,
                "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                              {"AttributeName": "created_at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE",
                               "NonKeyAttributes": [a for a in SUMMARY_ATTRIBUTES
                                                    if a != hash_key]}}

    return [index(STATE_INDEX, "state"), index(WEEK_INDEX, "created_week")]


def job_key(job_id: str) -> dict[str, dict[str, str]]:
    """The item key of one job."""
    return {JOB_KEY: {"S": job_id}}


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable arguments for the jobs table (on-demand capacity, two indexes)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": JOB_KEY, "AttributeType": "S"},
                                 {"AttributeName": "state", "AttributeType": "S"},
                                 {"AttributeName": "created_week", "AttributeType": "N"},
                                 {"AttributeName": "created_at", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": JOB_KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": listing_indexes(),
        "BillingMode": "PAY_PER_REQUEST",
    }
