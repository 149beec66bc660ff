"""Webhooks: an event on the bus reaches the team's webhook on loopback, signed with
HMAC-SHA256, through failures (retried with backoff) or into the dead-letter queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from moto import mock_aws

from orchestrator.aws.facade import Aws
from orchestrator.aws.queue import Queue
from orchestrator.aws.resources import StackInfo, ensure_resources
from orchestrator.cli.main import cli
from orchestrator.config import Settings
from orchestrator.errors import WebhookConfigInvalid
from orchestrator.feedback import schema, signing
from orchestrator.feedback.eventlog import recent_events
from orchestrator.feedback.publish import Publisher, publish_rollout_step
from orchestrator.feedback.webhooks import Secrets, WebhookDelivery, http_post, load_webhooks
from orchestrator.retries import WEBHOOK_RECEIVES, Backoff

SECRET = "whsec-0123456789abcdef"
NO_WAIT = Backoff(base=0.0, factor=2.0, max_delay=0.0)  # received again at once


@dataclass
class Receiver:
    """A webhook on loopback that answers ``fail_first`` requests with 500 (or drops the
    connection, with ``drop``), then 204; it keeps what it was sent."""

    fail_first: int = 0
    drop: bool = False
    got: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    calls: int = 0
    url: str = ""

    def serve(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.calls += 1
                if receiver.calls <= receiver.fail_first:
                    if receiver.drop:
                        self.close_connection = True
                        self.connection.close()
                        return
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.got.append((body, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class Stack:
    aws: Aws
    info: StackInfo
    tmp: Path

    def delivery(self, receiver: Receiver, team: str = "alpha") -> WebhookDelivery:
        self.aws.client("ssm").put_parameter(Name=f"/hooks/{team}", Value=SECRET,
                                             Type="SecureString", Overwrite=True)
        config = self.tmp / "webhooks.json"
        config.write_text(json.dumps({"teams": {team: {
            "url": receiver.url, "secret": f"ssm:/hooks/{team}"}}}))
        queue = Queue(self.aws, self.info.webhooks_queue_url, "webhooks")
        return WebhookDelivery(queue, load_webhooks(config), Secrets(self.aws), http_post,
                               backoff=NO_WAIT)

    def publish(self, team: str = "alpha") -> dict[str, Any]:
        result = _result(team)
        assert Publisher(self.aws).job_ended(result).event is not None
        return result

    def depth(self, url: str) -> int:
        attrs = self.aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(v) for v in attrs["Attributes"].values())


def _result(team: str) -> dict[str, Any]:
    return {
        "schema": schema.RESULT_SCHEMA_ID, "event_id": schema.event_id(team, "job"),
        "job_id": "job-1", "workflow": "deployment", "team": team, "app": "hello",
        "upload": {"bucket": "b", "key": f"{team}/hello.zip", "version_id": "v1",
                   "etag": "e"},
        "state": "verified", "status": "SUCCEEDED", "ok": True, "function_arn": None,
        "version": "1", "alias": "live", "triggers": [], "error": None,
        "output_tail": None, "log": None, "run": 1, "redrive_count": 0,
        "created_at": "2026-12-07T10:00:00.000+00:00",
        "finished_at": "2026-12-07T10:01:00.000+00:00",
    }


@pytest.fixture
def stack(tmp_path: Path, aws_env: None) -> Iterator[Stack]:
    with mock_aws():
        aws = Aws(Settings())
        yield Stack(aws, ensure_resources(aws), tmp_path)


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    yield from Receiver(**getattr(request, "param", {})).serve()


def _deliver_until(delivery: WebhookDelivery, done: Any, polls: int = 30) -> list[str]:
    outcomes: list[str] = []
    for _ in range(polls):
        outcomes += [d.outcome for d in delivery.poll_once()]
        if done():
            break
    return outcomes


def test_a_team_webhook_gets_the_event_signed(stack: Stack, receiver: Receiver) -> None:
    delivery = stack.delivery(receiver)
    sent = stack.publish()
    assert _deliver_until(delivery, lambda: receiver.got) == ["delivered"]
    body, headers = receiver.got[0]
    assert signing.verify(SECRET, body, headers, time.time())
    assert not signing.verify("another-secret", body, headers, time.time())
    assert not signing.verify(SECRET, body + b" ", headers, time.time())
    event = json.loads(body)
    assert event["detail"]["event_id"] == sent["event_id"]
    assert headers[signing.EVENT_ID_HEADER] == sent["event_id"]
    assert event["detail-type"] == schema.JOB_ENDED
    assert stack.depth(stack.info.webhooks_queue_url) == 0


def test_events_of_teams_without_a_webhook_are_dropped(stack: Stack, receiver: Receiver) -> None:
    delivery = stack.delivery(receiver, team="alpha")
    stack.publish(team="beta")
    assert _deliver_until(delivery, lambda: False, polls=2) == ["dropped"]
    assert receiver.calls == 0 and stack.depth(stack.info.webhooks_queue_url) == 0


@pytest.mark.parametrize("receiver", [{"fail_first": 3}, {"fail_first": 2, "drop": True}],
                         indirect=True, ids=["500s", "dropped-connections"])
def test_failed_deliveries_are_retried_until_they_land(stack: Stack, receiver: Receiver) -> None:
    delivery = stack.delivery(receiver)
    stack.publish()
    outcomes = _deliver_until(delivery, lambda: receiver.got)
    assert outcomes == ["retry"] * receiver.fail_first + ["delivered"]
    assert len(receiver.got) == 1
    assert signing.verify(SECRET, *receiver.got[0], time.time())
    assert stack.depth(stack.info.webhooks_dlq_url) == 0


@pytest.mark.parametrize("receiver", [{"fail_first": 10_000}], indirect=True)
def test_an_event_that_exhausts_its_retries_lands_in_the_dead_letter_queue(
        stack: Stack, receiver: Receiver) -> None:
    delivery = stack.delivery(receiver)
    sent = stack.publish()
    outcomes = _deliver_until(delivery, lambda: stack.depth(stack.info.webhooks_dlq_url) > 0,
                              polls=WEBHOOK_RECEIVES + 3)
    assert outcomes == ["retry"] * WEBHOOK_RECEIVES
    assert receiver.calls == WEBHOOK_RECEIVES and not receiver.got
    dead = stack.aws.sqs.receive_message(QueueUrl=stack.info.webhooks_dlq_url)["Messages"]
    assert json.loads(dead[0]["Body"])["detail"]["event_id"] == sent["event_id"]
    assert stack.depth(stack.info.webhooks_queue_url) == 0


def test_backoff_between_receives_is_capped(stack: Stack, receiver: Receiver) -> None:
    receiver.fail_first = 1
    delivery = stack.delivery(receiver)
    delivery.backoff = Backoff(base=2.0, factor=2.0, max_delay=300.0)
    stack.publish()
    [first] = delivery.poll_once()
    assert first.outcome == "retry"
    assert delivery.poll_once() == []  # hidden for the backoff: not received again yet


@pytest.mark.parametrize(("config", "words"), [
    ({"teams": {"alpha": {"url": "ftp://x", "secret": "ssm:/a"}}}, "http(s) URL"),
    ({"teams": {"alpha": {"url": "https://x", "secret": "plain-secret"}}}, "reference"),
    ({"teams": {"Bad-Team": {"url": "https://x", "secret": "ssm:/a"}}}, "not a team"),
    ({"hooks": {}}, "no \"teams\""),
])
def test_a_bad_webhooks_file_is_refused_with_its_code(tmp_path: Path, config: dict[str, Any],
                                                      words: str) -> None:
    path = tmp_path / "webhooks.json"
    path.write_text(json.dumps(config))
    with pytest.raises(WebhookConfigInvalid, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_webhooks(path)


def test_rollout_steps_reach_the_webhook_and_the_event_log(stack: Stack,
                                                           receiver: Receiver) -> None:
    delivery = stack.delivery(receiver)
    assert publish_rollout_step(
        stack.aws, job_id="job-1", team="alpha", app="hello", function_arn=None,
        version="2", previous_version="1", step=1, steps=3, weight=0.1, action="shifted",
        at="2026-12-07T10:00:00+00:00") is not None
    ended = stack.publish()
    assert _deliver_until(delivery, lambda: len(receiver.got) == 2) == ["delivered"] * 2
    kinds = sorted(json.loads(body)["detail-type"] for body, _ in receiver.got)
    assert kinds == sorted(schema.DETAIL_TYPES)
    step = next(json.loads(b) for b, _ in receiver.got
                if json.loads(b)["detail-type"] == schema.ROLLOUT_STEP)
    assert schema.validate(step["detail"], schema.ROLLOUT_STEP_SCHEMA) == []

    logged = recent_events(stack.aws, since_ms=0)
    assert logged is not None
    assert sorted(e.detail_type for e in logged) == sorted(schema.DETAIL_TYPES)
    assert [e.detail["event_id"] for e in logged if e.detail_type == schema.JOB_ENDED] == [
        ended["event_id"]]
    assert recent_events(stack.aws, since_ms=0, team="beta") == []
    assert all("alpha/hello" in e.line() for e in logged)

    shown = CliRunner().invoke(cli, ["events", "--json", "--since", "1h", "--team", "alpha"])
    assert shown.exit_code == 0, shown.output
    assert sorted(json.loads(line)["detail-type"] for line in shown.stdout.splitlines()) == \
        sorted(schema.DETAIL_TYPES)
