"""The console's pages as HTML: jobs (list, filters, counts), one job (diagram, timeline,
versions, verification, replay), a job's trace waterfall, the replay and DLQ plans, the
apps, the fleet, and the workflow. Each ``*_live`` function renders the part of a page that the
script refreshes; the page functions wrap it in the frame.

Pure: records, summaries and plain dicts in, HTML out. Data fetching is ``data.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from orchestrator.cli.report import human_bytes
from orchestrator.cli.ui.charts import Span, line_chart, waterfall
from orchestrator.cli.ui.data import Fleet, safe_json
from orchestrator.cli.ui.diagram import JobMarks, render_svg
from orchestrator.cli.ui.html import (
    clock,
    esc,
    hidden,
    link,
    page,
    seconds,
    state_badge,
    url,
    when,
)
from orchestrator.feedback.eventlog import LoggedEvent
from orchestrator.jobs.listing import JobSummary, ListPage, ListQuery
from orchestrator.jobs.record import JobRecord
from orchestrator.tracing.timeline import build_timeline, documents
from orchestrator.types import JsonMapping
from states import Definition

if TYPE_CHECKING:
    from orchestrator.jobs.apps import AppRow, Storage
    from orchestrator.jobs.replay import Action, Result

FILTERS = ("state", "app", "team", "since", "q")


# ---------------------------------------------------------------- jobs
def jobs_live(listing: ListPage, counts: Mapping[str, int] | None, counted_at: float | None,
              params: Mapping[str, str], states: Sequence[str]) -> str:
    """The refreshed part of the jobs page. ``counts`` None: not counted yet."""
    chips = []
    for state in states:
        n = counts.get(state, 0) if counts is not None else "…"
        current = params.get("state") == state
        chips.append(
            f'<a class="chip{" on" if current else ""}" data-count-state="{esc(state)}" '
            f'href="{esc(url("/", **{**params, "state": "" if current else state}))}">'
            f'{esc(state)} <b>{n}</b></a>')
    rows = "".join(_job_row(row) for row in listing.jobs) or (
        '<tr><td colspan=7 class="muted">no jobs match</td></tr>')
    pager = ""
    if listing.next_cursor:
        pager = link(url("/", **params, cursor=listing.next_cursor), "older jobs →", "button")
    if params.get("cursor"):
        pager = link(url("/", **{k: v for k, v in params.items() if k != "cursor"}),
                     "← newest", "button") + " " + pager
    as_of = f"counts as of {clock(counted_at)}" if counted_at else "counting…"
    return (f'<div class="counts">{"".join(chips)}'
            f'<span class="muted small">{as_of}</span></div>'
            '<table class="jobs"><thead><tr><th>job</th><th>app</th><th>key</th>'
            '<th>state</th><th>version</th><th>created</th><th>error</th></tr></thead>'
            f'<tbody id="job-rows">{rows}</tbody></table><p class="pager">{pager}</p>')


def _job_row(row: JobSummary) -> str:
    err = row.error or {}
    error = (f'<span class="code">{esc(err.get("code"))}</span> '
             f'{esc(str(err.get("message") or "")[:140])}') if err else ""
    return (f'<tr data-job="{esc(row.job_id)}" data-state="{esc(row.state)}">'
            f'<td>{link("/jobs/" + row.job_id, row.job_id[:12], "mono")}</td>'
            f'<td>{esc(row.app_name or "-")}</td><td class="key">{esc(row.key)}</td>'
            f'<td>{state_badge(row.state)}</td><td>{esc(row.published_version or "-")}</td>'
            f'<td>{when(row.created_at)}</td><td>{error}</td></tr>')


def jobs_page(live: str, params: Mapping[str, str], states: Sequence[str],
              live_url: str, team: str | None = None) -> str:
    options = "".join(f'<option value="{esc(s)}"{" selected" if params.get("state") == s else ""}'
                      f'>{esc(s)}</option>' for s in states)
    form = (
        '<form class="filters" method=get action="/">'
        f'<label>state <select name=state><option value="">any</option>{options}</select></label>'
        f'<label>app <input name=app value="{esc(params.get("app", ""))}" size=12 '
        'pattern="[a-z0-9][a-z0-9-]*"></label>'
        f'<label>team <input name=team value="{esc(params.get("team", ""))}" size=10></label>'
        f'<label>since <input name=since value="{esc(params.get("since", ""))}" size=5 '
        'placeholder="2h"></label>'
        f'<label>search <input name=q value="{esc(params.get("q", ""))}" size=18 '
        'placeholder="key or job id"></label>'
        '<button type=submit>filter</button> '
        f'{link("/", "clear")} {link(url("/", **params), "refresh")}</form>')
    return page("jobs", f"<h1>Jobs</h1>{form}<div id=live>{live}</div>", nav="jobs",
                live=live_url, team=team)


def row_json(row: JobSummary) -> dict[str, object]:
    """One list row as the JSON API gives it."""
    return {"job_id": row.job_id, "key": row.key, "team": row.team, "state": row.state,
            "app_name": row.app_name, "created_at": row.created_at,
            "finished_at": row.finished_at, "error": row.error,
            "published_version": row.published_version, "redrive_count": row.redrive_count}


def query_params(query: ListQuery, since_text: str) -> dict[str, str]:
    return {k: v for k, v in {"state": query.state or "", "app": query.app or "",
                              "team": query.team or "", "since": since_text,
                              "q": query.search or "", "cursor": query.cursor or ""
                              }.items() if v}


# ---------------------------------------------------------------- one job
def job_live(rec: JobRecord, definition: Definition, live_version: str | None,
             csrf: str) -> str:
    marks = JobMarks.from_history(rec.history, rec.state, rec.is_terminal, rec.error)
    err = rec.error or {}
    error = ""
    if err:
        error = (f'<p class="error" data-code="{esc(err.get("code"))}">'
                 f'<span class="code">{esc(err.get("code"))}</span> at '
                 f'<b>{esc(err.get("state") or "?")}</b>: {esc(err.get("message"))}</p>')
    verify = (rec.snapshot.get("data") or {}).get("verify") or {}
    facts = [
        ("state", state_badge(rec.state) + (" (running)" if not rec.is_terminal else "")),
        ("app", esc(rec.app_name or "-")),
        ("object", esc(f"s3://{rec.bucket}/{rec.key}")),
        ("object version", esc(rec.version_id or rec.etag or "-")),
        ("published version", esc(rec.published_version or "-")),
        ("live alias", esc(live_version or "-") + (
            ' <span class="badge ok">this job</span>'
            if live_version and live_version == rec.published_version else "")),
        ("function", esc(rec.function_arn or "-")),
        ("verification", _verification(verify)),
        ("created", when(rec.created_at)),
        ("finished", when(rec.finished_at)),
        ("redrives", esc(rec.redrive_count)),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return (f'{error}<section class="diagram-box">{render_svg(definition, marks)}</section>'
            f'<div class="cols"><section><h2>Timeline</h2>{timeline_html(rec)}</section>'
            f'<section><h2>Job</h2><dl>{dl}</dl>{rollout_facts(rec)}'
            f'{replay_buttons(rec, csrf)}{rollout_buttons(rec, csrf)}</section></div>'
            f'{errors_html(rec)}')


def _verification(verify: JsonMapping) -> str:
    if not verify:
        return "-"
    mode = str(verify.get("mode") or "?")
    parts = [f'<span class="badge {"ok" if mode != "static-only" else "warn"}">{esc(mode)}</span>']
    if verify.get("interpreter"):
        parts.append(esc(verify["interpreter"]))
    if verify.get("duration") is not None:
        parts.append(seconds(float(verify["duration"])))
    if verify.get("note"):
        parts.append(f'<span class="muted">{esc(verify["note"])}</span>')
    if verify.get("output") is not None:
        parts.append(f'<code>{esc(safe_json(verify["output"], 200))}</code>')
    return " ".join(parts)


def timeline_html(rec: JobRecord) -> str:
    rows = build_timeline(rec.history)
    if not rows:
        return '<p class="muted">no history yet</p>'
    start = rows[0]["start"]
    last = rows[-1]
    end = last["start"] + (last["duration"] or 0.0)
    if last["duration"] is None and not rec.is_terminal:
        end = max(end, rec.updated_at or end)
    spans = []
    for row in rows:
        kind = ("retry" if row["state"] == "retrying" else "failed" if row["error"]
                else "redrive" if row["event"] == "ExecutionRedriven" else "state")
        note = []
        if row["attempt"] > 1:
            note.append(f"attempt {row['attempt']}")
        if row["error"]:
            note.append(str(row["error"]))
        if row["event"] == "ExecutionRedriven":
            note.append("redriven")
        spans.append(Span(str(row["state"]), float(row["start"]), row["duration"], kind,
                          ", ".join(note)))
    return waterfall(spans, start, max(end, start + 1e-3))


def errors_html(rec: JobRecord) -> str:
    failures = [e for e in rec.history
                if e.get("error") and e.get("type") in ("TaskFailed", "TaskTimedOut")]
    if not failures:
        return ""
    items = "".join(
        f'<li><span class="code">{esc(e.get("error"))}</span> in <b>{esc(e.get("state"))}</b>'
        f' (attempt {esc(e.get("attempt"))}, {clock(e.get("time"))}): '
        f'{esc(e.get("cause") or "")}</li>' for e in failures[-20:])
    return f'<section><h2>Errors</h2><ol class="errors">{items}</ol></section>'


# The states in which an operator may stop or promote a rollout (rollout_control).
ROLLOUT_REQUEST_STATES = ("shifting", "baking", "checking")


def rollout_facts(rec: JobRecord) -> str:
    """A canary or linear rollout: strategy, step and weight, bake, who promoted."""
    rollout = (rec.snapshot.get("data") or {}).get("rollout") or {}
    weights = rollout.get("weights") or []
    if not weights:
        return ""
    step = int(rollout.get("step", -1))
    facts = [("rollout", esc(f"{rollout.get('strategy')} (as {rollout.get('requested')})")),
             ("step", esc(f"{step + 1} of {len(weights)}") + (
                 f" · {float(weights[step]):.0%} on version {esc(rollout.get('version'))}"
                 if 0 <= step < len(weights) else "")),
             ("previous live", esc(rollout.get("previous_live") or "-")),
             ("alarms", esc(", ".join(rollout.get("alarms") or []) or "-"))]
    if rec.snapshot.get("wait_until"):
        facts.append(("bake ends", when(float(rec.snapshot["wait_until"]))))
    if rollout.get("promoted_by"):
        facts.append(("promoted by", esc(rollout["promoted_by"])))
    reason = rollout.get("reason") or {}
    if reason:
        facts.append(("rolled back", f'<span class="code">{esc(reason.get("code"))}</span> '
                                     f'{esc(reason.get("message"))}'))
    return "<dl class=rollout>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) \
        + "</dl>"


def rollout_buttons(rec: JobRecord, csrf: str) -> str:
    """Stop (roll back) and promote (skip the remaining bakes), while a rollout runs."""
    if rec.is_terminal or rec.state not in ROLLOUT_REQUEST_STATES:
        return ""
    post_to = f"/jobs/{rec.job_id}/rollout"
    forms = [
        (f'<form method=post action="{esc(post_to)}" class=inline>'
         f'{hidden("action", action)}{hidden("csrf", csrf)}'
         f'<button type=submit class="{style}">{esc(label)}</button></form>')
        for action, label, style in (("stop", "stop rollout: roll live back", "danger"),
                                     ("promote", "promote now: skip the bakes", ""))]
    return f'<p class="actions rollout-actions">{" ".join(forms)}</p>'


def replay_buttons(rec: JobRecord, csrf: str) -> str:
    if not rec.is_terminal:
        return ""
    base = f"/jobs/{rec.job_id}/replay"
    links = [link(url(base, mode="restart"), "restart from the start…", "button")]
    if rec.state == "failed":
        links.insert(0, link(url(base, mode="redrive"), "redrive…", "button"))
    return f'<p class="actions">{" ".join(links)} {link(f"/jobs/{rec.job_id}/trace", "trace")}</p>'


def job_page(rec: JobRecord, live: str, live_url: str | None, notice: str = "", *,
             team: str | None = None, log_uri: str | None = None) -> str:
    banner = f'<p class="notice">{esc(notice)}</p>' if notice else ""
    title = f"{rec.app_name or rec.key} · {rec.job_id[:12]}"
    build_log = (f' · {link("/jobs/" + rec.job_id + "/log", "build log")} '
                 f'<span class="mono muted" id=log-uri>{esc(log_uri)}</span>'
                 if log_uri else "")
    uploader = rec.uploader or {}
    who = (f'<p class="muted" id=uploader>uploaded by <span class=mono>'
           f'{esc(str(uploader.get("principal") or "?"))}</span> from <span class=mono>'
           f'{esc(str(uploader.get("source_ip") or "?"))}</span></p>' if uploader else "")
    body = (f'<h1>{esc(rec.app_name or rec.key)} <span class="mono muted">{esc(rec.job_id)}'
            f'</span></h1>{banner}<p>{link("/jobs/" + rec.job_id + "/trace", "trace")}'
            f'{build_log} · {link(url("/", app=rec.app_name), "all jobs of this app")}</p>'
            f'{who}<div id=live>{live}</div>')
    return page(title, body, nav="jobs", live=live_url, live_every=2.0, team=team)


# ---------------------------------------------------------------- plans
def plan_page(title: str, what: str, actions: Sequence[Action], post_to: str,
              fields: Mapping[str, str], csrf: str, back: str, *,
              team: str | None = None) -> str:
    rows = "".join(
        f'<tr data-kind="{esc(a.kind)}"><td><b>{esc(a.kind)}</b></td>'
        f'<td class="mono">{esc(a.job_id or a.message_id or "")}</td>'
        f'<td>{esc(a.from_state or "")}</td><td>{esc(a.reason)}</td></tr>' for a in actions)
    doable = [a for a in actions if a.kind != "skip"]
    form = ""
    if doable:
        inputs = "".join(hidden(k, v) for k, v in fields.items()) + hidden("csrf", csrf)
        reason = ('<label>reason <input name=reason size=40 maxlength=500 '
                  'placeholder="why (kept in the job\'s history)"></label> '
                  if post_to.startswith("/jobs/") else "")
        form = (f'<form method=post action="{esc(post_to)}">{inputs}{reason}'
                f'<button type=submit class="danger">{esc(what)}</button> '
                f'{link(back, "cancel")}</form>')
    else:
        form = f'<p>nothing to do. {link(back, "back")}</p>'
    body = (f"<h1>{esc(title)}</h1><p>The plan, as <code>--dry-run</code> prints it: nothing "
            "has changed yet.</p><table class=\"plan\"><thead><tr><th>action</th><th>what"
            f"</th><th>from</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>{form}")
    return page(title, body, team=team)


def results_notice(results: Sequence[Result]) -> str:
    if not results:
        return "nothing to do"
    return "; ".join(f"{r.action.kind}: {'ok' if r.ok else 'not done'} ({r.detail})"
                     for r in results)


# ---------------------------------------------------------------- trace
def trace_page(rec: JobRecord, trace_id: str | None, response: JsonMapping | None
               ) -> str:
    spans = _xray_spans(response or {}, trace_id)
    rows = build_timeline(rec.history)
    if spans:
        start = min(s.start for s in spans)
        end = max(s.start + (s.duration or 0) for s in spans)
        chart = waterfall(spans[:600], start, end)
        note = (f"{len(spans)} spans in X-Ray trace {esc(trace_id)}"
                + (" (first 600 shown)" if len(spans) > 600 else ""))
    elif rows:
        chart = timeline_html(rec)
        note = ("no X-Ray trace could be read" + (f" for {esc(trace_id)}" if trace_id else "")
                + "; the transitions from the job's history:")
    else:
        chart, note = "", "no history and no trace"
    body = (f'<h1>Trace of {esc(rec.app_name or rec.key)} <span class="mono muted">'
            f'{esc(rec.job_id[:12])}</span></h1><p>{note} · '
            f'{link("/jobs/" + rec.job_id, "back to the job")}</p>{chart}')
    return page("trace", body, nav="jobs")


def _xray_spans(response: JsonMapping, trace_id: str | None) -> list[Span]:
    spans: list[Span] = []

    def walk(doc: JsonMapping, depth: int) -> None:
        start, end = doc.get("start_time"), doc.get("end_time")
        if isinstance(start, int | float):
            annotations = doc.get("annotations") or {}
            kind = ("aws" if doc.get("namespace") == "aws" else
                    "failed" if doc.get("error") or doc.get("fault") else
                    "task" if annotations.get("kind") == "attempt" else
                    "segment" if depth == 0 else "state")
            note = str(annotations.get("error_code") or "")
            operation = (doc.get("aws") or {}).get("operation")
            label = ("  " * depth) + str(doc.get("name")) + (f" {operation}" if operation else "")
            spans.append(Span(label, float(start), float(end) - float(start)
                              if isinstance(end, int | float) else None, kind, note))
        for sub in doc.get("subsegments") or []:
            walk(sub, depth + 1)

    for doc in documents(response, trace_id or ""):
        walk(doc, 0 if doc.get("type") != "subsegment" else 1)
    spans.sort(key=lambda s: s.start)
    return spans


# ---------------------------------------------------------------- apps
def apps_live(rows: Sequence[AppRow], storage: Storage) -> str:
    """The refreshed part of the apps page: one row per function, and code storage."""
    body = "".join(_app_row(row) for row in rows) or (
        '<tr><td colspan=9 class="muted">no apps yet</td></tr>')
    held = sum(row.code_bytes for row in rows)
    region = (f"the region holds {esc(human_bytes(storage.used))} of its "
              f"{esc(human_bytes(storage.quota))} quota "
              f"({100 * storage.used / storage.quota:.2f} %)"
              if storage.used is not None and storage.quota else
              "the region's figure is not available from this endpoint")
    used = (f'<p class="muted" data-code-bytes="{esc(held)}">these apps hold '
            f"{esc(human_bytes(held))} of code; {region}</p>")
    return (f"{used}<table class=\"jobs apps\"><thead><tr><th>team</th><th>app</th>"
            "<th>live</th><th>versions</th><th>code</th><th>last job</th><th>result</th>"
            "<th>when</th><th>last verified · last failed</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _app_row(row: AppRow) -> str:
    last = row.last
    state = last.state if last else ""
    code = str((last.error or {}).get("code") or "") if last else ""
    result = (state_badge(state) + (f' <span class="code">{esc(code)}</span>' if code else "")
              if last else "-")

    def job(summary: JobSummary | None) -> str:
        return link("/jobs/" + summary.job_id, summary.job_id[:12], "mono") if summary else "-"

    jobs = url("/", app=row.target.app, team=row.target.team)
    return (f'<tr data-app="{esc(row.target.app)}" data-team="{esc(row.target.team)}" '
            f'data-live="{esc(row.live or "")}" data-state="{esc(state)}">'
            f"<td>{esc(row.target.team)}</td><td>{link(jobs, row.target.app)}</td>"
            f"<td>{esc(row.live or '-')}</td><td>{esc(row.versions)}</td>"
            f"<td>{esc(human_bytes(row.code_bytes))}</td><td>{job(last)}</td><td>{result}</td>"
            f"<td>{when(last.finished_at or last.created_at) if last else '-'}</td>"
            f"<td>{job(row.last_verified)} · {job(row.last_failed)}</td></tr>")


def apps_page(live: str, team: str, live_url: str, *, as_team: str | None = None) -> str:
    form = ('<form class="filters" method=get action="/apps">'
            f'<label>team <input name=team value="{esc(team)}" size=10></label>'
            f'<button type=submit>filter</button> {link("/apps", "clear")}</form>')
    return page("apps", f"<h1>Apps</h1>{form}<div id=live>{live}</div>", nav="apps",
                live=live_url, live_every=15.0, team=as_team)


# ---------------------------------------------------------------- fleet
def fleet_live(fleet: Fleet, csrf: str) -> str:
    s = fleet.series
    # A young stack has minutes of data, not an hour: draw the span there is.
    firsts = [series.points[0][0] for series in s.values() if series.points]
    start = max(fleet.start, min(firsts) - 30) if firsts else fleet.start
    per_slot = line_chart(
        "BacklogPerSlot (backlog per job slot)", {"BacklogPerSlot": s["BacklogPerSlot"].points},
        start, fleet.end, fleet.target, "scaling target")
    counts = line_chart("Backlog, in flight and InService workers",
                        {name: s[name].points for name in
                         ("Backlog", "InFlight", "InServiceInstances")},
                        start, fleet.end)
    latest = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(len(series.points))}</td>"
        f"<td>{esc(f'{series.points[-1][1]:g}' if series.points else '-')}</td></tr>"
        for name, series in s.items())
    target = (f"{fleet.target:g} ({esc(fleet.target_source)})" if fleet.target is not None
              else "no target-tracking policy found")
    dlq = fleet.dlq_depth
    bring = (link("/dlq", "bring back…", "button") if dlq else "")
    errors = "".join(f'<p class="error">{esc(e)}</p>' for e in fleet.errors)
    q = fleet.queue_depth
    return (f"{errors}<div class=\"cols\"><section>{per_slot}{counts}</section>"
            f'<section><h2>Now</h2><dl><dt>scaling target</dt><dd data-target>{target}</dd>'
            f'<dt>queue</dt><dd>{esc(q.get("visible", "-"))} waiting, '
            f'{esc(q.get("in_flight", "-"))} in flight</dd>'
            f'<dt>dead-letter queue</dt><dd data-dlq="{esc(dlq if dlq is not None else "")}">'
            f'{esc(dlq if dlq is not None else "?")} message(s) {bring}</dd></dl>'
            '<h2>Data points (last hour)</h2><table class="points"><thead><tr><th>metric</th>'
            f'<th>points</th><th>latest</th></tr></thead><tbody>{latest}</tbody></table>'
            "</section></div>")


def fleet_page(live: str, notice: str = "") -> str:
    banner = f'<p class="notice">{esc(notice)}</p>' if notice else ""
    return page("fleet", f"<h1>Fleet</h1>{banner}<div id=live>{live}</div>", nav="fleet",
                live="/fleet?fragment=live", live_every=10.0)


# ---------------------------------------------------------------- events
def events_live(events: Sequence[LoggedEvent] | None) -> str:
    """The newest events first: what each team was told (docs/results.md)."""
    if events is None:
        return ('<p class="error">no events log group: the stack has no event bus yet '
                "(auto-lambda local up, or the CDK stack, makes it)</p>")
    if not events:
        return '<p class="muted">no events in the last hour</p>'
    rows = []
    for logged in reversed(events):
        d = logged.detail
        error = d.get("error") if isinstance(d.get("error"), dict) else None
        job = str(d.get("job_id") or "")
        what = (f"{esc(d.get('action'))} step {esc(d.get('step'))}/{esc(d.get('steps'))}"
                if logged.detail_type.endswith("Rollout Step")
                else state_badge(str(d.get("state") or "?")))
        rows.append(
            f"<tr><td>{esc(logged.event.get('time', ''))}</td>"
            f"<td>{esc(logged.detail_type)}</td><td>{esc(d.get('team') or '-')}</td>"
            f"<td>{esc(d.get('app') or '-')}</td><td>{what}</td>"
            f"<td>{esc(error.get('code')) if error else ''}</td>"
            f"<td>{link('/jobs/' + job, job[:12]) if job else ''}</td></tr>")
    return ('<table class="jobs"><thead><tr><th>time</th><th>detail-type</th><th>team</th>'
            "<th>app</th><th>what</th><th>code</th><th>job</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def events_page(live: str, team: str | None = None) -> str:
    return page("events", "<h1>Events</h1><p class=muted>what auto-lambda put on its bus in "
                "the last hour (source auto-lambda), newest first</p>"
                f"<div id=live>{live}</div>", nav="events", live="/events?fragment=live",
                live_every=5.0, team=team)


# ---------------------------------------------------------------- workflow
def workflow_page(definition: Definition, mermaid: str, *, name: str = "deployment",
                  names: tuple[str, ...] = (), team: str | None = None) -> str:
    tabs = " · ".join(esc(n) if n == name else f'<a href="/workflow?name={esc(n)}">{esc(n)}</a>'
                      for n in names)
    body = (f"<h1>Workflow: {esc(name)}</h1>" + (f"<p>{tabs}</p>" if tabs else "")
            + f"<p>{esc(definition.comment)}</p>"
            f'<section class="diagram-box">{render_svg(definition)}</section>'
            f"<h2>Mermaid</h2><pre>{esc(mermaid)}</pre>")
    return page("workflow", body, nav="workflow", team=team)
