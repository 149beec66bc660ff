"""Delivering auto-lambda's events to the operator's webhooks, one per team.

EventBridge cannot sign a request with a secret of ours, so a rule on the bus sends the
events to the webhooks queue, and this component (``auto-lambda webhooks``, a thread
of the local stack) posts each to its team's webhook, signed (``signing``). A delivery
that fails (no answer, a non-2xx status) stays in the queue and is received again after
a capped backoff by receive count (its visibility: ``orchestrator.retries.WEBHOOK_BACKOFF``);
after ``WEBHOOK_RECEIVES`` receives the queue's redrive moves it to the webhooks
dead-letter queue, where ``auto-lambda webhooks --dlq`` lists it. An event for a team
without a webhook is dropped. Receivers see an event at least once: the
``X-Auto-Lambda-Event-Id`` header (the detail's stable ``event_id``) names duplicates.

The configuration is the operator's JSON file (``AUTO_LAMBDA_WEBHOOKS``):
``{"teams": {"<team>": {"url": "https://...", "secret": "ssm:<name>" | "file:<path>"}}}``;
a secret is named by reference, never written in the file.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from orchestrator.aws.facade import Aws
from orchestrator.aws.queue import Message, Queue
from orchestrator.errors import AutoLambdaError, WebhookConfigInvalid, WebhookSecretMissing
from orchestrator.feedback import signing
from orchestrator.redact import cap
from orchestrator.retries import WEBHOOK_BACKOFF, Backoff, compute_backoff
from orchestrator.tenancy import DEFAULT_TEAM, team_of_key
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

POST_TIMEOUT = 10.0
MAX_VISIBILITY = 12 * 3600  # SQS's largest visibility timeout


@dataclass(frozen=True)
class Webhook:
    team: str
    url: str
    secret_ref: str


def load_webhooks(path: Path | None) -> dict[str, Webhook]:
    """The teams' webhooks from the operator's file (None: no file, no webhooks)."""
    if path is None:
        return {}
    hint = ('write {"teams": {"<team>": {"url": "https://...", "secret": "ssm:<name>"}}} '
            "(docs/results.md)")
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise WebhookConfigInvalid(f"cannot read the webhooks file {path}: {exc}",
                                   hint=hint) from exc
    teams = raw.get("teams") if isinstance(raw, dict) else None
    if not isinstance(teams, dict):
        raise WebhookConfigInvalid(f"{path}: no \"teams\" object", hint=hint)
    hooks: dict[str, Webhook] = {}
    for team, entry in teams.items():
        where = f"{path}: team {team!r}"
        try:
            valid = team == DEFAULT_TEAM or team_of_key(f"{team}/x.zip") == team
        except AutoLambdaError:
            valid = False
        if not valid:
            raise WebhookConfigInvalid(f"{where} is not a team name", hint=hint)
        if not isinstance(entry, dict):
            raise WebhookConfigInvalid(f"{where}: expected an object", hint=hint)
        url, secret = entry.get("url"), entry.get("secret")
        parts = urlsplit(url) if isinstance(url, str) else None
        if not isinstance(url, str) or parts is None or parts.scheme not in {"https", "http"} \
                or not parts.hostname:
            raise WebhookConfigInvalid(f"{where}: url must be an http(s) URL, got {url!r}",
                                       hint=hint)
        if not isinstance(secret, str) or not secret.startswith(("ssm:", "file:")) \
                or len(secret) < 6:
            raise WebhookConfigInvalid(
                f"{where}: secret must be a reference, ssm:<parameter> or file:<path>",
                hint="keep the secret in SSM Parameter Store (SecureString) or a file only "
                     "the worker reads, and name it here")
        hooks[team] = Webhook(team=team, url=url, secret_ref=secret)
    return hooks


@dataclass
class Secrets:
    """Resolves secret references (cached for ``ttl`` seconds, so a rotation lands)."""

    aws: Aws
    ttl: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, str]] = field(default_factory=dict, repr=False)

    def get(self, ref: str) -> str:
        hit = self._cache.get(ref)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        scheme, _, name = ref.partition(":")
        value: str | None
        if scheme == "ssm":
            value = self.aws.parameters.secret(name)
        else:
            try:
                value = Path(name).read_text("utf-8").strip()
            except OSError:
                value = None
        if not value:
            raise WebhookSecretMissing(f"the webhook secret {ref!r} could not be read",
                                       hint="create it (or fix the reference in the "
                                            "webhooks file); deliveries wait meanwhile")
        self._cache[ref] = (self.clock(), value)
        return value


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a webhook that redirects has failed: never follow it elsewhere


_OPENER = urllib.request.build_opener(_NoRedirects())

# (url, body, headers) -> HTTP status (0: no answer).
Post = Callable[[str, bytes, Mapping[str, str]], int]


def http_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """POST ``body``; the status, or 0 when nothing answered."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=POST_TIMEOUT) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.info("webhook %s: no answer (%s)", url, exc)
        return 0


@dataclass(frozen=True)
class Delivery:
    """One received event and what became of it."""

    event_id: str
    team: str | None
    outcome: str  # delivered | dropped | retry | unreadable
    status: int = 0
    receive_count: int = 1


def _team_of(event: JsonObject) -> str | None:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    team = detail.get("team")
    if isinstance(team, str) and team:
        return team
    key = (detail.get("upload") or {}).get("key") if isinstance(detail.get("upload"),
                                                                 dict) else None
    try:
        return team_of_key(key) if isinstance(key, str) and key else None
    except AutoLambdaError:
        return None


@dataclass
class WebhookDelivery:
    """Takes events from the webhooks queue and posts them to their teams' webhooks."""

    queue: Queue
    hooks: Mapping[str, Webhook]
    secrets: Secrets
    post: Post = http_post
    clock: Callable[[], float] = time.time
    backoff: Backoff = WEBHOOK_BACKOFF

    def poll_once(self, wait_seconds: int = 0) -> list[Delivery]:
        """Receive up to ten events and deliver each; what became of them."""
        return [self.handle(m) for m in self.queue.receive(10, wait_seconds=wait_seconds)]

    def handle(self, message: Message) -> Delivery:
        try:
            event = json.loads(message.body)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            log.error("webhooks: message %s is not an event; dropped", message.message_id)
            self.queue.delete(message.receipt)
            return Delivery(message.message_id, None, "unreadable")
        raw_detail = event.get("detail")
        detail: JsonObject = raw_detail if isinstance(raw_detail, dict) else {}
        event_id = str(detail.get("event_id") or event.get("id") or message.message_id)
        team = _team_of(event)
        hook = self.hooks.get(team) if team else None
        if hook is None:
            self.queue.delete(message.receipt)
            return Delivery(event_id, team, "dropped", receive_count=message.receive_count)
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        status = 0
        try:
            secret = self.secrets.get(hook.secret_ref)
            headers = signing.sign(secret, int(self.clock()), body, event_id,
                                   str(event.get("detail-type", "")))
            status = self.post(hook.url, body, headers)
        except AutoLambdaError as exc:
            log.error("webhook of team %s: [%s] %s", team, exc.code, cap(str(exc), 500))
        if 200 <= status < 300:
            self.queue.delete(message.receipt)
            log.info("webhook of team %s: event %s delivered (%d)", team, event_id, status)
            return Delivery(event_id, team, "delivered", status, message.receive_count)
        delay = math.ceil(compute_backoff(max(1, message.receive_count), self.backoff))
        self.queue.set_visibility(message.receipt, min(delay, MAX_VISIBILITY))
        log.warning("webhook of team %s: event %s failed (status %d, receive %d); again in "
                    "%d s", team, event_id, status, message.receive_count, delay)
        return Delivery(event_id, team, "retry", status, message.receive_count)
