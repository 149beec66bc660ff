"""Rollouts through the whole pipeline on in-process moto (the two alarm gates on the
embedded stack's server as well), as declared states: the job
shifts ``live``'s routing weight (``shifting``), parks for the bake (``baking``, a Wait
state: no worker held), checks alarms, hooks and the smoke re-check (``checking``) and
repeats, finishes or rolls back through the Choice state ``rollout``.

Time is a fake clock: a parked job is resumed by the runner once the clock has passed its
wake-up time (the SQS side of parking is tests/functional/test_rollout_parking.py).
Alarms are real CloudWatch alarms in moto, moved with SetAlarmState (moto never fires
one by itself). Hooks go through ``Steps.invoke_hook``, the seam tests replace: moto never
runs Lambda code."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.rollout_control import request
from orchestrator.jobs.runner import JobRunner, Outcome
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.promote.alarms import own_alarm_name
from orchestrator.steps.promote.hooks import HookAnswer
from orchestrator.steps.tasks import StepContext, Steps
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.deployment import VerifyResult
from orchestrator.types import JsonObject
from tests.fakes import FakeClock
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip
from worker.loop import Worker

FUNCTION = "auto-lambda-default-hello"
TEAM_ALARM = "auto-lambda-default-hello-5xx"
GRADUAL = "[deploy]\nstrategy = 'gradual'\nweights = [0.1, 0.5]\nbake_seconds = 0\n"
CANARY = f"[deploy]\nstrategy = 'canary'\nalarms = ['{TEAM_ALARM}']\n"


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
    ``fail_from``-th verification on, they verify against an expect no handler meets.
    Hooks answer from ``hook_answers`` (name -> answer) and are recorded."""

    def __init__(self, base: Steps, fail_from: int | None = None) -> None:
        super().__init__(base.env)
        self.fail_from = fail_from
        self.seen: list[tuple[str, dict[str, float]]] = []
        self.hooks: list[JsonObject] = []
        self.hook_answers: dict[str, HookAnswer] = {}

    def verify_version(self, ctx: StepContext, spec: AppSpec, deployed: DeployResult,
                       package_zip: Path) -> VerifyResult:
        lam = self.env.aws.lambda_
        try:
            got = lam.get_alias(FunctionName=deployed.function_name, Name="live")
            routing = (got.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            self.seen.append((str(got["FunctionVersion"]), dict(routing)))
        except lam.exceptions.ResourceNotFoundException:
            self.seen.append(("", {}))
        if self.fail_from is not None and len(self.seen) >= self.fail_from:
            spec = dataclasses.replace(spec, verify_expect={"message": "never returned"})
        return super().verify_version(ctx, spec, deployed, package_zip)

    def invoke_hook(self, ctx: StepContext, function_name: str,
                    event: JsonObject) -> HookAnswer:
        self.hooks.append({"hook": function_name, **event})
        return self.hook_answers.get(function_name, HookAnswer(None, {"status": "Succeeded"}))


def use_steps(pipeline: Pipeline, steps: Steps, clock: FakeClock | None = None) -> JobRunner:
    runner = JobRunner(store=pipeline.runtime.store, steps=steps, owner="rollout-test",
                       lease_seconds=pipeline.runtime.settings.lease_seconds,
                       park_after=5.0)
    if clock is not None:
        runner.clock, runner.sleep = clock, clock.sleep
    pipeline.worker = Worker(runner, queue_url=pipeline.info.queue_url, wait_seconds=0,
                             expected_bucket=pipeline.aws.settings.incoming_bucket)
    return runner


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


def states_entered(pipeline: Pipeline, job: JobRecord) -> list[str]:
    rec = pipeline.runtime.store.get(job.job_id)
    assert rec is not None
    return [e["state"] for e in pipeline.runtime.store.history(rec)
            if e["type"] == "StateEntered"]


def history(pipeline: Pipeline, job_id: str) -> list[JsonObject]:
    rec = pipeline.runtime.store.get(job_id)
    assert rec is not None
    return list(pipeline.runtime.store.history(rec))


def deploy_v1(pipeline: Pipeline, deploy: str = GRADUAL) -> JobRecord:
    pipeline.upload("hello.zip", hello("hi", deploy))
    first = newest(pipeline.drain(), set())
    assert first.state == "verified", first.error
    # Nothing was live before: even a gradual app goes live at once.
    assert rollout_of(first)["strategy"] == "all-at-once"
    assert rollout_of(first)["next"] == "done"
    assert alias(pipeline) == ("1", {})
    return first


def put_team_alarm(pipeline: Pipeline) -> None:
    pipeline.aws.client("cloudwatch").put_metric_alarm(
        AlarmName=TEAM_ALARM, Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": FUNCTION}], Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold")


def set_alarm(pipeline: Pipeline, name: str, state: str) -> None:
    pipeline.aws.client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason="set by the test")


def alarm_names(pipeline: Pipeline) -> set[str]:
    got = pipeline.aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return {a["AlarmName"] for a in got}


# ---- the old gradual keys, bakes of 0 s: the declared states run straight through ----
def test_gradual_rollout_moves_live_to_v2_through_the_declared_states(
        pipeline: Pipeline) -> None:
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
    done = rollout_of(second)
    assert (done["requested"], done["strategy"], done["weights"], done["previous_live"],
            done["rechecks"], done["next"]) == ("gradual", "linear", [0.1, 0.5], "1", 2, "done")
    assert states_entered(pipeline, second)[-13:] == [
        "tested", "rollout", "shifting", "baking", "checking", "rollout", "shifting",
        "baking", "checking", "rollout", "finishing", "rollout", "verified"]
    # auto-lambda's own alarms were removed when the rollout ended
    assert not {own_alarm_name(FUNCTION, "2", m) for m in ("Errors", "Throttles")} \
        & alarm_names(pipeline)
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
    assert bad.error["state"] == "rolling_back"
    assert "back on version 1" in bad.error["message"]
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
    assert rollout_of(second)["strategy"] == "all-at-once"
    assert "shifting" not in states_entered(pipeline, second)


# ---- a canary of 5 minutes, gated by a team alarm (SetAlarmState) ----
def park_canary(pipeline: Pipeline, steps: WatchedSteps, clock: FakeClock,
                deploy: str = CANARY) -> tuple[JobRunner, JobRecord]:
    put_team_alarm(pipeline)
    runner = use_steps(pipeline, steps, clock)
    first = deploy_v1(pipeline, deploy)
    pipeline.upload("hello.zip", hello("hey", deploy))
    pipeline.worker.poll_once()
    job = newest(pipeline.runtime.store.list(), {first.job_id})
    assert (job.state, job.status) == ("baking", "RUNNING"), job.error
    assert job.lease_owner is None  # parked: no worker holds it
    assert job.snapshot["wait_until"] == pytest.approx(clock() + 300)
    assert alias(pipeline) == ("1", {"2": 0.1})
    return runner, job


@pytest.fixture(params=["in-process", "embedded"])
def either(request: pytest.FixtureRequest) -> Pipeline:
    """The pipeline on in-process moto, then on the embedded stack's server."""
    name = "pipeline" if request.param == "in-process" else "embedded_pipeline"
    chosen: Pipeline = request.getfixturevalue(name)
    assert bool(chosen.aws.settings.endpoint_url) == (request.param == "embedded")
    return chosen


def test_a_canary_whose_alarm_fires_during_the_bake_is_rolled_back(either: Pipeline) -> None:
    pipeline = either
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    runner, job = park_canary(pipeline, steps, clock)
    # auto-lambda's own alarms on version 2, through the alias
    own = own_alarm_name(FUNCTION, "2", "Errors")
    described = pipeline.aws.client("cloudwatch").describe_alarms(AlarmNames=[own])
    dims = {d["Name"]: d["Value"] for d in described["MetricAlarms"][0]["Dimensions"]}
    assert dims == {"FunctionName": FUNCTION, "Resource": f"{FUNCTION}:live",
                    "ExecutedVersion": "2"}

    set_alarm(pipeline, TEAM_ALARM, "ALARM")
    clock.now += 290
    outcome, rec = runner.resume(job.job_id)  # woken early (a hop): parks again
    assert outcome is Outcome.PARKED and rec.state == "baking"
    clock.now += 10
    outcome, rec = runner.resume(job.job_id)
    assert outcome is Outcome.DONE
    assert rec.state == "failed" and rec.error is not None
    assert rec.error["code"] == "AlarmTriggered"
    assert TEAM_ALARM in rec.error["message"] and rec.error["state"] == "rolling_back"
    assert rollout_of(rec)["reason"]["alarms"] == [TEAM_ALARM]
    assert alias(pipeline) == ("1", {})
    assert own not in alarm_names(pipeline)
    waited = [e for e in history(pipeline, job.job_id) if e["type"] == "WaitStateExited"]
    assert [e["time"] - e["details"]["due"] for e in waited] == [0.0]  # woke on time


def test_the_same_canary_with_its_alarm_ok_is_promoted(either: Pipeline) -> None:
    pipeline = either
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    runner, job = park_canary(pipeline, steps, clock)
    set_alarm(pipeline, TEAM_ALARM, "OK")
    clock.now += 300
    outcome, rec = runner.resume(job.job_id)
    assert (outcome, rec.state) == (Outcome.DONE, "verified"), rec.error
    assert alias(pipeline) == ("2", {})
    assert rollout_of(rec)["rechecks"] == 1
    assert steps.seen[-1] == ("1", {"2": 0.1})  # the re-check ran at 10%


def test_a_missing_team_alarm_fails_before_traffic_moves(pipeline: Pipeline) -> None:
    steps = WatchedSteps(pipeline.runtime.steps)
    use_steps(pipeline, steps)
    first = deploy_v1(pipeline, CANARY)
    pipeline.upload("hello.zip", hello("hey", CANARY))  # the alarm was never created
    bad = newest(pipeline.drain(), {first.job_id})
    assert bad.error is not None and bad.error["code"] == "AlarmNotFound"
    assert TEAM_ALARM in bad.error["message"] and bad.error["state"] == "tested"
    assert alias(pipeline) == ("1", {})


# ---- hooks ----
HOOKED = CANARY + "pre_traffic_hook = 'smoke'\npost_traffic_hook = 'after'\n"


def test_a_failing_pre_traffic_hook_fails_the_job_with_nothing_moved(
        pipeline: Pipeline) -> None:
    steps = WatchedSteps(pipeline.runtime.steps)
    steps.hook_answers["auto-lambda-default-smoke"] = HookAnswer(None, {"status": "Failed"})
    put_team_alarm(pipeline)
    use_steps(pipeline, steps)
    first = deploy_v1(pipeline, HOOKED)
    pipeline.upload("hello.zip", hello("hey", HOOKED))
    bad = newest(pipeline.drain(), {first.job_id})
    assert bad.error is not None and bad.error["code"] == "HookFailed"
    assert "auto-lambda-default-smoke" in bad.error["message"]
    assert alias(pipeline) == ("1", {})
    event = steps.hooks[-1]
    assert (event["hook"], event["LifecycleEvent"], event["DeploymentId"],
            event["CurrentVersion"], event["TargetVersion"]) == (
        "auto-lambda-default-smoke", "BeforeAllowTraffic", bad.job_id, "1", "2")


def test_a_failing_post_traffic_hook_rolls_live_back(pipeline: Pipeline) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    steps.hook_answers["auto-lambda-default-after"] = HookAnswer("Unhandled",
                                                                 {"errorMessage": "boom"})
    runner, job = park_canary(pipeline, steps, clock, HOOKED)
    set_alarm(pipeline, TEAM_ALARM, "OK")
    clock.now += 300
    _, rec = runner.resume(job.job_id)
    assert rec.state == "failed" and rec.error is not None
    assert rec.error["code"] == "HookFailed" and "auto-lambda-default-after" in \
        rec.error["message"]
    assert alias(pipeline) == ("1", {})
    assert [h["LifecycleEvent"] for h in steps.hooks] == ["BeforeAllowTraffic",
                                                          "AfterAllowTraffic"]


# ---- operators ----
def test_an_operator_stops_a_baking_rollout(pipeline: Pipeline) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    runner, job = park_canary(pipeline, steps, clock)
    clock.now += 10
    done = request(runner, job.job_id[:12], "stop", "alice@ops", clock=clock)
    assert (done.action, done.by, done.state) == ("stop", "alice@ops", "baking")
    # the wait ends now: the job need not sit out the rest of its bake
    _, rec = runner.resume(job.job_id)
    assert rec.state == "failed" and rec.error is not None
    assert rec.error["code"] == "RolloutStopped" and "alice@ops" in rec.error["message"]
    assert alias(pipeline) == ("1", {})
    signals = [e for e in history(pipeline, job.job_id) if e["type"] == "ExecutionSignaled"]
    assert [(e["details"]["by"], e["details"]["action"], e["time"]) for e in signals] == [
        ("alice@ops", "stop", clock())]


def test_an_operator_promotes_a_baking_rollout_skipping_the_waits(pipeline: Pipeline) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    linear = (f"[deploy]\npreset = 'Linear10PercentEvery10Minutes'\n"
              f"alarms = ['{TEAM_ALARM}']\n")
    put_team_alarm(pipeline)
    runner = use_steps(pipeline, steps, clock)
    first = deploy_v1(pipeline, linear)
    pipeline.upload("hello.zip", hello("hey", linear))
    pipeline.worker.poll_once()
    job = newest(pipeline.runtime.store.list(), {first.job_id})
    assert job.state == "baking" and alias(pipeline) == ("1", {"2": 0.1})
    request(runner, job.job_id, "promote", "bob@ops", clock=clock)
    _, rec = runner.resume(job.job_id)
    assert rec.state == "verified", rec.error
    assert alias(pipeline) == ("2", {})
    assert rollout_of(rec)["promoted_by"] == "bob@ops"
    assert clock() == 1_800_000_000.0  # no bake was waited for, not even slept


def test_a_finished_job_has_no_rollout_to_stop(pipeline: Pipeline) -> None:
    steps = WatchedSteps(pipeline.runtime.steps)
    runner = use_steps(pipeline, steps)
    first = deploy_v1(pipeline)
    with pytest.raises(Exception) as info:
        request(runner, first.job_id, "stop", "alice")
    assert getattr(info.value, "code", None) == "RolloutNotActive"


# The deployment workflow's fingerprint before the rollout became states.
PROMOTE_IN_ONE_TASK = "95d52124a71c2987"


def test_a_job_in_flight_under_the_old_promote_fails_with_workflow_changed(
        pipeline: Pipeline) -> None:
    first = deploy_v1(pipeline)
    store = pipeline.runtime.store
    job = store.get(first.job_id)
    assert job is not None
    # interrupted in the old ``tested`` state, whose single task baked in a loop
    job.snapshot = {**job.snapshot, "definition": PROMOTE_IN_ONE_TASK, "state": "tested",
                    "status": "RUNNING"}
    job.state, job.status, job.finished_at = "tested", "RUNNING", None
    store.save(job)
    outcome, rec = pipeline.runtime.runner.resume(job.job_id)
    assert (outcome, rec.state) == (Outcome.DONE, "failed")
    assert rec.error is not None and rec.error["code"] == "WorkflowChanged"
    assert PROMOTE_IN_ONE_TASK in rec.error["message"]
    assert "replay --restart" in rec.error["message"]
    assert rec.previous_runs[-1]["state"] == "tested"


def test_the_stop_command_wakes_the_parked_job_which_rolls_back(
        pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from click.testing import CliRunner

    from orchestrator.cli.main import cli, main

    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    _, job = park_canary(pipeline, steps, clock)
    monkeypatch.setenv("AUTO_LAMBDA_TRACING", "off")
    result = CliRunner().invoke(cli, ["rollout", "stop", job.job_id, "--by", "carol",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert '"woken": true' in result.output and '"by": "carol"' in result.output
    # the wake-up message is visible now, long before the parked copy's 300 s
    assert pipeline.worker.poll_once() == 1
    rec = pipeline.runtime.store.get(job.job_id)
    assert rec is not None and rec.state == "failed" and rec.error is not None
    assert rec.error["code"] == "RolloutStopped" and "carol" in rec.error["message"]
    assert alias(pipeline) == ("1", {})
    # on a job that is over, the command says why with the code
    monkeypatch.setattr("sys.argv", ["auto-lambda", "rollout", "promote", job.job_id])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code != 0 and "RolloutNotActive" in capsys.readouterr().err


def test_a_newer_deployment_supersedes_a_baking_rollout_which_leaves_live_alone(
        pipeline: Pipeline) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    steps = WatchedSteps(pipeline.runtime.steps)
    runner, job = park_canary(pipeline, steps, clock)
    # a second canary of the same function waits for this one
    pipeline.upload("hello.zip", hello("hello", CANARY))
    pipeline.worker.poll_once()
    (refused,) = [r for r in pipeline.runtime.store.list() if r.state == "failed"]
    assert refused.error is not None and refused.error["code"] == "RolloutInProgress"
    assert refused.error["state"] == "tested" and "version 2" in refused.error["message"]
    assert alias(pipeline) == ("1", {"2": 0.1})
    # someone moves live by hand (or an all-at-once deployment does)
    pipeline.aws.functions.point_alias(FUNCTION, "live", "3")
    set_alarm(pipeline, TEAM_ALARM, "ALARM")
    clock.now += 300
    _, rec = runner.resume(job.job_id)
    assert rec.state == "failed" and rec.error is not None
    assert rec.error["code"] == "RolloutSuperseded"
    assert alias(pipeline) == ("3", {})  # not rolled back over the newer move

