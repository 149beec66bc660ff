"""Reading back the events auto-lambda put on its bus: a rule copies every one to the
events log group (``Settings.events_log_group``), and ``auto-lambda events`` and the
console read that group. Lines that are not events are skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.feedback import schema
from orchestrator.types import JsonObject


@dataclass(frozen=True)
class LoggedEvent:
    """One event as EventBridge delivered it (id, time, detail-type, detail...)."""

    event: JsonObject

    @property
    def detail(self) -> JsonObject:
        detail = self.event.get("detail")
        return detail if isinstance(detail, dict) else {}

    @property
    def detail_type(self) -> str:
        return str(self.event.get("detail-type", ""))

    def line(self) -> str:
        d = self.detail
        who = f"{d.get('team') or '-'}/{d.get('app') or '-'}"
        if self.detail_type == schema.ROLLOUT_STEP:
            what = (f"{d.get('action')} step {d.get('step')}/{d.get('steps')} "
                    f"weight {d.get('weight')} -> v{d.get('version')}")
        else:
            error = d.get("error") or {}
            what = f"{d.get('state')}" + (f" [{error.get('code')}]" if error else "") + (
                f" v{d.get('version')}" if d.get("version") else "")
        return (f"{self.event.get('time', '?')}  {self.detail_type:<26} {who:<28} {what}  "
                f"job {str(d.get('job_id', '?'))[:12]}")


def recent_events(aws: Aws, *, since_ms: int, limit: int = 50,
                  team: str | None = None) -> list[LoggedEvent] | None:
    """The newest ``limit`` events since ``since_ms`` (of ``team`` only, when given),
    oldest first; None when the events log group does not exist."""
    lines = aws.logs.recent(aws.settings.events_log_group, since_ms=since_ms, limit=0)
    if lines is None:
        return None
    out: list[LoggedEvent] = []
    for line in lines:
        try:
            event = json.loads(line.message)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("source") != schema.SOURCE:
            continue
        logged = LoggedEvent(event)
        if team is not None and logged.detail.get("team") != team:
            continue
        out.append(logged)
    return out[-limit:] if limit > 0 else out
