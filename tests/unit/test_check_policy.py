"""A parsed manifest against its team's policy: every refusal has its code and names the
key; the example app passes with its team's policy; the unpack step refuses before
anything is built or deployed."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from auto_lambda_dev.examples import example_dir
from orchestrator.config import Settings
from orchestrator.policy import TeamPolicy, VpcProfile, load_operator_policy
from orchestrator.steps.unpack import step as unpack_step
from orchestrator.steps.unpack.checkpolicy import PolicyError, check_policy
from orchestrator.steps.unpack.iampolicy import PolicyStatement
from orchestrator.steps.unpack.manifest import AppSpec, load_app_spec
from orchestrator.steps.unpack.platform import (
    FunctionLimits,
    HttpTrigger,
    Permissions,
    ScheduleTrigger,
    SecretRef,
    SqsTrigger,
    UrlTrigger,
)
from orchestrator.steps.workspace import JobFolder

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:payments-common:3"
PAYMENTS = {
    "default": {"max_memory": 3008, "max_timeout": 300, "services": ["s3"]},
    "teams": {"payments": {
        "vpc_profiles": {"private": {"subnet_ids": ["subnet-0123456789abcdef0"],
                                     "security_group_ids": ["sg-0123456789abcdef0"]}},
        "layers": [LAYER], "max_reserved_concurrency": 10, "allow_public_urls": True,
        "services": ["s3", "dynamodb", "cloudwatch"]}},
}
TEAM = TeamPolicy(team="payments", prefix="auto-lambda",
                  vpc_profiles={"private": VpcProfile(("subnet-0123456789abcdef0",),
                                                      ("sg-0123456789abcdef0",))},
                  layers=(LAYER,), max_memory=3008, max_timeout=300,
                  max_reserved_concurrency=10, services=("s3", "dynamodb", "cloudwatch"))
SPEC = AppSpec(name="app", handler="app.handler", team="payments")


def refused(spec: AppSpec, team: TeamPolicy = TEAM) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        check_policy(spec, team)
    assert info.value.hint
    return info.value


def allow(actions: tuple[str, ...], resources: tuple[str, ...]) -> AppSpec:
    stmt = PolicyStatement("Allow", actions, resources)
    return replace(SPEC, permissions=Permissions("policy.json", (stmt,)))


def test_the_example_app_passes_unpack_and_its_teams_policy(tmp_path: Path) -> None:
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(PAYMENTS))
    team = load_operator_policy(path).for_team("payments", "auto-lambda")
    spec = unpack_step.with_team(load_app_spec(example_dir("platform-app"), "platform-app.zip"),
                                 "payments/platform-app.zip", "auto-lambda")
    assert spec.team == "payments" and spec.vpc == "private" and spec.layers == (LAYER,)
    assert {t.type for t in spec.triggers} == {"url", "schedule", "sqs", "http"}
    assert spec.permissions is not None and spec.secrets and spec.limits.reserved_concurrency
    check_policy(spec, team)
    # ... and another team uploading it is refused: the names are payments'
    other = replace(spec, team="shipping")
    assert refused(other, load_operator_policy(path).for_team("shipping", "auto-lambda")
                   ).code in ("LimitExceeded", "VpcProfileUnknown", "LayerNotAllowed")


def test_a_plain_app_passes_the_safe_defaults() -> None:
    check_policy(SPEC, TeamPolicy(team="payments"))
    check_policy(replace(SPEC, triggers=(UrlTrigger(), ScheduleTrigger("rate(1 hour)"))),
                 TeamPolicy(team="payments"))


@pytest.mark.parametrize(("spec", "code", "names"), [
    (replace(SPEC, memory=4096), "LimitExceeded", "[function].memory"),
    (replace(SPEC, timeout=301), "LimitExceeded", "[function].timeout"),
    (replace(SPEC, limits=FunctionLimits(reserved_concurrency=11)), "LimitExceeded",
     "[function].reserved_concurrency"),
    (replace(SPEC, vpc="public"), "VpcProfileUnknown", "[function].vpc"),
    (replace(SPEC, layers=(LAYER[:-1] + "4",)), "LayerNotAllowed", "[function].layers[0]"),
    (replace(SPEC, triggers=(UrlTrigger("none"),)), "PublicUrlNotAllowed", "[[triggers]][0]"),
    (replace(SPEC, triggers=(UrlTrigger(), HttpTrigger("none"))), "PublicUrlNotAllowed",
     "[[triggers]][1]"),
    (replace(SPEC, triggers=(SqsTrigger("arn:aws:sqs:us-east-1:123456789012:shipping-in"),)),
     "ForbiddenQueue", "[[triggers]][0].queue"),
    (replace(SPEC, triggers=(SqsTrigger(
        "arn:aws:sqs:us-east-1:123456789012:auto-lambda-shipping-in"),)),
     "ForbiddenQueue", "[[triggers]][0].queue"),
    (replace(SPEC, secrets=(SecretRef("DB", "ssm", "/shipping/db"),)), "ForbiddenSecret",
     "[secrets].DB"),
    (replace(SPEC, secrets=(SecretRef("DB", "ssm", "/paymentsx/db"),)), "ForbiddenSecret",
     "[secrets].DB"),
    (replace(SPEC, secrets=(SecretRef("KEY", "secretsmanager", "shipping/key"),)),
     "ForbiddenSecret", "[secrets].KEY"),
    (replace(SPEC, secrets=(SecretRef("KEY", "secretsmanager", "/payments/key"),)),
     "ForbiddenSecret", "[secrets].KEY"),
    (allow(("sqs:SendMessage",), ("arn:aws:sqs:us-east-1:123456789012:auto-lambda-payments-q",)),
     "PermissionsOutsideBoundary", "Statement[0]"),
    (allow(("iam:PassRole",), ("arn:aws:iam::123456789012:role/auto-lambda-payments-r",)),
     "PermissionsOutsideBoundary", "iam:PassRole"),
    (allow(("s3:GetObject",), ("arn:aws:s3:::auto-lambda-shipping-data/*",)),
     "PermissionsOutsideBoundary", "auto-lambda-shipping-data"),
    (allow(("s3:GetObject",), ("arn:aws:s3:::auto-lambda-shipping-data/payments/*",)),
     "PermissionsOutsideBoundary", "shipping"),
    (allow(("s3:GetObject",), ("arn:aws:s3:::auto-lambda-pay*",)),
     "PermissionsOutsideBoundary", "auto-lambda-pay*"),
    (allow(("s3:GetObject",), ("arn:aws:s3:::*/auto-lambda-payments-x",)),
     "PermissionsOutsideBoundary", "Statement[0]"),
    (allow(("dynamodb:GetItem",), ("arn:aws:dynamodb:us-east-1:123456789012:*/auto-lambda-"
                                   "payments-t",)), "PermissionsOutsideBoundary", "dynamodb"),
    (allow(("dynamodb:GetItem",), ("arn:aws:dynamodb:us-east-1:123456789012:table/*",)),
     "PermissionsOutsideBoundary", "table/*"),
    (allow(("s3:GetObject",), ("*",)), "PermissionsOutsideBoundary", "\"*\""),
    (allow(("cloudwatch:PutMetricData", "s3:GetObject"), ("*",)),
     "PermissionsOutsideBoundary", "s3:GetObject"),
    (allow(("cloudwatch:Put*",), ("*",)), "PermissionsOutsideBoundary", "cloudwatch:Put*"),
])
def test_each_refusal_has_its_code_and_names_the_key(spec: AppSpec, code: str,
                                                     names: str) -> None:
    error = refused(spec)
    assert error.code == code and names in str(error), str(error)


def test_a_trigger_type_the_team_may_not_use() -> None:
    team = replace(TEAM, triggers=("url",))
    error = refused(replace(SPEC, triggers=(UrlTrigger(), ScheduleTrigger("rate(1 hour)"))),
                    team)
    assert error.code == "TriggerNotAllowed" and "[[triggers]][1]" in str(error)


def test_what_the_boundary_allows() -> None:
    for actions, resources in [
        (("s3:GetObject", "s3:Put*"), ("arn:aws:s3:::auto-lambda-payments-data/*",
                                       "arn:aws:s3:::auto-lambda-payments-data")),
        (("dynamodb:Query",), ("arn:aws:dynamodb:us-east-1:123456789012:table/"
                               "auto-lambda-payments-orders/index/*",)),
        (("cloudwatch:PutMetricData",), ("*",)),
    ]:
        check_policy(allow(actions, resources), TEAM)
    public = replace(TEAM, allow_public_urls=True, services=("ssm", "secretsmanager"))
    check_policy(replace(SPEC, triggers=(UrlTrigger("none"), HttpTrigger("none"))), public)
    check_policy(allow(("ssm:GetParameter",), (
        "arn:aws:ssm:us-east-1:123456789012:parameter/payments/db-url",)), public)
    check_policy(allow(("secretsmanager:GetSecretValue",), (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-key-*",)), public)
    # a Deny only takes away
    deny = PolicyStatement("Deny", ("iam:*",), ("*",))
    check_policy(replace(SPEC, permissions=Permissions("p.json", (deny,))), TEAM)


def test_a_policy_of_another_team_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_policy(replace(SPEC, team="shipping"), TEAM)


def test_iam_is_never_granted_even_if_listed() -> None:
    team = replace(TEAM, services=("iam", "sts"))  # the loader refuses this; be sure anyway
    error = refused(allow(("sts:AssumeRole",), (
        "arn:aws:iam::123456789012:role/auto-lambda-payments-x",)), team)
    assert error.code == "PermissionsOutsideBoundary"


def _zip(src: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(src).as_posix())
    return out


def _ctx(tmp_path: Path, key: str, settings: Settings) -> SimpleNamespace:
    return SimpleNamespace(folder=JobFolder(tmp_path / "job"),
                           input=SimpleNamespace(key=key),
                           env=SimpleNamespace(aws=SimpleNamespace(settings=settings)))


def test_the_unpack_step_refuses_before_anything_is_deployed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _zip(example_dir("platform-app"), tmp_path / "platform-app.zip")
    monkeypatch.setattr(unpack_step.rehydrate, "source_zip", lambda ctx: source)
    # the safe defaults: no VPC profile, no layers, no reserved concurrency
    ctx = _ctx(tmp_path, "payments/platform-app.zip", Settings())
    with pytest.raises(PolicyError) as info:
        unpack_step.run(ctx)  # type: ignore[arg-type]
    assert info.value.code == "LimitExceeded"
    assert not ctx.folder.unpacked_marker.exists()
    # the operator's policy for payments allows it
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(PAYMENTS))
    ctx = _ctx(tmp_path, "payments/platform-app.zip", Settings(team_policy_file=path))
    out = unpack_step.run(ctx)  # type: ignore[arg-type]
    assert out.app.team == "payments" and out.app.vpc == "private"
    assert ctx.folder.unpacked_marker.exists()


def test_the_demo_uploads_the_platform_app_as_its_team_under_the_shipped_policy() -> None:
    from auto_lambda_dev.examples import demo_dirs, team_policy_file, upload_key

    by_name = {d.name: d for d in demo_dirs()}
    assert upload_key(by_name["platform-app"]) == "payments/platform-app.zip"
    assert upload_key(by_name["hello"]) == "hello.zip"
    policy_file = team_policy_file()
    assert policy_file is not None
    spec = unpack_step.with_team(load_app_spec(by_name["platform-app"], "platform-app.zip"),
                                 "payments/platform-app.zip", "auto-lambda")
    check_policy(spec, load_operator_policy(policy_file).for_team("payments", "auto-lambda"))
