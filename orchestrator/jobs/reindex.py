"""Give job records written before the listing indexes existed their index key.

``JobRecord.to_item`` writes ``created_week`` (the ``by-week`` index's hash key) with
every save, so records saved since then are listed; older ones, which no worker touches
any more, are missing from "the newest jobs" (they still appear by state). ``reindex``
scans the jobs table once for items without ``created_week`` and sets it from their
``created_at``.

Safe beside running workers: each update is conditional on the attribute still being
absent and touches nothing else (not the item's version, so no lease or conditional save
of a worker is disturbed). Repeating it is harmless; an item saved meanwhile already has
the key and is skipped as ``raced``. An item with no usable ``created_at`` is reported,
never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.aws.facade import Aws
from orchestrator.aws.tables import week_bucket
from orchestrator.types import JsonObject

WEEK_KEY = "created_week"


@dataclass
class ReindexReport:
    scanned: int = 0  # items without the key
    updated: int = 0
    raced: int = 0  # saved by a worker meanwhile: already has the key
    unusable: list[str] = field(default_factory=list)  # job ids with no created_at
    dry_run: bool = False

    def as_json(self) -> JsonObject:
        return {"missing": self.scanned, "updated": self.updated, "raced": self.raced,
                "unusable": self.unusable, "dry_run": self.dry_run}


def reindex(aws: Aws, *, dry_run: bool = False,
            progress: Callable[[ReindexReport], None] | None = None) -> ReindexReport:
    """Set ``created_week`` on every jobs-table item that lacks it."""
    table = aws.jobs_table()
    report = ReindexReport(dry_run=dry_run)
    pages = table.scan("dynamodb.scan(records without created_week)",
                       ProjectionExpression="job_id, created_at",
                       FilterExpression="attribute_not_exists(#w)",
                       ExpressionAttributeNames={"#w": WEEK_KEY})
    for page in pages:
        for item in page:
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
