"""Every workflow (deployment, deletion, rollback), and a workflow with each kind of
Wait state, exported as ASL pass statelint (exit 0, no problems printed); a broken
document is reported, so the check can fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.jobs.workflow import DEPLOYMENT
from orchestrator.jobs.workflows import WORKFLOWS
from states import Catcher, Definition, FailState, SucceedState, TaskState, WaitState
from states.export import to_asl

STATELINT = Path(sys.executable).parent / "statelint"

WAITS = Definition(start_at="deploy", states=(
    TaskState("deploy", "deploy", next="bake", catch=(Catcher(("States.ALL",), "failed"),)),
    WaitState("bake", next="window", seconds_path="$.rollout.bake_seconds",
              comment="let the canary take traffic"),
    WaitState("window", next="settle", timestamp_path="$.rollout.window_opens"),
    WaitState("settle", next="at", seconds=0),
    WaitState("at", next="promote", timestamp="2026-12-07T16:00:00+01:00"),
    TaskState("promote", "promote", next="done", catch=(Catcher(("States.ALL",), "failed"),)),
    SucceedState("done"), FailState("failed")))


def _lint(doc: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "workflow.asl.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return subprocess.run([str(STATELINT), str(path)], capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture(autouse=True)
def _needs_statelint() -> None:
    if not STATELINT.exists():
        pytest.fail(f"statelint is missing at {STATELINT}; install the dev extra")


def test_deployment_asl_passes_statelint(tmp_path: Path) -> None:
    result = _lint(to_asl(DEPLOYMENT), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


@pytest.mark.parametrize("name", sorted(set(WORKFLOWS) - {"deployment"}))
def test_the_lifecycle_workflows_pass_statelint(name: str, tmp_path: Path) -> None:
    doc = to_asl(WORKFLOWS[name])
    result = _lint(doc, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_statelint_catches_a_broken_document(tmp_path: Path) -> None:
    doc = to_asl(DEPLOYMENT)
    doc["States"]["received"]["Next"] = "nowhere"
    doc["States"]["fetched"]["Retry"][0]["BackoffRate"] = 2  # must be a float
    result = _lint(doc, tmp_path)
    assert result.returncode == 1
    assert "nowhere" in result.stdout and "BackoffRate" in result.stdout


def test_wait_states_pass_statelint(tmp_path: Path) -> None:
    doc = to_asl(WAITS)
    assert {s["Type"] for s in doc["States"].values()} >= {"Wait"}
    result = _lint(doc, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_statelint_catches_a_broken_wait(tmp_path: Path) -> None:
    doc = to_asl(WAITS)
    doc["States"]["settle"]["Timestamp"] = "2026-12-07T16:00:00Z"  # two fields
    doc["States"]["bake"]["SecondsPath"] = "rollout"  # not a path
    result = _lint(doc, tmp_path)
    assert result.returncode == 1
    assert "settle" in result.stdout and "bake" in result.stdout


def test_the_deployments_rollout_states_pass_statelint(tmp_path: Path) -> None:
    doc = to_asl(DEPLOYMENT)
    types = {n: s["Type"] for n, s in doc["States"].items()}
    assert types["baking"] == "Wait" and types["rollout"] == "Choice"
    assert doc["States"]["baking"]["SecondsPath"] == "$.rollout.bake_seconds"
    result = _lint(doc, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_catches_a_broken_choice(tmp_path: Path) -> None:
    doc = to_asl(DEPLOYMENT)
    doc["States"]["rollout"]["Choices"][0]["Next"] = "nowhere"
    doc["States"]["rollout"]["Choices"][1]["Variable"] = "rollout.next"  # not a path
    result = _lint(doc, tmp_path)
    assert result.returncode == 1
    assert "nowhere" in result.stdout
