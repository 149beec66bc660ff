"""The job store: one DynamoDB item per job, written with optimistic locking, and one
item per history event in the history table.

Every write is conditional on the item's ``version`` (or on its absence for the first
write), so two workers can never both believe they moved a job. Leases are claimed
the same way: a conditional update that succeeds only when the lease is free, expired
or held by the same token. The runner claims with a fresh token each time
(``<worker>/<random>``), so two deliveries in one process cannot share a lease::

    worker A: claim(job, A/1, now=0, ttl=60)  ok   lease A/1 until 60 (version +1)
    worker A: extend_lease(job, A/1, now=20)  ok   until 80 (heartbeat, no version bump)
    worker B: claim(job, B/1, now=30)         ConditionalCheckFailed -> message put back
    worker A dies at 40 (no more heartbeats)
    worker B: claim(job, B/2, now=81)         ok   lease B/2 until 141, resumes from snapshot
    worker A (had it only stalled): save()    LeaseLost (version moved on) -> leaves the job

Answers can be lost (a timeout or a 5xx after DynamoDB committed). Every write carries
a fresh ``write_id``; the door (``orchestrator.aws.jobs_table``) settles a write whose
outcome is unclear by reading the item back, and says when another writer came between
(``LeaseLost`` here).

This module keeps what a job item means (powertools' persistence base): which version a
save expects, what a lease is, when the history tail is copied out, how large a record
may grow. The item layout is ``orchestrator.jobs.record`` and ``orchestrator.aws.tables``;
the calls, their conditions and their retries are the door's. No workflow decisions are
made here.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator

from orchestrator.aws.facade import Aws
from orchestrator.aws.jobs_table import Item, JobsTable, QueryPage, VersionMoved
from orchestrator.aws.tables import JOB_KEY, STATE_INDEX, item_size
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.record import JobRecord
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

# DynamoDB refuses items over 400 KB; a job item is a few KB by design (no history, capped
# messages), and one this large means something unbounded got into the execution's data.
JOB_ITEM_MAX_BYTES = 350_000
# A tail this long (events, or bytes of JSON) is copied to the history table.
TAIL_EVENTS = 25
TAIL_BYTES = 16_384


class JobNotFound(AutoLambdaError):
    code = Code.JobNotFound


class LeaseLost(AutoLambdaError):
    """Another worker wrote the job since we read it: stop touching it."""

    code = Code.LeaseLost


class JobRecordTooLarge(AutoLambdaError):
    """The job item would pass what DynamoDB stores in one item."""

    code = Code.JobRecordTooLarge


class JobStore:
    def __init__(self, aws: Aws, sleep: Callable[[float], None] = time.sleep) -> None:
        self.aws = aws
        self.sleep = sleep
        self.table = aws.settings.table_name
        self.history_table = aws.settings.history_table_name
        self.db: JobsTable = aws.jobs_table(sleep=sleep)

    def _record(self, item: Item) -> JobRecord:
        return JobRecord.from_item(item, loader=self.history)

    # ---- reads ----
    def get(self, job_id: str) -> JobRecord | None:
        item = self.db.get(job_id)
        return self._record(item) if item else None

    def history_pages(self, record: JobRecord, *, first: int | None = None,
                      count: int | None = None, page_size: int | None = None
                      ) -> Iterator[list[JsonObject]]:
        """The current execution's events (or, with ``first`` and ``count``, any events
        by their history-table numbers), one DynamoDB page at a time, the item's
        uncopied tail last."""
        start = record.history_offset if first is None else first
        total = record.events_written if count is None else count
        if total <= 0:
            return
        end = start + total
        tail_seq, tail = record.uncopied
        tail_start = tail_seq if tail else end
        if start < tail_start:
            yield from self._table_pages(record.job_id, start, min(end, tail_start),
                                         page_size)
        if tail and end > tail_start:
            lo = max(start, tail_start) - tail_start
            part = tail[lo:end - tail_start]
            if part:
                yield [dict(e) for e in part]

    def _table_pages(self, job_id: str, start: int, end: int, page_size: int | None
                     ) -> Iterator[list[JsonObject]]:
        expected = start
        for events in self.db.history_events(job_id, start, end, page_size):
            expected += len(events)
            yield events
        if expected != end:
            raise AutoLambdaError(
                f"job {job_id}: history event {expected} is missing from "
                f"{self.history_table}", code=Code.HistoryIncomplete,
                hint="the history table was changed by hand; `auto-lambda replay --restart` "
                     "starts a new run")

    def history(self, record: JobRecord) -> Iterator[JsonObject]:
        """The current execution's events, oldest first, read page by page."""
        for page in self.history_pages(record):
            yield from page

    # ---- writes ----
    def create(self, record: JobRecord) -> bool:
        """Write a new job (its first events as its tail); False if it already exists
        (a duplicate delivery)."""
        record.version = 1
        write_id = _new_write_id()
        record.write_id = write_id
        self._stage(record)
        item = self._checked_item(record)
        try:
            landed = self.db.put_new(record.job_id, item, write_id)
        except BaseException:
            self._unstage(record)
            raise
        if landed:
            self._committed(record)
        else:
            self._unstage(record)
        return landed

    def save(self, record: JobRecord) -> None:
        """Replace the item if nobody wrote it since we read it, with the events added
        since in its tail (the committed tail copied to the history table first when it
        is full); bump the version. LeaseLost if another writer came between."""
        if _tail_full(record):
            self._copy_tail(record)
            record.tail = []
        expected = record.version
        write_id = _new_write_id()
        record.version, record.write_id = expected + 1, write_id
        self._stage(record)
        try:
            self.db.put_replacing(record.job_id, self._checked_item(record),
                                  expected_version=expected, write_id=write_id)
        except VersionMoved as moved:
            record.version = expected
            self._unstage(record)
            current = self._record(moved.current) if moved.current else None
            owner = current.lease_owner if current else None
            raise LeaseLost(f"job {record.job_id} was changed by another worker "
                            f"(expected version {expected}, found "
                            f"{current.version if current else 'no item'}, lease "
                            f"{owner or 'free'})") from moved.__cause__
        except BaseException:
            record.version = expected
            self._unstage(record)
            raise
        self._committed(record)

    def claim(self, job_id: str, owner: str, now: float, ttl: float,
              message_id: str | None = None) -> JobRecord | None:
        """Take (or extend) the lease; None if another owner holds a live lease.
        ``message_id`` is the SQS message the new owner works from (None: none)."""
        item = self.db.claim(job_id, owner, now, ttl, message_id)
        return None if item is None else self._record(item)

    def extend_lease(self, job_id: str, owner: str, now: float, ttl: float) -> bool:
        """Heartbeat: push our lease's expiry. No version bump, so the owner's next
        save still matches; False if the lease is no longer ours."""
        return self.db.extend_lease(job_id, owner, now + ttl)

    def swap_lease_message(self, job_id: str, old: str, new: str) -> bool:
        """Make message ``new`` the one the job's lease names, if it still names ``old``
        (no version bump: the holder's next save still matches). False otherwise."""
        return self.db.swap_lease_message(job_id, old, new)

    def release(self, record: JobRecord) -> None:
        """Give the lease up (after a terminal state, or on shutdown)."""
        record.lease_owner = None
        record.lease_expires = 0.0
        record.lease_message = None
        self.save(record)

    # ---- internals ----
    def _checked_item(self, record: JobRecord) -> Item:
        item = record.to_item()
        size = item_size(item)
        if size > JOB_ITEM_MAX_BYTES:
            biggest = sorted(((item_size({k: v}), k) for k, v in item.items()), reverse=True)
            raise JobRecordTooLarge(
                f"job {record.job_id}: its record would be {size:,} bytes, over "
                f"{JOB_ITEM_MAX_BYTES:,} (largest: "
                f"{', '.join(f'{k} {n:,} B' for n, k in biggest[:3])})",
                hint="a step stored more than a job record holds; the job is failed with "
                     "its data cut down (see its history)")
        return item

    def _copy_tail(self, record: JobRecord) -> None:
        """Put the committed tail's events into the history table (repeatable: the same
        items whoever writes them, however often)."""
        first, events = record.uncopied
        if events:
            self.db.put_history(record.job_id, first, events)

    @staticmethod
    def _stage(record: JobRecord) -> None:
        """The item about to be written counts the pending events, in its tail (which
        always ends where the committed events end: they follow on)."""
        record._staged = (record.tail_seq, record.tail)
        if not record.tail:
            record.tail_seq = record.history_offset + record.events_written
        record.tail = [*record.tail, *record.pending_events]

    @staticmethod
    def _unstage(record: JobRecord) -> None:
        record.tail_seq, record.tail = record._staged

    @staticmethod
    def _committed(record: JobRecord) -> None:
        record.events_written += len(record.pending_events)
        record.pending_events = []
        record.attach_history(record._loader)

    # ---- listings ----
    def finished_durations(self, since: float | None = None) -> list[float]:
        """``finished_at - created_at`` of every job that finished (at or after ``since``)."""
        names = {"#f": "finished_at", "#c": "created_at"}
        kwargs: JsonObject = {"ProjectionExpression": "#c, #f",
                              "ExpressionAttributeNames": names,
                              "FilterExpression": "attribute_exists(#f)"}
        if since is not None:
            kwargs["FilterExpression"] = "#f >= :since"
            kwargs["ExpressionAttributeValues"] = {":since": {"N": repr(since)}}
        out: list[float] = []
        for items in self.db.scan("dynamodb.scan(finished jobs)", **kwargs):
            for item in items:
                try:
                    created = float(item["created_at"]["N"])
                    finished = float(item["finished_at"]["N"])
                except (KeyError, ValueError):
                    continue
                out.append(max(0.0, finished - created))
        return out

    def query(self, index: str, **kwargs: object) -> QueryPage:
        """One Query page on one of the table's listing indexes (``orchestrator.aws.tables``;
        ``orchestrator.jobs.listing`` builds the conditions)."""
        return self.db.query(index, **kwargs)

    def get_many(self, job_ids: list[str]) -> list[JobRecord]:
        """The records of ``job_ids`` in that order (missing ones left out), 100 a call."""
        found: dict[str, JobRecord] = {}
        for item in self.db.get_many(job_ids):
            rec = self._record(item)
            found[rec.job_id] = rec
        return [found[j] for j in job_ids if j in found]

    def list(self, state: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Whole records, newest first. With a state, through the state index (its keys,
        newest first, then the records in batches); without one, a scan."""
        if state:
            ids: list[str] = []
            query: JsonObject = {
                "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": {"S": state}}, "ScanIndexForward": False,
                "ProjectionExpression": JOB_KEY}
            while limit is None or len(ids) < limit:
                page = self.query(STATE_INDEX, **query)
                ids += [str(item[JOB_KEY]["S"]) for item in page.items]
                if not page.last_key:
                    break
                query["ExclusiveStartKey"] = page.last_key
            return self.get_many(ids[:limit] if limit else ids)
        records: list[JobRecord] = []
        for items in self.db.scan():
            records.extend(self._record(i) for i in items)
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records[:limit] if limit else records

    def find(self, prefix: str) -> JobRecord:
        exact = self.get(prefix)
        if exact:
            return exact
        matches = [r for r in self.list() if r.job_id.startswith(prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise JobNotFound(f"no job {prefix!r}", hint="`auto-lambda jobs` lists job ids")
        raise JobNotFound(f"{prefix!r} matches {len(matches)} jobs",
                          hint="give more characters of the job id")


def _tail_full(record: JobRecord) -> bool:
    events = len(record.tail) + len(record.pending_events)
    if not record.tail:
        return False
    if events > TAIL_EVENTS or not record.paged:
        return True
    size = len(json.dumps([*record.tail, *record.pending_events], default=str))
    return size > TAIL_BYTES


def _new_write_id() -> str:
    return uuid.uuid4().hex
