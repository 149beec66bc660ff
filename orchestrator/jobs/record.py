"""The job record: one job's summary and its execution snapshot, and how it maps to an
item of the jobs table (the table's layout lives here and in ``store``, nowhere else).

The execution snapshot (states library) is stored as a JSON string so floats and nested
history survive unchanged. Pure data: no AWS calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from orchestrator.aws.tables import week_bucket
from states import Status

_ser = TypeSerializer()
_deser = TypeDeserializer()
_FINISHED = frozenset({Status.SUCCEEDED.value, Status.FAILED.value})
# Earlier runs kept on a record (``replay --restart``), and events kept of each.
MAX_PREVIOUS_RUNS = 5
MAX_PREVIOUS_EVENTS = 200


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
        """The execution finished (succeeded or failed); its state is a terminal one."""
        return self.status in _FINISHED

    def archive_run(self) -> None:
        """Keep the current run's summary (and its last events) in ``previous_runs`` and
        clear what belonged to it, before a new execution starts on this record."""
        summary = {
            "run": len(self.previous_runs) + 1, "state": self.state, "error": self.error,
            "started_at": self.snapshot.get("started_at", self.created_at),
            "finished_at": self.finished_at, "redrive_count": self.redrive_count,
            "published_version": self.published_version,
            "history": self.history[-MAX_PREVIOUS_EVENTS:],
        }
        self.previous_runs = [*self.previous_runs, summary][-MAX_PREVIOUS_RUNS:]
        self.artifact = self.function_arn = self.published_version = None
        self.error = None
        self.finished_at = None

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
        plain["created_week"] = week_bucket(self.created_at)  # the listing index's bucket
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
