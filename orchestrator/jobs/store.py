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

The execution snapshot (states library) is stored as a JSON string so floats and
nested history survive unchanged. No workflow decisions are made here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from orchestrator.aws.facade import Aws, aws_call, error_code
from orchestrator.errors import AutoLambdaError

_ser = TypeSerializer()
_deser = TypeDeserializer()

TERMINAL_STATES = frozenset({"verified", "failed"})


class JobNotFound(AutoLambdaError):
    code = "JobNotFound"


class LeaseLost(AutoLambdaError):
    """Another worker wrote the job since we read it: stop touching it."""

    code = "LeaseLost"


@dataclass
class JobRecord:
    job_id: str
    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    app_name: str | None = None
    state: str = "received"
    status: str = "RUNNING"
    version: int = 0
    lease_owner: str | None = None
    lease_expires: float = 0.0
    redrive_count: int = 0
    error: dict[str, Any] | None = None
    artifact: dict[str, Any] | None = None
    function_arn: str | None = None
    published_version: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    trace_id: str | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    # Earlier executions of this job (``replay --restart``), oldest first: each a summary
    # {"run", "state", "error", "started_at", "finished_at", "redrive_count", "history"}.
    previous_runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.snapshot.get("history", []))

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` shape of a job."""
        out = asdict(self)
        out.pop("snapshot")
        out["history"] = self.history
        out["data"] = self.snapshot.get("data", {})
        return out

    # ---- DynamoDB mapping ----
    def to_item(self) -> dict[str, Any]:
        plain = asdict(self)
        plain["snapshot"] = json.dumps(self.snapshot, separators=(",", ":"), default=str)
        plain["previous_runs"] = (json.dumps(self.previous_runs, separators=(",", ":"),
                                             default=str) if self.previous_runs else None)
        for key in ("error", "artifact"):
            plain[key] = json.dumps(plain[key]) if plain[key] is not None else None
        # The listing indexes' time bucket (orchestrator.jobs.listing).
        plain["created_week"] = int(self.created_at // (7 * 24 * 3600))
        clean = {k: v for k, v in plain.items() if v is not None and v != ""}
        clean = json.loads(json.dumps(clean), parse_float=Decimal)
        return {k: _ser.serialize(v) for k, v in clean.items()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> JobRecord:
        raw = {k: _deser.deserialize(v) for k, v in item.items()}
        for k, v in list(raw.items()):
            if isinstance(v, Decimal):
                raw[k] = int(v) if k in {"version", "redrive_count"} else float(v)
        raw["snapshot"] = json.loads(raw.get("snapshot") or "{}")
        raw["previous_runs"] = json.loads(raw.get("previous_runs") or "[]")
        for key in ("error", "artifact"):
            if isinstance(raw.get(key), str):
                raw[key] = json.loads(raw[key])
        raw.setdefault("bucket", "")
        raw.setdefault("key", "")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


class JobStore:
    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.table = aws.settings.table_name

    @property
    def _db(self) -> Any:
        return self.aws.dynamodb

    def get(self, job_id: str) -> JobRecord | None:
        with aws_call(f"dynamodb.get_item({job_id})"):
            resp = self._db.get_item(TableName=self.table, Key={"job_id": {"S": job_id}},
                                     ConsistentRead=True)
        item = resp.get("Item")
        return JobRecord.from_item(item) if item else None

    def create(self, record: JobRecord) -> bool:
        """Write a new job; False if it already exists (a duplicate delivery)."""
        record.version = 1
        try:
            with aws_call("dynamodb.put_item"):
                self._db.put_item(TableName=self.table, Item=record.to_item(),
                                  ConditionExpression="attribute_not_exists(job_id)")
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
                    TableName=self.table, Key={"job_id": {"S": job_id}},
                    UpdateExpression="SET lease_owner = :o, lease_expires = :e, #v = #v + :one",
                    ConditionExpression=(
                        "attribute_exists(job_id) AND (attribute_not_exists(lease_owner)"
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
                    TableName=self.table, Key={"job_id": {"S": job_id}},
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

    def get_many(self, job_ids: list[str]) -> list[JobRecord]:
        """The records of ``job_ids`` in that order (missing ones left out), 100 a call."""
        found: dict[str, JobRecord] = {}
        for start in range(0, len(job_ids), 100):
            request: dict[str, Any] = {self.table: {
                "Keys": [{"job_id": {"S": j}} for j in dict.fromkeys(job_ids[start:start + 100])],
                "ConsistentRead": True}}
            while request:
                with aws_call("dynamodb.batch_get_item"):
                    resp = self._db.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    rec = JobRecord.from_item(item)
                    found[rec.job_id] = rec
                request = resp.get("UnprocessedKeys") or {}
        return [found[j] for j in job_ids if j in found]

    def list(self, state: str | None = None, limit: int | None = None) -> list[JobRecord]:
        """Whole records, newest first. With a state, through the state index (see
        ``orchestrator.jobs.listing``); without one, a scan."""
        if state:
            from orchestrator.jobs.listing import JobIndex, ListQuery

            index = JobIndex(self.aws)
            ids: list[str] = []
            cursor: str | None = None
            while limit is None or len(ids) < limit:
                page = index.page(ListQuery(state=state, limit=min(500, limit or 500),
                                            cursor=cursor))
                ids += [row.job_id for row in page.jobs]
                cursor = page.next_cursor
                if cursor is None:
                    break
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
