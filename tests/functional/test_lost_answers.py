"""Every write the pipeline makes, with its answer lost: through the fault proxy in front of
a moto server, each call takes effect and then answers 500. Two ways it then goes: with
botocore's retries the repeat meets the change the first attempt made (a conflict, a
failed condition); without them the code sees the 500 itself and must read back. Either
way nothing is done twice, nothing reads as a conflict, and only a genuinely foreign write
is LeaseLost."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auto_lambda_dev.emulator import LocalEndpoint, start_server
from auto_lambda_dev.faultproxy import FaultProxy
from orchestrator.aws.facade import Aws
from orchestrator.aws.queue import Message, Queue
from orchestrator.aws.resources import StackInfo, ensure_resources
from orchestrator.config import LIVE_ALIAS, Settings
from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import copy_execution, start_execution
from orchestrator.jobs.runtime import build_runtime
from orchestrator.jobs.store import JobStore, LeaseLost
from orchestrator.steps.data import Artifact
from orchestrator.steps.deploy.step import deploy_app, deploy_function
from orchestrator.steps.promote.step import promote
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import FunctionLimits, SecretRef
from worker.loop import Worker
from worker.messages import Ack, Handled

SPEC = AppSpec(name="lost", handler="app.handler", runtime="python3.12", memory=256,
               timeout=10, environment={"K": "v1"})
FUNCTION = Settings().function_name(SPEC.name, SPEC.team)


@dataclass
class Env:
    direct: Aws
    faulty: Aws      # through the proxy, with botocore's retries
    bare: Aws        # through the proxy, without them: the code sees every lost answer
    proxy: FaultProxy
    info: StackInfo


@pytest.fixture
def env(aws_env: None) -> Iterator[Env]:
    endpoint: LocalEndpoint = start_server(0)
    endpoint.reset()
    direct = Aws(Settings(endpoint_url=endpoint.url))
    info = ensure_resources(direct)
    with FaultProxy(endpoint.url) as proxy:
        settings = Settings(endpoint_url=proxy.url)
        yield Env(direct, Aws(settings), Aws(settings, max_attempts=0), proxy, info)
    endpoint.reset()
    endpoint.stop()


RETRIES = pytest.mark.parametrize("retried", [True, False],
                                  ids=["botocore-retries", "no-retries"])


def client(env: Env, retried: bool) -> Aws:
    return env.faulty if retried else env.bare


def fired(env: Env, op: str) -> int:
    return int(env.proxy.stats()["fired"].get("after", {}).get(op, 0))


# ---- DynamoDB ----
def new_record(job_id: str = "job-1") -> JobRecord:
    rec = JobRecord(job_id=job_id, bucket="b", key="k.zip", created_at=1.0, updated_at=1.0)
    copy_execution(rec, start_execution(rec, 1.0))
    return rec


@RETRIES
def test_a_create_whose_answer_is_lost_is_recognised_as_ours(env: Env, retried: bool) -> None:
    env.proxy.set_plan("after=100%@PutItem#1")
    store = JobStore(client(env, retried))
    assert store.create(new_record()) is True
    assert fired(env, "dynamodb.PutItem") == 1
    stored = JobStore(env.direct).get("job-1")
    assert stored is not None and stored.version == 1
    assert [e["type"] for e in stored.history] == ["ExecutionStarted", "StateEntered"]
    # a second delivery's create finds the job: not ours, no error
    assert JobStore(env.faulty).create(new_record()) is False


@RETRIES
def test_a_save_whose_answer_is_lost_is_not_a_lost_lease(env: Env, retried: bool,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr("orchestrator.jobs.store.TAIL_EVENTS", 2)  # copy the tail each save
    store = JobStore(client(env, retried))
    store.create(new_record())
    rec = store.claim("job-1", "w/1", now=10, ttl=60, message_id="m-1")
    assert rec is not None and rec.lease_message == "m-1"
    rec.archive_run()  # a new run of the job stands in for a drive: a few events more
    ex = start_execution(rec, 10)
    ex.abort("Stop", "test", 11)
    copy_execution(rec, ex)
    env.proxy.set_plan("after=100%@PutItem#1,after=100%@BatchWriteItem#1")
    store.save(rec)
    store.save(rec)  # copies the tail the first save committed into the history table
    assert fired(env, "dynamodb.PutItem") == 1 and fired(env, "dynamodb.BatchWriteItem") == 1
    back = JobStore(env.direct).get("job-1")
    assert back is not None and back.version == rec.version and back.write_id == rec.write_id
    assert len(back.history) == ex.event_count and back.history[-1]["type"] == "ExecutionFailed"


def test_a_foreign_write_is_still_a_lost_lease_and_leaves_its_history_alone(
        env: Env) -> None:
    store = JobStore(env.faulty)
    store.create(new_record())
    mine = store.claim("job-1", "w/1", now=10, ttl=5)
    assert mine is not None
    theirs = JobStore(env.direct).claim("job-1", "w/2", now=100, ttl=60)
    assert theirs is not None
    theirs.archive_run()
    ex = start_execution(theirs, 100)
    ex.abort("Theirs", "the new owner's run", 101)
    copy_execution(theirs, ex)
    JobStore(env.direct).save(theirs)
    expected = [e.to_dict() for e in ex.history]
    # the stale worker, unaware, saves its own events: they must not land anywhere
    mine.archive_run()
    stale = start_execution(mine, 50)
    stale.abort("Mine", "the stale worker's run", 51)
    copy_execution(mine, stale)
    env.proxy.set_plan("after=100%@PutItem#1")
    with pytest.raises(LeaseLost, match="lease w/2"):
        store.save(mine)
    back = JobStore(env.direct).get("job-1")
    assert back is not None and back.history == expected


@RETRIES
def test_a_claim_whose_answer_is_lost_is_held(env: Env, retried: bool) -> None:
    store = JobStore(client(env, retried))
    store.create(new_record())
    env.proxy.set_plan("after=100%@UpdateItem#1")
    claimed = store.claim("job-1", "w/1", now=10, ttl=60, message_id="m")
    assert claimed is not None and claimed.lease_owner == "w/1"
    assert store.claim("job-1", "w/2", now=20, ttl=60) is None


# ---- Lambda ----
def artifact(aws: Aws, source: str) -> Artifact:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)), source)
    data = buf.getvalue()
    digest = hashlib.sha256(data)
    key = f"artifacts/{digest.hexdigest()}.zip"
    aws.s3.put_object(Bucket=aws.settings.artifacts_bucket, Key=key, Body=data)
    return Artifact(uri=f"s3://x/{key}", bucket=aws.settings.artifacts_bucket, key=key,
                    sha256=digest.hexdigest(), size=len(data),
                    code_sha256=base64.b64encode(digest.digest()).decode())


def versions(env: Env) -> list[str]:
    listed = env.direct.lambda_.list_versions_by_function(FunctionName=FUNCTION)
    return [v["Version"] for v in listed["Versions"] if v["Version"] != "$LATEST"]


def alias(env: Env) -> dict[str, Any]:
    return dict(env.direct.lambda_.get_alias(FunctionName=FUNCTION, Name=LIVE_ALIAS))


@RETRIES
def test_every_lambda_write_repeated_after_a_lost_answer_changes_nothing_twice(
        env: Env, retried: bool) -> None:
    sleeps: list[float] = []
    aws = client(env, retried)

    def deploy(source: str, spec: AppSpec = SPEC) -> str:
        result = deploy_function(aws, spec, artifact(env.direct, source),
                                 env.info.role_arn, sleep=sleeps.append, clock=lambda: 0.0)
        return result.version

    ops = ["CreateFunction", "PublishVersion", "CreateAlias", "UpdateFunctionCode",
           "UpdateFunctionConfiguration", "UpdateAlias"]
    # every alias change of the rollout (two weights, the final move) loses its answer
    env.proxy.set_plan(",".join(f"after=100%@lambda.{op}#{3 if op == 'UpdateAlias' else 1}"
                                for op in ops))
    v1 = deploy("def handler(e, c):\n    return 1\n")
    promote(aws, FUNCTION, v1)
    assert (v1, versions(env), alias(env)["FunctionVersion"]) == ("1", ["1"], "1")
    # new code and a new setting: both updates, a second version, a gradual move of live
    v2 = deploy("def handler(e, c):\n    return 2\n",
                AppSpec(**{**SPEC.__dict__, "environment": {"K": "v2"}}))
    checks: list[object] = []
    for weight in (0.25, 0.5):  # the rollout's shifts, then its finish
        aws.functions.point_alias(FUNCTION, "live", v1, {v2: weight})
        checks.append(alias(env)["RoutingConfig"])
    promote(aws, FUNCTION, v2)
    assert (v2, versions(env)) == ("2", ["1", "2"])
    assert checks == [{"AdditionalVersionWeights": {"2": 0.25}},
                      {"AdditionalVersionWeights": {"2": 0.5}}]
    final = alias(env)
    assert final["FunctionVersion"] == "2"
    assert final.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) == {}
    # the same package again: no third version
    assert deploy("def handler(e, c):\n    return 2\n",
                  AppSpec(**{**SPEC.__dict__, "environment": {"K": "v2"}})) == "2"
    assert versions(env) == ["1", "2"]
    assert {op: fired(env, f"lambda.{op}") for op in ops} == {
        op: 3 if op == "UpdateAlias" else 1 for op in ops}


# ---- SQS ----
def test_deleting_or_hiding_a_message_that_is_gone_is_success(env: Env) -> None:
    queue = Queue(env.bare, env.info.queue_url, "jobs")
    env.direct.sqs.purge_queue(QueueUrl=env.info.queue_url)
    queue.send("body")
    [msg] = queue.receive(1, visibility=30)
    env.proxy.set_plan("after=100%@ChangeMessageVisibility#1,after=100%@DeleteMessage#1")
    assert queue.set_visibility(msg.receipt, 30) is True  # sent again: it took effect twice
    # The delete landed and its answer was lost: it is sent again, and whatever SQS says
    # to a repeated delete (moto: OK; SQS may call the handle invalid) it is success.
    queue.delete(msg.receipt)
    assert queue.set_visibility(msg.receipt, 0) is False  # gone: nothing to hide
    assert fired(env, "sqs.DeleteMessage") == 1
    assert env.direct.sqs.receive_message(QueueUrl=env.info.queue_url,
                                          WaitTimeSeconds=0).get("Messages") is None


# ---- IAM: the app's own role ----
@RETRIES
def test_an_app_role_whose_writes_lose_their_answers_is_made_once(env: Env,
                                                                  retried: bool) -> None:
    aws = client(env, retried)
    spec = AppSpec(name="vault", handler="app.handler", runtime="python3.12",
                   team="payments", limits=FunctionLimits(reserved_concurrency=0),
                   secrets=(SecretRef("DB_URL", "ssm", "/payments/db-url"),))
    ops = ["iam.CreatePolicy", "iam.CreateRole", "iam.PutRolePolicy",
           "lambda.PutFunctionConcurrency"]
    env.proxy.set_plan(",".join(f"after=100%@{op}#1" for op in ops))
    first = deploy_app(aws, spec, artifact(env.direct, "def handler(e, c):\n    return 1\n"),
                       sleep=lambda s: None, clock=lambda: 0.0)
    assert {op: fired(env, op) for op in ops} == dict.fromkeys(ops, 1)
    name = "auto-lambda-payments-vault"
    role = env.direct.iam.get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(
        "policy/auto-lambda/auto-lambda-boundary-payments")
    assert env.direct.iam.list_role_policies(RoleName=name)["PolicyNames"] == [
        "auto-lambda-runtime"]
    assert env.direct.lambda_.get_function_concurrency(
        FunctionName=name)["ReservedConcurrentExecutions"] == 0
    # deploying again finds everything as wanted
    again = deploy_app(aws, spec, artifact(env.direct, "def handler(e, c):\n    return 1\n"),
                       sleep=lambda s: None, clock=lambda: 0.0)
    assert (first.version, again.version, again.published) == ("1", "1", False)
@pytest.mark.parametrize("lost", [1, 4], ids=["one-answer-lost", "every-answer-lost"])
def test_a_parked_message_whose_copy_lost_its_answer_is_never_lost_only_repeated(
        env: Env, tmp_path: Path, lost: int) -> None:
    env.direct.sqs.purge_queue(QueueUrl=env.info.queue_url)
    runtime = build_runtime(env.faulty.settings, aws=env.faulty, work_root=tmp_path)
    worker = Worker(runtime.runner, queue_url=env.info.queue_url, wait_seconds=0,
                    visibility=30)
    body = s3_event_body(env.faulty.settings.incoming_bucket, "app.zip", etag="e")
    Queue(env.direct, env.info.queue_url, "jobs").send(body, copies=2)
    [msg] = Queue(env.direct, env.info.queue_url, "jobs").receive(1, visibility=30)
    env.proxy.set_plan(f"after=100%@SendMessage#{lost}")
    worker._acknowledge(msg, Handled(Ack.PARK, ("job",), delay=1))
    assert fired(env, "sqs.SendMessage") == lost
    # Each lost answer left a copy behind (botocore sent it again); when even the last
    # answer was lost, the original stays too, hidden for the park's delay. Never none.
    left = _all_messages(env)
    assert len(left) == (lost + 1 if lost == 4 else 2)
    assert {m.body for m in left} == {body}
    assert {m.copies for m in left} == {2}  # a park is not a hand-over


def _all_messages(env: Env) -> list[Message]:
    queue = Queue(env.direct, env.info.queue_url, "jobs")
    found: list[Message] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found += queue.receive(10, wait_seconds=1, visibility=60)
        depth = queue.depth()
        if depth.visible + depth.delayed == 0 and found:
            break
    return found
