"""Listing jobs through the table's indexes (in-process DynamoDB, moto): newest first,
filters, pages that neither skip nor repeat, counts, and refusal of bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.listing import (
    WEEK_SECONDS,
    JobIndex,
    ListQuery,
    ListQueryInvalid,
    all_states,
    encode_cursor,
)
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore

NOW = 1_800_000_000.0


class CountingAws(Aws):
    """Counts the DynamoDB operations made, so a test can prove no scan happens."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls: list[str] = []
        self.dynamodb.meta.events.register(
            "before-call.dynamodb", lambda model, **kw: self.calls.append(model.name))


@pytest.fixture
def aws(aws_env: None) -> Iterator[CountingAws]:
    with mock_aws():
        aws = CountingAws(Settings())
        ensure_resources(aws)
        yield aws


def put(store: JobStore, n: int, state: str, created_at: float, key: str = "",
        app: str = "hello") -> JobRecord:
    rec = JobRecord(job_id=f"{n:04d}" + "ab" * 30, bucket="b", key=key or f"app-{n}.zip",
                    app_name=app, state=state, created_at=created_at, updated_at=created_at,
                    error={"code": "ZipBomb", "message": "m"} if state == "failed" else None)
    assert store.create(rec)
    return rec


def test_pages_walk_every_job_newest_first_without_repeats(aws: CountingAws) -> None:
    store = JobStore(aws)
    # Three weeks of jobs, some in the same second, in several states.
    expected = []
    for n in range(60):
        state = ("verified", "failed", "built")[n % 3]
        created = NOW - (n // 2) * 0.4 * WEEK_SECONDS / 10
        expected.append((created, put(store, n, state, created).job_id))
    expected.sort(reverse=True)
    index = JobIndex(aws, clock=lambda: NOW)
    seen: list[tuple[float, str]] = []
    cursor = None
    aws.calls.clear()
    while True:
        page = index.page(ListQuery(limit=7, cursor=cursor))
        seen += [(row.created_at, row.job_id) for row in page.jobs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert "Scan" not in aws.calls and "Query" in aws.calls


def test_a_state_page_reads_only_that_state(aws: CountingAws) -> None:
    store = JobStore(aws)
    for n in range(30):
        put(store, n, "failed" if n % 5 == 0 else "verified", NOW - n)
    index = JobIndex(aws, clock=lambda: NOW)
    aws.calls.clear()
    page = index.page(ListQuery(state="failed", limit=4))
    assert [row.job_id[:4] for row in page.jobs] == ["0000", "0005", "0010", "0015"]
    assert all(row.error == {"code": "ZipBomb", "message": "m"} for row in page.jobs)
    assert page.next_cursor is not None
    rest = index.page(ListQuery(state="failed", limit=4, cursor=page.next_cursor))
    assert [row.job_id[:4] for row in rest.jobs] == ["0020", "0025"]
    assert rest.next_cursor is None
    assert set(aws.calls) == {"Query"}


def test_filters_by_app_team_time_and_search(aws: CountingAws) -> None:
    store = JobStore(aws)
    put(store, 1, "verified", NOW - 10, key="payments/api.zip", app="api")
    put(store, 2, "verified", NOW - 20, key="payments/web.zip", app="web")
    put(store, 3, "failed", NOW - 3 * 3600, key="search/api.zip", app="api")
    put(store, 4, "verified", NOW - 3 * WEEK_SECONDS, key="api.zip", app="api")
    index = JobIndex(aws, clock=lambda: NOW)

    def keys(**kw: object) -> list[str]:
        return [row.key for row in index.page(ListQuery(**kw)).jobs]  # type: ignore[arg-type]

    assert keys() == ["payments/api.zip", "payments/web.zip", "search/api.zip", "api.zip"]
    assert keys(app="api") == ["payments/api.zip", "search/api.zip", "api.zip"]
    assert keys(team="payments") == ["payments/api.zip", "payments/web.zip"]
    assert keys(team="default") == ["api.zip"]  # the bucket's root is the default team
    assert keys(since=NOW - 3600) == ["payments/api.zip", "payments/web.zip"]
    assert keys(until=NOW - 3600) == ["search/api.zip", "api.zip"]
    assert keys(search="web") == ["payments/web.zip"]
    assert keys(search="0003") == ["search/api.zip"]
    assert keys(state="failed", app="api") == ["search/api.zip"]
    assert keys(state="failed", app="web") == []
    assert [row.team for row in index.page(ListQuery()).jobs] == [
        "payments", "payments", "search", "default"]


def test_counts_per_state_and_an_empty_table(aws: CountingAws) -> None:
    index = JobIndex(aws, clock=lambda: NOW)
    assert index.page(ListQuery()).jobs == []
    store = JobStore(aws)
    for n in range(7):
        put(store, n, "failed" if n < 2 else "verified", NOW - n)
    counts = index.counts(all_states())
    assert counts["failed"] == 2 and counts["verified"] == 5 and counts["received"] == 0
    # A table that was empty at first lists its jobs once they come.
    assert len(index.page(ListQuery()).jobs) == 7


def test_store_list_by_state_returns_whole_records_through_the_index(
        aws: CountingAws) -> None:
    store = JobStore(aws)
    for n in range(5):
        put(store, n, "failed" if n % 2 else "verified", NOW - n)
    aws.calls.clear()
    records = store.list(state="failed")
    assert [r.job_id[:4] for r in records] == ["0001", "0003"]
    assert records[0].bucket == "b"  # whole records, not just the projected attributes
    assert "Scan" not in aws.calls


@pytest.mark.parametrize("query", [
    ListQuery(state="nope"), ListQuery(state="failed; drop"), ListQuery(app="Bad App"),
    ListQuery(team="../x"), ListQuery(team="team-a"), ListQuery(limit=0), ListQuery(limit=10_000),
    ListQuery(search="x" * 201), ListQuery(search="a\x00b"), ListQuery(since=float("nan")),
    ListQuery(until=-5.0), ListQuery(cursor="not a cursor"), ListQuery(cursor="e30"),
])
def test_bad_list_input_is_refused_with_a_code(query: ListQuery) -> None:
    with pytest.raises(ListQueryInvalid) as info:
        query.validate(all_states())
    assert info.value.code == "ListQueryInvalid" and info.value.hint


def test_a_cursor_made_here_is_accepted() -> None:
    ListQuery(cursor=encode_cursor(NOW, "abc")).validate(all_states())
