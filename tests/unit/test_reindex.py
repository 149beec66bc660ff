"""``auto-lambda reindex``: records from before the listing indexes (no ``created_week``)
become listable, nothing else in them changes, a record saved meanwhile is left alone,
and a record with no usable ``created_at`` is reported, not guessed (in-process moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.cli.main import cli
from orchestrator.config import Settings
from orchestrator.jobs.listing import JobIndex, ListQuery
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.reindex import reindex
from orchestrator.jobs.store import JobStore

NOW = 1_800_000_000.0


@pytest.fixture
def aws(aws_env: None) -> Iterator[Aws]:
    with mock_aws():
        aws = Aws(Settings())
        ensure_resources(aws)
        yield aws


def _old_record(aws: Aws, n: int, with_created_at: bool = True) -> str:
    """A record as an earlier release wrote it: no created_week (``n`` hours old)."""
    rec = JobRecord(job_id=f"{n:04d}" + "cd" * 30, bucket="b", key=f"old-{n}.zip",
                    app_name="old", state="verified", created_at=NOW - 3600 * n,
                    updated_at=NOW)
    item = rec.to_item()
    del item["created_week"]
    if not with_created_at:
        del item["created_at"]
    aws.dynamodb.put_item(TableName=aws.settings.table_name, Item=item)
    return rec.job_id


def _listed(aws: Aws) -> set[str]:
    return {row.job_id for row in JobIndex(aws, clock=lambda: NOW).page(
        ListQuery(limit=500)).jobs}


def test_old_records_become_listable_and_keep_everything_else(aws: Aws) -> None:
    old = {_old_record(aws, n) for n in range(1, 26)}
    new = JobRecord(job_id="9999" + "ef" * 30, bucket="b", key="new.zip", app_name="new",
                    state="built", created_at=NOW - 60, updated_at=NOW - 60)
    assert JobStore(aws).create(new)
    before = {i["job_id"]["S"]: i for i in
              aws.dynamodb.scan(TableName=aws.settings.table_name)["Items"]}
    assert _listed(aws) == {new.job_id}

    dry = reindex(aws, dry_run=True)
    assert (dry.scanned, dry.updated) == (25, 0)
    assert _listed(aws) == {new.job_id}  # a dry run changes nothing

    report = reindex(aws)
    assert (report.scanned, report.updated, report.raced, report.unusable) == (25, 25, 0, [])
    assert _listed(aws) == old | {new.job_id}
    after = {i["job_id"]["S"]: i for i in
             aws.dynamodb.scan(TableName=aws.settings.table_name)["Items"]}
    for job_id, item in after.items():
        assert {k: v for k, v in item.items() if k != "created_week"} == {
            k: v for k, v in before[job_id].items() if k != "created_week"}
    assert after[new.job_id] == before[new.job_id]
    # Repeating it finds nothing to do.
    assert reindex(aws).scanned == 0


def test_a_record_saved_meanwhile_is_left_as_the_worker_wrote_it(aws: Aws) -> None:
    job_id = _old_record(aws, 1)
    table = aws.settings.table_name
    # A worker saves the record between the scan and the update: the save writes the key.
    original = aws.dynamodb.update_item

    def worker_saves_first(**kwargs):  # type: ignore[no-untyped-def]
        aws.dynamodb.update_item = original
        original(TableName=table, Key={"job_id": {"S": job_id}},
                 UpdateExpression="SET created_week = :w", ExpressionAttributeValues={
                     ":w": {"N": "7"}})
        return original(**kwargs)

    aws.dynamodb.update_item = worker_saves_first
    report = reindex(aws)
    assert (report.updated, report.raced) == (0, 1)
    item = aws.dynamodb.get_item(TableName=table, Key={"job_id": {"S": job_id}})["Item"]
    assert item["created_week"] == {"N": "7"}


def test_cli_reports_records_without_created_at_and_exits_1(aws: Aws) -> None:
    _old_record(aws, 1)
    broken = _old_record(aws, 2, with_created_at=False)
    result = CliRunner().invoke(cli, ["reindex", "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {
        "missing": 2, "updated": 1, "raced": 0, "unusable": [broken], "dry_run": False,
        "app_keys": 0}
    text = CliRunner().invoke(cli, ["reindex", "--dry-run"])
    assert text.exit_code == 1
    assert f"no created_at: {broken}" in text.output


def test_records_from_before_the_app_index_get_their_app_key_and_version(aws: Aws) -> None:
    rec = JobRecord(job_id="app1" + "ab" * 30, bucket="b", key="payments/hello.zip",
                    app_name="hello", state="failed", status="FAILED", created_at=NOW,
                    updated_at=NOW, snapshot={"data": {"deploy": {"version": "4"}}})
    item = rec.to_item()
    del item["app_key"]
    aws.dynamodb.put_item(TableName=aws.settings.table_name, Item=item)
    index = JobIndex(aws, clock=lambda: NOW)
    assert list(index.app_jobs("payments", "hello")) == []
    assert reindex(aws, dry_run=True).app_keys == 1
    report = reindex(aws)
    assert report.app_keys == 1 and report.scanned == 0
    (row,) = index.app_jobs("payments", "hello")
    assert (row.job_id, row.deployed_version, row.state) == (rec.job_id, "4", "failed")
    assert reindex(aws).app_keys == 0  # nothing left to do
