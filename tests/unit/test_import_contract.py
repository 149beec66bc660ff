"""The dependency rule of docs/architecture.md holds, and the checker of it would notice
a break: `lint-imports` passes on the tree, and fails on a copy with one bad import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("states", "orchestrator", "worker", "checker", "devtools/auto_lambda_dev")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "devtools")])}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def _copy_tree(dest: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(REPO / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_tree_keeps_every_contract() -> None:
    done = _lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(("module", "bad_import", "contract", "reported"), [
    ("orchestrator/jobs/store.py", "import worker.loop", "The layers",
     "orchestrator.jobs.store -> worker.loop"),
    ("orchestrator/steps/fetch/step.py", "import orchestrator.jobs.runner", "The layers",
     "orchestrator.steps.fetch.step -> orchestrator.jobs.runner"),
    ("states/driver.py", "import orchestrator.config", "states imports nothing",
     "states.driver -> orchestrator.config"),
    ("worker/loop.py", "import auto_lambda_dev.faultproxy", "The worker never loads",
     "worker.loop -> auto_lambda_dev.faultproxy"),
    ("orchestrator/steps/fetch/step.py", "import auto_lambda_dev.emulator",
     "The worker never loads", "orchestrator.steps.fetch.step -> auto_lambda_dev.emulator"),
    ("devtools/auto_lambda_dev/demo.py", "import orchestrator.cli.report", "The layers",
     "auto_lambda_dev.demo -> orchestrator.cli.report"),
    ("orchestrator/steps/fetch/step.py", "import botocore.exceptions", "Only the AWS doors",
     "orchestrator.steps.fetch.step -> botocore"),
])
def test_a_deliberate_violation_breaks_the_contract(tmp_path: Path, module: str,
                                                     bad_import: str, contract: str,
                                                     reported: str) -> None:
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    done = _lint(root)
    assert done.returncode != 0
    broken = [line for line in done.stdout.splitlines() if line.endswith(" BROKEN")]
    assert [line for line in broken if line.startswith(contract)], done.stdout
    assert reported in done.stdout
