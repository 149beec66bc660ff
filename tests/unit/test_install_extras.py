"""The worker's install carries only what the worker needs: local mode (moto), the
simulator (simpy, matplotlib) and OpenTelemetry tracing are extras, and the worker's
commands run without them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("moto", "simpy", "matplotlib")
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


def _run_without_extras(*args: str, env: dict[str, str] | None = None
                        ) -> subprocess.CompletedProcess[str]:
    code = _BLOCKED.format(blocked={*LOCAL_ONLY, *OTEL}, args=list(args))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, env={**os.environ, **(env or {})})


def test_the_core_dependencies_leave_out_local_mode_and_the_simulator() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for name in LOCAL_ONLY:
        assert name not in core
    extras = project["optional-dependencies"]
    assert any("moto" in d for d in extras["local"])
    assert {d.split(">")[0] for d in extras["sim"]} >= {"simpy", "matplotlib"}
    assert "opentelemetry" not in core
    assert {d.split(">")[0] for d in extras["otel"]} == {
        "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-sdk-extension-aws", "opentelemetry-propagator-aws-xray"}
    assert not any("grpc" in d for d in extras["otel"])
    assert any("otel" in d for d in extras["dev"] if d.startswith("auto-lambda["))


def test_worker_and_checker_run_without_moto_simpy_or_matplotlib() -> None:
    for command in ("worker", "checker", "jobs", "replay", "build"):
        done = _run_without_extras(command, "--help")
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout


def test_local_mode_without_its_extra_says_which_extra_to_install() -> None:
    done = _run_without_extras("local", "up")
    assert done.returncode == 2
    assert "error [ExtraMissing]" in done.stderr
    assert "auto-lambda[local]" in done.stderr


def test_the_simulator_without_its_extra_says_which_extra_to_install() -> None:
    done = _run_without_extras("simulate", "--scenario", "steady")
    assert done.returncode == 2
    assert "auto-lambda[sim]" in done.stderr


def test_a_worker_choosing_otel_without_its_extra_says_which_extra_to_install() -> None:
    # The role is given so the worker gets as far as its tracer without calling AWS.
    done = _run_without_extras("worker", env={
        "AUTO_LAMBDA_TRACING": "otel",
        "AUTO_LAMBDA_FUNCTION_ROLE_ARN": "arn:aws:iam::123456789012:role/fn"})
    assert done.returncode == 2, done.stderr
    assert "error [ExtraMissing]" in done.stderr
    assert "AUTO_LAMBDA_TRACING=otel" in done.stderr
    assert "pip install 'auto-lambda[otel]'" in done.stderr
