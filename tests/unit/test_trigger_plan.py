"""The trigger planner is pure: desired vs current -> ordered actions."""

from __future__ import annotations

from orchestrator.aws.function_triggers import EventSourceMapping, UrlConfig
from orchestrator.aws.scheduler import Schedule
from orchestrator.steps.triggers.model import (
    PUBLIC_URL_PERMISSIONS,
    Current,
    Desired,
    Target,
    role_statements,
)
from orchestrator.steps.triggers.plan import (
    AddPermission,
    CreateMapping,
    DeleteMapping,
    DeleteSchedule,
    DeleteUrl,
    PutHttpApi,
    PutSchedule,
    PutUrl,
    RemovePermission,
    plan,
)
from orchestrator.steps.unpack.platform import ScheduleTrigger, SqsTrigger, UrlTrigger

TARGET = Target("auto-lambda-pay-app", "arn:aws:lambda:us-east-1:1:function:auto-lambda-pay-app",
                "pay", "app", "auto-lambda-pay")
QUEUE = "arn:aws:sqs:us-east-1:1:auto-lambda-pay-q"


def test_going_public_updates_the_url_before_adding_its_statements() -> None:
    actions = plan(Desired(url_auth="NONE"), Current(url=UrlConfig("https://x", "AWS_IAM")),
                   TARGET, scheduler_role_arn="")
    assert actions == [PutUrl("NONE", create=False),
                       *(AddPermission(p) for p in PUBLIC_URL_PERMISSIONS)]


def test_going_private_removes_the_public_statements_after_the_auth_change() -> None:
    current = Current(url=UrlConfig("https://x", "NONE"),
                      permissions={p.sid: p for p in PUBLIC_URL_PERMISSIONS})
    actions = plan(Desired(url_auth="AWS_IAM"), current, TARGET, scheduler_role_arn="")
    assert actions[0] == PutUrl("AWS_IAM", create=False)
    assert {type(a) for a in actions[1:]} == {RemovePermission}


def test_removed_triggers_are_deleted_last_and_extra_mappings_go() -> None:
    old = Schedule("auto-lambda-pay", "app-00000000", "rate(1 day)", TARGET.alias_arn)
    current = Current(url=UrlConfig("https://x", "AWS_IAM"), schedules={old.name: old},
                      mappings=(EventSourceMapping("u1", QUEUE, "f", "Enabled", 10),
                                EventSourceMapping("u2", QUEUE, "f", "Enabled", 10)))
    desired = Desired.of((ScheduleTrigger("rate(1 hour)"), SqsTrigger(QUEUE)), TARGET)
    actions = plan(desired, current, TARGET, scheduler_role_arn="role")
    assert isinstance(actions[0], PutSchedule) and actions[0].schedule.target_arn == \
        TARGET.alias_arn and actions[0].schedule.role_arn == "role"
    assert actions[1:] == [DeleteUrl(), DeleteSchedule("auto-lambda-pay", "app-00000000"),
                           DeleteMapping("u2", QUEUE)]
    assert not any(isinstance(a, CreateMapping | PutHttpApi) for a in actions)


def test_schedule_names_belong_to_their_app_only() -> None:
    name = TARGET.schedule_name("rate(1 hour)")
    assert TARGET.owns_schedule_name(name)
    other = Target("auto-lambda-pay-app-v2", "arn:aws:lambda:us-east-1:1:function:x", "pay",
                   "app-v2", "auto-lambda-pay")
    assert not TARGET.owns_schedule_name(other.schedule_name("rate(1 hour)"))


def test_an_sqs_trigger_gives_the_role_what_polling_needs() -> None:
    assert role_statements((UrlTrigger(),)) == []
    [statement] = role_statements((SqsTrigger(QUEUE), SqsTrigger(QUEUE)))
    assert statement["Resource"] == [QUEUE]
    assert "sqs:ReceiveMessage" in statement["Action"]  # type: ignore[operator]
