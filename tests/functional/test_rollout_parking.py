"""Bakes hold no worker: ten canaries bake for an hour (a fake clock) while one worker
with one job slot deploys another app; their messages wait in SQS as real delayed
messages (moto's DelaySeconds), in hops of at most 900 s, and the checker's backlog
does not count them.

Verification is stubbed (``QuickSteps``): what is tested here is where the jobs wait,
not the smoke test (tests/functional/test_pipeline_rollout.py runs it)."""

from __future__ import annotations

from pathlib import Path

from checker.metric import CheckerOptions, compute_metrics
from checker.sources import read_queue_depth
from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner, Outcome
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.tasks import StepContext, Steps
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.deployment import VerifyResult
from tests.fakes import FakeClock
from tests.functional.conftest import Pipeline, make_zip
from worker.loop import Worker
from worker.messages import Ack, handle_body

START = 1_800_000_000.0
HOUR = 3600
CANARY_HOUR = ("[deploy]\nstrategy = 'canary'\n"
               f"steps = [{{ weight = 0.1, bake_seconds = {HOUR} }}]\nrecheck = false\n")
BAKERS = [f"bake{i}" for i in range(10)]


class QuickSteps(Steps):
    def verify_version(self, ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                       package_zip: Path) -> VerifyResult:
        return VerifyResult(mode="static-only", static={}, output=None, duration=0.0,
                            interpreter=None, note="not run: this test is about parking")


def app(name: str, version: int, deploy: str = CANARY_HOUR) -> bytes:
    return make_zip({
        "app.py": "def handler(event, context):\n    return {'ok': True}\n",
        "auto-lambda.toml": f"[function]\nname = '{name}'\nruntime = 'python3.11'\n"
                            f"[function.environment]\nV = '{version}'\n" + deploy})


def live(pipeline: Pipeline, name: str) -> tuple[str, dict[str, float]]:
    got = pipeline.aws.lambda_.get_alias(FunctionName=f"auto-lambda-default-{name}",
                                         Name="live")
    return str(got["FunctionVersion"]), dict(
        (got.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})


def newest_of(pipeline: Pipeline, key: str, seen: set[str]) -> JobRecord:
    fresh = [r for r in pipeline.runtime.store.list() if r.key == key and r.job_id not in seen]
    assert len(fresh) == 1, fresh
    return fresh[0]


def body_of(rec: JobRecord) -> str:
    return s3_event_body(rec.bucket, rec.key, version_id=rec.version_id, etag=rec.etag,
                         job_id=rec.job_id)


def test_ten_hour_long_bakes_leave_the_one_slot_to_another_app(pipeline: Pipeline) -> None:
    clock = FakeClock(start=START)
    runner = JobRunner(store=pipeline.runtime.store,
                       steps=QuickSteps(pipeline.runtime.steps.env), owner="one-slot",
                       lease_seconds=pipeline.runtime.settings.lease_seconds,
                       clock=clock, sleep=clock.sleep, park_after=5.0)
    worker = Worker(runner, queue_url=pipeline.info.queue_url, concurrency=1, wait_seconds=0,
                    expected_bucket=pipeline.aws.settings.incoming_bucket)
    pipeline.worker = worker
    for name in BAKERS:
        pipeline.upload(f"{name}.zip", app(name, 1))
    pipeline.drain(max_polls=40)
    assert all(live(pipeline, n) == ("1", {}) for n in BAKERS)
    v1_jobs = {r.job_id for r in pipeline.runtime.store.list()}

    for name in BAKERS:
        pipeline.upload(f"{name}.zip", app(name, 2))
    pipeline.drain(max_polls=40)
    baking = [newest_of(pipeline, f"{n}.zip", v1_jobs) for n in BAKERS]
    assert [(j.state, j.lease_owner) for j in baking] == [("baking", None)] * 10
    assert all(j.snapshot["wait_until"] == START + HOUR for j in baking)
    assert all(live(pipeline, n) == ("1", {"2": 0.1}) for n in BAKERS)
    # each parked as a delayed copy of its message, for SQS's longest delay (a hop)
    parks = [h for h in worker.stats.outcomes if h.ack is Ack.PARK]
    assert sorted(h.delay for h in parks) == [900] * 10
    depth = read_queue_depth(pipeline.aws, pipeline.info.queue_url)
    assert (depth.visible, depth.in_flight, depth.delayed) == (0, 0, 10)
    # the checker's backlog (what the group scales on) counts none of them
    metrics = compute_metrics(depth, in_service=1, average_seconds=0.0,
                              options=CheckerOptions())
    assert metrics["Backlog"] == 0 and metrics["BacklogPerSlot"] == 0
    assert metrics["Delayed"] == 10

    # meanwhile the one slot deploys another app, from the one visible message
    pipeline.upload("other.zip", app("other", 1, deploy=""))
    assert worker.poll_once() == 1
    other = newest_of(pipeline, "other.zip", set())
    assert other.state == "verified" and live(pipeline, "other") == ("1", {})

    # the hour passes: each copy that comes back early parks again for what is left
    first = baking[0]
    for hop, left in ((900, 2700), (1800, 1800), (2700, 900)):
        clock.now = START + hop
        handled = handle_body(runner, body_of(first), message_id=f"hop-{hop}",
                              expected_bucket=pipeline.aws.settings.incoming_bucket)
        assert (handled.ack, handled.delay) == (Ack.PARK, min(left, 900))
    clock.now = START + HOUR
    for job in baking:
        outcome, rec = runner.resume(job.job_id)
        assert (outcome, rec.state) == (Outcome.DONE, "verified"), rec.error
        exits = [e for e in pipeline.runtime.store.history(rec)
                 if e["type"] == "WaitStateExited"]
        assert [e["time"] for e in exits] == [START + HOUR]  # woke on time
    assert all(live(pipeline, n) == ("2", {}) for n in BAKERS)
