"""Synthesizes the CDK app once per test process for each set of context values (synth
is slow: ~8 s cold, mostly importing aws_cdk; the CDK tests run together on one xdist
worker, see tests/conftest.py, so that import happens once).

`make test` installs the ``cdk`` extra, so the CDK libraries are always there under it.
Where they are missing (an install without the extra) the CDK tests are skipped, except
under CI (``CI=true``), where a missing library is a failure. The synthesized assembly
goes to a temporary directory, never infra/cdk/cdk.out.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra" / "cdk"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
if str(INFRA) not in sys.path:
    sys.path.insert(0, str(INFRA))

BAKED_AMI = "ami-0123456789abcdef0"
CDK_LIBRARIES = ("aws_cdk", "cdk_nag")


def require(module: str) -> ModuleType:
    """A third-party module of the ``cdk`` extra: skipped without it, loud under CI."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def require_cdk() -> None:
    for module in CDK_LIBRARIES:
        require(module)
TEAMS = "payments,search"
# The operator's team policy (the workers' AUTO_LAMBDA_TEAM_POLICY file); the stack reads
# the services of each team's boundary from it.
TEAM_POLICY = {"default": {"services": ["s3"]},
               "teams": {"payments": {"services": ["s3", "dynamodb", "cloudwatch"]}}}


@dataclass
class Synth:
    """One synthesized app: the stack, its template, cdk-nag's report and what it cost."""

    stack: Any
    template: Any  # aws_cdk.assertions.Template
    resources: dict[str, dict[str, Any]]
    template_path: Path
    report: dict[str, Any]
    synth_error: str | None
    acknowledgements: list[Any]
    seconds: float

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}


def synthesize(outdir: Path, **context: Any) -> Synth:
    from auto_lambda_infra import nag
    from auto_lambda_infra.entry import build, default_context
    from aws_cdk import App
    from aws_cdk.assertions import Template

    started = time.perf_counter()
    app = App(outdir=str(outdir), context={**default_context(), **context})
    stack = build(app, environ={})
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings fail synthesis as a RuntimeError
        error = str(exc)
    seconds = time.perf_counter() - started
    template_path = outdir / f"{stack.stack_name}.template.json"
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    # The template is written even when cdk-nag fails synthesis, so every other check still
    # runs and only the nag test reports the findings.
    document = json.loads(template_path.read_text())
    return Synth(
        stack=stack, template=Template.from_json(document), resources=document["Resources"],
        template_path=template_path,
        report=report, synth_error=error, acknowledgements=nag.acknowledgements(stack),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    require_cdk()
    out = tmp_path_factory.mktemp("cdk-out")
    policy = out.parent / "team-policy.json"
    policy.write_text(json.dumps(TEAM_POLICY))
    return synthesize(out, teams=TEAMS, team_policy_file=str(policy),
                      event_topic_teams="payments", webhook_teams="search")


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Phase two: the same app given the AMI the Image Builder pipeline produced."""
    require_cdk()
    return synthesize(tmp_path_factory.mktemp("cdk-out-baked"), worker_ami_id=BAKED_AMI)


@pytest.fixture(scope="session")
def tracking_warm(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The other scaling choice: target tracking only, with a warm pool of three."""
    require_cdk()
    return synthesize(tmp_path_factory.mktemp("cdk-out-tracking-warm"),
                      scaling_control="tracking", warm_pool_size=3)
