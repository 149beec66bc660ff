"""The console's team tokens in a real browser: a team signed in with its token (the
``?token=`` address, then its cookie) sees its own job and not another team's, has no
Fleet tab, and cannot replay another team's job even by pointing its own replay form at
it; its own replay goes through. The console runs in-process over in-process moto
(the HTTP server and the browser are real; no worker is needed for pages and replays).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from orchestrator.cli.ui.data import ConsoleData
from orchestrator.cli.ui.server import UiServer
from tests.functional.conftest import Pipeline, pipeline

__all__ = ["pipeline"]  # the functional suite's fixture, used here as it is

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

OPERATOR = "o" * 32
TEAM_A = "a" * 32
TEAM_B = "b" * 32


@dataclass
class Console:
    url: str
    pipeline: Pipeline
    job_a: str
    job_b: str


@pytest.fixture
def console(pipeline: Pipeline) -> Iterator[Console]:
    pipeline.upload("teama/broken.zip", b"team a's zip that is not one")
    pipeline.upload("teamb/broken.zip", b"team b's zip that is not one")
    records = {r.key: r for r in pipeline.drain()}
    server = UiServer(ConsoleData(pipeline.aws), port=0, token=OPERATOR,
                      teams={"teama": TEAM_A, "teamb": TEAM_B}).start()
    try:
        yield Console(f"http://127.0.0.1:{server.access.port}/", pipeline,
                      records["teama/broken.zip"].job_id, records["teamb/broken.zip"].job_id)
    finally:
        server.stop()


def test_a_team_sees_and_replays_only_its_own_jobs_in_the_browser(
        console: Console, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{console.url}?token={TEAM_A}")
    # the token left the address bar for an HttpOnly cookie of team A's
    assert "token=" not in page.url
    [cookie] = context.cookies()
    assert cookie["value"] == TEAM_A and cookie["httpOnly"]
    page.wait_for_selector(f'tr[data-job="{console.job_a}"]')
    assert page.locator(f'tr[data-job="{console.job_b}"]').count() == 0
    assert page.inner_text("#principal") == "team teama"
    assert page.locator("nav a", has_text="Fleet").count() == 0

    # another team's job by its address: not found
    reply = page.goto(f"{console.url}jobs/{console.job_b}")
    assert reply is not None and reply.status == 404
    assert page.get_attribute("p.error", "data-code") == "JobNotFound"

    # the team's own replay form, pointed at team B's job: refused, B's job untouched
    before = console.pipeline.runtime.store.get(console.job_b)
    assert before is not None
    page.goto(f"{console.url}jobs/{console.job_a}/replay?mode=redrive")
    page.eval_on_selector("form[method=post]",
                          f"f => f.setAttribute('action', '/jobs/{console.job_b}/replay')")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.get_attribute("p.error", "data-code") == "JobNotFound"
    after = console.pipeline.runtime.store.get(console.job_b)
    assert after is not None and after.version == before.version and after.redrive_count == 0

    # and its own job: the plan, a reason, the redrive
    page.goto(f"{console.url}jobs/{console.job_a}/replay?mode=redrive")
    page.fill("input[name=reason]", "fixed the zip")
    page.click("button[type=submit]")
    page.wait_for_selector(".notice")
    assert "redrive: ok" in page.inner_text(".notice")
    mine = console.pipeline.runtime.store.get(console.job_a)
    assert mine is not None and mine.redrive_count == 1
    [event] = [e for e in mine.history if e["type"] == "ExecutionRedriven"]
    assert event["details"]["reason"] == "fixed the zip"
    # the only errors are the two refusals this test asked for (404 answers)
    assert [e for e in errors if "status of 404" not in e] == [] and len(errors) == 2
    context.close()


def test_the_operator_sees_every_team_in_the_browser(console: Console, browser: Any) -> None:
    page = browser.new_page()
    page.goto(console.url)  # loopback: no token is the operator
    page.wait_for_selector(f'tr[data-job="{console.job_a}"]')
    assert page.locator(f'tr[data-job="{console.job_b}"]').count() == 1
    assert page.locator("nav a", has_text="Fleet").count() == 1
    page.close()
