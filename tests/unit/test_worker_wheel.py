"""What a worker-only install (`pip install .` at the repository's root) carries: the
worker's wheel, built here with hatchling (no network, well under a second), holds the
pipeline, the worker and the checker, and none of the development tools: not the
emulator, the fault proxy, the local stack, the local autoscaler or the simulator. Run
from that wheel alone, the worker's command works and the development tools cannot be
imported."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The development tools' modules, by the names they had in the wheel and have now.
DEV_MODULES = ("emulator", "emulator_speed", "faultplan", "faultproxy", "stack", "demo",
               "examples", "collector", "autoscaler", "localgroup", "localloop", "pool",
               "urlserver", "lambdaurl")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel",
                           "-d", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("auto_lambda-*.whl")
    return built


def _modules(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if name.endswith(".py")]


def test_the_wheel_holds_the_worker_and_the_checker(wheel: Path) -> None:
    modules = _modules(wheel)
    for expected in ("orchestrator/cli/main.py", "orchestrator/cli/cmd_worker.py",
                     "worker/loop.py", "checker/metric.py", "states/driver.py"):
        assert expected in modules


def test_the_wheel_holds_none_of_the_development_tools(wheel: Path) -> None:
    modules = _modules(wheel)
    assert not [m for m in modules if m.startswith("auto_lambda_dev/")]
    assert not [m for m in modules if "/sim/" in m]
    stems = {Path(m).stem for m in modules}
    assert not stems & set(DEV_MODULES), sorted(stems & set(DEV_MODULES))


def test_the_wheel_requires_neither_moto_nor_the_simulator(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    requires = " ".join(metadata.get_all("Requires-Dist") or []).lower()
    for package in ("moto", "simpy", "matplotlib", "auto-lambda-dev"):
        assert package not in requires


# From the unpacked wheel alone: this checkout (and its development tools, installed
# editable beside it) taken off the path, the third-party packages left on it.
_FROM_THE_WHEEL = """
import importlib.util, os, sys
sys.path[:] = [{root!r}] + [p for p in sys.path if p and os.path.realpath(p) not in {hidden!r}]
def importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False
assert importable("worker.loop") and importable("checker.metric")
found = [name for name in {dev_modules!r} if importable(name)]
assert not found, found
sys.argv = ["auto-lambda", "worker", "--help"]
from orchestrator.cli.main import main
main()
"""


def test_from_the_wheel_alone_the_worker_runs_and_the_dev_tools_are_missing(
        wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    hidden = {str(REPO.resolve()), str((REPO / "devtools").resolve())}
    dev_modules = ["auto_lambda_dev", "auto_lambda_dev.emulator", "auto_lambda_dev.sim"]
    for package in ("orchestrator.aws", "orchestrator.cli", "orchestrator.tracing", "checker"):
        dev_modules += [f"{package}.{m}" for m in DEV_MODULES]
    dev_modules.append("checker.sim")
    code = _FROM_THE_WHEEL.format(root=str(tmp_path), hidden=hidden, dev_modules=dev_modules)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: auto-lambda worker" in done.stdout
