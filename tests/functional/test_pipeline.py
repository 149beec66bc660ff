"""The worker against in-process moto: upload → S3 event → SQS → state machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

HELLO_FUNCTION = "auto-lambda-default-hello"  # an upload at the bucket root: team default


def _by_key(records: list, key: str):  # type: ignore[no-untyped-def]
    matches = [r for r in records if r.key == key]
    assert len(matches) == 1, [r.key for r in records]
    return matches[0]


def test_upload_ends_verified_with_live_alias_on_the_new_version(pipeline: Pipeline) -> None:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    job = _by_key(pipeline.drain(), "hello.zip")
    assert job.state == "verified", job.error
    states = [e["state"] for e in job.history if e["type"] == "StateEntered"]
    assert states == ["received", "fetched", "unpacked", "built", "deployed", "tested",
                      "rollout", "verified"]  # all at once: the Choice goes straight on
    alias = pipeline.aws.lambda_.get_alias(FunctionName=HELLO_FUNCTION, Name="live")
    assert alias["FunctionVersion"] == job.published_version
    assert pipeline.queue_depth() == 0


@pytest.mark.parametrize(("files", "code"), [
    ({"../evil.py": "x = 1", "app.py": "def handler(e, c):\n    return 1\n"}, "ZipUnsafePath"),
    ({"readme.txt": "no code here"}, "HandlerNotFound"),
])
def test_bad_zips_fail_with_their_code_and_the_worker_serves_the_next(
        pipeline: Pipeline, files: dict[str, str], code: str) -> None:
    pipeline.upload("bad.zip", make_zip(files))
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    records = pipeline.drain()
    bad = _by_key(records, "bad.zip")
    assert bad.state == "failed"
    assert bad.error is not None and bad.error["code"] == code
    assert _by_key(records, "hello.zip").state == "verified"
    assert pipeline.queue_depth() == 0


def test_corrupt_zip_fails_without_retries(pipeline: Pipeline) -> None:
    data = make_zip(HELLO_APP)
    pipeline.upload("corrupt.zip", data[: len(data) // 2])
    job = _by_key(pipeline.drain(), "corrupt.zip")
    assert job.state == "failed"
    assert job.error is not None and job.error["code"].startswith("Zip")
    assert not [e for e in job.history if e["type"] == "RetryScheduled"]


def test_a_message_that_is_not_an_s3_event_is_recorded_and_acknowledged(
        pipeline: Pipeline) -> None:
    sqs = pipeline.aws.sqs
    sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody="not json at all")
    sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=json.dumps({"hello": 1}))
    records = pipeline.drain()
    codes = sorted(r.error["code"] for r in records if r.error)
    assert codes == ["BadEvent", "BadEvent"]
    assert pipeline.queue_depth() == 0


def test_duplicate_delivery_of_a_finished_job_does_no_work(pipeline: Pipeline) -> None:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    first = _by_key(pipeline.drain(), "hello.zip")
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": first.bucket}, "object": {"key": "hello.zip",
                                                     "eTag": first.etag}}}]})
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    again = _by_key(pipeline.drain(), "hello.zip")
    assert again.version == first.version  # nothing was written
    versions = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]


def test_reuploading_an_unchanged_app_publishes_no_new_version(pipeline: Pipeline) -> None:
    body = make_zip(HELLO_APP)
    pipeline.upload("hello.zip", body)
    first = _by_key(pipeline.drain(), "hello.zip")
    pipeline.upload("hello.zip", body)  # a new object version with the same bytes
    records = [r for r in pipeline.drain() if r.key == "hello.zip"]
    assert len(records) == 2 and {r.state for r in records} == {"verified"}
    assert {r.published_version for r in records} == {first.published_version}
    versions = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]


def test_a_failing_verify_leaves_live_on_the_previous_version(pipeline: Pipeline) -> None:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    good = _by_key(pipeline.drain(), "hello.zip")
    broken = dict(HELLO_APP)
    broken["app.py"] = HELLO_APP["app.py"].replace("' ' + event['name']", "' ' + 'nobody'")
    pipeline.upload("hello.zip", make_zip(broken))
    bad = next(r for r in pipeline.drain() if r.key == "hello.zip" and r.job_id != good.job_id)
    assert bad.state == "failed"
    assert bad.error is not None and bad.error["code"] == "VerifyMismatch"
    assert bad.error["state"] == "deployed"
    alias = pipeline.aws.lambda_.get_alias(FunctionName="auto-lambda-default-hello", Name="live")
    assert alias["FunctionVersion"] == good.published_version == "1"
    # The version that failed verify was deleted as its job ended (the worker prunes).
    assert bad.deployed_version == "2" and bad.published_version is None
    versions = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]


def test_a_worker_killed_before_pruning_is_made_good_by_the_redelivery(
        pipeline: Pipeline) -> None:
    from orchestrator.intake.events import ObjectRef

    runner = pipeline.runtime.runner
    prune, runner.after_end = runner.after_end, None  # the worker dies as the job ends
    broken = dict(HELLO_APP)
    broken["app.py"] = HELLO_APP["app.py"].replace("' ' + event['name']", "' ' + 'nobody'")
    pipeline.upload("hello.zip", make_zip(broken))
    bad = _by_key(pipeline.drain(), "hello.zip")
    assert bad.state == "failed" and bad.deployed_version == "1"
    listed = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST", "1"]
    # Its message comes back (never deleted): the job is done, and the prune runs now.
    runner.after_end = prune
    outcome, _ = runner.process(ObjectRef(bad.bucket, bad.key, bad.version_id, bad.etag))
    assert outcome.value == "already"
    listed = pipeline.aws.lambda_.list_versions_by_function(FunctionName=HELLO_FUNCTION)
    assert [v["Version"] for v in listed["Versions"]] == ["$LATEST"]


def test_a_failure_after_the_job_ended_never_changes_its_result(pipeline: Pipeline) -> None:
    seen = []

    def broken_prune(rec: object) -> None:
        seen.append(rec)
        raise RuntimeError("Lambda is having a bad day")

    pipeline.runtime.runner.after_end = broken_prune
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    job = _by_key(pipeline.drain(), "hello.zip")
    assert job.state == "verified" and len(seen) == 1
    assert pipeline.queue_depth() == 0


def test_the_sqs_trace_header_becomes_the_jobs_trace_id(pipeline: Pipeline) -> None:
    pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket, Key="t.zip",
                               Body=make_zip(HELLO_APP))
    pipeline.drain()  # the notification's own message
    root = "1-5759e988-bd862e3fe1be46a994272793"
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": pipeline.aws.settings.incoming_bucket},
        "object": {"key": "t2.zip"}}}]})
    pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket, Key="t2.zip",
                               Body=make_zip(HELLO_APP))
    pipeline.aws.sqs.purge_queue(QueueUrl=pipeline.info.queue_url)
    pipeline.aws.sqs.send_message(
        QueueUrl=pipeline.info.queue_url, MessageBody=body,
        MessageSystemAttributes={"AWSTraceHeader": {
            "DataType": "String", "StringValue": f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"}})
    job = _by_key(pipeline.drain(), "t2.zip")
    assert job.state == "verified"
    assert job.trace_id == root
    assert {e.get("trace_id") for e in job.history} == {root}


def test_a_handler_importing_what_is_not_packaged_fails_at_build(pipeline: Pipeline) -> None:
    # dependencies declared nowhere the builder reads (a setup.cfg): the handler's
    # `import yaml` cannot be satisfied, and nothing is deployed
    pipeline.upload("no-yaml.zip", make_zip({
        "app.py": "import json\nimport boto3\nimport yaml\n\n"
                  "def handler(event, context):\n    return yaml.safe_dump(event)\n",
        "setup.cfg": "[options]\ninstall_requires = pyyaml\n",
        "auto-lambda.toml": "[function]\nname = 'no-yaml'\n"}))
    job = _by_key(pipeline.drain(), "no-yaml.zip")
    assert job.state == "failed"
    assert job.error is not None and job.error["code"] == "MissingDependency"
    assert "yaml (app.py line 3)" in job.error["message"]
    states = [e["state"] for e in job.history if e["type"] == "StateEntered"]
    assert states[-2:] == ["unpacked", "failed"] and "deployed" not in states
    functions = pipeline.aws.lambda_.list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].endswith("no-yaml")]


def test_a_finished_jobs_folder_is_removed(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    pipeline.upload("bad.zip", make_zip({"readme.txt": "no code here"}))
    records = pipeline.drain()
    assert {r.state for r in records if r.key} == {"verified", "failed"}
    jobs = tmp_path / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []


def test_a_failed_jobs_folder_is_kept_only_when_asked(pipeline: Pipeline, tmp_path: Path) -> None:
    from dataclasses import replace

    aws = pipeline.runtime.steps.env.aws
    aws.settings = replace(aws.settings, keep_failed_job_dirs=True)
    pipeline.upload("bad.zip", make_zip({"readme.txt": "no code here"}))
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    records = pipeline.drain()
    bad = _by_key(records, "bad.zip")
    assert bad.state == "failed"
    kept = list((tmp_path / "jobs").iterdir())
    assert [p.name for p in kept] == [bad.job_id]
    assert (kept[0] / "source.zip").is_file()


def test_a_job_recorded_by_another_workflow_fails_through_the_machine_with_its_old_run_kept(
        pipeline: Pipeline) -> None:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    job = _by_key(pipeline.drain(), "hello.zip")
    store = pipeline.runtime.store
    # A job interrupted under an older declaration of the workflow.
    job.snapshot = {**job.snapshot, "definition": "0ld0ld0ld0ld0ld0", "state": "deployed",
                    "status": "RUNNING"}
    job.state, job.status, job.finished_at = "deployed", "RUNNING", None
    store.save(job)
    outcome, rec = pipeline.runtime.runner.resume(job.job_id)
    assert outcome.value == "done"
    assert (rec.state, rec.status) == ("failed", "FAILED")
    assert rec.error is not None and rec.error["code"] == "WorkflowChanged"
    assert "replay --restart" in rec.error["message"]
    assert [e["type"] for e in rec.history][-1] == "ExecutionFailed"
    assert rec.previous_runs[-1]["state"] == "deployed"
