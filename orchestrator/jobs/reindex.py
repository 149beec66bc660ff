"""Give job records written before the listing indexes existed their index keys.

``JobRecord.to_item`` writes ``created_week`` (the ``by-week`` index's hash key) and,
once the job knows its app, ``app_key`` (``by-app``'s) with every save, so records saved
since then are listed; older ones, which no worker touches any more, are missing from
"the newest jobs" (they still appear by state), from ``apps`` and from what pruning
knows. ``reindex`` scans the jobs table once for items without ``created_week`` and sets
it from their ``created_at``, and for items with an app but no ``app_key`` sets it from
their key and app, with ``deployed_version`` from the deploy step's data.

Safe beside running workers: each update is conditional on the attribute still being
absent and touches nothing else (not the item's version, so no lease or conditional save
of a worker is disturbed). Repeating it is harmless; an item saved meanwhile already has
the key and is skipped as ``raced``. An item with no usable ``created_at`` is reported,
never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.aws.facade import Aws
from orchestrator.aws.jobs_table import JobsTable
from orchestrator.aws.tables import APP_KEY, app_key, week_bucket
from orchestrator.errors import AutoLambdaError
from orchestrator.tenancy import team_of_key
from orchestrator.types import JsonObject

WEEK_KEY = "created_week"


@dataclass
class ReindexReport:
    scanned: int = 0  # items without the key
    updated: int = 0
    raced: int = 0  # saved by a worker meanwhile: already has the key
    unusable: list[str] = field(default_factory=list)  # job ids with no created_at
    dry_run: bool = False
    app_keys: int = 0  # records given their app key (or that would be, in a dry run)

    def as_json(self) -> JsonObject:
        return {"missing": self.scanned, "updated": self.updated, "raced": self.raced,
                "unusable": self.unusable, "dry_run": self.dry_run,
                "app_keys": self.app_keys}


def reindex(aws: Aws, *, dry_run: bool = False,
            progress: Callable[[ReindexReport], None] | None = None) -> ReindexReport:
    """Set ``created_week`` on every jobs-table item that lacks it, and ``app_key`` on
    every one with an app but none."""
    table = aws.jobs_table()
    report = ReindexReport(dry_run=dry_run)
    pages = table.scan("dynamodb.scan(records without an index key)",
                       ProjectionExpression="job_id, created_at, #w, #k, app_name, #a, #s",
                       FilterExpression="attribute_not_exists(#w) OR (attribute_exists("
                                        "app_name) AND attribute_not_exists(#a))",
                       ExpressionAttributeNames={"#w": WEEK_KEY, "#a": APP_KEY, "#k": "key",
                                                 "#s": "snapshot"})
    for page in pages:
        for item in page:
            if APP_KEY not in item and "app_name" in item:
                report.app_keys += int(dry_run or _set_app_key(table, item))
            if WEEK_KEY in item:
                continue
            report.scanned += 1
            job_id = item["job_id"]["S"]
            try:
                created = float(item["created_at"]["N"])
            except (KeyError, ValueError):
                report.unusable.append(job_id)
                continue
            if dry_run:
                continue
            if not table.set_if_missing(job_id, WEEK_KEY, week_bucket(created)):
                # Saved meanwhile (or deleted), or this very update landed and its answer
                # was lost before a retry: the key is there either way.
                report.raced += 1
                continue
            report.updated += 1
        if progress is not None:
            progress(report)
    return report


def _set_app_key(table: JobsTable, item: JsonObject) -> bool:
    """Set ``app_key`` (and ``deployed_version``, from the deploy step's data) on an item
    that has an app; False when it cannot be derived or was set meanwhile."""
    job_id = item["job_id"]["S"]
    try:
        key = app_key(team_of_key(item.get("key", {}).get("S", "")), item["app_name"]["S"])
    except AutoLambdaError:
        return False  # an upload under a folder that is not a team: in no app's list
    try:
        data = json.loads(item.get("snapshot", {}).get("S") or "{}").get("data") or {}
        version = (data.get("deploy") or {}).get("version")
    except (ValueError, AttributeError):
        version = None
    if version is not None:
        table.set_if_missing(job_id, "deployed_version", str(version))
    return table.set_if_missing(job_id, APP_KEY, key)
