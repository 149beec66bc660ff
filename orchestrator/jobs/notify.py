"""The "job ended" notifier: when a job reaches a terminal state (any workflow, any
terminal state), the runner hands it the saved record, and it tells the team: the result
object and the "auto-lambda Job Ended" event (``orchestrator.feedback``, docs/results.md).

``result_of`` reads only the record (its summary, its execution's data and error), so
any workflow's job is reported the same way. The runner notes the event id it delivered
in the record (``notified``), so a job whose notice was cut short (its worker died
after saving the terminal state) is reported by the next delivery of its message, and
a notice sent twice is the same notice (same bytes, same event id). A notice that fails
is logged, never raised: the job is already saved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import AutoLambdaError
from orchestrator.feedback import schema
from orchestrator.feedback.publish import Notice, Publisher
from orchestrator.jobs.record import JobRecord
from orchestrator.redact import cap, redact
from orchestrator.tenancy import team_of_key
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

MESSAGE_CHARS = 1_000
DEFAULT_WORKFLOW = "deployment"

# The link to a job's build log (an s3:// URI), or None while there is none.
LogLink = Callable[[JobRecord], str | None]


def _iso(ts: float | None) -> str:
    return datetime.fromtimestamp(ts or 0.0, UTC).isoformat(timespec="milliseconds")


def _team(key: str) -> str | None:
    try:
        return team_of_key(key) if key else None
    except AutoLambdaError:
        return None


def split_hint(cause: str) -> tuple[str, str | None]:
    """A coded error's text is ``message (hint)``: the two apart (no hint: None)."""
    text = cause.rstrip()
    if not text.endswith(")"):
        return cause, None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            if i > 0 and text[i - 1] == " ":
                return text[:i - 1], text[i + 1:-1] or None
            return cause, None
    return cause, None


def output_tail(text: str) -> str | None:
    """The end of a failing step's output quoted in its error (the lines after the
    first), redacted and short; None when it said one line only."""
    _first, sep, rest = text.partition("\n")
    if not sep or not rest.strip():
        return None
    lines = redact(rest).strip("\n").splitlines()[-schema.OUTPUT_TAIL_LINES:]
    tail = "\n".join(lines)
    return tail[-schema.OUTPUT_TAIL_CHARS:]


def _error(rec: JobRecord) -> JsonObject | None:
    raw = rec.snapshot.get("error") or None
    if raw:
        code, cause, state = raw.get("error"), str(raw.get("cause") or ""), raw.get("state")
    elif rec.error:
        code, cause, state = rec.error.get("code"), str(rec.error.get("message") or ""), \
            rec.error.get("state")
    else:
        return None
    text, hint = split_hint(cause)
    first = text.partition("\n")[0]
    return {"code": str(code or Code.InternalError), "message": cap(redact(first), MESSAGE_CHARS),
            "hint": cap(redact(hint), MESSAGE_CHARS) if hint else None,
            "state": str(state) if state else None}


def _triggers(data: JsonObject) -> list[JsonObject]:
    """The triggers' URLs the job's data holds (a deploy that applied triggers records
    them under ``triggers``: a list of {type, url}); empty when there are none."""
    raw = data.get("triggers")
    items = raw.get("applied", []) if isinstance(raw, dict) else raw
    out: list[JsonObject] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            url = item.get("url") or item.get("endpoint")
            if isinstance(url, str) and url:
                out.append({"type": str(item.get("type", "url")), "url": url})
    return out


def notice_id(rec: JobRecord) -> str:
    """The stable id of the notice for the record's current end (job, run, redrive,
    state): a redrive or a restart that ends again is a new notice."""
    return schema.event_id(rec.job_id, len(rec.previous_runs) + 1, rec.redrive_count,
                           rec.state, "ended")


def pending(rec: JobRecord) -> bool:
    """The job ended and its notice was not delivered yet."""
    return rec.is_terminal and rec.notified != notice_id(rec)


def result_of(rec: JobRecord, log_link: str | None = None) -> JsonObject:
    """The result object of a terminal job (docs/results.md, schema auto-lambda/result/1)."""
    data = rec.snapshot.get("data") or {}
    raw_deploy = data.get("deploy")
    deploy: JsonObject = raw_deploy if isinstance(raw_deploy, dict) else {}
    ok = rec.status == "SUCCEEDED"
    run = len(rec.previous_runs) + 1
    version = rec.published_version or (str(deploy["version"]) if deploy.get("version")
                                        else None)
    workflow = str(getattr(rec, "workflow", None) or DEFAULT_WORKFLOW)
    error = None if ok else _error(rec)
    cause = str((rec.snapshot.get("error") or {}).get("cause") or "")
    return {
        "schema": schema.RESULT_SCHEMA_ID,
        "event_id": notice_id(rec),
        "job_id": rec.job_id,
        "workflow": workflow,
        "team": _team(rec.key),
        "app": rec.app_name,
        "upload": {"bucket": rec.bucket, "key": rec.key, "version_id": rec.version_id,
                   "etag": rec.etag},
        "state": rec.state,
        "status": "SUCCEEDED" if ok else "FAILED",
        "ok": ok,
        "function_arn": rec.function_arn,
        "version": version,
        "alias": LIVE_ALIAS if ok and rec.published_version else None,
        "triggers": _triggers(data) if ok else [],
        "error": error,
        "output_tail": None if ok else output_tail(cause),
        "log": log_link,
        "run": run,
        "redrive_count": rec.redrive_count,
        "created_at": _iso(rec.created_at),
        "finished_at": _iso(rec.finished_at or rec.updated_at),
    }


@dataclass
class JobEndedNotifier:
    """Tells the team a job ended; ``__call__`` never raises."""

    publisher: Publisher
    log_link: LogLink = field(default=lambda rec: None)
    clock: Callable[[], float] = time.time

    def __call__(self, rec: JobRecord) -> Notice | None:
        if not rec.is_terminal:
            return None
        try:
            result = result_of(rec, self.log_link(rec))
            notice = self.publisher.job_ended(result)
        except Exception:
            # A bug in a notice must not touch the job: it is saved, and its message goes.
            log.exception("job %s: could not tell its team it ended", rec.job_id)
            return None
        if notice.complete or (notice.event and result["team"] is None):
            rec.notified = str(result["event_id"])
        log.info("job %s: ended %s; result %s, event %s", rec.job_id, rec.state,
                 notice.result_object, notice.event)
        return notice
