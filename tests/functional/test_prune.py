"""Pruning published versions (moto in-process): twelve uploads of one app through the
real deploy step, some failing verify, leave the newest five verified versions plus the
alias targets and no failed one; a failed job's version goes when its job ends; a prune
interrupted by a crash, or by a lost answer, finishes on its next run; the command's dry
run shows the plan and changes nothing; ``apps`` lists the function."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner
from moto import mock_aws

from auto_lambda_dev.emulator_lambda import lambda_like_aws
from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.aws.functions import Functions
from orchestrator.aws.tables import create_history_table_request, create_table_request
from orchestrator.config import LIVE_ALIAS, Settings
from orchestrator.jobs.apps import list_apps
from orchestrator.jobs.pruning import Pruner
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore
from orchestrator.steps.data import Artifact
from orchestrator.steps.deploy.step import deploy_function
from orchestrator.steps.unpack.manifest import AppSpec

ASSUME_LAMBDA = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
SPEC = AppSpec(name="hello", handler="app.handler", runtime="python3.12", memory=256,
               timeout=10, team="payments")
FUNCTION = "auto-lambda-payments-hello"
KEY = "payments/hello.zip"
FAILS_VERIFY = {3, 7, 10}


@dataclass
class Fleet:
    aws: Aws
    role_arn: str
    store: JobStore
    clock: list[float] = field(default_factory=lambda: [1_000_000.0])

    def artifact(self, n: int) -> Artifact:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)),
                        f"def handler(event, context):\n    return {{'v': {n}}}\n")
        data = buf.getvalue()
        digest = hashlib.sha256(data)
        key = f"artifacts/hello/{digest.hexdigest()}.zip"
        bucket = self.aws.settings.artifacts_bucket
        self.aws.s3.put_object(Bucket=bucket, Key=key, Body=data)
        return Artifact(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key,
                        sha256=digest.hexdigest(), size=len(data),
                        code_sha256=base64.b64encode(digest.digest()).decode())

    def upload(self, n: int) -> JobRecord:
        """Upload ``n``: a job whose deploy step publishes a version (the real step),
        recorded as running at verify."""
        self.clock[0] += 60
        deployed = deploy_function(self.aws, SPEC, self.artifact(n), self.role_arn,
                                   sleep=lambda s: None, clock=lambda: 0.0)
        rec = JobRecord(job_id=f"job-{n:02d}", bucket="incoming", key=KEY, app_name="hello",
                        state="deployed", status="RUNNING", created_at=self.clock[0],
                        updated_at=self.clock[0], deployed_version=deployed.version,
                        function_arn=deployed.function_arn)
        assert self.store.create(rec)
        return rec

    def end(self, rec: JobRecord, verified: bool) -> JobRecord:
        """The job ends as verify and promote would leave it (live moves if verified)."""
        current = self.store.get(rec.job_id)
        assert current is not None
        if verified:
            self.aws.functions.point_alias(FUNCTION, LIVE_ALIAS, str(rec.deployed_version))
        current.state, current.status = (("verified", "SUCCEEDED") if verified
                                         else ("failed", "FAILED"))
        current.published_version = rec.deployed_version if verified else None
        current.error = None if verified else {"code": "VerifyMismatch", "state": "deployed"}
        current.finished_at = current.updated_at = self.clock[0] + 30
        self.store.save(current)
        return current

    def versions(self) -> list[int]:
        return sorted(int(c["Version"]) for c in self.aws.functions.list_versions(FUNCTION)
                      if c["Version"] != "$LATEST")


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    assert lambda_like_aws()
    with mock_aws():
        aws = Aws(Settings())
        aws.s3.create_bucket(Bucket=aws.settings.artifacts_bucket)
        role = aws.iam.create_role(RoleName=aws.settings.role_name,
                                   AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
        ddb = aws.client("dynamodb")
        ddb.create_table(**create_table_request(aws.settings.table_name))
        ddb.create_table(**create_history_table_request(aws.settings.history_table_name))
        yield Fleet(aws, role, JobStore(aws))


def run_twelve(fleet: Fleet, pruner: Pruner) -> list[JobRecord]:
    """Uploads 1..12, each pruned as the runner does when its job ends; upload 12 is
    left mid-rollout (live on 11, 10 % of traffic on 12, its job running); an extra
    alias pins version 2."""
    jobs = []
    for n in range(1, 12):
        rec = fleet.upload(n)
        ended = fleet.end(rec, verified=n not in FAILS_VERIFY)
        if n == 2:
            fleet.aws.functions.point_alias(FUNCTION, "stable", "2")
        result = pruner.after_job(ended)
        assert result is not None and result.error is None
        if n in FAILS_VERIFY:
            # a failed job's version is gone as soon as its job ended
            assert n not in fleet.versions()
        jobs.append(ended)
    rec = fleet.upload(12)
    fleet.aws.functions.point_alias(FUNCTION, LIVE_ALIAS, "11", {"12": 0.1})
    jobs.append(rec)
    return jobs


def test_twelve_uploads_keep_five_verified_plus_alias_targets_and_no_failed(
        fleet: Fleet) -> None:
    pruner = Pruner(fleet.aws)
    assert pruner.keep == 5
    jobs = run_twelve(fleet, pruner)
    # Mid-rollout: 12 is a routing target and its job runs; 2 is pinned by an alias.
    result = pruner.prune(pruner.target_of("payments", "hello"))
    assert fleet.versions() == [2, 5, 6, 8, 9, 11, 12]
    kept = dict(result.plan.keep)
    assert "alias" in kept[12] and "alias" in kept[2] and "alias" in kept[11]
    # The rollout finishes: 12 verified and live; 5 is now past the newest five.
    fleet.aws.functions.point_alias(FUNCTION, LIVE_ALIAS, "12")
    pruner.after_job(fleet.end(jobs[-1], verified=True))
    assert fleet.versions() == [2, 6, 8, 9, 11, 12]
    assert not set(fleet.versions()) & FAILS_VERIFY
    assert fleet.aws.functions.alias_version(FUNCTION, LIVE_ALIAS) == "12"
    # A second run finds nothing to do.
    again = pruner.prune(pruner.target_of("payments", "hello"))
    assert again.plan.delete == [] and again.deleted == []
    assert again.rollback == 11


def test_a_job_at_its_deploy_step_defers_deletion(fleet: Fleet) -> None:
    pruner = Pruner(fleet.aws, keep=1)
    for n in (1, 2, 3):
        fleet.end(fleet.upload(n), verified=True)
    deploying = JobRecord(job_id="job-deploying", bucket="incoming", key=KEY,
                          app_name="hello", state="built", status="RUNNING",
                          created_at=fleet.clock[0] + 1, updated_at=fleet.clock[0] + 1)
    assert fleet.store.create(deploying)
    result = pruner.prune(pruner.target_of("payments", "hello"))
    assert result.deferred and "job-deploying" in result.deferred
    assert result.plan.delete == [(1, "older than the newest 1 verified")]
    assert fleet.versions() == [1, 2, 3]


class Crash(BaseException):
    """The worker dies (not an Exception: nothing in the pruner may swallow it)."""


class CrashingDoor(Functions):
    def __init__(self, aws: Aws, crash_after: int) -> None:
        super().__init__(aws.client("lambda"))
        self.left = crash_after

    def delete_version(self, name: str, version: str) -> bool:
        if self.left == 0:
            raise Crash(f"killed before deleting {name}:{version}")
        self.left -= 1
        return super().delete_version(name, version)


class LosingDoor(Functions):
    """Deletes, then loses the answer once (a 503 after the delete took effect)."""

    def __init__(self, aws: Aws) -> None:
        super().__init__(aws.client("lambda"))
        self.lost = False

    def delete_version(self, name: str, version: str) -> bool:
        done = super().delete_version(name, version)
        if not self.lost:
            self.lost = True
            raise AwsError("lambda.delete_function: the answer was lost",
                           code="AwsServerError", service="lambda",
                           operation="DeleteFunction", status=503)
        return done


def seven_verified(fleet: Fleet) -> None:
    for n in range(1, 8):
        fleet.end(fleet.upload(n), verified=n != 4)


def test_a_crash_mid_prune_resumes_on_the_next_run(fleet: Fleet) -> None:
    seven_verified(fleet)
    whole = Pruner(fleet.aws, keep=2).gather(Pruner(fleet.aws).target_of("payments", "hello"))
    planned = sorted(v for v, _ in whole.plan.delete)
    assert planned == [1, 2, 3, 4, 5]  # live 7, keep 7 and 6; rollback target 6
    real = fleet.aws.functions
    fleet.aws.functions = CrashingDoor(fleet.aws, crash_after=2)  # type: ignore[misc]
    pruner = Pruner(fleet.aws, keep=2)
    with pytest.raises(Crash):
        pruner.prune(pruner.target_of("payments", "hello"))
    done_before = set(planned) - set(fleet.versions())
    assert len(done_before) == 2
    # Another worker (a fresh door) plans again from what is left and finishes.
    fleet.aws.functions = real  # type: ignore[misc]
    result = Pruner(fleet.aws, keep=2).prune(pruner.target_of("payments", "hello"))
    assert result.error is None
    assert sorted(result.deleted) == sorted(set(planned) - done_before)
    assert fleet.versions() == [6, 7]


def test_a_lost_answer_is_an_error_then_the_version_counts_as_gone(fleet: Fleet) -> None:
    seven_verified(fleet)
    real = fleet.aws.functions
    fleet.aws.functions = LosingDoor(fleet.aws)  # type: ignore[misc]
    pruner = Pruner(fleet.aws, keep=2)
    target = pruner.target_of("payments", "hello")
    first = pruner.prune(target)
    assert first.error is not None and first.error["code"] == "AwsServerError"
    # A stale plan deletes a version already gone: success, counted as gone.
    fleet.aws.functions = real  # type: ignore[misc]
    stale = Pruner(fleet.aws, keep=2).gather(target)
    real.delete_version(FUNCTION, "2")
    done = Pruner(fleet.aws, keep=2).execute(stale)
    assert 2 in done.gone and done.error is None
    assert fleet.versions() == [6, 7]


def test_an_alias_moved_onto_a_planned_version_keeps_it(fleet: Fleet) -> None:
    seven_verified(fleet)
    pruner = Pruner(fleet.aws, keep=2)
    plan = pruner.gather(pruner.target_of("payments", "hello"))
    assert 3 in dict(plan.plan.delete)
    fleet.aws.functions.point_alias(FUNCTION, "canary", "3")  # after the plan was made
    done = pruner.execute(plan)
    assert [v for v, _ in done.refused] == [3] and not done.done
    assert fleet.versions() == [3, 6, 7]
    assert pruner.prune(pruner.target_of("payments", "hello")).plan.delete == []


def test_the_runner_hook_never_raises(fleet: Fleet) -> None:
    rec = fleet.end(fleet.upload(1), verified=False)

    class Broken(Functions):
        def list_versions(self, name: str) -> list:  # type: ignore[type-arg]
            raise RuntimeError("Lambda is having a bad day")

    fleet.aws.functions = Broken(fleet.aws.client("lambda"))  # type: ignore[misc]
    assert Pruner(fleet.aws).after_job(rec) is None


def test_prune_command_dry_run_shows_why_and_deletes_nothing(
        fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.cli.main import cli

    seven_verified(fleet)
    fleet.store.create(JobRecord(job_id="other", bucket="incoming", key="ops/tool.zip"))
    out = CliRunner().invoke(cli, ["prune", "--dry-run", "--keep", "2", "--team", "payments",
                                   "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    (fn,) = doc["functions"]
    assert fn["function"] == FUNCTION and fn["live"] == "7" and fn["rollback_target"] == 6
    assert {d["version"]: d["why"] for d in fn["delete"]} == {
        5: "older than the newest 2 verified", 4: "it failed verify",
        3: "older than the newest 2 verified", 2: "older than the newest 2 verified",
        1: "older than the newest 2 verified"}
    assert all(d["outcome"] is None for d in fn["delete"])
    assert fleet.versions() == [1, 2, 3, 4, 5, 6, 7]
    text = CliRunner().invoke(cli, ["prune", "--keep", "2"])
    assert text.exit_code == 0, text.output
    assert "deleted 5 version(s)" in text.output
    assert fleet.versions() == [6, 7]


def test_apps_lists_the_function_with_live_version_and_last_results(fleet: Fleet) -> None:
    from orchestrator.cli.main import cli

    seven_verified(fleet)
    (row,) = list_apps(fleet.aws, "payments")
    assert row.live == "7" and row.versions == 7
    assert row.last is not None and row.last.job_id == "job-07"
    assert row.last_failed is not None and row.last_failed.job_id == "job-04"
    assert row.last_failed.deployed_version == "4"
    assert list_apps(fleet.aws, "ops") == []
    out = CliRunner().invoke(cli, ["apps", "--json"])
    assert out.exit_code == 0, out.output
    (app,) = json.loads(out.output)["apps"]
    assert app["function"] == FUNCTION and app["live_version"] == "7"
    assert app["last_job"]["state"] == "verified"
    assert app["last_failed"] == {"job_id": "job-04", "state": "failed",
                                  "code": "VerifyMismatch", "version": "4",
                                  "created_at": app["last_failed"]["created_at"],
                                  "finished_at": app["last_failed"]["finished_at"]}
    bad = CliRunner().invoke(cli, ["apps", "--team", "No-Such"])
    assert bad.exit_code != 0
