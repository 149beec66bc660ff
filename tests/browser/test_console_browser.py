"""The web console in a real browser against the real ``auto-lambda local up --ui``: jobs
appear and turn verified without a reload, the failed job's page lights its failing
state with the error code, the diagram has every declared state, the apps page shows the
app with its live version as ``apps --json`` does, the replay plan is the ``replay
--dry-run`` plan, and the fleet chart has the checker's data.

The same run writes the screenshots for the docs when ``AUTO_LAMBDA_SCREENSHOTS`` names
a folder (``make screenshots`` writes ``docs/img``); otherwise into the test's folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auto_lambda_dev.examples import example_dir, zip_example
from orchestrator.jobs.workflow import DEPLOYMENT
from tests.e2e.conftest import LocalUp, start_local_up, stop_local_up

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
UI_LINE = r"web console on (http://127\.0\.0\.1:\d+/)"
WAIT_MS = 120_000


@dataclass
class Stack:
    up: LocalUp
    url: str
    shots: Path

    def cli(self, *args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", *args],
                             env=self.up.env, capture_output=True, text=True, cwd=REPO,
                             timeout=120)
        assert out.returncode in (0, 1), out.stderr
        return json.loads(out.stdout)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    up = start_local_up(tmp, "--ui", "--ui-port", "0", "--max-workers", "2")
    try:
        url = up.wait_for_line(UI_LINE, timeout=60).group(1)
        shots = Path(os.environ.get("AUTO_LAMBDA_SCREENSHOTS") or tmp / "shots")
        shots.mkdir(parents=True, exist_ok=True)
        yield Stack(up, url, shots)
    finally:
        stop_local_up(up)


@pytest.fixture(scope="module")
def jobs(stack: Stack, browser: Any, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, Any]]:
    """Open the jobs page first, then submit one app that verifies and one that fails,
    and wait in that same page (no reload) until both rows have their final state."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(stack.url)
    assert page.locator("tr[data-job]").count() == 0
    page.evaluate("window.__sameDocument = true")

    out = tmp_path_factory.mktemp("zips")
    hello = zip_example(example_dir("hello"), out)
    broken = out / "broken.zip"
    broken.write_bytes(b"this is not a zip archive")
    ids = {name: stack.cli("submit", str(path), "--json")["job_id"]
           for name, path in (("hello", hello), ("broken", broken))}

    page.wait_for_selector(f'tr[data-job="{ids["hello"]}"][data-state="verified"]',
                           timeout=WAIT_MS)
    page.wait_for_selector(f'tr[data-job="{ids["broken"]}"][data-state="failed"]',
                           timeout=WAIT_MS)
    # The rows came in through the live refresh: the page was never reloaded.
    assert page.evaluate("window.__sameDocument") is True
    assert "live" in page.inner_text("#live-status")
    # Counts are read in the background and follow within seconds.
    page.wait_for_function(
        "() => ['verified', 'failed'].every(s => document.querySelector("
        "`[data-count-state=\"${s}\"] b`).innerText === '1')", timeout=30_000)
    page.screenshot(path=str(stack.shots / "console-jobs.png"))
    page.close()
    yield {"ids": ids, "console_errors": errors}


def test_jobs_appear_and_turn_final_live_without_errors(jobs: dict[str, Any]) -> None:
    assert len(jobs["ids"]) == 2
    assert jobs["console_errors"] == []  # e.g. no Content-Security-Policy violation


def test_the_failed_job_lights_its_failing_state_with_the_code(
        stack: Stack, browser: Any, jobs: dict[str, Any]) -> None:
    job_id = jobs["ids"]["broken"]
    record = stack.cli("show", job_id, "--json")
    code, where = record["error"]["code"], record["error"]["state"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(stack.url)
    page.click(f'a[href="/jobs/{job_id}"]')
    failing = page.locator(f'svg.diagram g.state.failing[data-state="{where}"]')
    assert failing.count() == 1
    assert failing.locator("text.code").text_content() == code
    assert page.locator('svg.diagram g.state.final[data-state="failed"]').count() == 1
    assert page.locator(f'p.error[data-code="{code}"]').count() == 1
    drawn = page.eval_on_selector_all("svg.diagram g.state", "gs => gs.map(g => g.dataset.state)")
    assert sorted(drawn) == sorted([*DEPLOYMENT.names, DEPLOYMENT.retrying_state])
    timeline = page.locator(".waterfall li")
    assert timeline.count() == len([e for e in record["history"]
                                    if e["type"] in ("StateEntered", "ExecutionRedriven")])
    page.screenshot(path=str(stack.shots / "console-job-failed.png"), full_page=True)
    page.close()


def test_the_verified_job_shows_its_version_live_and_its_path(
        stack: Stack, browser: Any, jobs: dict[str, Any]) -> None:
    job_id = jobs["ids"]["hello"]
    record = stack.cli("show", job_id, "--json")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{stack.url}jobs/{job_id}")
    assert page.locator('svg.diagram g.state.final[data-state="verified"]').count() == 1
    visited = page.eval_on_selector_all("svg.diagram g.state.visited",
                                        "gs => gs.map(g => g.dataset.state)")
    entered = {e["state"] for e in record["history"]
               if e["type"] in ("ExecutionStarted", "StateEntered")}
    assert set(visited) == entered
    facts = page.inner_text("dl")
    assert f"published version\n{record['published_version']}" in facts
    assert "this job" in facts  # the live alias points at this job's version
    page.screenshot(path=str(stack.shots / "console-job.png"), full_page=True)
    page.click("text=trace")
    page.wait_for_selector(".waterfall li")
    assert page.locator(".waterfall li").count() >= len(entered)
    page.close()


def test_the_apps_page_has_the_app_with_its_live_version_and_last_job(
        stack: Stack, browser: Any, jobs: dict[str, Any]) -> None:
    listed = {a["app"]: a for a in stack.cli("apps", "--json")["apps"]}
    hello = listed["hello"]
    assert hello["last_verified"]["job_id"] == jobs["ids"]["hello"]
    page = browser.new_page(viewport={"width": 1400, "height": 700})
    page.goto(stack.url)
    page.click("nav >> text=Apps")
    row = page.locator('tr[data-app="hello"]')
    assert row.count() == 1
    assert row.get_attribute("data-live") == hello["live_version"]
    assert row.get_attribute("data-state") == hello["last_job"]["state"]
    # the broken upload never became a function, so it is not an app
    assert page.locator("tr[data-app]").count() == len(listed)
    page.screenshot(path=str(stack.shots / "console-apps.png"), full_page=True)
    row.locator(f'a[href="/jobs/{hello["last_job"]["job_id"]}"]').first.click()
    page.wait_for_selector("svg.diagram")
    assert hello["last_job"]["job_id"] in page.inner_text("h1")
    page.close()


def test_the_replay_plan_is_the_dry_run_plan_and_the_redrive_runs(
        stack: Stack, browser: Any, jobs: dict[str, Any]) -> None:
    job_id = jobs["ids"]["broken"]
    dry = stack.cli("replay", job_id, "--dry-run", "--json")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{stack.url}jobs/{job_id}")
    page.click("text=redrive…")
    page.wait_for_selector("table.plan")
    rows = page.eval_on_selector_all(
        "table.plan tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (a["kind"], a.get("job_id") or a.get("message_id") or "", a.get("from_state") or "",
         a["reason"]) for a in dry["actions"]]
    assert [a["kind"] for a in dry["actions"]] == ["redrive"]
    page.click("button[type=submit]")
    page.wait_for_selector(".notice")
    assert "redrive: ok" in page.inner_text(".notice")
    # The redriven job runs again and fails again at the same step (same zip), live.
    page.wait_for_function(
        "() => [...document.querySelectorAll('dt')].some(d => d.innerText === 'redrives'"
        " && d.nextElementSibling.innerText === '1') && document.querySelector("
        "'svg.diagram g.state.final[data-state=\"failed\"]')", timeout=WAIT_MS)
    page.close()


def test_the_fleet_chart_has_the_checkers_data_and_target(
        stack: Stack, browser: Any, jobs: dict[str, Any]) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(f"{stack.url}fleet")
    # The chart has a point per 10 s period since the stack started; the page's live
    # refresh brings the next ones in.
    page.wait_for_function(
        "() => JSON.parse(document.querySelector('figure.chart').dataset.points)"
        ".BacklogPerSlot >= 2", timeout=60_000)
    chart = page.locator("figure.chart").first
    assert chart.get_attribute("data-target") == "2"
    points = json.loads(chart.get_attribute("data-points") or "{}")
    assert points["BacklogPerSlot"] >= 2
    assert page.locator("polyline[data-series=BacklogPerSlot]").count() == 1
    assert page.locator("line.target").count() == 1
    assert page.locator("[data-dlq]").get_attribute("data-dlq") == "0"
    page.screenshot(path=str(stack.shots / "console-fleet.png"), full_page=True)
    page.close()
