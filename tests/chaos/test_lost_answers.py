"""Real workers behind the fault proxy, every mutation the pipeline makes losing its answer
(it takes effect, then the worker gets a 500 or a reset): Lambda create, code and
configuration updates, publish, alias create and update, the gradual rollout's routing,
DynamoDB creates, saves, claims and history copies, SQS deletes and visibility changes,
the artifact upload. Every job still ends verified, once: one version per package, live
on the newest, nothing dead-lettered, and no write mistaken for another worker's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auto_lambda_dev.faultproxy import FaultProxy
from orchestrator.intake.events import s3_event_body
from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts

pytestmark = pytest.mark.slow

GRADUAL = "[deploy]\nstrategy = 'gradual'\nweights = [0.5]\nbake_seconds = 0\n"
# (operation, answers lost): each write loses the answer of its first calls
LOST = {
    "lambda.CreateFunction": 2, "lambda.UpdateFunctionCode": 1,
    "lambda.UpdateFunctionConfiguration": 1, "lambda.PublishVersion": 3,
    "lambda.CreateAlias": 2, "lambda.UpdateAlias": 3,
    "dynamodb.PutItem": 8, "dynamodb.UpdateItem": 8, "dynamodb.BatchWriteItem": 2,
    "sqs.DeleteMessage": 3, "sqs.ChangeMessageVisibility": 3,
    # each job's build log is put at every step's end too: the first 8 puts of the 4 jobs
    # can be logs (fetch, unpack), so 10 reach at least one package upload
    "s3.PutObject": 10,
}
RESET = {"lambda.PublishVersion": 1, "dynamodb.PutItem": 2, "sqs.DeleteMessage": 1}


def _app(name: str, version: int, gradual: bool = False) -> bytes:
    toml = (f"[function]\nname = '{name}'\nruntime = 'python3.11'\ntimeout = 5\n"
            f"[function.environment]\nRELEASE = '{version}'\n"
            f"[verify]\nevent = {{ n = 1 }}\nexpect = {{ app = '{name}', n = 2 }}\n"
            + (GRADUAL if gradual else ""))
    return app_zip(name, {"auto-lambda.toml": toml,
                          "release.py": f"RELEASE = {version}\n"})


@pytest.fixture
def proxy(stack: ChaosStack) -> Iterator[FaultProxy]:
    with FaultProxy(stack.endpoint.url) as running:
        yield running


def test_every_write_with_its_answer_lost_still_deploys_once(
        stack: ChaosStack, proxy: FaultProxy, figures: Figures) -> None:
    plan = [f"after=100%@{op}#{n}" for op, n in LOST.items()]
    plan += [f"reset=100%@{op}#{n}" for op, n in RESET.items()]
    proxy.set_plan(",".join(plan))
    through_proxy = {"AWS_ENDPOINT_URL": proxy.url}
    workers = [stack.start_worker(env=through_proxy) for _ in range(2)]

    bucket = stack.settings.incoming_bucket
    stack.upload("la-roll.zip", _app("la-roll", 1, gradual=True))
    stack.upload("la-once.zip", _app("la-once", 1))
    put = stack.aws.s3.put_object(Bucket=bucket, Key="la-dup.zip", Body=_app("la-dup", 1))
    for _ in range(2):  # S3 sent one event; two more copies of it
        stack.send(s3_event_body(bucket, "la-dup.zip", etag=put["ETag"].strip('"')))
    stack.wait_for("the first uploads to settle", lambda: stack.settled(3), timeout=120)
    # a new release of la-roll: new code and a new setting, rolled out gradually
    stack.upload("la-roll.zip", _app("la-roll", 2, gradual=True))
    stack.wait_for("the second release to settle", lambda: stack.settled(4), timeout=120)

    jobs = stack.jobs()
    assert len(jobs) == 4
    for job in jobs:
        assert job.state == "verified", (job.key, job.error, stack.logs())
        assert set(task_starts(job).values()) == {1}, (job.key, task_starts(job))
    assert stack.published_versions("la-roll") == ["1", "2"]
    assert stack.live_version("la-roll") == "2"
    alias = stack.aws.lambda_.get_alias(
        FunctionName=stack.settings.function_name("la-roll", "default"), Name="live")
    assert (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {}) == {}
    for app in ("la-once", "la-dup"):
        assert stack.published_versions(app) == ["1"] and stack.live_version(app) == "1"
    assert stack.dlq_depth() == 0 and stack.queue_depth() == 0
    assert all(w.alive() for w in workers)
    logs = "\n".join(w.log_path.read_text(errors="replace") for w in workers)
    assert "another worker took over" not in logs  # no lost answer read as a lost lease

    fired = proxy.stats()["fired"]
    lost = {op: fired.get("after", {}).get(op, 0) for op in LOST}
    assert all(lost.values()), lost  # every mutation lost at least one answer
    figures.add("lost-answers", jobs_run=len(jobs), duplicate_deliveries=2,
                answers_lost=sum(fired.get("after", {}).values()),
                connections_reset=sum(fired.get("reset", {}).values()),
                jobs_lost=sum(1 for j in jobs if j.state != "verified"),
                duplicate_deployments=(len(stack.published_versions("la-roll")) - 2
                                       + len(stack.published_versions("la-once")) - 1
                                       + len(stack.published_versions("la-dup")) - 1))
