"""Jobs far longer and wider than one DynamoDB item could hold: a job driven through
thousands of history events (a deploy outage retried and redriven hundreds of times),
more than one 400 KB item could hold, and an app of 9,999 files both end verified, their
job items stay a few KB, and ``show --json`` returns every event.

The suite drives 2,000 events (some 1,200 already make more history than one item could
hold); ``bench/long_jobs.py`` drives the same test through 30,000 and more
(``AUTO_LAMBDA_TEST_EVENTS``) and prints the cost per event at each length, which must
not grow with it."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.aws.tables import item_size, job_key
from orchestrator.cli.main import cli
from orchestrator.intake.events import ObjectRef
from orchestrator.jobs.replay import _redrive_change
from orchestrator.jobs.runner import JobRunner, Outcome
from orchestrator.jobs.store import TAIL_BYTES
from orchestrator.jobs.workflow import DEPLOYMENT
from tests.fakes import FakeClock
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

pytestmark = pytest.mark.slow

EVENTS = int(os.environ.get("AUTO_LAMBDA_TEST_EVENTS", "2000"))
ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit


def _upload(pipeline: Pipeline, key: str, files: dict[str, str | bytes]) -> ObjectRef:
    put = pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket, Key=key,
                                     Body=make_zip(files))
    return ObjectRef(bucket=pipeline.aws.settings.incoming_bucket, key=key,
                     version_id=put["VersionId"], etag=put["ETag"].strip('"'))


def _item_bytes(pipeline: Pipeline, job_id: str) -> int:
    item = pipeline.aws.dynamodb.get_item(TableName=pipeline.aws.settings.table_name,
                                          Key=job_key(job_id), ConsistentRead=True)["Item"]
    return item_size(item)


def _show(job_id: str) -> dict[str, Any]:
    shown = CliRunner().invoke(cli, ["show", job_id, "--json"])
    assert shown.exit_code == 0, shown.output
    return dict(json.loads(shown.output))


def test_a_job_of_thousands_of_events_ends_verified_and_shows_them_all(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEPLOYMENT.max_history_events > EVENTS
    rt = pipeline.runtime
    clock = FakeClock(start=time.time())  # retry waits move time instead of sleeping
    runner = JobRunner(store=rt.store, steps=rt.steps, owner="long", clock=clock,
                       sleep=clock.sleep, hooks=rt.runner.hooks)
    ref = _upload(pipeline, "long.zip", dict(HELLO_APP))
    # A deploy outage: every attempt fails, Retry gives up, the job is redriven.
    monkeypatch.setenv("AUTO_LAMBDA_FAULTS", "before:deploy=raise:AwsServerError")
    outcome, rec = runner.process(ref)
    assert outcome is Outcome.DONE and rec.state == "failed"
    sizes = []
    redrives = 0
    while rec.events_written < EVENTS:
        rewritten = runner.rewrite(rec.job_id, _redrive_change(clock()))
        assert rewritten is not None
        outcome, rec = runner.resume(rec.job_id)
        assert (outcome, rec.state) == (Outcome.DONE, "failed"), rec.error
        redrives += 1
        if redrives % 200 == 0:
            sizes.append(_item_bytes(pipeline, rec.job_id))
    monkeypatch.delenv("AUTO_LAMBDA_FAULTS")
    runner.rewrite(rec.job_id, _redrive_change(clock()))
    outcome, rec = runner.resume(rec.job_id)
    assert outcome is Outcome.DONE and rec.state == "verified", rec.error

    total = rec.events_written
    assert total > EVENTS and rec.redrive_count == redrives + 1
    # the item does not grow with the history: a few KB at every length (what varies is
    # its tail, the last events not yet copied to the history table)
    sizes.append(_item_bytes(pipeline, rec.job_id))
    assert max(sizes) < 10_000 and sizes[-1] < sizes[0] + TAIL_BYTES, sizes
    doc = _show(rec.job_id)
    history = doc["history"]
    assert len(history) == total
    assert len(json.dumps(history)) > ITEM_LIMIT  # more than one item could ever hold
    assert history[0]["type"] == "ExecutionStarted"
    assert history[-1]["type"] == "ExecutionSucceeded"
    assert sum(e["type"] == "ExecutionRedriven" for e in history) == redrives + 1
    assert doc["state"] == "verified" and doc["published_version"] == "1"


def test_an_app_of_9999_files_ends_verified_with_a_small_job_item(pipeline: Pipeline) -> None:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    for i in range(9_999 - len(files)):
        files[f"data/part-{i // 100:03d}/file-{i:05d}.txt"] = f"{i}\n"
    assert len(files) == 9_999
    ref = _upload(pipeline, "wide.zip", files)
    outcome, rec = pipeline.runtime.runner.process(ref)
    assert outcome is Outcome.DONE and rec.state == "verified", rec.error
    assert rec.snapshot["data"]["unpacked"]["files"] == 9_999
    assert _item_bytes(pipeline, rec.job_id) < 10_000
    doc = _show(rec.job_id)
    assert doc["state"] == "verified" and len(doc["history"]) == rec.events_written
