"""``auto-lambda events`` (the events auto-lambda put on its bus, newest last) and
``auto-lambda webhooks`` (the delivery of those events to the teams' webhooks)."""

from __future__ import annotations

import json
import time

import click

from orchestrator.cli import params
from orchestrator.config import Settings


@click.command()
@click.option("--since", default="1h", show_default=True, callback=params.duration,
              help="Events within DURATION (e.g. 30m, 2h, 1d).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="At most this many (the newest).")
@click.option("--team", help="Only this team's events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events (Ctrl-C stops).")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line (as delivered).")
def events(since: float | None, limit: int, team: str | None, follow: bool,
           as_json: bool) -> None:
    """Show the events auto-lambda put on its bus: one per job that ended, and one per
    rollout step (source auto-lambda; docs/results.md has their schemas).

    They are read from the log group a rule on the bus copies every event to.

    \b
    Example:
      auto-lambda events --since 2h --team payments
      auto-lambda events --json | jq .detail.state
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.errors import EventsLogMissing
    from orchestrator.feedback.eventlog import recent_events

    aws = Aws(Settings.from_env())
    since_ms = int((time.time() - (since or 3600.0)) * 1000)
    seen: set[str] = set()
    while True:
        found = recent_events(aws, since_ms=since_ms, limit=limit, team=team)
        if found is None:
            raise EventsLogMissing(f"no events log group {aws.settings.events_log_group}",
                                   hint="run `auto-lambda local up` (or deploy the CDK "
                                        "stack), which creates the bus and its log rule")
        for logged in found:
            ident = str(logged.event.get("id") or logged.detail.get("event_id"))
            if ident in seen:
                continue
            seen.add(ident)
            click.echo(json.dumps(logged.event, sort_keys=True) if as_json else logged.line())
        if not follow:
            return
        time.sleep(2.0)


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is queued now, then stop.")
@click.option("--dlq", is_flag=True, help="List the events that exhausted their retries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per delivery.")
def webhooks(once: bool, dlq: bool, as_json: bool) -> None:
    """Deliver auto-lambda's events to the teams' webhooks, signed with HMAC-SHA256.

    Reads the webhooks queue a rule on the bus fills, posts each event to its team's
    webhook (AUTO_LAMBDA_WEBHOOKS names the operator's file of URLs and secret
    references), retries failures with capped backoff, and leaves events that exhaust
    their retries in the webhooks dead-letter queue (--dlq lists them).

    \b
    Example:
      AUTO_LAMBDA_WEBHOOKS=webhooks.json auto-lambda webhooks
      auto-lambda webhooks --dlq --json
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.aws.queue import Queue
    from orchestrator.feedback.webhooks import Secrets, WebhookDelivery, load_webhooks

    settings = Settings.from_env()
    aws = Aws(settings)
    if dlq:
        queue = Queue(aws, aws.queue_url(settings.webhooks_dlq_name), "webhooks-dlq")
        for message in queue.receive(10, visibility=0):
            click.echo(message.body if as_json else _dlq_line(message.body))
        return
    hooks = load_webhooks(settings.webhooks_file)
    delivery = WebhookDelivery(Queue(aws, aws.queue_url(settings.webhooks_queue_name),
                                     "webhooks"), hooks, Secrets(aws))
    click.echo(f"delivering events to {len(hooks)} team webhook(s)", err=True)
    while True:
        done = delivery.poll_once(wait_seconds=0 if once else 10)
        for d in done:
            click.echo(json.dumps(d.__dict__) if as_json else
                       f"{d.outcome:<10} team {d.team or '-'} event {d.event_id[:12]} "
                       f"status {d.status} receive {d.receive_count}")
        if once and not done:
            return


def _dlq_line(body: str) -> str:
    try:
        event = json.loads(body)
        detail = event.get("detail") or {}
        return (f"{event.get('time', '?')}  {event.get('detail-type')}  team "
                f"{detail.get('team')}  job {str(detail.get('job_id'))[:12]}  "
                f"event {str(detail.get('event_id'))[:12]}")
    except (ValueError, AttributeError):
        return body[:200]


commands = [events, webhooks]
