"""Writing what a team is told: the result object in the results bucket and the events
on auto-lambda's bus.

Every write here may be repeated harmlessly: the result object is the same bytes for
the same job run, and each event carries a stable ``event_id`` in its detail (a reader
that sees one twice drops the second). So a write whose answer was lost is simply sent
again, within ``orchestrator.retries.NOTIFY``'s tries and backoff; a failure that will
not pass (a missing bus or bucket, a refused request) is not retried. Nothing here
raises for a notice that failed: it returns what was delivered and logs the rest, since
the job it reports on is already saved and must never fail or be lost because of it.

A newer upload's result is never replaced by an older one's (an older job that ends
last): ``<team>/<app>.result.json`` keeps the result of the newest upload, and every
result is also kept under ``<team>/<app>.results/<upload version or job id>.json``, so
``auto-lambda wait`` finds the result of exactly the upload it waits for.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.errors import TransientError
from orchestrator.feedback import schema
from orchestrator.retries import NOTIFY_BACKOFF, NOTIFY_TRIES, compute_backoff
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """What one notice delivered: the result object's URI (None: not written) and the
    id EventBridge gave the event (None: not put)."""

    result_object: str | None
    event: str | None

    @property
    def complete(self) -> bool:
        return self.result_object is not None and self.event is not None


def per_upload_key(result: JsonObject) -> str:
    """``<team>/<app>.results/<upload version id or job id>.json``."""
    upload = result["upload"]
    stem = schema.result_key(str(upload["key"])).removesuffix(schema.RESULT_SUFFIX)
    return f"{stem}.results/{upload.get('version_id') or result['job_id']}.json"


@dataclass
class Publisher:
    aws: Aws
    sleep: Callable[[float], None] = time.sleep
    tries: int = NOTIFY_TRIES
    rand: Callable[[], float] = field(default=random.random, repr=False)

    @property
    def bucket(self) -> str:
        return self.aws.settings.results_bucket

    @property
    def bus(self) -> str:
        return self.aws.settings.event_bus_name

    def job_ended(self, result: JsonObject) -> Notice:
        """Write ``result`` (its team's object) and put its "Job Ended" event."""
        uri: str | None = None
        if result.get("team"):
            body = json.dumps(result, indent=2, sort_keys=True).encode()
            key = schema.result_key(str(result["upload"]["key"]))
            extra = per_upload_key(result)
            if self._try(f"result object {extra}", lambda: self._put(extra, body)):
                uri = f"s3://{self.bucket}/{extra}"
                self._try(f"result object {key}", lambda: self._put_latest(key, body, result))
        detail = schema.job_ended_detail(result, uri)
        event = self._try(f"event {schema.JOB_ENDED} {result['event_id']}",
                          lambda: self.aws.events.put(self.bus, schema.SOURCE, schema.JOB_ENDED,
                                                      detail, _resources(result)))
        return Notice(result_object=uri, event=event if isinstance(event, str) else None)

    def rollout_step(self, detail: JsonObject) -> str | None:
        """Put one "auto-lambda Rollout Step" event (``detail`` built by
        ``orchestrator.feedback.schema.rollout_step_detail``); its EventBridge id."""
        event = self._try(f"event {schema.ROLLOUT_STEP} {detail['event_id']}",
                          lambda: self.aws.events.put(self.bus, schema.SOURCE,
                                                      schema.ROLLOUT_STEP, detail,
                                                      _resources(detail)))
        return event if isinstance(event, str) else None

    # ---- internals ----
    def _put(self, key: str, body: bytes) -> bool:
        self.aws.objects.put(self.bucket, key, body, content_type="application/json")
        return True

    def _put_latest(self, key: str, body: bytes, result: JsonObject) -> bool:
        """Replace the app's latest result unless it holds a newer upload's."""
        current = self._read(key)
        if current is not None and current.get("job_id") != result["job_id"] and (
                str(current.get("created_at", "")) > str(result["created_at"])):
            log.info("result %s: keeping the newer upload's result (job %s) over job %s",
                     key, current.get("job_id"), result["job_id"])
            return True
        return self._put(key, body)

    def _read(self, key: str) -> JsonObject | None:
        got = self.aws.objects.get(self.bucket, key)
        if got is None:
            return None
        raw = b"".join(got.chunks(65_536))
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def _try(self, what: str, send: Callable[[], object]) -> object | None:
        """``send()`` until it works, a failure that will not pass, or the tries run
        out; its answer, or None (logged)."""
        for attempt in range(1, self.tries + 1):
            try:
                return send()
            except (AwsError, TransientError) as exc:
                retried = isinstance(exc, TransientError) or (
                    isinstance(exc, AwsError) and exc.retried)
                if not retried or attempt == self.tries:
                    log.error("could not deliver the %s (try %d of %d): [%s] %s", what,
                              attempt, self.tries, exc.code, exc)
                    return None
                delay = compute_backoff(attempt, NOTIFY_BACKOFF, jitter="FULL",
                                        rand=self.rand)
                log.warning("the %s failed (try %d of %d, [%s]); again in %.1f s", what,
                            attempt, self.tries, exc.code, delay)
                self.sleep(delay)
        return None


def publish_rollout_step(aws: Aws, **fields: object) -> str | None:
    """Put one "auto-lambda Rollout Step" event: ``fields`` are those of
    ``schema.rollout_step_detail`` (job_id, team, app, function_arn, version,
    previous_version, step, steps, weight, action, at). Never raises for a failed put
    (logged); the event's EventBridge id, or None."""
    return Publisher(aws).rollout_step(schema.rollout_step_detail(**fields))  # type: ignore[arg-type]


def _resources(doc: JsonObject) -> list[str]:
    arn = doc.get("function_arn")
    return [str(arn)] if arn else []
