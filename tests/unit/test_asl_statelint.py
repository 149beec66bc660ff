"""The deployment workflow exported as ASL passes statelint (exit 0, no problems
printed); a broken document is reported, so the check can fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.jobs.workflow import DEPLOYMENT
from states.export import to_asl

STATELINT = Path(sys.executable).parent / "statelint"


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


def test_statelint_catches_a_broken_document(tmp_path: Path) -> None:
    doc = to_asl(DEPLOYMENT)
    doc["States"]["received"]["Next"] = "nowhere"
    doc["States"]["fetched"]["Retry"][0]["BackoffRate"] = 2  # must be a float
    result = _lint(doc, tmp_path)
    assert result.returncode == 1
    assert "nowhere" in result.stdout and "BackoffRate" in result.stdout
