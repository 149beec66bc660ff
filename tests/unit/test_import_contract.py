"""The checker of the dependency rule of docs/architecture.md would notice a break:
`lint-imports` fails on a copy of the tree with bad imports, naming each of them under
the contract it breaks. (`make test` and `make check` run `lint-imports` on the tree
itself, once.)

One copy holds every bad import and the linter runs over it once; each contract's own
section of the report must name its bad import, so no contract passes on another's
violation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("states", "orchestrator", "worker", "checker", "devtools/auto_lambda_dev")
LINT = Path(sys.executable).with_name("lint-imports")

# (module, the bad import appended to it, the contract it breaks, what that contract's
# section of the report must say)
VIOLATIONS = [
    ("orchestrator/jobs/store.py", "import worker.loop", "The layers",
     "orchestrator.jobs.store -> worker.loop"),
    ("orchestrator/steps/fetch/step.py", "import orchestrator.jobs.runner", "The layers",
     "orchestrator.steps.fetch.step -> orchestrator.jobs.runner"),
    ("states/driver.py", "import orchestrator.config", "states imports nothing",
     "states.driver -> orchestrator.config"),
    ("worker/loop.py", "import auto_lambda_dev.faultproxy", "The worker never loads",
     "worker.loop -> auto_lambda_dev.faultproxy"),
    ("orchestrator/steps/build/step.py", "import auto_lambda_dev.emulator",
     "The worker never loads", "orchestrator.steps.build.step -> auto_lambda_dev.emulator"),
    ("devtools/auto_lambda_dev/demo.py", "import orchestrator.cli.report", "The layers",
     "auto_lambda_dev.demo -> orchestrator.cli.report"),
    ("orchestrator/steps/unpack/step.py", "import botocore.exceptions", "Only the AWS doors",
     "orchestrator.steps.unpack.step -> botocore"),
    # the same steps -> jobs import is also a cycle between orchestrator's packages
    ("orchestrator/steps/fetch/step.py", "import orchestrator.jobs.runner", "No cycles",
     ".steps -> .jobs"),
]


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


def _sections(report: str, names: list[str]) -> dict[str, str]:
    """Each broken contract's part of the report: from its underlined title to the next."""
    titles = [(m.start(), m.group(1)) for m in re.finditer(r"^(.+)\n-+\n", report, re.M)
              if m.group(1) in names]
    ends = [start for start, _ in titles[1:]] + [len(report)]
    return {name: report[start:end] for (start, name), end in zip(titles, ends, strict=True)}


def test_deliberate_violations_break_each_contract_that_forbids_them(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    for module, bad_import, _, _ in VIOLATIONS:
        path = root / module
        line = f"\n{bad_import}  # noqa\n"
        if line not in path.read_text():
            path.write_text(path.read_text() + line)
    done = _lint(root)
    assert done.returncode != 0, done.stdout + done.stderr
    # a contract with ignored imports reports "BROKEN (1 ignored import)"
    broken = [m.group(1) for line in done.stdout.splitlines()
              if (m := re.match(r"^(.+) BROKEN(?: \(\d+ ignored imports?\))?$", line))]
    sections = _sections(done.stdout, broken)
    for _, _, contract, reported in VIOLATIONS:
        names = [name for name in broken if name.startswith(contract)]
        assert names, f"{contract!r} is not broken:\n{done.stdout}"
        (name,) = names
        assert reported in sections[name], f"{reported!r} not under {name!r}:\n{done.stdout}"
