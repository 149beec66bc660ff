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

Answers can be lost (a timeout or a 5xx after DynamoDB committed; botocore's retry then
meets its own write as a failed condition). Every write carries a fresh ``write_id``;
when one fails with a conflict or an unknown outcome, the item is read back: our
``write_id`` there means the write landed; the version we expected, still there, means
it did not (it is sent again); anything else is a genuinely foreign write (``LeaseLost``).

The item layout is ``orchestrator.jobs.record`` and ``orchestrator.aws.tables``; every
read and write of the job tables goes through this class. No workflow decisions are
made here.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws, aws_call, error_code
from orchestrator.aws.lost_answers import outcome_unknown
from orchestrator.aws.tables import (
    HISTORY_KEY,
    HISTORY_SEQ,
    JOB_KEY,
    STATE_INDEX,
    history_key,
    item_size,
    job_key,
)
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.record import JobRecord

log = logging.getLogger(__name__)

# DynamoDB refuses items over 400 KB; a job item is a few KB by design (no history, capped
# messages), and one this large means something unbounded got into the execution's data.
JOB_ITEM_MAX_BYTES = 350_000
# BatchWriteItem takes at most 25 puts.
_BATCH = 25
# A tail this long (events, or bytes of JSON) is copied to the history table.
TAIL_EVENTS = 25
TAIL_BYTES = 16_384
# Sends of one write whose outcome stayed unknown (each already retried by botocore).
_WRITE_ATTEMPTS = 4


class JobNotFound(AutoLambdaError):
    code = "JobNotFound"


class LeaseLost(AutoLambdaError):
    """Another worker wrote the job since we read it: stop touching it."""

    code = "LeaseLost"


class JobRecordTooLarge(AutoLambdaError):
    """The job item would pass what DynamoDB stores in one item."""

    code = "JobRecordTooLarge"


class JobStore:
    def __init__(self, aws: Aws, sleep: Callable[[float], None] = time.sleep) -> None:
        self.aws = aws
        self.sleep = sleep
        self.table = aws.settings.table_name
        self.history_table = aws.settings.history_table_name

    @property
    def _db(self) -> Any:
        return self.aws.dynamodb

    def _record(self, item: dict[str, Any]) -> JobRecord:
        return JobRecord.from_item(item, loader=self.history)

    # ---- reads ----
    def get(self, job_id: str) -> JobRecord | None:
        with aws_call(f"dynamodb.get_item({job_id})"):
            resp = self._db.get_item(TableName=self.table, Key=job_key(job_id),
                                     ConsistentRead=True)
        item = resp.get("Item")
        return self._record(item) if item else None

    def history_pages(self, record: JobRecord, *, first: int | None = None,
                      count: int | None = None, page_size: int | None = None
                      ) -> Iterator[list[dict[str, Any]]]:
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
                     ) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {
            "TableName": self.history_table, "ConsistentRead": True,
            "KeyConditionExpression": "#k = :k AND #s BETWEEN :a AND :b",
            "ExpressionAttributeNames": {"#k": HISTORY_KEY, "#s": HISTORY_SEQ},
            "ExpressionAttributeValues": {":k": {"S": job_id}, ":a": {"N": str(start)},
                                          ":b": {"N": str(end - 1)}}}
        if page_size:
            kwargs["PaginationConfig"] = {"PageSize": page_size}
        expected = start
        with aws_call(f"dynamodb.query(history of {job_id})"):
            for page in self._db.get_paginator("query").paginate(**kwargs):
                events = []
                for item in page.get("Items", []):
                    seq = int(item[HISTORY_SEQ]["N"])
                    if seq != expected:
                        break
                    expected += 1
                    events.append(json.loads(item["event"]["S"]))
                if events:
                    yield events
        if expected != end:
            raise AutoLambdaError(
                f"job {job_id}: history event {expected} is missing from "
                f"{self.history_table}", code="HistoryIncomplete",
                hint="the history table was changed by hand; `auto-lambda replay --restart` "
                     "starts a new run")

    def history(self, record: JobRecord) -> Iterator[dict[str, Any]]:
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
        put = {"TableName": self.table, "Item": self._checked_item(record),
               "ConditionExpression": f"attribute_not_exists({JOB_KEY})"}
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with aws_call(f"dynamodb.put_item(new job {record.job_id})"):
                    self._db.put_item(**put)
            except AwsError as exc:
                if not (outcome_unknown(exc) or exc.code == "AwsConflict"):
                    self._unstage(record)
                    raise
                current = self.get(record.job_id)
                if current is not None:
                    landed = current.write_id == write_id
                    if landed:
                        log.info("job %s: created although the answer was lost (%s)",
                                 record.job_id, exc.aws_code or exc.code)
                        self._committed(record)
                    else:
                        self._unstage(record)
                    return landed
                if not outcome_unknown(exc) or attempt == _WRITE_ATTEMPTS:
                    self._unstage(record)
                    raise
                continue
            self._committed(record)
            return True
        raise AssertionError("unreachable")  # pragma: no cover

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
            item = self._checked_item(record)
        except JobRecordTooLarge:
            record.version = expected
            self._unstage(record)
            raise
        put = {"TableName": self.table, "Item": item,
               "ConditionExpression": "#v = :expected",
               "ExpressionAttributeNames": {"#v": "version"},
               "ExpressionAttributeValues": {":expected": {"N": str(expected)}}}
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with aws_call(f"dynamodb.put_item({record.job_id})"):
                    self._db.put_item(**put)
            except AwsError as exc:
                if not (outcome_unknown(exc) or exc.code == "AwsConflict"):
                    record.version = expected
                    self._unstage(record)
                    raise
                current = self.get(record.job_id)
                if current is not None and current.write_id == write_id:
                    log.info("job %s: saved although the answer was lost (%s)",
                             record.job_id, exc.aws_code or exc.code)
                    break
                if current is None or current.version != expected:
                    record.version = expected
                    self._unstage(record)
                    owner = current.lease_owner if current else None
                    raise LeaseLost(f"job {record.job_id} was changed by another worker "
                                    f"(expected version {expected}, found "
                                    f"{current.version if current else 'no item'}, lease "
                                    f"{owner or 'free'})") from exc
                if attempt == _WRITE_ATTEMPTS:
                    record.version = expected
                    self._unstage(record)
                    raise
                # our version is still there: the write did not land; send it again
                log.info("job %s: save did not land (%s); sending it again", record.job_id,
                         exc.aws_code or exc.code)
                continue
            break
        self._committed(record)

    def claim(self, job_id: str, owner: str, now: float, ttl: float,
              message_id: str | None = None) -> JobRecord | None:
        """Take (or extend) the lease; None if another owner holds a live lease.
        ``message_id`` is the SQS message the new owner works from (None: none)."""
        update = "SET lease_owner = :o, lease_expires = :e, #v = #v + :one"
        values: dict[str, Any] = {":o": {"S": owner}, ":e": {"N": repr(now + ttl)},
                                  ":now": {"N": repr(now)}, ":one": {"N": "1"}}
        if message_id:
            update += ", lease_message = :m"
            values[":m"] = {"S": message_id}
        else:
            update += " REMOVE lease_message"
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                with aws_call("dynamodb.update_item(claim)"):
                    resp = self._db.update_item(
                        TableName=self.table, Key=job_key(job_id),
                        UpdateExpression=update,
                        ConditionExpression=(
                            f"attribute_exists({JOB_KEY}) AND (attribute_not_exists("
                            "lease_owner) OR lease_owner = :o OR lease_expires < :now)"),
                        ExpressionAttributeNames={"#v": "version"},
                        ExpressionAttributeValues=values,
                        ReturnValues="ALL_NEW",
                    )
            except AwsError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return None
                if not outcome_unknown(exc):
                    raise
                current = self.get(job_id)
                if current is not None and current.lease_owner == owner:
                    return current  # the claim landed; its answer did not
                if attempt == _WRITE_ATTEMPTS:
                    raise
                continue
            return self._record(resp["Attributes"])
        raise AssertionError("unreachable")  # pragma: no cover

    def extend_lease(self, job_id: str, owner: str, now: float, ttl: float) -> bool:
        """Heartbeat: push our lease's expiry. No version bump, so the owner's next
        save still matches; False if the lease is no longer ours. A repeat after a lost
        answer meets the same condition and succeeds."""
        try:
            with aws_call("dynamodb.update_item(extend lease)"):
                self._db.update_item(
                    TableName=self.table, Key=job_key(job_id),
                    UpdateExpression="SET lease_expires = :e",
                    ConditionExpression="lease_owner = :o",
                    ExpressionAttributeValues={":o": {"S": owner}, ":e": {"N": repr(now + ttl)}},
                )
        except AwsError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def swap_lease_message(self, job_id: str, old: str, new: str) -> bool:
        """Make message ``new`` the one the job's lease names, if it still names ``old``
        (no version bump: the holder's next save still matches). False otherwise."""
        try:
            with aws_call("dynamodb.update_item(lease message)"):
                self._db.update_item(
                    TableName=self.table, Key=job_key(job_id),
                    UpdateExpression="SET lease_message = :new",
                    ConditionExpression="lease_message = :old OR lease_message = :new",
                    ExpressionAttributeValues={":old": {"S": old}, ":new": {"S": new}})
        except AwsError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, record: JobRecord) -> None:
        """Give the lease up (after a terminal state, or on shutdown)."""
        record.lease_owner = None
        record.lease_expires = 0.0
        record.lease_message = None
        self.save(record)

    # ---- internals ----
    def _checked_item(self, record: JobRecord) -> dict[str, Any]:
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
        if not events:
            return
        puts = [{"PutRequest": {"Item": {
            **history_key(record.job_id, first + i),
            "event": {"S": json.dumps(event, separators=(",", ":"), default=str)}}}}
            for i, event in enumerate(events)]
        where = f"dynamodb.batch_write_item(history of {record.job_id})"
        for start in range(0, len(puts), _BATCH):
            todo = puts[start:start + _BATCH]
            for attempt in range(1, _WRITE_ATTEMPTS + 2):
                try:
                    with aws_call(where):
                        resp = self._db.batch_write_item(RequestItems={self.history_table: todo})
                except AwsError as exc:
                    if not outcome_unknown(exc) or attempt > _WRITE_ATTEMPTS:
                        raise
                    continue
                todo = list((resp.get("UnprocessedItems") or {}).get(self.history_table, []))
                if not todo:
                    break
                if attempt > _WRITE_ATTEMPTS:
                    raise AutoLambdaError(
                        f"{where}: DynamoDB left {len(todo)} history events unwritten",
                        code="AwsThrottled", hint="retried with backoff")
                self.sleep(0.05 * attempt)

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
        kwargs: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": "#c, #f",
                                  "ExpressionAttributeNames": names,
                                  "FilterExpression": "attribute_exists(#f)"}
        if since is not None:
            kwargs["FilterExpression"] = "#f >= :since"
            kwargs["ExpressionAttributeValues"] = {":since": {"N": repr(since)}}
        out: list[float] = []
        with aws_call("dynamodb.scan(finished jobs)"):
            for page in self._db.get_paginator("scan").paginate(**kwargs):
                for item in page.get("Items", []):
                    try:
                        created = float(item["created_at"]["N"])
                        finished = float(item["finished_at"]["N"])
                    except (KeyError, ValueError):
                        continue
                    out.append(max(0.0, finished - created))
        return out

    def query(self, index: str, **kwargs: Any) -> dict[str, Any]:
        """One Query page on one of the table's listing indexes (``orchestrator.aws.tables``;
        ``orchestrator.jobs.listing`` builds the conditions)."""
        with aws_call(f"dynamodb.query({index})"):
            return dict(self._db.query(TableName=self.table, IndexName=index, **kwargs))

    def get_many(self, job_ids: list[str]) -> list[JobRecord]:
        """The records of ``job_ids`` in that order (missing ones left out), 100 a call."""
        found: dict[str, JobRecord] = {}
        for start in range(0, len(job_ids), 100):
            keys = [job_key(j) for j in dict.fromkeys(job_ids[start:start + 100])]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                with aws_call("dynamodb.batch_get_item"):
                    resp = self._db.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    rec = self._record(item)
                    found[rec.job_id] = rec
                request = resp.get("UnprocessedKeys") or {}
        return [found[j] for j in job_ids if j in found]

    def list(self, state: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Whole records, newest first. With a state, through the state index (its keys,
        newest first, then the records in batches); without one, a scan."""
        if state:
            ids: list[str] = []
            query: dict[str, Any] = {
                "KeyConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": {"S": state}}, "ScanIndexForward": False,
                "ProjectionExpression": JOB_KEY}
            while limit is None or len(ids) < limit:
                resp = self.query(STATE_INDEX, **query)
                ids += [str(item[JOB_KEY]["S"]) for item in resp.get("Items", [])]
                if not resp.get("LastEvaluatedKey"):
                    break
                query["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            return self.get_many(ids[:limit] if limit else ids)
        kwargs: dict[str, Any] = {"TableName": self.table}
        records: list[JobRecord] = []
        with aws_call("dynamodb.scan"):
            for page in self._db.get_paginator("scan").paginate(**kwargs):
                records.extend(self._record(i) for i in page.get("Items", []))
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
