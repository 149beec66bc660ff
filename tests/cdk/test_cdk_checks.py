"""Static checks over the synthesized app: cdk-nag (AwsSolutions) and cfn-lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cdk.conftest import Synth, require, require_cdk

pytestmark = pytest.mark.cdk


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synth) -> None:
    (report,) = synth.report["pluginReports"]  # written whether synthesis passed or not
    assert report["pluginName"] == "AwsSolutions"
    unacknowledged = [
        (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
        for v in report["violations"]
    ]
    assert unacknowledged == []
    assert report["conclusion"] == "success"
    assert synth.synth_error is None


def test_every_acknowledgement_is_used_and_explained(synth: Synth) -> None:
    (report,) = synth.report["pluginReports"]
    used = {v["acknowledgedId"] for v in report["suppressedViolations"]}
    for item in synth.acknowledgements:
        assert item.id in used, f"stale acknowledgement {item.id}"
        assert len(item.reason) >= 40, item.id
    for suppressed in report["suppressedViolations"]:
        assert suppressed["reason"].strip()


def test_nag_findings_fail_synthesis(tmp_path: Path) -> None:
    """The harness above can fail: an unacknowledged finding stops synthesis."""
    require_cdk()
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bare")
    sqs.Queue(stack, "Plain")  # no DLQ, no TLS-only policy
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "AwsSolutions-SQS3" in str(failure.value)
    assert "AwsSolutions-SQS4" in str(failure.value)


def test_cfn_lint_finds_nothing_but_cdks_own_depends_on(synth: Synth) -> None:
    api = require("cfnlint.api")
    everything = api.lint_file(synth.template_path)
    # W3005: CDK adds DependsOn that a GetAtt already implies; nothing else is ignored.
    findings = [str(m) for m in everything if m.rule.id != "W3005"]
    assert findings == []
