"""The worker's install carries only what the worker needs: local mode (moto) and the
simulator (simpy, matplotlib) are the development tools' (devtools/, the auto-lambda-dev
distribution, with its `local` and `sim` extras), OpenTelemetry tracing is the `otel`
extra, and the worker's commands run without them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# most run the CLI in a fresh interpreter: `make test` runs them, `make check` does not
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("moto", "simpy", "matplotlib")
DEV_TOOLS = "auto_lambda_dev"
OTEL = ("opentelemetry",)

# Run the CLI with the local-only packages made unimportable, as in a worker install.
_BLOCKED = """
import sys
from importlib.abc import MetaPathFinder

class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
sys.argv = ["auto-lambda", *{args!r}]
from orchestrator.cli.main import main
main()
"""


def _run_without(blocked: set[str], *args: str, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    code = _BLOCKED.format(blocked=blocked, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, env={**os.environ, **(env or {})})


def _run_as_a_worker_install(*args: str) -> subprocess.CompletedProcess[str]:
    return _run_without({*LOCAL_ONLY, DEV_TOOLS}, *args)


def test_the_core_dependencies_leave_out_local_mode_and_the_simulator() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for name in LOCAL_ONLY:
        assert name not in core
    dev_tools = tomllib.loads((REPO / "devtools" / "pyproject.toml").read_text())["project"]
    assert not any(name in " ".join(dev_tools["dependencies"]) for name in LOCAL_ONLY)
    extras = dev_tools["optional-dependencies"]
    assert any("moto" in d for d in extras["local"])
    assert {d.split(">")[0] for d in extras["sim"]} >= {"simpy", "matplotlib"}
    assert "opentelemetry" not in core
    own = project["optional-dependencies"]
    assert {d.split(">")[0] for d in own["otel"]} == {
        "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-sdk-extension-aws", "opentelemetry-propagator-aws-xray"}
    assert not any("grpc" in d for d in own["otel"])
    assert any("otel" in d for d in own["dev"] if d.startswith("auto-lambda["))


def test_worker_and_checker_run_without_the_development_tools() -> None:
    for command in ("worker", "checker", "jobs", "replay", "build"):
        done = _run_as_a_worker_install(command, "--help")
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout


def test_local_mode_without_the_development_tools_says_what_to_install() -> None:
    done = _run_as_a_worker_install("local", "up")
    assert done.returncode == 2
    assert "error [ExtraMissing]" in done.stderr
    assert "pip install -e './devtools[local]'" in done.stderr


def test_the_demo_without_the_development_tools_says_what_to_install() -> None:
    done = _run_as_a_worker_install("demo")
    assert done.returncode == 2
    assert "error [ExtraMissing]" in done.stderr
    assert "pip install -e './devtools[local]'" in done.stderr


def test_local_mode_without_moto_names_the_same_extra() -> None:
    done = _run_without({"moto"}, "local", "up", "--port", "0", "--xray-port", "0")
    assert done.returncode == 2
    assert "error [ExtraMissing]" in done.stderr
    assert "'moto'" in done.stderr and "./devtools[local]" in done.stderr


def test_the_simulator_without_the_development_tools_says_what_to_install() -> None:
    for blocked in ({*LOCAL_ONLY, DEV_TOOLS}, {"simpy"}):
        done = _run_without(blocked, "simulate", "--scenario", "steady")
        assert done.returncode == 2
        assert "error [ExtraMissing]" in done.stderr
        assert "pip install -e './devtools[sim]'" in done.stderr


def test_a_worker_choosing_otel_without_its_extra_says_which_extra_to_install() -> None:
    # The role is given so the worker gets as far as its tracer without calling AWS.
    done = _run_without({*LOCAL_ONLY, *OTEL}, "worker", env={
        "AUTO_LAMBDA_TRACING": "otel",
        "AUTO_LAMBDA_FUNCTION_ROLE_ARN": "arn:aws:iam::123456789012:role/fn"})
    assert done.returncode == 2, done.stderr
    assert "error [ExtraMissing]" in done.stderr
    assert "AUTO_LAMBDA_TRACING=otel" in done.stderr
    assert "pip install 'auto-lambda[otel]'" in done.stderr
