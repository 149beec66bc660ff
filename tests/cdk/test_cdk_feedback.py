"""The results bucket, the event bus and its routes, read from the synthesized template."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cdk.conftest import Synth
from tests.cdk.helpers import actions, as_list, logical_id, role_statements, text

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"


def _bucket_policy(synth: Synth, bucket: Any) -> list[dict[str, Any]]:
    bucket_id = logical_id(synth, bucket)
    (policy,) = [p for p in synth.of_type("AWS::S3::BucketPolicy").values()
                 if text(p["Properties"]["Bucket"]).find(bucket_id) >= 0]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_results_bucket_is_private_encrypted_and_logged(synth: Synth) -> None:
    results = synth.resources[logical_id(synth, synth.stack.feedback.results)]["Properties"]
    assert results["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert results["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "LoggingConfiguration" in results


def test_each_team_reads_only_its_own_results(synth: Synth) -> None:
    stack = synth.stack
    statements = _bucket_policy(synth, stack.feedback.results)
    roles = stack.upload_roles
    worker = logical_id(synth, stack.worker_role)
    for team in ("payments", "search"):
        (deny,) = [s for s in statements if s.get("Sid") == f"OnlyTeam{team.capitalize()}"
                   "ReadsItsResults"]
        assert deny["Effect"] == "Deny" and actions(deny) == ["s3:GetObject"]
        assert f'/{team}/*"' in text(deny["Resource"])
        allowed = text(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
        assert logical_id(synth, roles[team]) in allowed and worker in allowed
        others = [t for t in roles if t != team]
        assert not any(logical_id(synth, roles[o]) in allowed for o in others)
        granted = [s for s in role_statements(synth, roles[team])
                   if "s3:GetObject" in actions(s)]
        assert [f'/{team}/*"' in text(s["Resource"]) for s in granted] == [True]
    (root,) = [s for s in statements if s.get("Sid") == "OnlyTheDefaultTeamReadsElsewhere"]
    assert root["Effect"] == "Deny"
    assert logical_id(synth, roles["default"]) in text(root["Condition"])


def test_worker_puts_events_on_the_own_bus_only(synth: Synth) -> None:
    bus = logical_id(synth, synth.stack.feedback.bus)
    putting = [s for s in role_statements(synth, synth.stack.worker_role)
               if "events:PutEvents" in actions(s)]
    assert putting and all(bus in text(s["Resource"]) for s in putting)
    (props,) = [r["Properties"] for r in synth.of_type("AWS::Events::EventBus").values()]
    assert props["Name"] == f"{PREFIX}-events"


def test_rules_route_every_event_to_the_log_and_teams_to_their_topic_and_webhook(
        synth: Synth) -> None:
    rules = {r["Properties"]["Name"]: r["Properties"]
             for r in synth.of_type("AWS::Events::Rule").values()}
    assert rules[f"{PREFIX}-events-log"]["EventPattern"] == {"source": ["auto-lambda"]}
    topic = rules[f"{PREFIX}-topic-payments"]
    assert topic["EventPattern"] == {"source": ["auto-lambda"], "detail": {"team": ["payments"]}}
    webhook = rules[f"{PREFIX}-webhook-search"]
    assert webhook["EventPattern"]["detail"] == {"team": ["search"]}
    queue = logical_id(synth, synth.stack.feedback.webhooks)
    assert any(queue in text(t["Arn"]) for t in webhook["Targets"])
    assert f"{PREFIX}-topic-search" not in rules and f"{PREFIX}-webhook-payments" not in rules
    for rule in rules.values():
        assert text(rule["EventBusName"]).find(logical_id(synth, synth.stack.feedback.bus)) >= 0


def test_webhooks_queue_redrives_to_its_dead_letter_queue(synth: Synth) -> None:
    feedback = synth.stack.feedback
    props = synth.resources[logical_id(synth, feedback.webhooks)]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == 8
    assert logical_id(synth, feedback.webhooks_dlq) in text(props["RedrivePolicy"])
    for queue in (feedback.webhooks, feedback.webhooks_dlq):
        assert synth.resources[logical_id(synth, queue)]["Properties"]["SqsManagedSseEnabled"]


def test_webhook_receives_match_the_runtime() -> None:
    from auto_lambda_infra.feedback import WEBHOOK_RECEIVES

    from orchestrator.retries import WEBHOOK_RECEIVES as RUNTIME

    assert as_list(WEBHOOK_RECEIVES) == as_list(RUNTIME)
