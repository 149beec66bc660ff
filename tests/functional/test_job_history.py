"""A job's history lives in the history table, one item per event: the job item stays
small and holds none, readers page through the events, records of earlier releases
(history inline) are read as they are and paged at their next save, a restart keeps the
earlier run's events, and a record that would outgrow its item fails its job with
JobRecordTooLarge instead of leaving it stuck."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.aws.tables import item_size, job_key
from orchestrator.cli.main import cli
from orchestrator.intake.events import ObjectRef
from orchestrator.jobs.runner import JobRunner, Outcome
from orchestrator.jobs.store import JobStore
from orchestrator.steps.build.step import Built
from orchestrator.steps.tasks import StepContext, Steps
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip


def upload(pipeline: Pipeline, key: str = "hello.zip") -> ObjectRef:
    put = pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket, Key=key,
                                     Body=make_zip(dict(HELLO_APP)))
    return ObjectRef(bucket=pipeline.aws.settings.incoming_bucket, key=key,
                     version_id=put["VersionId"], etag=put["ETag"].strip('"'))


def raw_item(pipeline: Pipeline, job_id: str) -> dict[str, Any]:
    return dict(pipeline.aws.dynamodb.get_item(TableName=pipeline.aws.settings.table_name,
                                               Key=job_key(job_id))["Item"])


def history_items(pipeline: Pipeline, job_id: str) -> list[int]:
    pages = pipeline.aws.dynamodb.get_paginator("query").paginate(
        TableName=pipeline.aws.settings.history_table_name,
        KeyConditionExpression="job_id = :j",
        ExpressionAttributeValues={":j": {"S": job_id}})
    return [int(i["seq"]["N"]) for page in pages for i in page["Items"]]


def test_the_job_item_holds_no_events_and_readers_page_through_them(
        pipeline: Pipeline) -> None:
    ref = upload(pipeline)
    outcome, rec = pipeline.runtime.runner.process(ref)
    assert outcome is Outcome.DONE and rec.state == "verified"
    item = raw_item(pipeline, rec.job_id)
    snapshot = json.loads(item["snapshot"]["S"])
    assert "history" not in snapshot and snapshot["event_count"] == len(rec.history)
    assert item_size(item) < 12_000
    store = pipeline.runtime.store
    stored = store.get(rec.job_id)
    assert stored is not None and 0 < len(stored.tail) <= 25
    # the table holds every event but the item's last few (its tail), which follow on
    assert history_items(pipeline, rec.job_id) == list(range(stored.tail_seq))
    assert stored.tail_seq + len(stored.tail) == len(rec.history)
    pages = list(store.history_pages(store.get(rec.job_id) or rec, page_size=7))
    assert len(pages) > 3 and all(len(p) <= 7 for p in pages)
    events = [e for page in pages for e in page]
    assert events == rec.history
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"

    shown = CliRunner().invoke(cli, ["show", rec.job_id[:10], "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["job_id"] == rec.job_id and doc["history"] == events
    table = CliRunner().invoke(cli, ["show", rec.job_id[:10], "--events", "3"])
    assert table.exit_code == 0 and f"last 3 of {len(events)} events" in table.output
    listed = CliRunner().invoke(cli, ["jobs", "--json"])
    [job] = [j for j in json.loads(listed.output)["jobs"] if j["job_id"] == rec.job_id]
    assert job["history"] == events


def test_a_record_of_an_earlier_release_is_read_as_is_and_paged_at_its_next_save(
        pipeline: Pipeline) -> None:
    ref = upload(pipeline)
    runner = pipeline.runtime.runner
    calls = iter([False, True])  # fetch runs, then the drive stops between steps
    outcome, rec = runner.process(ref, stop=lambda: next(calls, True))
    assert outcome is Outcome.INTERRUPTED and rec.state == "fetched"
    store = pipeline.runtime.store
    # Written as an earlier release wrote it: the events inline, none in the table.
    current = store.get(rec.job_id)
    assert current is not None
    events = current.history
    legacy = {k: v for k, v in current.snapshot.items() if k != "event_count"}
    legacy.update(format=1, history=events)
    item = raw_item(pipeline, rec.job_id)
    item["snapshot"] = {"S": json.dumps(legacy)}
    for newer in ("write_id", "tail", "tail_seq", "history_offset", "lease_message"):
        item.pop(newer, None)
    pipeline.aws.dynamodb.put_item(TableName=pipeline.aws.settings.table_name, Item=item)
    for seq in history_items(pipeline, rec.job_id):
        pipeline.aws.dynamodb.delete_item(
            TableName=pipeline.aws.settings.history_table_name,
            Key={"job_id": {"S": rec.job_id}, "seq": {"N": str(seq)}})

    old = store.get(rec.job_id)
    assert old is not None and not old.paged and old.history == events
    outcome, done = runner.resume(rec.job_id)
    assert outcome is Outcome.DONE and done.state == "verified"
    after = store.get(rec.job_id)
    assert after is not None and after.paged
    assert after.history[:len(events)] == events
    assert history_items(pipeline, rec.job_id) == list(range(after.tail_seq))
    assert after.tail_seq >= len(events)  # the inline events were copied out
    assert [e["type"] for e in after.history].count("ExecutionStarted") == 1


def test_a_restart_keeps_the_earlier_runs_events_where_they_are(pipeline: Pipeline) -> None:
    ref = upload(pipeline)
    runner = pipeline.runtime.runner
    _, first = runner.process(ref)
    first_events = first.history

    def restart(rec: Any, ex: Any) -> Any:
        from orchestrator.jobs.runner import start_execution

        rec.archive_run()
        return start_execution(rec, runner.clock())

    runner.rewrite(first.job_id, restart)
    outcome, second = runner.resume(first.job_id)
    assert outcome is Outcome.DONE and second.state == "verified"
    store = pipeline.runtime.store
    again = store.get(first.job_id)
    assert again is not None
    [summary] = again.previous_runs
    assert (summary["history_from"], summary["events"]) == (0, len(first_events))
    assert again.history_offset == len(first_events)
    earlier = [e for page in store.history_pages(again, first=summary["history_from"],
                                                  count=summary["events"]) for e in page]
    assert earlier == first_events
    assert [e["type"] for e in again.history].count("ExecutionStarted") == 1
    assert history_items(pipeline, first.job_id) == list(range(again.tail_seq))
    assert again.tail_seq + len(again.tail) == len(first_events) + len(again.history)


class HugeBuild(Steps):
    """A build whose stored result outgrows any job item (an unbounded list)."""

    def build(self, ctx: StepContext) -> Built:
        built = super().build(ctx)
        many = [(f"package-{i:06d}", "1.0.0") for i in range(40_000)]
        return Built(built.artifact, replace(built.build, installed=many))


def test_a_record_that_would_outgrow_its_item_fails_the_job_with_its_code(
        pipeline: Pipeline) -> None:
    ref = upload(pipeline)
    rt = pipeline.runtime
    runner = JobRunner(store=rt.store, steps=HugeBuild(rt.steps.env), owner="huge")
    outcome, rec = runner.process(ref)
    assert outcome is Outcome.DONE
    stored = JobStore(pipeline.aws).get(rec.job_id)
    assert stored is not None and stored.state == "failed" and stored.lease_owner is None
    assert stored.error is not None and stored.error["code"] == "JobRecordTooLarge"
    assert "bytes" in stored.error["message"]
    assert "dropped" in stored.snapshot["data"]["build"]
    assert item_size(raw_item(pipeline, rec.job_id)) < 50_000
    assert stored.history[-1]["type"] == "ExecutionFailed"


@pytest.mark.parametrize("chars", [100_000])
def test_a_huge_error_message_is_kept_whole_in_the_history_only(pipeline: Pipeline,
                                                               chars: int) -> None:
    rt = pipeline.runtime

    class Loud(Steps):
        def fetch(self, ctx: StepContext) -> Any:
            from orchestrator.errors import ZipError

            raise ZipError("x" * chars, code="ZipInvalid")

    runner = JobRunner(store=rt.store, steps=Loud(rt.steps.env), owner="loud")
    _, rec = runner.process(upload(pipeline))
    stored = rt.store.get(rec.job_id)
    assert stored is not None and stored.error is not None
    assert len(stored.error["message"]) < 5_000
    failed = [e for e in stored.history if e["type"] == "TaskFailed"][-1]
    assert 30_000 < len(failed["cause"]) <= 32_768
    assert item_size(raw_item(pipeline, rec.job_id)) < 80_000
