"""Arbitrary upload text in the new manifest fields is either refused with a stable code
or accepted into a canonical value that reads back as itself; nothing crashes with a raw
exception, and nothing accepted escapes its team."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.arn import parse_arn, parse_layer_arn, parse_queue_arn
from orchestrator.errors import ManifestError
from orchestrator.policy import TeamPolicy
from orchestrator.steps.unpack.checkpolicy import PolicyError, check_policy
from orchestrator.steps.unpack.iampolicy import parse_policy_document
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import (
    Permissions,
    parse_secret_reference,
    read_secrets,
    read_triggers,
    read_vpc,
)
from orchestrator.steps.unpack.schedule import check_schedule
from tests.conftest import examples

CODES = {"ManifestInvalid", "ArnInvalid", "SecretReferenceInvalid",
         "ScheduleExpressionInvalid", "PolicyDocumentInvalid"}
POLICY_CODES = {"LimitExceeded", "VpcProfileUnknown", "LayerNotAllowed", "TriggerNotAllowed",
                "PublicUrlNotAllowed", "ForbiddenQueue", "ForbiddenSecret",
                "PermissionsOutsideBoundary"}
TEAM = TeamPolicy(team="payments", prefix="auto-lambda", allow_public_urls=True,
                  services=("s3", "dynamodb", "ssm", "secretsmanager", "sqs"))
SPEC = AppSpec(name="app", handler="app.handler", team="payments")

# Text that looks like the real thing often enough to get past the first checks.
pieces = st.sampled_from([
    "rate(", "cron(", ")", " ", "1", "5", "0", "*", "?", "/", "-", ",", "#", "L", "W",
    "minute", "minutes", "hours", "day", "MON", "jan", "arn:", "aws:", "sqs:", "lambda:",
    "s3:", "us-east-1:", "123456789012:", "layer:", "x:", "3", "ssm:", "secretsmanager:",
    "payments/", "/payments/", "shipping/", "auto-lambda-payments-", "auto-lambda-", "..",
    "\n", "\x00", "é", "aws/",
])
texts = st.one_of(st.text(max_size=60), st.lists(pieces, max_size=12).map("".join))
values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | texts,
                      lambda c: st.lists(c, max_size=4) | st.dictionaries(texts, c, max_size=4),
                      max_leaves=12)

segment = st.text(alphabet="abxyz019_-", min_size=1, max_size=8) | st.text(
    alphabet="abxyz019_.-/ é*?", max_size=8)
secret_texts = values | st.builds(
    lambda store, root, parts: store + root + "/".join(parts),
    st.sampled_from(["ssm:", "secretsmanager:", "vault:", ""]),
    st.sampled_from(["/", "", "/payments/", "payments/", "/shipping/", "/aws/"]),
    st.lists(segment, max_size=3))
cron_tokens = st.sampled_from(["*", "?", "0", "5", "12", "31", "60", "0/15", "*/5", "1-5",
                               "MON-FRI", "jan", "L", "6L", "15W", "2#1", "1,2", "2199", ""])
schedule_texts = texts | st.builds(
    lambda n, unit: f"rate({n} {unit})", st.integers(-1, 3) | st.integers(),
    st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "weeks"])
) | st.lists(cron_tokens, min_size=4, max_size=7).map(lambda f: f"cron({' '.join(f)})")
arn_texts = values | st.builds(
    lambda service, region, account, resource: f"arn:aws:{service}:{region}:{account}:{resource}",
    st.sampled_from(["sqs", "lambda", "s3", "SQS"]),
    st.sampled_from(["us-east-1", "", "*", "eu-west-2"]),
    st.sampled_from(["123456789012", "", "12345"]),
    st.sampled_from(["auto-lambda-payments-in", "q.fifo", "layer:common:3", "layer:c:0",
                     "a b", "auto-lambda-shipping-in"]) | segment)


def refused_or(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except PolicyError as exc:
        assert exc.code in POLICY_CODES, exc.code
        return None
    except ManifestError as exc:
        assert exc.code in CODES, exc.code
        assert exc.hint, str(exc)
        return None


def fits(spec: AppSpec) -> bool:
    try:
        check_policy(spec, TEAM)
    except PolicyError as exc:
        assert exc.code in POLICY_CODES and exc.hint, exc.code
        return False
    return True


@settings(max_examples=examples(300), deadline=None)
@given(schedule_texts)
def test_schedule_expressions(text: str) -> None:
    canonical = refused_or(check_schedule, text, "e")
    if canonical is not None:
        assert check_schedule(canonical, "e") == canonical
        assert canonical.startswith(("rate(", "cron(")) and "\n" not in canonical


@settings(max_examples=examples(300), deadline=None)
@given(arn_texts)
def test_arns(value: Any) -> None:
    for parse in (parse_layer_arn, parse_queue_arn):
        arn = refused_or(parse, value, "k")
        if arn is not None:
            assert parse(str(arn), "k") == arn == parse_arn(value, "k")
            assert str(arn) == value


@settings(max_examples=examples(300), deadline=None)
@given(secret_texts)
def test_secret_references_and_the_team_check(value: Any) -> None:
    parsed = refused_or(parse_secret_reference, value, "[secrets].X")
    if parsed is None:
        return
    store, path = parsed
    assert f"{store}:{path}" == value and ".." not in path.split("/")
    secrets = read_secrets({"X": value}, {})
    spec = AppSpec(name="app", handler="app.handler", team="payments", secrets=secrets)
    own = (path.startswith("/payments/") if store == "ssm" else path.startswith("payments/"))
    assert fits(spec) == own, value


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["type", "auth", "expression", "queue", "x"]),
                                st.one_of(st.sampled_from(["url", "schedule", "sqs", "http",
                                                           "iam", "none"]), values),
                                max_size=3), max_size=4) | values)
def test_triggers(value: Any) -> None:
    triggers = refused_or(read_triggers, value)
    if triggers is None:
        return
    spec = AppSpec(name="app", handler="app.handler", team="payments", triggers=triggers)
    stored = json.loads(json.dumps(spec.to_dict()))
    assert AppSpec.from_dict(stored) == spec
    fits(spec)


@settings(max_examples=examples(200), deadline=None)
@given(values)
def test_vpc_profile_names(value: Any) -> None:
    name = refused_or(read_vpc, {"vpc": value})
    assert name is None or name == value


statements = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny", "allow"]) | values,
     "Action": st.sampled_from(["s3:GetObject", "iam:PassRole", "*", "s3:*"]) | values,
     "Resource": st.sampled_from(["*", "arn:aws:s3:::auto-lambda-payments-x/*",
                                  "arn:aws:s3:::auto-lambda-shipping-x/*"]) | values},
    optional={"Sid": values, "Condition": values, "NotAction": values})


@settings(max_examples=examples(300), deadline=None)
@given(st.fixed_dictionaries({"Version": st.just("2012-10-17") | values,
                              "Statement": st.lists(statements, max_size=3) | values}) | values)
def test_policy_documents_and_the_boundary(document: Any) -> None:
    parsed = refused_or(parse_policy_document, document, "policy.json")
    if parsed is None:
        return
    permissions = Permissions("policy.json", parsed)
    again = parse_policy_document(permissions.document(), "policy.json")
    assert again == parsed
    spec = AppSpec(name="app", handler="app.handler", team="payments",
                   permissions=permissions)
    assert AppSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    if not fits(spec):
        return
    for stmt in parsed:
        if stmt.effect != "Allow":
            continue
        assert all(a.split(":")[0] in TEAM.services for a in stmt.actions), stmt
        assert all(r == "*" or "auto-lambda-payments-" in r or "payments/" in r
                   for r in stmt.resources), stmt
