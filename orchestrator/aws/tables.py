"""The jobs table's definition: its keys, and the request that creates it.

One source for the layout: the job store (``orchestrator.jobs.store``) reads and writes
items by these names, the local stack creates the table from ``create_table_request``,
and the CDK stack declares the same keys (checked by its tests). Data only: no calls.
"""

from __future__ import annotations

from typing import Any

JOB_KEY = "job_id"


def job_key(job_id: str) -> dict[str, dict[str, str]]:
    """The item key of one job."""
    return {JOB_KEY: {"S": job_id}}


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable arguments for the jobs table (on-demand capacity)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": JOB_KEY, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": JOB_KEY, "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
