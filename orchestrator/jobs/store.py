"""The job store: one DynamoDB item per job, written with optimistic locking.

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

The item layout is ``orchestrator.jobs.record``; every read and write of the jobs
table goes through this class. No workflow decisions are made here.
"""

from __future__ import annotations

from typing import Any

from orchestrator.aws.facade import Aws, aws_call, error_code
from orchestrator.aws.tables import JOB_KEY, STATE_INDEX, job_key
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.record import JobRecord


class JobNotFound(AutoLambdaError):
    code = "JobNotFound"


class LeaseLost(AutoLambdaError):
    """Another worker wrote the job since we read it: stop touching it."""

    code = "LeaseLost"


class JobStore:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.table = aws.settings.table_name

    @property
    def _db(self) -> Any:
        return self.aws.dynamodb

    def get(self, job_id: str) -> JobRecord | None:
        with aws_call(f"dynamodb.get_item({job_id})"):
            resp = self._db.get_item(TableName=self.table, Key=job_key(job_id),
                                     ConsistentRead=True)
        item = resp.get("Item")
        return JobRecord.from_item(item) if item else None

    def create(self, record: JobRecord) -> bool:
        """Write a new job; False if it already exists (a duplicate delivery)."""
        record.version = 1
        try:
            with aws_call("dynamodb.put_item"):
                self._db.put_item(TableName=self.table, Item=record.to_item(),
                                  ConditionExpression=f"attribute_not_exists({JOB_KEY})")
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def save(self, record: JobRecord) -> None:
        """Replace the item if nobody wrote it since we read it; bump the version."""
        expected = record.version
        record.version = expected + 1
        try:
            with aws_call("dynamodb.put_item"):
                self._db.put_item(
                    TableName=self.table, Item=record.to_item(),
                    ConditionExpression="#v = :expected",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":expected": {"N": str(expected)}},
                )
        except Exception as exc:
            record.version = expected
            if error_code(exc) == "ConditionalCheckFailedException":
                raise LeaseLost(f"job {record.job_id} was changed by another worker "
                                f"(expected version {expected})") from exc
            raise

    def claim(self, job_id: str, owner: str, now: float, ttl: float) -> JobRecord | None:
        """Take (or extend) the lease; None if another owner holds a live lease."""
        try:
            with aws_call("dynamodb.update_item"):
                resp = self._db.update_item(
                    TableName=self.table, Key=job_key(job_id),
                    UpdateExpression="SET lease_owner = :o, lease_expires = :e, #v = #v + :one",
                    ConditionExpression=(
                        f"attribute_exists({JOB_KEY}) AND (attribute_not_exists(lease_owner)"
                        " OR lease_owner = :o OR lease_expires < :now)"),
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={
                        ":o": {"S": owner}, ":e": {"N": repr(now + ttl)},
                        ":now": {"N": repr(now)}, ":one": {"N": "1"}},
                    ReturnValues="ALL_NEW",
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return JobRecord.from_item(resp["Attributes"])

    def extend_lease(self, job_id: str, owner: str, now: float, ttl: float) -> bool:
        """Heartbeat: push our lease's expiry. No version bump, so the owner's next
        save still matches; False if the lease is no longer ours."""
        try:
            with aws_call("dynamodb.update_item"):
                self._db.update_item(
                    TableName=self.table, Key=job_key(job_id),
                    UpdateExpression="SET lease_expires = :e",
                    ConditionExpression="lease_owner = :o",
                    ExpressionAttributeValues={":o": {"S": owner}, ":e": {"N": repr(now + ttl)}},
                )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, record: JobRecord) -> None:
        """Give the lease up (after a terminal state, or on shutdown)."""
        record.lease_owner = None
        record.lease_expires = 0.0
        self.save(record)

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
                    rec = JobRecord.from_item(item)
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
                records.extend(JobRecord.from_item(i) for i in page.get("Items", []))
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
