"""Replay against in-process moto: redrive at the failed step (here or through the
queue), restart as a new job leaving the old one as it was, refusals that explain
themselves, the DLQ moved back only after each send succeeded, and the CLI's dry run."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.replay import Executor, Facts, Request, Result, gather, plan
from tests import faults
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

OUTAGE = "before:deploy=raise:DeployFailed:1"


def _hello() -> bytes:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    return make_zip(files)


def _starts(job: JobRecord) -> Counter[str]:
    return Counter(e["state"] for e in job.history if e["type"] == "TaskStarted")


@pytest.fixture
def failed_at_deploy(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch,
                     tmp_path: Path) -> Iterator[JobRecord]:
    monkeypatch.setenv("AUTO_LAMBDA_FAULT_DIR", str(tmp_path / "faults"))  # counts per test
    monkeypatch.setenv("AUTO_LAMBDA_FAULTS", OUTAGE)
    pipeline.upload("hello.zip", _hello())
    [job] = [j for j in pipeline.drain() if j.key == "hello.zip"]
    monkeypatch.delenv("AUTO_LAMBDA_FAULTS")
    assert job.state == "failed" and job.error and job.error["state"] == "built"
    yield job


def _replay(pipeline: Pipeline, request: Request) -> tuple[Facts, list[Result]]:
    rt = pipeline.runtime
    facts = gather(request, rt.store, pipeline.aws, time.time(),
                   dlq_url=pipeline.info.dlq_url)
    actions = plan(request, facts)
    results = Executor(rt.runner, pipeline.aws, pipeline.info.queue_url, pipeline.info.dlq_url,
                       here=request.here, note=request.note()).apply(actions, facts)
    return facts, results


def test_redrive_here_resumes_at_the_failed_step(pipeline: Pipeline,
                                                 failed_at_deploy: JobRecord) -> None:
    _, results = _replay(pipeline, Request(job_ids=(failed_at_deploy.job_id[:8],), here=True))
    assert [(r.action.kind, r.ok) for r in results] == [("redrive", True)]
    job = pipeline.runtime.store.get(failed_at_deploy.job_id)
    assert job is not None and job.state == "verified", job and job.error
    assert job.redrive_count == 1
    redriven = [e for e in job.history if e["type"] == "ExecutionRedriven"]
    assert [(e["state"], e["details"]["redrive_count"]) for e in redriven] == [("built", 1)]
    assert _starts(job) == Counter({"received": 1, "fetched": 1, "unpacked": 1, "built": 2,
                                    "deployed": 1, "tested": 1})


def test_redrive_re_enqueues_the_job_for_any_worker(pipeline: Pipeline,
                                                    failed_at_deploy: JobRecord) -> None:
    _, results = _replay(pipeline, Request(failed=True, since_seconds=3600))
    assert [(r.action.kind, r.ok) for r in results] == [("redrive", True)]
    waiting = pipeline.runtime.store.get(failed_at_deploy.job_id)
    assert waiting is not None and waiting.state == "built" and waiting.finished_at is None
    [job] = [j for j in pipeline.drain() if j.key == "hello.zip"]
    assert job.state == "verified" and job.job_id == failed_at_deploy.job_id
    assert _starts(job)["unpacked"] == 1
    assert pipeline.queue_depth() == 0


def test_failed_filters_by_error_code_and_age(pipeline: Pipeline,
                                              failed_at_deploy: JobRecord) -> None:
    rt = pipeline.runtime
    now = time.time()
    assert gather(Request(failed=True, error_code="DeployFailed"), rt.store, pipeline.aws,
                  now).jobs
    assert not gather(Request(failed=True, error_code="ZipBomb"), rt.store, pipeline.aws,
                      now).jobs
    assert not gather(Request(failed=True, since_seconds=60), rt.store, pipeline.aws,
                      now + 3600).jobs


def test_a_changed_object_needs_restart_which_leaves_the_old_job_unchanged(
        pipeline: Pipeline, failed_at_deploy: JobRecord) -> None:
    pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket,
                               Key="hello.zip", Body=b"something else")  # a new version
    request = Request(job_ids=(failed_at_deploy.job_id,))
    facts = gather(request, pipeline.runtime.store, pipeline.aws, time.time())
    [action] = plan(request, facts)
    assert action.kind == "skip" and "changed" in action.reason and "--restart" in action.reason
    store = pipeline.runtime.store
    before = store.get(failed_at_deploy.job_id)
    assert before is not None

    _, results = _replay(pipeline, Request(job_ids=(failed_at_deploy.job_id,), restart=True,
                                           here=True))
    assert [(r.action.kind, r.ok) for r in results] == [("restart", True)]
    [result] = results
    assert result.job_id and result.job_id != failed_at_deploy.job_id
    new = store.get(result.job_id)
    assert new is not None and new.state == "verified", new and new.error
    assert new.restarted_from == failed_at_deploy.job_id
    assert (new.bucket, new.key, new.version_id) == (before.bucket, before.key,
                                                     before.version_id)
    assert [e["type"] for e in new.history].count("ExecutionStarted") == 1
    # the old job's record and history are exactly as they were
    after = store.get(failed_at_deploy.job_id)
    assert after is not None
    assert after.to_json() == before.to_json()
    assert after.version == before.version and after.state == "failed"
    assert after.previous_runs == []


def test_a_job_whose_object_was_deleted_before_fetch_is_explained(pipeline: Pipeline) -> None:
    bucket = pipeline.aws.settings.incoming_bucket
    pipeline.upload("gone.zip", _hello())
    pipeline.aws.s3.delete_object(Bucket=bucket, Key="gone.zip")
    [job] = [j for j in pipeline.drain() if j.key == "gone.zip"]
    assert job.state == "failed" and job.error and job.error["code"] == "ObjectMissing"
    request = Request(failed=True)
    facts = gather(request, pipeline.runtime.store, pipeline.aws, time.time())
    [action] = plan(request, facts)
    assert action.kind == "skip"
    assert "no longer exists" in action.reason and "fetching" in action.reason
    assert "upload the app again" in action.reason


def test_dlq_messages_leave_the_dlq_only_after_they_were_sent(pipeline: Pipeline) -> None:
    sqs = pipeline.aws.sqs
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=pipeline.info.dlq_url, MessageBody=body)
    sqs.purge_queue(QueueUrl=pipeline.info.queue_url)
    broken = faults.error_response(sqs, "SendMessage", times=1, code="InternalError",
                                   status=500)
    _, results = _replay(pipeline, Request(dlq=True))
    assert broken.fired == 1
    assert sorted(r.ok for r in results) == [False, True]
    moved = sqs.receive_message(QueueUrl=pipeline.info.queue_url, MaxNumberOfMessages=10)
    assert len(moved["Messages"]) == 1
    kept = [r for r in results if not r.ok]
    assert "failed" in kept[0].detail
    attrs = sqs.get_queue_attributes(QueueUrl=pipeline.info.dlq_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert sum(int(v) for v in attrs.values()) == 1  # the unsent one is still in the DLQ


def test_cli_dry_run_prints_the_plan_and_changes_nothing(
        pipeline: Pipeline, failed_at_deploy: JobRecord,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_WORK_DIR", str(pipeline.aws.settings.work_dir))
    result = CliRunner().invoke(cli, ["replay", "--failed", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["dry_run"] is True
    assert [(a["kind"], a["job_id"], a["from_state"]) for a in doc["actions"]] == [
        ("redrive", failed_at_deploy.job_id, "built")]
    after = pipeline.runtime.store.get(failed_at_deploy.job_id)
    assert after is not None and after.version == failed_at_deploy.version


def test_cli_refuses_a_request_without_a_selection() -> None:
    result = CliRunner().invoke(cli, ["replay"])
    assert result.exit_code != 0 and "--failed" in result.output


def _events(pipeline: Pipeline, job_id: str) -> list[dict[str, object]]:
    rec = pipeline.runtime.store.get(job_id)
    assert rec is not None
    return [e for page in pipeline.runtime.store.history_pages(rec) for e in page]


def test_a_redrive_records_who_ran_it_and_why(pipeline: Pipeline,
                                              failed_at_deploy: JobRecord) -> None:
    actor = {"via": "cli", "arn": "arn:aws:iam::123456789012:user/alice", "as": "alice"}
    _, results = _replay(pipeline, Request(job_ids=(failed_at_deploy.job_id,), here=True,
                                           actor=actor, reason="the index was down"))
    assert [(r.action.kind, r.ok) for r in results] == [("redrive", True)]
    [redriven] = [e for e in _events(pipeline, failed_at_deploy.job_id)
                  if e["type"] == "ExecutionRedriven"]
    assert redriven["details"] == {"replayed_by": actor, "reason": "the index was down",
                                   "redrive_count": 1}


def test_a_restart_records_who_and_why_on_the_new_job_and_leaves_the_old_one(
        pipeline: Pipeline, failed_at_deploy: JobRecord,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = pipeline.runtime.store.get(failed_at_deploy.job_id)
    assert before is not None
    old_events = before.history
    monkeypatch.setenv("AUTO_LAMBDA_WORK_DIR", str(pipeline.aws.settings.work_dir))
    result = CliRunner().invoke(cli, ["replay", failed_at_deploy.job_id, "--restart",
                                      "--reason", "new index", "--as", "bob", "--json"])
    assert result.exit_code == 0, result.output
    pipeline.drain()
    # the old job is as it was: a restart is a new job (docs/lifecycle.md)
    after = pipeline.runtime.store.get(failed_at_deploy.job_id)
    assert after is not None and after.state == "failed" and after.history == old_events
    [new] = [j for j in pipeline.runtime.store.list()
             if j.restarted_from == failed_at_deploy.job_id]
    new = pipeline.runtime.store.get(new.job_id)
    assert new is not None and new.state == "verified"
    first = new.history[0]
    assert first["type"] == "ExecutionStarted"
    details = first["details"]
    assert details["reason"] == "new index" and details["restart_of"] == failed_at_deploy.job_id
    who = details["replayed_by"]
    # moto's STS answers for the test credentials; the name given is kept beside it
    assert who["via"] == "cli" and who["as"] == "bob" and who["arn"].startswith("arn:aws:")
