"""An app's life after its first deploy, on in-process moto: a deleted zip removes the
function with its triggers, alias and own role once the grace period is over (time moves
on a fake clock; the job parks meanwhile, holding no worker); an upload during the grace
period keeps it; a function auto-lambda does not own is refused; a rollback moves ``live``
back without the upload and is recorded as a job of its own."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.replay import Request, gather, plan
from orchestrator.jobs.rollback import RollbackRequest, make_job
from orchestrator.jobs.rollback import plan as plan_rollback
from tests.fakes import FakeClock
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

FUNCTION = "auto-lambda-payments-hello"
KEY = "payments/hello.zip"
GRACE = 900.0


def _hello(greeting: str = "hi") -> bytes:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    files["auto-lambda.toml"] = str(files["auto-lambda.toml"]).replace("hi", greeting)
    return make_zip(files)


@pytest.fixture
def clock(pipeline: Pipeline) -> FakeClock:
    """The runner's time, moved by the test; declared waits longer than 5 s park."""
    fake = FakeClock(time.time())
    runner = pipeline.runtime.runner
    runner.clock, runner.park_after = fake, 5.0
    pipeline.aws.settings = replace(pipeline.aws.settings, delete_grace=GRACE)
    return fake


def _deployed(pipeline: Pipeline, greeting: str = "hi") -> JobRecord:
    pipeline.upload(KEY, _hello(greeting))
    jobs = [j for j in pipeline.drain() if j.workflow == "deployment" and j.key == KEY]
    newest = max(jobs, key=lambda j: j.created_at)
    assert newest.state == "verified", newest.error
    return newest


def _add_triggers(pipeline: Pipeline) -> dict[str, Any]:
    """One trigger of each kind aimed at ``live``, as the triggers' deploy makes them
    (the app's own role is the deploy's); plus a schedule and an API of someone else's."""
    aws = pipeline.aws
    lam = aws.client("lambda")
    live_arn = lam.get_alias(FunctionName=FUNCTION, Name="live")["AliasArn"]
    lam.create_function_url_config(FunctionName=FUNCTION, Qualifier="live", AuthType="NONE")
    source = aws.sqs.create_queue(QueueName="hello-source")["QueueUrl"]
    source_arn = aws.sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(EventSourceArn=source_arn,
                                              FunctionName=live_arn)["UUID"]
    iam = aws.client("iam")
    # the app's own role is the deploy's (orchestrator.steps.deploy.approle)
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=FUNCTION)["Tags"]}
    assert tags["auto-lambda:managed"] == "true" and tags["auto-lambda:team"] == "payments"
    role_arn = iam.get_role(RoleName=FUNCTION)["Role"]["Arn"]
    scheduler = aws.client("scheduler")
    for name, target in (("auto-lambda-payments-hello-every-5m", live_arn),
                         ("unrelated", "arn:aws:sqs:x:1:q")):
        scheduler.create_schedule(Name=name, ScheduleExpression="rate(5 minutes)",
                                  FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": target, "RoleArn": role_arn})
    apis = aws.client("apigatewayv2")
    ours = apis.create_api(Name="hello-http", ProtocolType="HTTP",
                           Tags={"auto-lambda:managed": "true"})["ApiId"]
    apis.create_integration(ApiId=ours, IntegrationType="AWS_PROXY", IntegrationUri=live_arn,
                            PayloadFormatVersion="2.0")
    theirs = apis.create_api(Name="shared", ProtocolType="HTTP")["ApiId"]
    apis.create_integration(ApiId=theirs, IntegrationType="AWS_PROXY",
                            IntegrationUri=live_arn, PayloadFormatVersion="2.0")
    return {"mapping": mapping, "our_api": ours, "their_api": theirs}


def _delete_zip(pipeline: Pipeline) -> str:
    """Delete the zip as a team does (a delete marker) and deliver S3's event for it (the
    emulator sends none for a delete marker: docs/lifecycle.md)."""
    bucket = pipeline.aws.settings.incoming_bucket
    marker = pipeline.aws.s3.delete_object(Bucket=bucket, Key=KEY)["VersionId"]
    body = s3_event_body(bucket, KEY, version_id=marker,
                         event_name="ObjectRemoved:DeleteMarkerCreated")
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    return body


def _deletion(pipeline: Pipeline) -> JobRecord:
    [job] = [j for j in pipeline.runtime.store.list() if j.workflow == "deletion"]
    return job


def _after_grace(pipeline: Pipeline, clock: FakeClock, body: str) -> JobRecord:
    """The grace period passes; the parked message comes back (a fresh copy of it)."""
    clock.now += GRACE + 1
    pipeline.aws.sqs.purge_queue(QueueUrl=pipeline.info.queue_url)  # the delayed copy
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    pipeline.drain()
    return _deletion(pipeline)


def test_a_deleted_zip_removes_the_app_after_the_grace_period(
        pipeline: Pipeline, clock: FakeClock) -> None:
    _deployed(pipeline)
    made = _add_triggers(pipeline)
    body = _delete_zip(pipeline)
    pipeline.drain()
    waiting = _deletion(pipeline)
    assert waiting.state == "requested" and not waiting.is_terminal
    assert waiting.params and waiting.params["function_name"] == FUNCTION
    assert waiting.snapshot["wait_until"] == pytest.approx(waiting.created_at + GRACE)
    lam = pipeline.aws.functions
    assert lam.function_exists(FUNCTION)  # nothing happens during the grace period
    assert pipeline.worker.stats.parked >= 1  # and no worker waited for it

    job = _after_grace(pipeline, clock, body)
    assert job.state == "deleted" and job.status == "SUCCEEDED", job.error
    assert not lam.function_exists(FUNCTION)
    client = pipeline.aws.client("lambda")
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    schedules = [s["Name"] for s in pipeline.aws.client("scheduler").list_schedules()[
        "Schedules"]]
    assert schedules == ["unrelated"]
    apis = {a["ApiId"] for a in pipeline.aws.client("apigatewayv2").get_apis()["Items"]}
    assert apis == {made["their_api"]}  # not auto-lambda's: left, and recorded
    assert pipeline.aws.roles.get_role(FUNCTION) is None
    data = job.to_json()["data"]
    assert any("schedule" in r for r in data["removed_triggers"]["removed"])
    assert any(made["their_api"] in r for r in data["removed_triggers"]["left"])
    assert data["removed_function"]["removed"] == [FUNCTION]
    assert data["removed_role"]["removed"] == [f"role {FUNCTION}"]
    entered = [e["state"] for e in job.history if e["type"] == "StateEntered"]
    assert entered == ["requested", "graced", "confirmed", "untriggered", "unaliased",
                       "undeployed", "deleted"]


def test_an_upload_during_the_grace_period_keeps_the_app(
        pipeline: Pipeline, clock: FakeClock) -> None:
    _deployed(pipeline)
    body = _delete_zip(pipeline)
    pipeline.drain()
    assert _deletion(pipeline).state == "requested"
    clock.now += 60
    _deployed(pipeline, greeting="hello again")  # uploaded again during the grace period

    job = _after_grace(pipeline, clock, body)
    assert job.state == "kept" and job.status == "SUCCEEDED"
    assert pipeline.aws.functions.alias_version(FUNCTION, "live") == "2"
    why = [e for e in job.history if e["type"] == "TaskFailed"]
    assert [e["error"] for e in why] == ["AppUploadedAgain"]
    assert "uploaded again" in why[0]["cause"]


def test_a_function_auto_lambda_does_not_own_is_refused(pipeline: Pipeline) -> None:
    pipeline.aws.settings = replace(pipeline.aws.settings, delete_grace=0.0)
    lam = pipeline.aws.client("lambda")
    lam.create_function(FunctionName="auto-lambda-payments-legacy", Runtime="python3.11",
                        Role=pipeline.info.role_arn, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": "x = 1\n"})})
    bucket = pipeline.aws.settings.incoming_bucket
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=s3_event_body(
        bucket, "payments/legacy.zip", etag="e1", event_name="ObjectRemoved:Delete"))
    pipeline.drain()
    job = _deletion(pipeline)
    assert job.state == "failed" and job.error and job.error["code"] == "NotOwned"
    assert pipeline.aws.functions.function_exists("auto-lambda-payments-legacy")


def test_a_deletion_of_an_app_already_gone_succeeds(pipeline: Pipeline) -> None:
    pipeline.aws.settings = replace(pipeline.aws.settings, delete_grace=0.0)
    bucket = pipeline.aws.settings.incoming_bucket
    body = s3_event_body(bucket, "payments/never.zip", version_id="m1",
                         event_name="ObjectRemoved:DeleteMarkerCreated")
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=body)
    pipeline.drain()
    job = _deletion(pipeline)
    assert job.state == "deleted", job.error
    assert job.to_json()["data"]["target"]["exists"] is False


def test_rollback_after_the_upload_version_is_gone_moves_live_back(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _deployed(pipeline, "hi")
    second = _deployed(pipeline, "hello")
    assert (first.published_version, second.published_version) == ("1", "2")
    # the bucket's lifecycle expires the first upload's version
    bucket = pipeline.aws.settings.incoming_bucket
    pipeline.aws.s3.delete_object(Bucket=bucket, Key=KEY, VersionId=first.version_id)

    # a restart of the first job has nothing to build now, and says what to do instead
    request = Request(job_ids=(first.job_id,), restart=True)
    [action] = plan(request, gather(request, pipeline.runtime.store, pipeline.aws,
                                    time.time()))
    assert action.kind == "skip" and first.version_id and first.version_id in action.reason
    assert "auto-lambda rollback payments/hello" in action.reason

    monkeypatch.setenv("AUTO_LAMBDA_WORK_DIR", str(pipeline.aws.settings.work_dir))
    monkeypatch.setenv("AUTO_LAMBDA_LOCAL", "1")
    result = CliRunner().invoke(cli, ["rollback", "payments/hello", "--reason",
                                      "500s after v2", "--as", "alice", "--here", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["plan"]["live"] == "2" and doc["plan"]["to_version"] == "1"
    assert pipeline.aws.functions.alias_version(FUNCTION, "live") == "1"
    job = pipeline.runtime.store.get(doc["job_id"])
    assert job is not None and job.job_id not in (first.job_id, second.job_id)
    assert (job.workflow, job.state, job.actor, job.reason) == (
        "rollback", "rolled_back", "alice", "500s after v2")
    assert job.to_json()["data"]["rollback"]["from_version"] == "2"
    assert [p for p in pipeline.aws.functions.list_versions(FUNCTION)
            if p.get("Version") != "$LATEST"].__len__() == 2  # nothing was rebuilt


def test_rollback_refuses_a_version_that_never_verified_unless_forced(
        pipeline: Pipeline) -> None:
    _deployed(pipeline)
    lam = pipeline.aws.client("lambda")
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=make_zip({"app.py": "y = 2\n"}))
    unverified = lam.publish_version(FunctionName=FUNCTION)["Version"]
    store, aws = pipeline.runtime.store, pipeline.aws
    asked = RollbackRequest("payments", "hello", "try it", "bob", to_version=unverified)
    with pytest.raises(Exception) as refused:
        plan_rollback(aws, store, asked)
    assert getattr(refused.value, "code", None) == "VersionNotVerified"

    forced = replace(asked, force=True)
    chosen = plan_rollback(aws, store, forced)
    job = make_job(store, aws, forced, chosen, time.time())
    _outcome, done = pipeline.runtime.runner.resume(job.job_id)
    assert done.state == "rolled_back", done.error
    assert aws.functions.alias_version(FUNCTION, "live") == unverified
    plan_data = done.to_json()["data"]["rollback"]
    assert plan_data["forced"] is True and plan_data["verified"] is False

    # the workflow checks again when it runs: a job that was not forced is refused there
    sneaky = make_job(store, aws, asked, chosen, time.time())
    _outcome, refused_job = pipeline.runtime.runner.resume(sneaky.job_id)
    assert refused_job.state == "failed"
    assert refused_job.error and refused_job.error["code"] == "VersionNotVerified"
