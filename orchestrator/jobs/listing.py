"""Listing jobs at scale: queries on the jobs table's two secondary indexes, never a scan.

The table is keyed by ``job_id``, which says nothing about state or time. Two global
secondary indexes, both sorted by ``created_at`` and both projecting only the summary
attributes (never the execution snapshot; ``orchestrator.aws.tables`` declares them),
answer the listing questions:

``by-state``  hash ``state``: "the newest failed jobs" and the counts per state.
``by-week``   hash ``created_week`` (whole weeks since the epoch): "the newest jobs"
              without a state. Time buckets keep every partition bounded: a single
              constant key would put every write of the table into one index partition.

A page walks the partitions newest first and stops as soon as it has ``limit`` rows, so
its cost follows the page size, not the table size. Filters on app, team (the key's first
folder) and a search text are filter expressions on those queries; the time window is a
key condition. ``created_week`` is written by ``JobRecord.to_item``. Every read goes
through ``JobStore.query``.

Reads only; no writes, no workflow decisions.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from orchestrator.aws.facade import Aws
from orchestrator.aws.tables import STATE_INDEX, WEEK_INDEX, WEEK_SECONDS, week_bucket
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError, ManifestError
from orchestrator.jobs.store import JobStore
from orchestrator.jobs.workflow import TERMINAL_STATES
from orchestrator.tenancy import DEFAULT_TEAM, team_of_key
from orchestrator.types import JsonObject

MAX_LIMIT = 500
# Partitions (weeks) a page looks back through before it stops and offers "more".
MAX_WEEKS_PER_PAGE = 26


def all_states() -> tuple[str, ...]:
    """Every state a job can be in: the workflow's declared states and its waiting state."""
    from orchestrator.jobs.workflow import DEPLOYMENT

    return (*DEPLOYMENT.names, DEPLOYMENT.retrying_state)


class ListQueryInvalid(AutoLambdaError):
    code = Code.ListQueryInvalid


def team_of(key: str) -> str:
    """A job's team: the first folder of its object key (``payments/api.zip``), or the
    default team for the bucket's root (``orchestrator.tenancy``); shown as it is
    even when the upload was refused for an invalid team name."""
    head, sep, _ = key.partition("/")
    return head if sep and head else DEFAULT_TEAM


@dataclass(frozen=True)
class JobSummary:
    """One list row: the projected attributes of a job (no history, no snapshot)."""

    job_id: str
    key: str
    state: str
    created_at: float
    app_name: str | None = None
    status: str | None = None
    updated_at: float | None = None
    finished_at: float | None = None
    error: JsonObject | None = None
    published_version: str | None = None
    redrive_count: int = 0

    @property
    def team(self) -> str:
        return team_of(self.key)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @classmethod
    def from_item(cls, item: JsonObject) -> JobSummary:
        def s(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return str(value) if value is not None else None

        def n(name: str) -> float | None:
            value = item.get(name, {}).get("N")
            return float(value) if value is not None else None

        error = s("error")
        return cls(job_id=str(s("job_id")), key=s("key") or "", state=s("state") or "?",
                   created_at=n("created_at") or 0.0, app_name=s("app_name"),
                   status=s("status"), updated_at=n("updated_at"),
                   finished_at=n("finished_at"),
                   error=json.loads(error) if error else None,
                   published_version=s("published_version"),
                   redrive_count=int(n("redrive_count") or 0))

    def to_json(self) -> JsonObject:
        return {"job_id": self.job_id, "app_name": self.app_name, "key": self.key,
                "team": self.team, "state": self.state, "error": self.error,
                "published_version": self.published_version, "created_at": self.created_at,
                "updated_at": self.updated_at, "finished_at": self.finished_at,
                "redrive_count": self.redrive_count}


_APP = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_STATE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class ListQuery:
    """What to list. ``since``/``until`` are epoch seconds; ``cursor`` comes from a
    previous page's ``next_cursor``. ``validate()`` raises ListQueryInvalid."""

    state: str | None = None
    app: str | None = None
    team: str | None = None
    since: float | None = None
    until: float | None = None
    search: str | None = None
    limit: int = 50
    cursor: str | None = None

    def validate(self, states: Iterable[str] | None = None) -> ListQuery:
        if self.state is not None:
            known = set(states) if states is not None else None
            if not _STATE.match(self.state) or (known is not None and self.state not in known):
                raise ListQueryInvalid(
                    f"unknown state {self.state!r}",
                    hint="one of " + ", ".join(sorted(known)) if known else
                    "a state name such as failed or verified")
        if self.app is not None and not _APP.match(self.app):
            raise ListQueryInvalid(f"app name {self.app!r} is not valid",
                                   hint="lower-case letters, digits and '-', at most 64")
        if self.team is not None:
            try:
                team_of_key(f"{self.team}/app.zip")
            except ManifestError as exc:
                raise ListQueryInvalid(f"team {self.team[:60]!r} is not a team name",
                                       hint=exc.hint) from exc
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ListQueryInvalid(f"limit {self.limit} is out of range",
                                   hint=f"between 1 and {MAX_LIMIT}")
        if self.search is not None and (len(self.search) > 200
                                        or not self.search.isprintable()):
            raise ListQueryInvalid("the search text is too long or not printable",
                                   hint="at most 200 printable characters")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ListQueryInvalid(f"{name} must be a time after 1970",
                                       hint="seconds since the epoch")
        if self.cursor is not None:
            decode_cursor(self.cursor)
        return self


def encode_cursor(created_at: float, job_id: str) -> str:
    raw = json.dumps([created_at, job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        if len(cursor) > 400:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        created_at, job_id = float(value[0]), str(value[1])
        if not math.isfinite(created_at) or len(value) != 2:
            raise ValueError("bad cursor")
    except (ValueError, TypeError, IndexError, KeyError, binascii.Error) as exc:
        raise ListQueryInvalid("the page cursor is not one this tool made",
                               hint="start again from the first page") from exc
    return created_at, job_id


@dataclass
class ListPage:
    jobs: list[JobSummary] = field(default_factory=list)
    next_cursor: str | None = None
    queries: int = 0


class JobIndex:
    """Pages of job summaries and counts per state, through the table's indexes."""

    def __init__(self, aws: Aws, clock: Callable[[], float] | None = None,
                 states: Iterable[str] | None = None) -> None:
        import time

        self.store = JobStore(aws)
        self.clock = clock or time.time
        self.states = tuple(states) if states is not None else all_states()
        self._oldest: float | None = None

    def oldest_created(self) -> float | None:
        """When the oldest job was created (None for an empty table): no page looks
        further back. One ascending query per state; kept once found (jobs are never
        deleted, so it cannot move later)."""
        if self._oldest is None:
            found = [t for t in map(self._first_created, self.states) if t is not None]
            self._oldest = min(found) if found else None
        return self._oldest

    def _first_created(self, state: str) -> float | None:
        items = self.store.query(
            STATE_INDEX, Limit=1, ScanIndexForward=True,
            KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": {"S": state}}, ProjectionExpression="created_at"
        ).items
        return float(items[0]["created_at"]["N"]) if items else None

    def page(self, query: ListQuery) -> ListPage:
        """The newest jobs matching ``query``, at most ``query.limit``, and a cursor for
        the next page when there may be more."""
        before = decode_cursor(query.cursor) if query.cursor else None
        upper = query.until if query.until is not None else math.inf
        if before is not None:
            upper = min(upper, before[0])
        result = ListPage()
        want = query.limit + 1  # one more tells whether a next page exists
        rows: list[JobSummary] = []
        if query.state is not None:
            rows = self._collect(STATE_INDEX, "state", {"S": query.state}, query, upper,
                                 before, want, result)
        else:
            newest = upper if math.isfinite(upper) else self.clock()
            week = week_bucket(newest)
            since_week = week_bucket(query.since) if query.since is not None else None
            for step in range(MAX_WEEKS_PER_PAGE):
                rows += self._collect(WEEK_INDEX, "created_week", {"N": str(week - step)},
                                      query, upper, before, want - len(rows), result)
                if len(rows) >= want:
                    break
                # Going further back: not past the window, nor past the oldest job (read
                # only now, so a page that fills from recent weeks never pays for it).
                if since_week is not None and week - step - 1 < since_week:
                    break
                first = self.oldest_created()
                if first is None or week - step - 1 < week_bucket(first):
                    break
            else:
                # Looked back as far as one page may; offer to go on from there.
                if len(rows) < want:
                    result.jobs = rows
                    boundary = (week - MAX_WEEKS_PER_PAGE + 1) * WEEK_SECONDS
                    result.next_cursor = encode_cursor(boundary, "")
                    return result
        result.jobs = rows[:query.limit]
        if len(rows) > query.limit:
            last = result.jobs[-1]
            result.next_cursor = encode_cursor(last.created_at, last.job_id)
        return result

    def _collect(self, index: str, hash_name: str, hash_value: dict[str, str],
                 query: ListQuery, upper: float, before: tuple[float, str] | None,
                 want: int, result: ListPage) -> list[JobSummary]:
        names = {"#h": hash_name}
        values: JsonObject = {":h": hash_value}
        condition = "#h = :h"
        if query.since is not None or math.isfinite(upper):
            names["#c"] = "created_at"
        if query.since is not None and math.isfinite(upper):
            condition += " AND #c BETWEEN :lo AND :hi"
            values.update({":lo": {"N": repr(query.since)}, ":hi": {"N": repr(upper)}})
        elif query.since is not None:
            condition += " AND #c >= :lo"
            values[":lo"] = {"N": repr(query.since)}
        elif math.isfinite(upper):
            condition += " AND #c <= :hi"
            values[":hi"] = {"N": repr(upper)}
        filters = _filters(query, names, values)
        kwargs: JsonObject = {
            "KeyConditionExpression": condition, "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values, "ScanIndexForward": False}
        if filters:
            kwargs["FilterExpression"] = filters
        rows: list[JobSummary] = []
        while len(rows) < want:
            # Without a filter every item read is a row, so read no more than needed.
            kwargs["Limit"] = want - len(rows) + 1 if not filters else max(want, 100)
            page = self.store.query(index, **kwargs)
            result.queries += 1
            for item in page.items:
                row = JobSummary.from_item(item)
                if before is not None and (row.created_at, row.job_id) >= before:
                    continue
                rows.append(row)
            if not page.last_key:
                break
            kwargs["ExclusiveStartKey"] = page.last_key
        rows.sort(key=lambda r: (r.created_at, r.job_id), reverse=True)
        return rows[:want]

    def count(self, state: str) -> int:
        """How many jobs are in ``state`` (reads that state's index partition)."""
        kwargs: JsonObject = {
            "Select": "COUNT", "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": state}}}
        total = 0
        while True:
            page = self.store.query(STATE_INDEX, **kwargs)
            total += page.count
            if not page.last_key:
                return total
            kwargs["ExclusiveStartKey"] = page.last_key

    def counts(self, states: Sequence[str]) -> dict[str, int]:
        return {state: self.count(state) for state in states}


def _filters(query: ListQuery, names: dict[str, str], values: JsonObject) -> str:
    parts: list[str] = []
    if query.app is not None:
        names["#app"] = "app_name"
        values[":app"] = {"S": query.app}
        parts.append("#app = :app")
    if query.team == DEFAULT_TEAM:  # uploads at the bucket's root
        names["#k"] = "key"
        values[":slash"] = {"S": "/"}
        parts.append("NOT contains(#k, :slash)")
    elif query.team is not None:
        names["#k"] = "key"
        values[":team"] = {"S": query.team + "/"}
        parts.append("begins_with(#k, :team)")
    if query.search:
        names["#k"] = "key"
        names["#id"] = "job_id"
        values[":q"] = {"S": query.search}
        parts.append("(contains(#k, :q) OR begins_with(#id, :q))")
    return " AND ".join(parts)
