"""Triggers on ``live``, reconciled plan-then-apply against in-process moto: each kind is
made on the alias, a second run changes nothing, a trigger removed from the manifest is
removed from AWS, and moving ``live`` (a rollback) leaves every trigger on the alias."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import pytest
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_scheduler_role
from orchestrator.config import LIVE_ALIAS, Settings
from orchestrator.errors import AutoLambdaError
from orchestrator.steps.triggers.model import SID_HTTP, SID_URL_PUBLIC, Target
from orchestrator.steps.triggers.plan import PutUrl
from orchestrator.steps.triggers.reconcile import (
    plan_triggers,
    reconcile,
    remove_triggers,
    target_of,
)
from orchestrator.steps.unpack.platform import (
    HttpTrigger,
    ScheduleTrigger,
    SqsTrigger,
    Trigger,
    UrlTrigger,
)
from orchestrator.tenancy import ownership_tags

TEAM, APP = "payments", "platform-app"
QUEUE = "auto-lambda-payments-orders"


@dataclass
class Env:
    aws: Aws
    target: Target
    queue_arn: str

    def publish(self, body: str) -> str:
        lam = self.aws.lambda_
        lam.update_function_code(FunctionName=self.target.function_name, ZipFile=_zip(body))
        return str(lam.publish_version(FunctionName=self.target.function_name)["Version"])


def _zip(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", body)
    return buf.getvalue()


@pytest.fixture
def env(aws_env: None) -> Iterator[Env]:
    with mock_aws():
        aws = Aws(Settings(region="us-east-1"))
        ensure_scheduler_role(aws)
        role = aws.iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        name = aws.settings.function_name(APP, TEAM)
        fn = aws.lambda_.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": _zip("def handler(e, c):\n    return 1\n")},
            Tags=ownership_tags(TEAM, APP))
        version = aws.lambda_.publish_version(FunctionName=name)["Version"]
        aws.functions.point_alias(name, LIVE_ALIAS, version)
        url = aws.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = aws.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        target = target_of(aws, function_name=name, function_arn=fn["FunctionArn"],
                           team=TEAM, app=APP)
        yield Env(aws, target, queue_arn)


def _all(env: Env, *, url: str = "iam", http: str = "iam",
         expression: str = "rate(5 minutes)") -> tuple[Trigger, ...]:
    return (UrlTrigger(url), ScheduleTrigger(expression), SqsTrigger(env.queue_arn),
            HttpTrigger(http))


def _schedules(env: Env) -> list[dict[str, Any]]:
    client = env.aws.client("scheduler")
    out = []
    for summary in client.list_schedules(GroupName=env.target.schedule_group)["Schedules"]:
        out.append(client.get_schedule(GroupName=summary["GroupName"], Name=summary["Name"]))
    return out


def _policy(env: Env) -> dict[str, Any]:
    try:
        raw = env.aws.lambda_.get_policy(FunctionName=env.target.function_name,
                                         Qualifier=LIVE_ALIAS)["Policy"]
    except botocore.exceptions.ClientError:
        return {}
    return {s["Sid"]: s for s in json.loads(raw)["Statement"]}


def _apis(env: Env) -> list[dict[str, Any]]:
    return [a for a in env.aws.client("apigatewayv2").get_apis()["Items"]
            if a["Name"] == env.target.function_name]


def test_every_trigger_is_made_on_the_live_alias(env: Env) -> None:
    # moto keeps one URL per function whatever the qualifier: the request says where
    sent: list[dict[str, Any]] = []
    env.aws.lambda_.meta.events.register(
        "provide-client-params.lambda.CreateFunctionUrlConfig",
        lambda params, **_: sent.append(dict(params)))
    report = reconcile(env.aws, env.target, _all(env))
    name, alias_arn = env.target.function_name, env.target.alias_arn
    lam = env.aws.lambda_

    assert [p["Qualifier"] for p in sent] == [LIVE_ALIAS]
    url = lam.get_function_url_config(FunctionName=name, Qualifier=LIVE_ALIAS)
    assert url["AuthType"] == "AWS_IAM"

    [schedule] = _schedules(env)
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Target"]["Arn"] == alias_arn
    assert schedule["Target"]["RoleArn"].endswith(f"role/{env.aws.settings.scheduler_role_name}")
    assert json.loads(schedule["Target"]["Input"])["source"] == "auto-lambda.schedule"

    mappings = lam.list_event_source_mappings(FunctionName=f"{name}:{LIVE_ALIAS}")
    assert [m["EventSourceArn"] for m in mappings["EventSourceMappings"]] == [env.queue_arn]

    [api] = _apis(env)
    apigw = env.aws.client("apigatewayv2")
    [integration] = apigw.get_integrations(ApiId=api["ApiId"])["Items"]
    assert integration["IntegrationUri"] == alias_arn
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    [route] = apigw.get_routes(ApiId=api["ApiId"])["Items"]
    assert (route["RouteKey"], route["AuthorizationType"]) == ("$default", "AWS_IAM")
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    assert [s["StageName"] for s in apigw.get_stages(ApiId=api["ApiId"])["Items"]] == ["$default"]
    permission = _policy(env)[SID_HTTP]
    assert permission["Principal"] in ("apigateway.amazonaws.com",
                                       {"Service": "apigateway.amazonaws.com"})
    assert SID_URL_PUBLIC not in _policy(env)  # auth iam: no public statement

    by_type = {t["type"]: t for t in report.triggers}
    assert by_type["url"]["url"] == url["FunctionUrl"]
    assert by_type["http"]["url"] == api["ApiEndpoint"] + "/"
    assert by_type["schedule"]["expression"] == "rate(5 minutes)"
    assert by_type["sqs"]["queue"] == env.queue_arn
    assert len(report.changes) == 4


def test_a_second_run_plans_nothing(env: Env) -> None:
    reconcile(env.aws, env.target, _all(env))
    actions, _ = plan_triggers(env.aws, env.target, _all(env))
    assert actions == []
    again = reconcile(env.aws, env.target, _all(env))
    assert again.changes == ()
    assert len(_apis(env)) == 1 and len(_schedules(env)) == 1


def test_removing_triggers_from_the_manifest_removes_them_from_aws(env: Env) -> None:
    reconcile(env.aws, env.target, _all(env, url="none"))
    assert SID_URL_PUBLIC in _policy(env)

    # the schedule and the queue go; the URL and the API stay
    kept = (UrlTrigger("none"), HttpTrigger("iam"))
    report = reconcile(env.aws, env.target, kept)
    assert [c.split(" (")[0] for c in report.changes] == [
        f"delete schedule {env.target.schedule_name('rate(5 minutes)')}",
        f"delete sqs mapping from {env.queue_arn}"]
    assert _schedules(env) == []
    assert env.aws.lambda_.list_event_source_mappings(
        FunctionName=env.target.qualified_name)["EventSourceMappings"] == []
    assert len(_apis(env)) == 1

    remove_triggers(env.aws, env.target)
    with pytest.raises(botocore.exceptions.ClientError):
        env.aws.lambda_.get_function_url_config(FunctionName=env.target.function_name,
                                                Qualifier=LIVE_ALIAS)
    assert _apis(env) == []
    assert not any(sid.startswith("auto-lambda-") for sid in _policy(env))
    assert plan_triggers(env.aws, env.target, ())[0] == []


def test_auth_changes_update_the_url_and_its_public_permissions(env: Env) -> None:
    reconcile(env.aws, env.target, (UrlTrigger("iam"),))
    first = env.aws.functions.get_url_config(env.target.function_name, LIVE_ALIAS)
    report = reconcile(env.aws, env.target, (UrlTrigger("none"),))
    assert report.changes[0] == "update url (auth none)"
    public = _policy(env)[SID_URL_PUBLIC]
    assert public["Action"] == "lambda:InvokeFunctionUrl" and public["Principal"] == "*"
    assert public["Resource"] == env.target.alias_arn
    again = env.aws.functions.get_url_config(env.target.function_name, LIVE_ALIAS)
    assert again is not None and first is not None and again.url == first.url  # same URL

    reconcile(env.aws, env.target, (UrlTrigger("iam"),))
    assert SID_URL_PUBLIC not in _policy(env)
    config = env.aws.functions.get_url_config(env.target.function_name, LIVE_ALIAS)
    assert config is not None and config.auth_type == "AWS_IAM"


def test_a_new_schedule_expression_replaces_the_old_schedule(env: Env) -> None:
    reconcile(env.aws, env.target, (ScheduleTrigger("rate(5 minutes)"),))
    reconcile(env.aws, env.target, (ScheduleTrigger("cron(0 18 ? * MON-FRI *)"),))
    assert [s["ScheduleExpression"] for s in _schedules(env)] == ["cron(0 18 ? * MON-FRI *)"]


def test_moving_live_moves_every_trigger_with_it(env: Env) -> None:
    """A rollback or a new promote only moves the alias: the triggers are on ``live``, so
    the plan after the move is empty and each trigger still names the alias, which now
    resolves to the other version."""
    before = reconcile(env.aws, env.target, _all(env))
    old = env.aws.functions.alias_version(env.target.function_name, LIVE_ALIAS)
    new = env.publish("def handler(e, c):\n    return 2\n")
    env.aws.functions.point_alias(env.target.function_name, LIVE_ALIAS, new)
    assert plan_triggers(env.aws, env.target, _all(env))[0] == []
    env.aws.functions.point_alias(env.target.function_name, LIVE_ALIAS, old)  # rollback
    assert plan_triggers(env.aws, env.target, _all(env))[0] == []
    env.aws.functions.point_alias(env.target.function_name, LIVE_ALIAS, new)

    after = reconcile(env.aws, env.target, _all(env))
    assert after.triggers == before.triggers and after.changes == ()
    [schedule] = _schedules(env)
    assert schedule["Target"]["Arn"] == env.target.alias_arn
    [api] = _apis(env)
    [integration] = env.aws.client("apigatewayv2").get_integrations(ApiId=api["ApiId"])["Items"]
    assert integration["IntegrationUri"] == env.target.alias_arn
    # what the alias ARN reaches now: the new version
    assert env.aws.functions.alias_version(env.target.function_name, LIVE_ALIAS) == new


def test_a_dry_run_plans_without_writing(env: Env) -> None:
    report = reconcile(env.aws, env.target, _all(env), dry_run=True)
    assert sorted(c.split(" ")[1] for c in report.changes) == ["http", "schedule", "sqs", "url"]
    assert report.triggers == ()
    assert _apis(env) == [] and _schedules(env) == []


def test_a_lost_answer_is_read_back_not_repeated(env: Env) -> None:
    """The URL and the API are made, then their answers are lost: the doors read them
    back, so the job carries on and nothing is made twice."""
    lost: list[str] = []

    def lose(event_name: str, **_: Any) -> None:
        lost.append(event_name)
        raise botocore.exceptions.ConnectionClosedError(endpoint_url="https://lost")

    for client, event in ((env.aws.lambda_, "after-call.lambda.CreateFunctionUrlConfig"),
                          (env.aws.client("apigatewayv2"), "after-call.apigatewayv2.CreateApi"),
                          (env.aws.lambda_, "after-call.lambda.CreateEventSourceMapping")):
        client.meta.events.register(event, lose, unique_id=f"lose-{event}")
    report = reconcile(env.aws, env.target, _all(env))
    for client, event in ((env.aws.lambda_, "after-call.lambda.CreateFunctionUrlConfig"),
                          (env.aws.client("apigatewayv2"), "after-call.apigatewayv2.CreateApi"),
                          (env.aws.lambda_, "after-call.lambda.CreateEventSourceMapping")):
        client.meta.events.unregister(event, unique_id=f"lose-{event}")
    assert len(lost) == 3
    assert len(_apis(env)) == 1
    assert len(env.aws.lambda_.list_event_source_mappings(
        FunctionName=env.target.qualified_name)["EventSourceMappings"]) == 1
    assert {t["type"] for t in report.triggers} == {"url", "schedule", "sqs", "http"}


def test_a_schedule_without_the_scheduler_role_fails_with_its_code(env: Env) -> None:
    env.aws.iam.delete_role_policy(RoleName=env.aws.settings.scheduler_role_name,
                                   PolicyName="invoke-live")
    env.aws.iam.delete_role(RoleName=env.aws.settings.scheduler_role_name)
    with pytest.raises(AutoLambdaError) as caught:
        reconcile(env.aws, env.target, (ScheduleTrigger("rate(1 hour)"),))
    assert caught.value.code == "SchedulerRoleNotFound"
    assert "AUTO_LAMBDA_SCHEDULER_ROLE_ARN" in (caught.value.hint or "")
    # the other triggers need no role
    assert isinstance(plan_triggers(env.aws, env.target, (UrlTrigger(),))[0][0], PutUrl)


def test_replay_dry_run_shows_each_jobs_trigger_plan(env: Env) -> None:
    from types import SimpleNamespace

    from orchestrator.jobs.replay import Action
    from orchestrator.jobs.trigger_plans import trigger_plans
    from orchestrator.steps.deploy.step import DeployResult
    from orchestrator.steps.unpack.manifest import AppSpec

    reconcile(env.aws, env.target, _all(env))
    spec = AppSpec(name=APP, handler="app.handler", team=TEAM,
                   triggers=(UrlTrigger("iam"), SqsTrigger(env.queue_arn)))
    deployed = DeployResult(env.target.function_name, env.target.function_arn, "1", "", True,
                            None)
    records = {"j1": SimpleNamespace(snapshot={"data": {"app": spec.to_json(),
                                                        "deploy": deployed.to_json()}}),
               "j2": SimpleNamespace(snapshot={"data": {"app": spec.to_json()}})}
    actions = [Action("redrive", "", job_id="j1"), Action("restart", "", job_id="j2"),
               Action("skip", "", job_id="j3")]
    plans = trigger_plans(env.aws, records.get, actions)  # type: ignore[arg-type]
    assert list(plans) == ["j1"]  # j2 has not deployed: its function is not known yet
    assert sorted(c.split(" ")[1] for c in plans["j1"]) == ["http", "permission", "schedule"]
    assert all(c.startswith(("delete", "remove")) for c in plans["j1"])
    assert len(_apis(env)) == 1  # planned, not applied
