"""The job record: one job's summary and its execution snapshot, and how it maps to an
item of the jobs table (the table's layout lives here and in ``store``, nowhere else).

The snapshot is stored without its history events (``Execution.snapshot(history=False)``:
only their number); the events are items of the history table, so the item stays small
whatever the job's length. The events a save adds travel in the item itself, as its
``tail``, and the next save first copies that tail into the history table: the content
of a committed tail is fixed, so whoever copies it (even a worker whose lease is gone)
writes the same items, and no event is ever written that its job item does not count.
Records written by earlier releases embed the whole history in the snapshot; they are
read as they are, and their next save copies it out like a tail.

The execution snapshot (states library) is stored as a JSON string so floats survive
unchanged. Pure data: no AWS calls (``history`` reads events through the loader the
store that built the record attached to it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal

from orchestrator.aws.jobs_table import Item, deserialize_item, serialize_item
from orchestrator.aws.tables import week_bucket
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.redact import redact
from orchestrator.types import JsonObject
from states import Status

_FINISHED = frozenset({Status.SUCCEEDED.value, Status.FAILED.value})
# Earlier runs kept on a record (``replay --restart``): their summaries; their events stay
# in the history table (records of earlier releases kept up to 200 events inline).
MAX_PREVIOUS_RUNS = 5
# The error message kept in the summary (the whole cause, up to Step Functions' 32,768
# characters, is in the snapshot and in the ExecutionFailed event).
MAX_ERROR_MESSAGE_CHARS = 4_000
MAX_PREVIOUS_ERROR_CHARS = 1_000
# Fields of a record that live only in memory, never in the item.
_RUNTIME = "runtime"
_IN_MEMORY = {_RUNTIME: True}

HistoryLoader = Callable[["JobRecord"], Iterable[JsonObject]]


class HistoryNotLoaded(AutoLambdaError):
    """A record built outside the store has no way to read its paged history."""

    code = Code.HistoryNotLoaded


def capped(text: str | None, limit: int) -> str | None:
    """``text`` redacted (docs/security.md) and cut to ``limit`` characters."""
    if text is None:
        return text
    text = redact(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit:,} more characters in the job's history]"


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
    # The SQS message id the lease holder works from (None: not driven by a message).
    lease_message: str | None = None
    redrive_count: int = 0
    error: JsonObject | None = None
    artifact: JsonObject | None = None
    function_arn: str | None = None
    published_version: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    trace_id: str | None = None
    snapshot: JsonObject = field(default_factory=dict)
    # The history-table number of the current execution's first event: the events of
    # earlier runs (``replay --restart``) come before it.
    history_offset: int = 0
    # Events committed with this item but not yet in the history table: numbered from
    # ``tail_seq`` (a history-table number); the next save copies them there.
    tail_seq: int = 0
    tail: list[JsonObject] = field(default_factory=list)
    # Earlier executions of this job (``replay --restart``), oldest first: each a summary
    # {"run", "state", "error", "started_at", "finished_at", "redrive_count",
    #  "published_version", "history_from", "events"} (older records: "history" inline).
    previous_runs: list[JsonObject] = field(default_factory=list)
    # Which save wrote this item (a fresh id per write): how a write whose answer was
    # lost is recognised as ours when the item is read back.
    write_id: str | None = None

    # ---- in memory only ----
    # Events of the current execution this item counts (in the table or its tail).
    events_written: int = field(default=0, repr=False, compare=False, metadata=_IN_MEMORY)
    # Events the next save writes, numbered from ``events_written``.
    pending_events: list[JsonObject] = field(default_factory=list, repr=False,
                                                 compare=False, metadata=_IN_MEMORY)
    _loader: HistoryLoader | None = field(default=None, repr=False, compare=False,
                                          metadata=_IN_MEMORY)
    # The tail as it was before a write that may not land (the store restores it).
    _staged: tuple[int, list[JsonObject]] = field(
        default=(0, []), repr=False, compare=False, metadata=_IN_MEMORY)
    _events: list[JsonObject] | None = field(default=None, repr=False, compare=False,
                                                 metadata=_IN_MEMORY)

    @property
    def is_terminal(self) -> bool:
        """The execution finished (succeeded or failed); its state is a terminal one."""
        return self.status in _FINISHED

    @property
    def paged(self) -> bool:
        """True when the snapshot leaves the events to the history table."""
        return "history" not in self.snapshot

    @property
    def event_count(self) -> int:
        """Events of the current execution (held in the history table or inline)."""
        if self.paged:
            return int(self.snapshot.get("event_count", 0))
        return len(self.snapshot.get("history", []))

    @property
    def uncopied(self) -> tuple[int, list[JsonObject]]:
        """The committed events not yet in the history table and the number of the first:
        the tail (all the inline events, for an earlier release's record)."""
        return self.tail_seq, self.tail

    def archive_run(self) -> None:
        """Keep the current run's summary in ``previous_runs`` (its events stay where they
        are) and clear what belonged to it, before a new execution starts on this record."""
        summary: JsonObject = {
            "run": len(self.previous_runs) + 1, "state": self.state,
            "error": _short_error(self.error, MAX_PREVIOUS_ERROR_CHARS),
            "started_at": self.snapshot.get("started_at", self.created_at),
            "finished_at": self.finished_at, "redrive_count": self.redrive_count,
            "published_version": self.published_version,
        }
        count = self.events_written
        summary.update(history_from=self.history_offset, events=count)
        self.history_offset += count
        self.previous_runs = [*self.previous_runs, summary][-MAX_PREVIOUS_RUNS:]
        self.events_written = 0
        self.pending_events = []
        self._events = None
        self.artifact = self.function_arn = self.published_version = None
        self.error = None
        self.finished_at = None

    @property
    def history(self) -> list[JsonObject]:
        """The current execution's events, oldest first: inline for records of earlier
        releases, else read page by page from the history table on first use."""
        if not self.paged:
            return list(self.snapshot.get("history", []))
        if self._events is None:
            if self._loader is None:
                raise HistoryNotLoaded(
                    f"job {self.job_id}: its history is in the history table and this "
                    "record was not read through the job store",
                    hint="read the record with JobStore.get or JobStore.list")
            self._events = list(self._loader(self))
        return list(self._events)

    def attach_history(self, loader: HistoryLoader | None) -> None:
        """How ``history`` reads the paged events (the store that built the record)."""
        self._loader = loader
        self._events = None

    def set_error(self, error: JsonObject | None) -> None:
        self.error = _short_error(error, MAX_ERROR_MESSAGE_CHARS)

    def to_json(self, *, with_history: bool = True) -> JsonObject:
        """The documented ``--json`` shape of a job (``with_history=False``: without its
        history, for callers that write the events as they read them)."""
        hidden = {"snapshot", "write_id", "tail", "tail_seq"}  # storage, not the job
        out = {k: v for k, v in self._stored().items() if k not in hidden}
        out["data"] = self.snapshot.get("data", {})
        if with_history:
            out["history"] = self.history
        return out

    # ---- DynamoDB mapping ----
    def _stored(self) -> JsonObject:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)
                if not f.metadata.get(_RUNTIME)}

    def to_item(self) -> Item:
        plain = self._stored()
        plain["snapshot"] = json.dumps(self.snapshot, separators=(",", ":"), default=str)
        plain["previous_runs"] = (json.dumps(self.previous_runs, separators=(",", ":"),
                                             default=str) if self.previous_runs else None)
        inline = not self.paged  # an earlier release's form: the events are the snapshot's
        plain["tail"] = (json.dumps(self.tail, separators=(",", ":"), default=str)
                         if self.tail and not inline else None)
        if plain["tail"] is None:
            plain.pop("tail_seq")
        for key in ("error", "artifact"):
            plain[key] = json.dumps(plain[key]) if plain[key] is not None else None
        if not plain["history_offset"]:
            plain.pop("history_offset")
        plain["created_week"] = week_bucket(self.created_at)  # the listing index's bucket
        clean = {k: v for k, v in plain.items() if v is not None and v != ""}
        clean = json.loads(json.dumps(clean), parse_float=Decimal)
        return serialize_item(clean)

    @classmethod
    def from_item(cls, item: Item, loader: HistoryLoader | None = None) -> JobRecord:
        raw: JsonObject = deserialize_item(item)
        for k, v in list(raw.items()):
            if isinstance(v, Decimal):
                raw[k] = (int(v) if k in {"version", "redrive_count", "history_offset",
                                          "tail_seq"} else float(v))
        raw["snapshot"] = json.loads(raw.get("snapshot") or "{}")
        raw["previous_runs"] = json.loads(raw.get("previous_runs") or "[]")
        raw["tail"] = json.loads(raw.get("tail") or "[]")
        for key in ("error", "artifact"):
            if isinstance(raw.get(key), str):
                raw[key] = json.loads(raw[key])
        raw.setdefault("bucket", "")
        raw.setdefault("key", "")
        known = {f.name for f in fields(cls) if not f.metadata.get(_RUNTIME)}
        rec = cls(**{k: v for k, v in raw.items() if k in known})
        rec.events_written = rec.event_count
        if not rec.paged:
            # an earlier release's record: its inline events are copied out like a tail
            rec.tail_seq, rec.tail = rec.history_offset, rec.history
        rec.attach_history(loader)
        return rec


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _short_error(error: JsonObject | None, limit: int) -> JsonObject | None:
    if not error:
        return error
    message = error.get("message")
    return {**error, "message": capped(message, limit) if isinstance(message, str) else message}
