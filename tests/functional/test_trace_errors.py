"""`auto-lambda trace` says why X-Ray could not be read, with the error's code."""

from __future__ import annotations

from typing import Any

from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.cli.cmd_trace import _print_xray, fetch_xray
from orchestrator.cli.console import console
from orchestrator.config import Settings


def _deny(**_: Any) -> dict[str, Any]:
    import botocore.exceptions

    raise botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"},
         "ResponseMetadata": {"HTTPStatusCode": 403}}, "BatchGetTraces")


def test_an_xray_refusal_is_reported_with_its_code(aws_env: None, capsys: Any) -> None:
    with mock_aws():
        aws = Aws(Settings.from_env({"AWS_REGION": "us-east-1"}))
        aws.xray.meta.events.register("before-call.xray.BatchGetTraces", _deny)
        result = fetch_xray(aws, "1-5759e988-bd862e3fe1be46a994272793", [])
    assert result["found"] is False
    assert result["error_code"] == "AwsAccessDenied"
    assert "AccessDeniedException" in result["error"] and "BatchGetTraces" in result["error"]
    _print_xray(console(), result)
    assert "[AwsAccessDenied]" in capsys.readouterr().out
