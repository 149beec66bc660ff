"""The web console over HTTP on in-process moto: pages from real jobs, bad input refused
with a code, actions only with the form proof, the replay plan before the replay, and
headers that keep pages from running anything but the console's own script."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from orchestrator.cli.ui.data import ConsoleData
from orchestrator.cli.ui.server import UiServer
from orchestrator.jobs.replay import Request, gather, plan
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Console:
    server: UiServer
    pipeline: Pipeline
    verified: str
    failed: str

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        port = self.server.access.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = {"Host": f"127.0.0.1:{port}"} | (headers or {})
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                      resp.read().decode())
        conn.close()
        return reply


@pytest.fixture
def console(pipeline: Pipeline) -> Iterator[Console]:
    pipeline.upload("hello.zip", make_zip(HELLO_APP))
    pipeline.upload("teama/broken.zip", b"this is not a zip")
    records = {r.key: r for r in pipeline.drain()}
    assert records["hello.zip"].state == "verified"
    assert records["teama/broken.zip"].state == "failed"
    server = UiServer(ConsoleData(pipeline.aws), port=0).start()
    try:
        yield Console(server, pipeline, records["hello.zip"].job_id,
                      records["teama/broken.zip"].job_id)
    finally:
        server.stop()


def test_the_jobs_page_lists_jobs_with_counts_and_filters(console: Console) -> None:
    page = console.request("GET", "/")
    assert page.status == 200
    assert f'data-job="{console.verified}"' in page.body
    assert f'data-job="{console.failed}"' in page.body
    # Counts are read in the background from the start; they arrive within seconds.
    deadline = time.monotonic() + 30
    while "counts as of" not in page.body and time.monotonic() < deadline:
        time.sleep(0.1)
        page = console.request("GET", "/?fragment=live")
    assert re.search(r'data-count-state="failed" [^>]*>failed <b>1</b>', page.body)
    assert re.search(r'data-count-state="verified" [^>]*>verified <b>1</b>', page.body)
    team = console.request("GET", "/?team=teama")
    assert console.failed in team.body and console.verified not in team.body
    failed = console.request("GET", "/?state=failed&fragment=live")
    assert failed.body.startswith('<div class="counts"') and console.verified not in failed.body
    search = console.request("GET", "/?q=hello")
    assert console.verified in search.body and console.failed not in search.body


def test_the_failed_jobs_page_marks_the_failing_state_with_its_code(console: Console) -> None:
    page = console.request("GET", f"/jobs/{console.failed}")
    assert page.status == 200
    rec = console.pipeline.runtime.store.get(console.failed)
    assert rec is not None and rec.error is not None
    code, where = rec.error["code"], rec.error["state"]
    assert re.search(rf'<g class="[^"]*\bfailing\b[^"]*" data-state="{where}"', page.body)
    assert re.search(r'<g class="[^"]*\bfinal\b[^"]*" data-state="failed"', page.body)
    assert f'data-code="{code}"' in page.body and f">{code}</text>" in page.body
    ok = console.request("GET", f"/jobs/{console.verified}")
    assert re.search(r'<g class="[^"]*\bfinal\b[^"]*" data-state="verified"', ok.body)
    assert "this job" in ok.body  # the live alias points at this job's version


def test_the_replay_plan_is_the_dry_run_plan_and_runs_only_with_the_form_proof(
        console: Console) -> None:
    shown = console.request("GET", f"/jobs/{console.failed}/replay?mode=redrive")
    assert shown.status == 200
    store, aws = console.pipeline.runtime.store, console.pipeline.aws
    request = Request(job_ids=(console.failed,))
    expected = plan(request, gather(request, store, aws, 0.0))
    assert [a.kind for a in expected] == ["redrive"]
    for action in expected:
        assert f'<tr data-kind="{action.kind}">' in shown.body
        assert action.reason.split(";")[0] in shown.body
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', shown.body)
    assert csrf is not None
    before = store.get(console.failed)
    assert before is not None and before.redrive_count == 0

    forged = console.request("POST", f"/jobs/{console.failed}/replay", "mode=redrive&csrf=x")
    assert forged.status == 403 and "error [UiActionRefused]" in forged.body
    cross = console.request("POST", f"/jobs/{console.failed}/replay",
                            f"mode=redrive&csrf={csrf.group(1)}",
                            {"Origin": "http://evil.example"})
    assert cross.status == 403
    unchanged = store.get(console.failed)
    assert unchanged is not None and unchanged.redrive_count == 0

    done = console.request("POST", f"/jobs/{console.failed}/replay",
                           f"mode=redrive&csrf={csrf.group(1)}")
    assert done.status == 303
    location = urllib.parse.unquote_plus(done.headers["location"])
    assert location.startswith(f"/jobs/{console.failed}?done=redrive: ok")
    after = store.get(console.failed)
    assert after is not None and after.redrive_count == 1


BAD_INPUT = [
    ("/?state=nope", 400, "ListQueryInvalid"),
    ("/?since=soon", 400, "UiBadInput"),
    ("/?limit=ten", 400, "UiBadInput"),
    ("/?cursor=%7B%7D", 400, "ListQueryInvalid"),
    ("/?state=failed&state=verified", 400, "UiBadInput"),
    ("/jobs/nope", 404, "JobNotFound"),
    ("/jobs/..%2Fetc", 404, "UiNotFound"),
    ("/jobs/x/replay?mode=wipe", 404, "JobNotFound"),
    ("/static/../server.py", 404, "UiNotFound"),
    ("/static/secret.py", 404, "UiNotFound"),
    ("/?" + "a=1&" * 40, 400, "UiBadInput"),
    ("/?q=" + "x" * 3000, 414, "UiBadInput"),
    ("/apps?team=No-Such", 400, "ListQueryInvalid"),
    ("/apps?team=a&team=b", 400, "UiBadInput"),
]


def test_bad_input_is_refused_with_a_code(console: Console) -> None:
    for path, status, code in BAD_INPUT:
        reply = console.request("GET", path)
        assert reply.status == status, (path, reply.body[:300])
        assert f"error [{code}]" in reply.body, path
    assert console.request("GET", "/").status == 200  # and the console still answers


def test_bad_replay_mode_and_methods_are_refused(console: Console) -> None:
    mode = console.request("GET", f"/jobs/{console.failed}/replay?mode=wipe")
    assert mode.status == 400 and "error [UiBadInput]" in mode.body
    assert console.request("PUT", "/").status == 405
    assert console.request("POST", "/", "x=1").status == 403  # no proof: refused first
    bad_host = console.request("GET", "/", headers={"Host": "attacker.example"})
    assert bad_host.status == 421


def test_every_page_has_strict_headers_and_no_token(console: Console) -> None:
    token = console.server.access.token
    for path in ("/", f"/jobs/{console.failed}", f"/jobs/{console.verified}/trace",
                 f"/jobs/{console.failed}/replay", "/apps", "/fleet", "/dlq", "/events",
                 "/workflow",
                 "/static/console.js", "/nope"):
        reply = console.request("GET", path)
        assert reply.status in (200, 404), (path, reply.body[:300])
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert token not in reply.body
        assert "AWS_SECRET_ACCESS_KEY" not in reply.body and "testing" not in reply.body
        assert "<script>" not in reply.body  # no inline script anywhere


def test_the_apps_page_lists_each_function_with_live_version_and_last_result(
        console: Console) -> None:
    page = console.request("GET", "/apps")
    assert page.status == 200 and 'aria-current=page>Apps' in page.body
    # the broken upload never had a function: only hello is an app
    rows = re.findall(r'<tr data-app="([^"]+)" data-team="([^"]+)" data-live="([^"]*)" '
                      r'data-state="([^"]*)"', page.body)
    assert rows == [("hello", "default", "1", "verified")]
    assert f'href="/jobs/{console.verified}"' in page.body
    live = console.request("GET", "/apps?team=teama&fragment=live")
    assert live.status == 200 and "no apps yet" in live.body and "<html" not in live.body


def test_the_fleet_page_shows_the_checkers_metrics_and_the_dlq(console: Console) -> None:
    from auto_lambda_dev.localgroup import ensure_local_group, put_local_policy
    from checker.metric import Checker, CheckerOptions

    aws = console.pipeline.aws
    ensure_local_group(aws, aws.settings, min_size=1, max_size=3)
    put_local_policy(aws, aws.settings, 3.0)
    checker = Checker(aws, CheckerOptions(interval=1))
    for _ in range(3):
        assert checker.tick().published
    dlq = aws.queue_url(aws.settings.dlq_name)
    aws.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"not": "an event"}))
    page = console.request("GET", "/fleet")
    assert page.status == 200
    points = re.findall(r'data-points="([^"]+)"', page.body)
    counts = [json.loads(p.replace("&quot;", '"')) for p in points]
    assert counts[0]["BacklogPerSlot"] >= 1
    assert 'data-target="3"' in page.body
    assert 'data-dlq="1"' in page.body
    plan_page = console.request("GET", "/dlq")
    assert '<tr data-kind="move-dlq">' in plan_page.body
    assert "not an S3 event" in plan_page.body
    # The plan released the message again: it is still in the DLQ until the action runs.
    again = console.request("GET", "/dlq")
    assert '<tr data-kind="move-dlq">' in again.body


def test_the_events_page_shows_what_each_team_was_told(console: Console) -> None:
    page = console.request("GET", "/events")
    assert page.status == 200
    rows = re.findall(r"<tr><td>.*?</tr>", page.body)
    assert len(rows) == 2 and all("auto-lambda Job Ended" in row for row in rows)
    (failed,) = [row for row in rows if "teama" in row]
    record = console.pipeline.runtime.store.get(console.failed)
    assert record is not None and record.error is not None
    assert "failed" in failed and f"<td>{record.error['code']}</td>" in failed
    assert f'href="/jobs/{console.failed}"' in failed
    fragment = console.request("GET", "/events?fragment=live")
    assert fragment.status == 200 and "<html" not in fragment.body


def test_the_workflow_page_draws_each_workflow(console: Console) -> None:
    for name, state in (("deployment", "verified"), ("deletion", "untriggered"),
                        ("rollback", "rolled_back")):
        reply = console.request("GET", f"/workflow?name={name}")
        assert reply.status == 200 and f"Workflow: {name}" in reply.body
        assert state in reply.body and "<svg" in reply.body
    assert 'href="/workflow?name=deletion"' in console.request("GET", "/workflow").body
    unknown = console.request("GET", "/workflow?name=teleport")
    assert unknown.status == 404 and "UiNotFound" in unknown.body


def test_a_baking_rollout_shows_stop_and_promote_which_need_the_form_proof(
        console: Console) -> None:
    from orchestrator.steps.data import Rollout

    store = console.pipeline.runtime.store
    rec = store.get(console.verified)
    assert rec is not None
    # the job as a canary baking at 10 % (its record, as the runner would have left it)
    rollout = Rollout(requested="canary", strategy="canary", weights=(0.1,), bakes=(300,),
                      previous_live="1", version="1", next="check", step=0,
                      bake_seconds=300, alarms=("auto-lambda-default-hello-5xx",))
    snapshot = {**rec.snapshot, "state": "baking", "status": "RUNNING",
                "wait_until": time.time() + 300,
                "data": {**rec.snapshot["data"], "rollout": rollout.to_json()}}
    rec.snapshot, rec.state, rec.status, rec.finished_at = snapshot, "baking", "RUNNING", None
    store.save(rec)
    page = console.request("GET", f"/jobs/{console.verified}")
    assert page.status == 200
    assert "stop rollout: roll live back" in page.body and "promote now" in page.body
    assert "1 of 1" in page.body and "auto-lambda-default-hello-5xx" in page.body
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.body)
    assert csrf is not None
    forged = console.request("POST", f"/jobs/{console.verified}/rollout", "action=stop&csrf=x")
    assert forged.status == 403
    bad = console.request("POST", f"/jobs/{console.verified}/rollout",
                          f"action=wipe&csrf={csrf.group(1)}")
    assert bad.status == 400 and "UiBadInput" in bad.body
    done = console.request("POST", f"/jobs/{console.verified}/rollout",
                           f"action=stop&csrf={csrf.group(1)}")
    assert done.status == 303, done.body
    assert "rollout stop recorded (by web console)" in urllib.parse.unquote_plus(
        done.headers["location"])
    after = store.get(console.verified)
    assert after is not None
    assert after.snapshot["data"]["rollout"]["request"]["by"] == "web console"
    assert after.snapshot["wait_until"] <= time.time()  # the bake ends now
    assert console.pipeline.queue_depth() == 1  # the message that wakes it
