"""SIGKILL a worker at every state boundary and inside every step of the deletion and
rollback workflows: each job is killed once at every point, restarted workers take it
over, and it still ends as it should (the app gone; ``live`` on the earlier version),
resumed where it was: only the interrupted steps ran twice. Then the same for the upload
whose end prunes an app, and for a restart of a failed upload (a new job; the old one's
record stays byte for byte)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from orchestrator.intake.events import s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.workflows.deletion import DELETION
from orchestrator.jobs.workflows.rollback import ROLLBACK
from states import Definition
from tests.chaos.conftest import ChaosStack, Figures, app_zip, task_starts
from tests.chaos.harness import DEPLOYMENT_KILL_POINTS, KilledWorkers
from tests.fault_hooks import fired

pytestmark = pytest.mark.slow

DELETED_APP, ROLLED_APP = "d-app", "r-app"


def _points(definition: Definition, interrupted: tuple[str, ...]) -> tuple[str, ...]:
    """Every state boundary, inside every step, and right after some steps started."""
    return (*(f"after:{name}" for name in definition.names if name != "failed"
              and name != "kept"),
            *(f"during:{t.resource}" for t in definition.task_states),
            *(f"before:{step}" for step in interrupted))


DELETION_POINTS = _points(DELETION, ("undeploy",))
ROLLBACK_POINTS = _points(ROLLBACK, ("repoint",))


def _expected_starts(definition: Definition, points: tuple[str, ...]) -> Counter[str]:
    state_of = {t.resource: t.name for t in definition.task_states}
    expected = Counter({t.name: 1 for t in definition.task_states})
    for point in points:
        when, _, where = point.partition(":")
        if when in ("during", "before"):
            expected[state_of[where]] += 1
    return expected


def _lifecycle_job(stack: ChaosStack, workflow: str) -> JobRecord | None:
    jobs = [j for j in stack.jobs() if j.workflow == workflow]
    return jobs[0] if jobs and jobs[0].is_terminal else None


def test_sigkill_at_every_step_of_a_deletion_and_a_rollback(stack: ChaosStack,
                                                            figures: Figures) -> None:
    deleted_key = f"{DELETED_APP}.zip"
    rollback_key = f"default/{ROLLED_APP}"
    rules = ";".join([*(f"{p}=kill/{deleted_key}" for p in DELETION_POINTS),
                      *(f"{p}=kill/{rollback_key}" for p in ROLLBACK_POINTS)])
    env = {"AUTO_LAMBDA_FAULTS": rules, "AUTO_LAMBDA_DELETE_GRACE": "0"}
    killed = KilledWorkers(stack, env)
    supervise = killed.supervise

    # the apps' lives start with their deploys (no fault point of theirs is armed)
    stack.upload(deleted_key, app_zip(DELETED_APP))
    stack.upload(f"{ROLLED_APP}.zip", app_zip(ROLLED_APP))
    stack.wait_for("the first deploys", lambda: stack.settled(2), timeout=120, tick=supervise)
    stack.upload(f"{ROLLED_APP}.zip", app_zip(ROLLED_APP, {"v2.txt": "2"}))
    stack.wait_for("the second deploy", lambda: stack.settled(3), timeout=120, tick=supervise)
    assert stack.live_version(ROLLED_APP) == "2"

    bucket = stack.settings.incoming_bucket
    marker = stack.aws.s3.delete_object(Bucket=bucket, Key=deleted_key)["VersionId"]
    stack.send(s3_event_body(bucket, deleted_key, version_id=marker,
                             event_name="ObjectRemoved:DeleteMarkerCreated"))
    asked = stack.cli("rollback", f"default/{ROLLED_APP}", "--reason", "chaos drill",
                      "--as", "chaos", "--json", env={"AUTO_LAMBDA_FAULTS": ""})
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert json.loads(asked.stdout)["plan"]["to_version"] == "1"

    deletion = stack.wait_for("the deletion to end", lambda: _lifecycle_job(stack, "deletion"),
                              timeout=240, tick=supervise, interval=0.3)
    rollback = stack.wait_for("the rollback to end", lambda: _lifecycle_job(stack, "rollback"),
                              timeout=240, tick=supervise, interval=0.3)
    kills = [f for f in fired(stack.fault_dir) if f["action"] == "kill"]
    assert sorted(str(f["point"]) for f in kills) == sorted(
        [*DELETION_POINTS, *ROLLBACK_POINTS])  # each fired once, for its own job

    assert deletion.state == "deleted", (deletion.error, stack.logs())
    assert not stack.aws.functions.function_exists(
        stack.settings.function_name(DELETED_APP, "default"))
    assert task_starts(deletion) == _expected_starts(DELETION, DELETION_POINTS)
    assert rollback.state == "rolled_back", (rollback.error, stack.logs())
    assert stack.live_version(ROLLED_APP) == "1"
    assert stack.published_versions(ROLLED_APP) == ["1", "2"]  # nothing rebuilt
    assert task_starts(rollback) == _expected_starts(ROLLBACK, ROLLBACK_POINTS)
    for job in (deletion, rollback):
        assert sum(1 for e in job.history if e["type"] == "ExecutionStarted") == 1
    assert (rollback.actor, rollback.reason) == ("chaos", "chaos drill")
    stack.wait_for("the queue to empty", lambda: stack.queue_depth() == 0, timeout=30,
                   tick=supervise)
    assert stack.dlq_depth() == 0
    figures.add("lifecycle-kill", jobs_run=2, kills=len(kills), worker_restarts=killed.restarts,
                jobs_lost=sum(1 for j in (deletion, rollback)
                              if j.state not in ("deleted", "rolled_back")))


PRUNED_APP = "p-app"
# The upload whose end prunes the app is killed at every point of its deployment.
DEPLOY_POINTS = DEPLOYMENT_KILL_POINTS
# Versions kept besides live's (the workers' AUTO_LAMBDA_KEEP_VERSIONS, 5 by default): a
# small number, so that few uploads before the killed one make a verified version to prune.
KEEP = 2
UPLOADS, FAILING = 4, 3


def test_sigkill_at_every_step_of_the_upload_whose_end_prunes(stack: ChaosStack,
                                                              figures: Figures) -> None:
    key = f"{PRUNED_APP}.zip"
    keep = {"AUTO_LAMBDA_KEEP_VERSIONS": str(KEEP)}
    workers = [stack.start_worker(env=keep), stack.start_worker(env=keep)]

    def upload(n: int, ok: bool = True) -> None:
        extra: dict[str, str | bytes] = {f"v{n}.txt": str(n)}
        if not ok:  # an answer the verify event does not expect
            extra["auto-lambda.toml"] = (
                f"[function]\nname = '{PRUNED_APP}'\nruntime = 'python3.11'\ntimeout = 5\n"
                "[verify]\nevent = { n = 1 }\nexpect = { app = 'someone else', n = 2 }\n")
        stack.upload(key, app_zip(PRUNED_APP, extra))

    def settled(count: int) -> Callable[[], bool]:
        return lambda: stack.settled(count)

    # three verified uploads and one that fails verify, one after another, no kills
    for n in range(1, UPLOADS + 1):
        upload(n, ok=n != FAILING)
        stack.wait_for(f"upload {n}", settled(n), timeout=120)
    failed = [j for j in stack.jobs() if j.state == "failed"]
    assert len(failed) == 1 and failed[0].error and failed[0].error["code"] == "VerifyMismatch"
    for worker in workers:
        worker.stop()
    # the next upload, killed at every point of its deployment
    env = {**keep, "AUTO_LAMBDA_FAULTS": ";".join(f"{p}=kill/{key}" for p in DEPLOY_POINTS)}
    killed = KilledWorkers(stack, env)
    upload(UPLOADS + 1)
    stack.wait_for("the killed upload", settled(UPLOADS + 1), timeout=240,
                   tick=killed.supervise, interval=0.3)
    kills = [f for f in fired(stack.fault_dir) if f["action"] == "kill"]
    assert sorted(str(f["point"]) for f in kills) == sorted(DEPLOY_POINTS)
    newest = max(stack.jobs(), key=lambda j: j.created_at)
    assert newest.state == "verified", (newest.error, stack.logs())
    # pruned at its end despite the kills: live's version, and besides it the newest
    # KEEP verified ones (the rollback target among them); no failed one, nothing older
    verified = sorted((j.deployed_version for j in stack.jobs() if j.state == "verified"),
                      key=lambda v: int(str(v)))
    kept = stack.published_versions(PRUNED_APP)
    assert len(verified) > KEEP + 1  # something verified was old enough to go
    assert sorted(kept, key=int) == [str(v) for v in verified[-(KEEP + 1):]], (kept, verified)
    assert str(failed[0].deployed_version) not in kept
    assert stack.live_version(PRUNED_APP) == str(verified[-1])
    assert stack.dlq_depth() == 0

    # a restart of the failed upload, a new job killed at every point it reaches: the
    # old job's record stays as it was
    old = failed[0]
    stored = stack.store.get(old.job_id)
    assert stored is not None
    before = stored.to_json()
    asked = stack.cli("replay", old.job_id, "--restart", "--json",
                      env={"AUTO_LAMBDA_FAULTS": ""})
    assert asked.returncode == 0, asked.stdout + asked.stderr
    stack.wait_for("the restarted job", settled(UPLOADS + 2), timeout=240,
                   tick=killed.supervise, interval=0.3)
    [again] = [j for j in stack.jobs() if j.restarted_from == old.job_id]
    assert again.state == "failed" and again.error is not None
    assert again.error["code"] == "VerifyMismatch"
    hit = {str(f["point"]) for f in fired(stack.fault_dir)
           if f["action"] == "kill" and f["job_id"] == again.job_id}
    reached = {"after:received", "after:fetched", "after:unpacked", "after:built",
               "after:deployed", "during:fetch", "during:unpack", "during:build",
               "during:deploy", "before:deploy"}
    assert reached <= hit <= set(DEPLOY_POINTS), hit
    after = stack.store.get(old.job_id)
    assert after is not None and after.to_json() == before
    assert str(old.deployed_version) not in stack.published_versions(PRUNED_APP)
    assert stack.dlq_depth() == 0
    figures.add("prune-restart-kill", jobs_run=UPLOADS + 2, kills=len(kills) + len(hit),
                worker_restarts=killed.restarts, versions_kept=len(kept))
