"""Gradual rollouts through the whole pipeline on in-process moto: ``[deploy] strategy =
"gradual"`` shifts ``live`` by routing weights, re-verifying the new version after each
bake, and a failed re-check leaves ``live`` on the previous version with no routing.

The failing re-check is deterministic without touching the sandbox: the steps below
re-run the real verification on later calls with an ``expect`` the handler does not meet,
so the sandboxed run itself reports ``VerifyMismatch`` during the rollout."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.promote.step import sleep_in_slices
from orchestrator.steps.tasks import StepContext, Steps
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.deployment import VerifyResult
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip
from worker.loop import Worker

FUNCTION = "auto-lambda-default-hello"
GRADUAL = "[deploy]\nstrategy = 'gradual'\nweights = [0.1, 0.5]\nbake_seconds = 0\n"


def hello(greeting: str, deploy: str = GRADUAL) -> bytes:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    files["auto-lambda.toml"] = (
        "[function]\nname = 'hello'\nruntime = 'python3.11'\n"
        f"[function.environment]\nGREETING = '{greeting}'\n"
        f"[verify]\nevent = {{ name = 'world' }}\nexpect = {{ message = '{greeting} world' }}\n"
        + deploy)
    return make_zip(files)


class WatchedSteps(Steps):
    """Real steps that record the alias's routing at each verification; from the
    ``fail_from``-th verification on, they verify against an expect no handler meets."""

    def __init__(self, base: Steps, fail_from: int | None = None) -> None:
        super().__init__(base.env)
        self.fail_from = fail_from
        self.seen: list[tuple[str, dict[str, float]]] = []

    def verify_version(self, ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                       package_zip: Path) -> VerifyResult:
        lam = self.env.aws.lambda_
        try:
            alias = lam.get_alias(FunctionName=deployed.function_name, Name="live")
            routing = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            self.seen.append((str(alias["FunctionVersion"]), dict(routing)))
        except lam.exceptions.ResourceNotFoundException:
            self.seen.append(("", {}))
        if self.fail_from is not None and len(self.seen) >= self.fail_from:
            spec = dataclasses.replace(spec, verify_expect={"message": "never returned"})
        return super().verify_version(ctx, spec, deployed, package_zip)


def use_steps(pipeline: Pipeline, steps: Steps) -> None:
    runner = JobRunner(store=pipeline.runtime.store, steps=steps, owner="rollout-test",
                       lease_seconds=pipeline.runtime.settings.lease_seconds)
    pipeline.worker = Worker(runner, queue_url=pipeline.info.queue_url, wait_seconds=0,
                             expected_bucket=pipeline.aws.settings.incoming_bucket)


def newest(records: list[JobRecord], done: set[str]) -> JobRecord:
    fresh = [r for r in records if r.key == "hello.zip" and r.job_id not in done]
    assert len(fresh) == 1, [r.job_id for r in fresh]
    return fresh[0]


def alias(pipeline: Pipeline) -> tuple[str, dict[str, float]]:
    got = pipeline.aws.lambda_.get_alias(FunctionName=FUNCTION, Name="live")
    return str(got["FunctionVersion"]), dict(
        (got.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})


def rollout_of(job: JobRecord) -> dict[str, Any]:
    return dict(job.snapshot["data"]["rollout"])


def deploy_v1(pipeline: Pipeline) -> JobRecord:
    pipeline.upload("hello.zip", hello("hi"))
    first = newest(pipeline.drain(), set())
    assert first.state == "verified", first.error
    # Nothing was live before: even a gradual app goes live at once.
    assert rollout_of(first) == {"requested": "gradual", "strategy": "all-at-once",
                                 "weights": [], "bake_seconds": 0, "previous_live": None,
                                 "rechecks": 0}
    assert alias(pipeline) == ("1", {})
    return first


def test_gradual_rollout_moves_live_to_v2_through_the_weights(pipeline: Pipeline) -> None:
    steps = WatchedSteps(pipeline.runtime.steps)
    use_steps(pipeline, steps)
    first = deploy_v1(pipeline)
    steps.seen.clear()

    pipeline.upload("hello.zip", hello("hey"))
    second = newest(pipeline.drain(), {first.job_id})
    assert second.state == "verified", second.error
    assert second.published_version == "2"
    # The first check runs before any traffic moves; each re-check runs at its weight.
    assert steps.seen == [("1", {}), ("1", {"2": 0.1}), ("1", {"2": 0.5})]
    assert alias(pipeline) == ("2", {})
    assert rollout_of(second) == {"requested": "gradual", "strategy": "gradual",
                                  "weights": [0.1, 0.5], "bake_seconds": 0,
                                  "previous_live": "1", "rechecks": 2}
    assert pipeline.queue_depth() == 0


def test_a_failing_recheck_rolls_live_back_and_fails_the_job(pipeline: Pipeline) -> None:
    first = deploy_v1(pipeline)
    # v2's first verification passes; the re-check at the first weight does not.
    steps = WatchedSteps(pipeline.runtime.steps, fail_from=2)
    use_steps(pipeline, steps)

    pipeline.upload("hello.zip", hello("hey"))
    bad = newest(pipeline.drain(), {first.job_id})
    assert bad.state == "failed"
    assert bad.error is not None and bad.error["code"] == "VerifyMismatch"
    assert bad.error["state"] == "tested"  # the promote step's re-check failed
    assert steps.seen == [("1", {}), ("1", {"2": 0.1})]
    assert alias(pipeline) == ("1", {})
    assert pipeline.queue_depth() == 0


def test_all_at_once_moves_live_without_routing(pipeline: Pipeline) -> None:
    steps = WatchedSteps(pipeline.runtime.steps)
    use_steps(pipeline, steps)
    pipeline.upload("hello.zip", hello("hi", deploy=""))
    first = newest(pipeline.drain(), set())
    pipeline.upload("hello.zip", hello("hey", deploy=""))
    second = newest(pipeline.drain(), {first.job_id})
    assert second.state == "verified", second.error
    assert len(steps.seen) == 2  # one verification per job, no re-checks
    assert alias(pipeline) == ("2", {})
    assert rollout_of(second) == {"requested": "all-at-once", "strategy": "all-at-once",
                                  "weights": [], "bake_seconds": 0, "previous_live": None,
                                  "rechecks": 0}


@pytest.mark.parametrize(("seconds", "slices"), [
    (0, []), (5, [5.0]), (20, [20.0]), (45, [20.0, 20.0, 5.0])])
def test_a_bake_sleeps_in_slices_and_heartbeats_after_each(
        seconds: float, slices: list[float]) -> None:
    log: list[tuple[str, float]] = []
    sleep_in_slices(seconds, slice_seconds=20, sleep=lambda s: log.append(("sleep", s)),
                    beat=lambda: log.append(("beat", 0)))
    assert log == [entry for s in slices for entry in (("sleep", s), ("beat", 0))]
