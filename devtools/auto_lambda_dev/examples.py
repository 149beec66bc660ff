"""Locating the sample apps under ``examples/`` and zipping them deterministically,
for the demo and the tests. Reads the examples folder; writes only the zips asked for.

The folder is found next to the package in a source checkout (the project is installed
editable), or where ``AUTO_LAMBDA_EXAMPLES_DIR`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.steps.build.zipdet import zip_directory


def examples_root() -> Path:
    override = os.environ.get("AUTO_LAMBDA_EXAMPLES_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2] / "examples")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise AutoLambdaError(
        "the examples folder was not found (looked in "
        + ", ".join(str(c) for c in candidates) + ")",
        code=Code.ExamplesNotFound,
        hint="run from a source checkout of auto-lambda, or set AUTO_LAMBDA_EXAMPLES_DIR")


# Examples the demo leaves out (none now).
NOT_IN_DEMO: frozenset[str] = frozenset()
# Examples uploaded under a team's folder (the key's first folder is the team), with the
# operator policy the local stack gives that team (``TEAM_POLICY_FILE``) and the
# resources of the team's own the example names (its queue).
EXAMPLE_TEAMS = {"platform-app": "payments"}
TEAM_POLICY_FILE = "team-policy.json"
EXAMPLE_QUEUES = ("payments-orders",)  # <prefix>-<team>-<name>
# The secrets the examples reference, with stand-in values the local stack puts in the
# emulator (a team puts its real ones in SSM or Secrets Manager itself).
EXAMPLE_SECRETS = {"ssm:/payments/db-url": "postgres://demo@db.payments.local/app",
                   "secretsmanager:payments/api-key": "demo-api-key"}


def demo_dirs() -> list[Path]:
    """The example apps ``auto-lambda demo`` submits by default."""
    return [p for p in example_dirs() if p.name not in NOT_IN_DEMO]


def upload_key(example: Path) -> str:
    """The key an example is uploaded as: ``<team>/<name>.zip`` for a team's example."""
    team = EXAMPLE_TEAMS.get(example.stem)
    return f"{team}/{example.stem}.zip" if team else f"{example.stem}.zip"


def team_policy_file() -> Path | None:
    """The operator policy the local stack gives the examples' teams, if there is one."""
    try:
        path = examples_root() / TEAM_POLICY_FILE
    except AutoLambdaError:
        return None
    return path if path.is_file() else None


def example_dirs() -> list[Path]:
    """Every example app folder, sorted by name."""
    root = examples_root()
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def example_dir(name: str) -> Path:
    for path in example_dirs():
        if path.name == name:
            return path
    raise AutoLambdaError(f"no example named {name!r}", code=Code.ExamplesNotFound,
                          hint="choose one of: " + ", ".join(p.name for p in example_dirs()))


def _skip(rel: str) -> bool:
    parts = rel.split("/")
    return ("__pycache__" in parts or rel.startswith(".chalice/deployments/")
            or parts[-1].endswith(".pyc"))


def zip_example(path: Path, out_dir: Path) -> Path:
    """Zip an example folder's contents (not the folder) into ``out_dir/<name>.zip``."""
    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return zip_directory(path, out_dir / f"{path.name}.zip", skip=_skip).path
