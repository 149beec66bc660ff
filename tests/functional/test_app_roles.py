"""Each app's own role and its function's configuration, deployed on in-process moto:
the role is named after the function, bounded by its team's boundary, tagged, trusted by
Lambda only, and holds exactly the manifest's statements plus its own logs, X-Ray and
secrets; VPC (from the operator's profile), layers, /tmp and reserved concurrency are
applied and, when a key leaves the manifest, removed. A role auto-lambda did not make
for the team is refused; a role IAM has not propagated yet is waited for."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError
from orchestrator.policy import load_operator_policy
from orchestrator.steps.data import Artifact
from orchestrator.steps.deploy.approle import APP_POLICY, RUNTIME_POLICY, TRUST_POLICY
from orchestrator.steps.deploy.boundary import boundary_document
from orchestrator.steps.deploy.step import DeployResult, deploy_app
from orchestrator.steps.secrets.refs import SHIM_HANDLER
from orchestrator.steps.unpack.iampolicy import PolicyStatement
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import FunctionLimits, Permissions, SecretRef

ACCOUNT = "123456789012"
FUNCTION = "auto-lambda-payments-orders"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/auto-lambda/auto-lambda-boundary-payments"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
READ_ORDERS = PolicyStatement("Allow", ("dynamodb:GetItem", "dynamodb:Query"), (
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/auto-lambda-payments-orders",))
SPEC = AppSpec(name="orders", handler="app.handler", runtime="python3.12", team="payments",
               permissions=Permissions("policy.json", (READ_ORDERS,)))


@dataclass
class Env:
    aws: Aws
    layer: str
    sleeps: list[float]
    iam_writes: list[str]

    def artifact(self, source: str = "def handler(e, c):\n    return 1\n") -> Artifact:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("app.py", (2020, 1, 1, 0, 0, 0)), source)
        data = buf.getvalue()
        digest = hashlib.sha256(data)
        key = f"artifacts/orders/{digest.hexdigest()}.zip"
        bucket = self.aws.settings.artifacts_bucket
        self.aws.s3.put_object(Bucket=bucket, Key=key, Body=data)
        return Artifact(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key,
                        sha256=digest.hexdigest(), size=len(data),
                        code_sha256=base64.b64encode(digest.digest()).decode())

    def deploy(self, spec: AppSpec = SPEC, artifact: Artifact | None = None) -> DeployResult:
        return deploy_app(self.aws, spec, artifact or self.artifact(),
                          sleep=self.sleeps.append, clock=lambda: 0.0)

    def role(self) -> dict[str, Any]:
        return dict(self.aws.iam.get_role(RoleName=FUNCTION)["Role"])

    def policy(self, name: str) -> dict[str, Any]:
        return dict(self.aws.iam.get_role_policy(RoleName=FUNCTION,
                                                 PolicyName=name)["PolicyDocument"])

    def config(self) -> dict[str, Any]:
        return dict(self.aws.lambda_.get_function_configuration(FunctionName=FUNCTION))


@pytest.fixture
def env(tmp_path: Path, aws_env: None) -> Iterator[Env]:
    with mock_aws():
        bare = Aws(Settings())
        layer = bare.lambda_.publish_layer_version(
            LayerName="payments-common", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}
        )["LayerVersionArn"]
        policy = tmp_path / "teams.json"
        policy.write_text(json.dumps({"teams": {"payments": {
            "vpc_profiles": {"private": {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}},
            "layers": [layer], "max_reserved_concurrency": 10,
            "services": ["dynamodb", "s3"]}}}))
        aws = Aws(Settings(team_policy_file=policy, local_override=True))
        aws.s3.create_bucket(Bucket=aws.settings.artifacts_bucket)
        writes: list[str] = []

        def record(model: Any = None, **_: Any) -> None:
            if not model.name.startswith(("Get", "List")):
                writes.append(model.name)

        aws.iam.meta.events.register("before-call.iam", record)
        yield Env(aws, layer, [], writes)


def test_the_first_deploy_makes_the_apps_own_role_inside_its_teams_boundary(env: Env) -> None:
    result = env.deploy()
    role = env.role()
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/auto-lambda/apps/{FUNCTION}"
    assert role["Path"] == "/auto-lambda/apps/"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    assert role["AssumeRolePolicyDocument"] == TRUST_POLICY
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {
        "auto-lambda:managed": "true", "auto-lambda:team": "payments",
        "auto-lambda:app": "orders"}
    assert env.config()["Role"] == role["Arn"]
    assert result.function_name == FUNCTION
    # the manifest's statements, and only them, in the app policy
    assert env.policy(APP_POLICY) == SPEC.permissions.document()  # type: ignore[union-attr]
    # logs only to its own log group; X-Ray; nothing of other functions
    runtime = env.policy(RUNTIME_POLICY)["Statement"]
    (logs,) = [s for s in runtime if s["Sid"] == "OwnLogGroup"]
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{FUNCTION}"
    assert logs["Resource"] == [group, f"{group}:*"]
    assert {s["Sid"] for s in runtime} == {"OwnLogGroup", "Traces"}
    # locally the team's boundary is made on first use, from the operator's policy
    team = load_operator_policy(env.aws.settings.team_policy_file).for_team(
        "payments", "auto-lambda")
    held = env.aws.iam.get_policy_version(PolicyArn=BOUNDARY, VersionId="v1")
    assert held["PolicyVersion"]["Document"] == boundary_document(team, "aws")


def test_deploying_again_changes_no_role(env: Env) -> None:
    artifact = env.artifact()
    env.deploy(artifact=artifact)
    env.iam_writes.clear()
    again = env.deploy(artifact=artifact)
    assert env.iam_writes == []
    assert again.published is False


def test_the_role_is_reconciled_to_the_manifest(env: Env) -> None:
    env.deploy()
    iam = env.aws.iam
    # drift: another boundary, a widened trust, a planted policy
    other = iam.create_policy(PolicyName="wide", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=FUNCTION, PermissionsBoundary=other)
    iam.update_assume_role_policy(RoleName=FUNCTION, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=FUNCTION, PolicyName="planted", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    # ... and the manifest no longer asks for permissions
    env.deploy(replace(SPEC, permissions=None))
    role = env.role()
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    assert role["AssumeRolePolicyDocument"] == TRUST_POLICY
    names = iam.list_role_policies(RoleName=FUNCTION)["PolicyNames"]
    assert names == [RUNTIME_POLICY]


@pytest.mark.parametrize("tags", [
    {},                                                               # not ours at all
    {"auto-lambda:managed": "true", "auto-lambda:team": "shipping"},  # another team's
])
def test_a_role_auto_lambda_did_not_make_for_the_team_is_refused(
        env: Env, tags: dict[str, str]) -> None:
    env.aws.iam.create_role(RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(
        TRUST_POLICY), Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    with pytest.raises(AutoLambdaError) as info:
        env.deploy()
    assert info.value.code == "RoleNotOwned" and info.value.hint
    assert env.aws.iam.list_role_policies(RoleName=FUNCTION)["PolicyNames"] == []
    assert env.aws.lambda_.list_functions()["Functions"] == []


def test_another_teams_function_is_refused_before_any_role_is_made(env: Env) -> None:
    env.deploy()
    env.aws.lambda_.tag_resource(Resource=env.config()["FunctionArn"],
                                 Tags={"auto-lambda:team": "shipping"})
    env.aws.iam.delete_role_policy(RoleName=FUNCTION, PolicyName=APP_POLICY)
    with pytest.raises(AutoLambdaError) as info:
        env.deploy()
    assert info.value.code == "ForbiddenFunctionName"
    assert APP_POLICY not in env.aws.iam.list_role_policies(RoleName=FUNCTION)["PolicyNames"]


def test_the_function_gets_the_profiles_network_the_layers_tmp_and_concurrency(
        env: Env) -> None:
    spec = replace(SPEC, vpc="private", layers=(env.layer,),
                   limits=FunctionLimits(reserved_concurrency=5, ephemeral_storage=2048))
    env.deploy(spec)
    config = env.config()
    assert sorted(config["VpcConfig"]["SubnetIds"]) == SUBNETS
    assert config["VpcConfig"]["SecurityGroupIds"] == GROUPS
    assert [layer["Arn"] for layer in config["Layers"]] == [env.layer]
    assert config["EphemeralStorage"] == {"Size": 2048}
    concurrency = env.aws.lambda_.get_function_concurrency(FunctionName=FUNCTION)
    assert concurrency["ReservedConcurrentExecutions"] == 5
    # a VPC function's role may manage its network interfaces
    runtime = env.policy(RUNTIME_POLICY)["Statement"]
    assert "ec2:CreateNetworkInterface" in next(
        s for s in runtime if s["Sid"] == "VpcNetworkInterfaces")["Action"]
    # the published version carries the same configuration
    version = env.aws.lambda_.get_function_configuration(FunctionName=FUNCTION,
                                                         Qualifier="1")
    assert [layer["Arn"] for layer in version["Layers"]] == [env.layer]


def test_removing_the_keys_removes_the_settings(env: Env) -> None:
    artifact = env.artifact()
    env.deploy(replace(SPEC, vpc="private", layers=(env.layer,),
                       limits=FunctionLimits(reserved_concurrency=5, ephemeral_storage=2048)),
               artifact)
    sent: list[dict[str, Any]] = []
    env.aws.lambda_.meta.events.register(
        "before-parameter-build.lambda.UpdateFunctionConfiguration",
        lambda params=None, **_: sent.append(dict(params or {})))
    env.deploy(SPEC, artifact)
    config = env.config()
    assert config["VpcConfig"]["SubnetIds"] == [] and config["Layers"] == []
    assert "ReservedConcurrentExecutions" not in env.aws.lambda_.get_function_concurrency(
        FunctionName=FUNCTION)
    assert {s["Sid"] for s in env.policy(RUNTIME_POLICY)["Statement"]} == {"OwnLogGroup",
                                                                            "Traces"}
    # /tmp goes back to the default in the request (moto keeps the old size on update,
    # so the request is what can be checked here)
    assert sent and sent[-1]["EphemeralStorage"] == {"Size": 512}


def test_a_vpc_profile_the_operator_withdrew_is_refused_at_deploy(env: Env,
                                                                    tmp_path: Path) -> None:
    withdrawn = tmp_path / "withdrawn.json"
    withdrawn.write_text(json.dumps({"teams": {"payments": {"services": ["dynamodb"]}}}))
    env.aws.settings = replace(env.aws.settings, team_policy_file=withdrawn)
    with pytest.raises(AutoLambdaError) as info:
        env.deploy(replace(SPEC, vpc="private"))
    assert info.value.code == "VpcProfileUnknown"
    assert env.aws.lambda_.list_functions()["Functions"] == []


def test_a_role_lambda_cannot_assume_yet_is_waited_for(env: Env) -> None:
    calls: list[str] = []

    def not_yet(**_: Any) -> Any:
        calls.append("CreateFunction")
        if len(calls) > 2:
            return None

        class Http:
            status_code = 400
        return Http(), {"Error": {
            "Code": "InvalidParameterValueException",
            "Message": "The role defined for the function cannot be assumed by Lambda."},
            "ResponseMetadata": {"HTTPStatusCode": 400}}

    env.aws.lambda_.meta.events.register("before-call.lambda.CreateFunction", not_yet)
    result = env.deploy()
    assert result.version == "1" and len(calls) == 3
    assert env.sleeps[:2] == [1.0, 2.0]


def test_secrets_are_references_in_the_environment_and_exact_reads_in_the_role(
        env: Env) -> None:
    spec = replace(SPEC, secrets=(SecretRef("DB_URL", "ssm", "/payments/db-url"),
                                  SecretRef("API_KEY", "secretsmanager", "payments/api-key")))
    env.deploy(spec)
    config = env.config()
    variables = config["Environment"]["Variables"]
    assert config["Handler"] == SHIM_HANDLER
    assert variables["AUTO_LAMBDA_HANDLER"] == "app.handler"
    assert json.loads(variables["AUTO_LAMBDA_SECRETS"]) == {
        "DB_URL": "ssm:/payments/db-url", "API_KEY": "secretsmanager:payments/api-key"}
    assert "DB_URL" not in variables and "API_KEY" not in variables
    statements = {s["Sid"]: s for s in env.policy(RUNTIME_POLICY)["Statement"]}
    assert statements["ReadOwnParameters"]["Resource"] == [
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/payments/db-url"]
    assert statements["ReadOwnSecrets"]["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:payments/api-key-??????"]
    decrypt = statements["DecryptOwnParameters"]
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "ssm.us-east-1.amazonaws.com"}
    # removing the table removes the shim and the reads
    env.deploy(SPEC)
    assert env.config()["Handler"] == "app.handler"
    assert "ReadOwnParameters" not in {s["Sid"] for s in env.policy(RUNTIME_POLICY)[
        "Statement"]}
