"""The embedded emulator's faster table sorts answer exactly as moto's own do."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from auto_lambda_dev.emulator_speed import speed_up_queries
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.listing import JobIndex, ListQuery
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore

# 300 jobs through both sorts: `make test` runs it, `make check` does not
pytestmark = pytest.mark.slow

ORIGINAL = (Table.all_items, Table.sorted_items)


@pytest.fixture
def aws(aws_env: None) -> Iterator[Aws]:
    with mock_aws():
        aws = Aws(Settings())
        ensure_resources(aws)
        rng = random.Random(3)
        store = JobStore(aws)
        for n in range(300):
            created = 1_800_000_000.0 - rng.randrange(0, 40 * 86400)  # ties included
            store.create(JobRecord(job_id=f"{rng.getrandbits(64):016x}", bucket="b",
                                   key=f"t{n % 4}/a{n}.zip", app_name=f"app{n % 5}",
                                   state=rng.choice(["verified", "failed", "built"]),
                                   created_at=created))
        yield aws


def _answers(aws: Aws) -> list[Any]:
    index = JobIndex(aws, clock=lambda: 1_800_000_000.0)
    out: list[Any] = []
    for query in (ListQuery(limit=500), ListQuery(state="failed", limit=500),
                  ListQuery(team="t1", limit=7), ListQuery(state="verified", limit=3)):
        page = index.page(query)
        out.append([(r.job_id, r.created_at) for r in page.jobs])
    out.append(index.counts(["verified", "failed", "built"]))
    scan = aws.dynamodb.scan(TableName=aws.settings.table_name)["Items"]
    out.append([item["job_id"]["S"] for item in scan])
    return out


def test_patched_sorts_give_the_same_answers(aws: Aws) -> None:
    Table.all_items, Table.sorted_items = ORIGINAL  # type: ignore[method-assign]
    try:
        before = _answers(aws)
        assert speed_up_queries()
        assert Table.all_items is not ORIGINAL[0]
        after = _answers(aws)
        assert speed_up_queries()  # a second call changes nothing
    finally:
        Table.all_items, Table.sorted_items = ORIGINAL  # type: ignore[method-assign]
    assert after == before
    assert len(before[0]) == 300


def test_the_server_lists_moto_s_services_once_with_the_same_names() -> None:
    from moto import backends

    from auto_lambda_dev.emulator_speed import speed_up_dispatch

    current = backends.list_of_moto_modules  # patched if an earlier test started a stack
    original = getattr(current, "__wrapped__", current)
    backends.list_of_moto_modules = original
    try:
        names = set(original())
        assert speed_up_dispatch()
        patched = backends.list_of_moto_modules
        assert set(patched()) == names and {"dynamodb", "s3", "sqs"} <= names
        assert speed_up_dispatch() and backends.list_of_moto_modules is patched  # once
    finally:
        backends.list_of_moto_modules = current
