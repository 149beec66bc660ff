"""Deploying to Lambda (moto in-process): create, publish, nothing to publish when live
already runs the package, update, promote, conflicts retried, gradual rollout rolled back."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS, Settings
from orchestrator.errors import DeployError, TransientError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.data import Artifact
from orchestrator.steps.deploy.step import DeployResult, deploy_function, live_version
from orchestrator.steps.promote.step import promote
from orchestrator.steps.unpack.manifest import AppSpec

ASSUME_LAMBDA = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
SPEC = AppSpec(name="hello", handler="app.handler", runtime="python3.12", memory=256,
               timeout=10, environment={"GREETING": "hi"})


@dataclasses.dataclass
class Stack:
    aws: Aws
    role_arn: str
    sleeps: list[float]

    def artifact(self, source: str) -> Artifact:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)), source)
        data = buf.getvalue()
        digest = hashlib.sha256(data)
        key = f"artifacts/hello/{digest.hexdigest()}.zip"
        bucket = self.aws.settings.artifacts_bucket
        self.aws.s3.put_object(Bucket=bucket, Key=key, Body=data)
        return Artifact(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key,
                        sha256=digest.hexdigest(), size=len(data),
                        code_sha256=base64.b64encode(digest.digest()).decode())

    def deploy(self, artifact: Artifact, spec: AppSpec = SPEC) -> DeployResult:
        return deploy_function(self.aws, spec, artifact, self.role_arn,
                               sleep=self.sleeps.append, clock=lambda: 0.0)

    def alias(self, name: str) -> dict[str, Any]:
        return dict(self.aws.lambda_.get_alias(FunctionName=name, Name=LIVE_ALIAS))


@pytest.fixture
def stack() -> Iterator[Stack]:
    # only what deploying needs (the full ensure_resources is covered elsewhere)
    with mock_aws():
        aws = Aws(Settings())
        aws.s3.create_bucket(Bucket=aws.settings.artifacts_bucket)
        role = aws.iam.create_role(RoleName=aws.settings.role_name,
                                   AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
        yield Stack(aws, role, [])


V1 = "def handler(event, context):\n    return {'v': 1}\n"
V2 = "def handler(event, context):\n    return {'v': 2}\n"


def test_first_deploy_creates_and_publishes_version_1(stack: Stack) -> None:
    artifact = stack.artifact(V1)
    result = stack.deploy(artifact)
    assert result.published is True
    assert result.version == "1"
    assert result.previous_live is None
    assert result.function_name == "auto-lambda-default-hello"
    assert result.function_arn.endswith(":function:auto-lambda-default-hello")
    assert result.code_sha256 == artifact.code_sha256
    cfg = stack.aws.lambda_.get_function_configuration(FunctionName=result.function_name,
                                                       Qualifier="1")
    assert cfg["Runtime"] == "python3.12" and cfg["Handler"] == "app.handler"
    assert cfg["MemorySize"] == 256 and cfg["Timeout"] == 10
    assert cfg["TracingConfig"] == {"Mode": "Active"}
    assert cfg["Architectures"] == ["x86_64"]
    assert cfg["Environment"]["Variables"] == {"GREETING": "hi"}
    assert cfg["Role"] == stack.role_arn


def test_same_artifact_again_publishes_nothing(stack: Stack) -> None:
    artifact = stack.artifact(V1)
    first = stack.deploy(artifact)
    promote(stack.aws, first.function_name, first.version)
    again = stack.deploy(artifact)
    assert again.published is False
    assert again.version == "1" == again.previous_live
    versions = stack.aws.lambda_.list_versions_by_function(FunctionName=first.function_name)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]
    assert DeployResult.from_dict(again.to_dict()) == again


def test_changed_code_publishes_version_2_and_promote_moves_live(stack: Stack) -> None:
    first = stack.deploy(stack.artifact(V1))
    promote(stack.aws, first.function_name, first.version)
    second = stack.deploy(stack.artifact(V2))
    assert (second.published, second.version, second.previous_live) == (True, "2", "1")
    assert live_version(stack.aws, first.function_name) == "1"
    promote(stack.aws, second.function_name, second.version)
    assert stack.alias(second.function_name)["FunctionVersion"] == "2"


def test_changed_configuration_alone_publishes_a_version(stack: Stack) -> None:
    artifact = stack.artifact(V1)
    first = stack.deploy(artifact)
    promote(stack.aws, first.function_name, first.version)
    bigger = stack.deploy(artifact, dataclasses.replace(SPEC, memory=512,
                                                        environment={"GREETING": "hey"}))
    assert bigger.published is True and bigger.version == "2"
    cfg = stack.aws.lambda_.get_function_configuration(FunctionName=first.function_name,
                                                       Qualifier="2")
    assert cfg["MemorySize"] == 512
    assert cfg["Environment"]["Variables"] == {"GREETING": "hey"}


def test_failed_verification_leaves_live_on_the_previous_version(stack: Stack) -> None:
    first = stack.deploy(stack.artifact(V1))
    promote(stack.aws, first.function_name, first.version)
    second = stack.deploy(stack.artifact(V2))
    # verification of version 2 failed: the pipeline does not call promote
    assert second.version == "2"
    assert live_version(stack.aws, first.function_name) == "1"
    # a later upload of the same broken code is compared with live (v1), not skipped as
    # deployed, and finds the version already published for it instead of a new one
    retry = stack.deploy(stack.artifact(V2))
    assert (retry.version, retry.published, retry.previous_live) == ("2", False, "1")
    versions = stack.aws.lambda_.list_versions_by_function(FunctionName=first.function_name)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1", "2"]


class FakeHttp:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


def failing(code: str, status: int, times: int | None) -> tuple[Any, list[str]]:
    """A before-call hook answering ``times`` calls with an AWS error (None: always)."""
    calls: list[str] = []

    def hook(**kwargs: Any) -> Any:
        calls.append(code)
        if times is not None and len(calls) > times:
            return None
        return FakeHttp(status), {"Error": {"Code": code, "Message": f"injected {code}"},
                                  "ResponseMetadata": {"HTTPStatusCode": status}}

    return hook, calls


def test_update_conflict_is_retried_with_backoff_and_succeeds(stack: Stack) -> None:
    stack.deploy(stack.artifact(V1))
    hook, calls = failing("ResourceConflictException", 409, times=2)
    stack.aws.lambda_.meta.events.register("before-call.lambda.UpdateFunctionCode", hook)
    result = stack.deploy(stack.artifact(V2))
    assert result.version == "2"
    assert len(calls) == 3
    assert stack.sleeps[:2] == [1.0, 2.0]


def test_endless_conflict_surfaces_as_transient_update_in_progress(stack: Stack) -> None:
    stack.deploy(stack.artifact(V1))
    hook, calls = failing("ResourceConflictException", 409, times=None)
    stack.aws.lambda_.meta.events.register("before-call.lambda.UpdateFunctionCode", hook)
    with pytest.raises(TransientError) as exc:
        stack.deploy(stack.artifact(V2))
    assert exc.value.code == "LambdaUpdateInProgress"
    assert len(calls) == 6


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("ThrottlingException", 429, "AwsThrottled"),
    ("ServiceException", 500, "AwsServerError"),
])
def test_transient_failures_carry_their_codes(stack: Stack, code: str, status: int,
                                              expected: str) -> None:
    hook, _ = failing(code, status, times=None)
    stack.aws.lambda_.meta.events.register("before-call.lambda.CreateFunction", hook)
    with pytest.raises(TransientError) as exc:
        stack.deploy(stack.artifact(V1))
    assert exc.value.code == expected


def test_unknown_role_is_role_not_found(stack: Stack) -> None:
    with pytest.raises(DeployError) as exc:
        deploy_function(stack.aws, SPEC, stack.artifact(V1),
                        "arn:aws:iam::123456789012:role/missing", sleep=stack.sleeps.append)
    assert exc.value.code == "RoleNotFound"


def test_oversize_package_fails_before_calling_lambda(stack: Stack) -> None:
    artifact = dataclasses.replace(stack.artifact(V1), size=LAMBDA_UNZIPPED_BYTES + 1)
    with pytest.raises(DeployError) as exc:
        stack.deploy(artifact)
    assert exc.value.code == "PackageTooLargeForLambda"
    with pytest.raises(Exception, match="Function not found"):
        stack.aws.lambda_.get_function(FunctionName="auto-lambda-default-hello")


def test_invalid_parameter_is_aws_validation_with_the_operation(stack: Stack) -> None:
    hook, _ = failing("InvalidParameterValueException", 400, times=None)
    stack.aws.lambda_.meta.events.register("before-call.lambda.CreateFunction", hook)
    with pytest.raises(AwsError) as exc:
        stack.deploy(stack.artifact(V1))
    assert exc.value.code == "AwsValidation"
    assert exc.value.aws_code == "InvalidParameterValueException"
    assert "lambda CreateFunction" in str(exc.value) and "auto-lambda.toml" in str(exc.value)


def test_promote_creates_then_updates_the_alias(stack: Stack) -> None:
    first = stack.deploy(stack.artifact(V1))
    assert live_version(stack.aws, first.function_name) is None
    promote(stack.aws, first.function_name, "1")
    second = stack.deploy(stack.artifact(V2))
    promote(stack.aws, second.function_name, "2")
    promote(stack.aws, second.function_name, "2")  # idempotent
    alias = stack.alias(first.function_name)
    assert alias["FunctionVersion"] == "2"
    assert (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {}) == {}


