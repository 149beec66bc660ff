"""The console with team tokens, over HTTP on in-process moto: a team's token lists,
shows, serves the log of and replays its own team's jobs only, on pages, fragments and
the JSON API alike; another team's job is "not found" and stays untouched; the fleet and
the DLQ are the operator's; the operator's token still sees everything."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from orchestrator.cli.ui.data import ConsoleData
from orchestrator.cli.ui.server import UiServer
from tests.functional.conftest import Pipeline

OPERATOR = "o" * 32
TEAM_A = "a" * 32
TEAM_B = "b" * 32


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Teams:
    server: UiServer
    pipeline: Pipeline
    job_a: str
    job_b: str

    def request(self, method: str, path: str, token: str | None = None,
                body: str | None = None, cookie: str | None = None) -> Reply:
        port = self.server.access.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Host": f"10.9.9.9:{port}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if cookie:
            headers["Cookie"] = f"auto_lambda_ui={cookie}"
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                      resp.read().decode())
        conn.close()
        return reply

    def version(self, job_id: str) -> int:
        rec = self.pipeline.runtime.store.get(job_id)
        assert rec is not None
        return rec.version


@pytest.fixture
def teams(pipeline: Pipeline) -> Iterator[Teams]:
    pipeline.upload("teama/broken.zip", b"team a's zip that is not one")
    pipeline.upload("teamb/broken.zip", b"team b's zip that is not one")
    records = {r.key: r for r in pipeline.drain()}
    assert records["teama/broken.zip"].state == records["teamb/broken.zip"].state == "failed"
    # bound beyond loopback, as a shared console is: every request needs a token
    server = UiServer(ConsoleData(pipeline.aws), host="0.0.0.0", port=0, token=OPERATOR,
                      teams={"teama": TEAM_A, "teamb": TEAM_B}).start()
    try:
        yield Teams(server, pipeline, records["teama/broken.zip"].job_id,
                    records["teamb/broken.zip"].job_id)
    finally:
        server.stop()


def test_a_team_token_lists_its_own_jobs_only(teams: Teams) -> None:
    for path in ("/", "/?fragment=live", "/?state=failed", "/?q=broken"):
        page = teams.request("GET", path, TEAM_A)
        assert page.status == 200, page.body
        assert teams.job_a in page.body and teams.job_b not in page.body
    assert 'id=principal>team teama<' in teams.request("GET", "/", TEAM_A).body
    asked = teams.request("GET", "/?team=teamb", TEAM_A)
    assert asked.status == 403 and 'data-code="UiTeamRefused"' in asked.body
    api = json.loads(teams.request("GET", "/api/jobs", TEAM_A).body)
    assert [j["job_id"] for j in api["jobs"]] == [teams.job_a]
    everything = teams.request("GET", "/api/jobs", OPERATOR)
    assert {j["job_id"] for j in json.loads(everything.body)["jobs"]} == {
        teams.job_a, teams.job_b}


def test_another_teams_job_is_not_found_on_any_route(teams: Teams) -> None:
    for path in (f"/jobs/{teams.job_b}", f"/jobs/{teams.job_b}?fragment=live",
                 f"/jobs/{teams.job_b}/trace", f"/jobs/{teams.job_b}/log",
                 f"/jobs/{teams.job_b}/replay?mode=restart", f"/api/jobs/{teams.job_b}"):
        reply = teams.request("GET", path, TEAM_A)
        assert reply.status == 404, (path, reply.status)
        assert teams.job_b not in reply.body.replace(f"no job {teams.job_b}", "")
    mine = teams.request("GET", f"/jobs/{teams.job_a}", TEAM_A)
    assert mine.status == 200 and f"/jobs/{teams.job_a}/log" in mine.body
    log = teams.request("GET", f"/jobs/{teams.job_a}/log", TEAM_A)
    assert log.status == 200 and log.headers["content-type"].startswith("text/plain")
    assert "=== unpack · attempt 1" in log.body
    api = json.loads(teams.request("GET", f"/api/jobs/{teams.job_a}", TEAM_A).body)
    assert api["job_id"] == teams.job_a and api["log_uri"].endswith(f"{teams.job_a}.log")
    assert teams.request("GET", f"/jobs/{teams.job_b}", OPERATOR).status == 200


def test_a_team_cannot_replay_another_teams_job(teams: Teams) -> None:
    before = teams.version(teams.job_b)
    plan = teams.request("GET", f"/jobs/{teams.job_a}/replay?mode=redrive", TEAM_A)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', plan.body)
    assert csrf is not None
    form = urllib.parse.urlencode({"mode": "redrive", "csrf": csrf.group(1)})
    # with the team's own token, with its own form proof, through its cookie: refused
    for kwargs in ({"token": TEAM_A}, {"cookie": TEAM_A}):
        reply = teams.request("POST", f"/jobs/{teams.job_b}/replay", body=form, **kwargs)
        assert reply.status == 404, reply.body
    assert teams.version(teams.job_b) == before
    # the operator's form proof does not act for a team's cookie either
    op_form = urllib.parse.urlencode({"mode": "redrive",
                                      "csrf": teams.server.access.operator.csrf})
    refused = teams.request("POST", f"/jobs/{teams.job_a}/replay", body=op_form,
                            cookie=TEAM_A)
    assert refused.status == 403 and 'data-code="UiActionRefused"' in refused.body


def test_a_team_replays_its_own_job_and_the_history_names_it(teams: Teams) -> None:
    plan = teams.request("GET", f"/jobs/{teams.job_a}/replay?mode=redrive", cookie=TEAM_A)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', plan.body)
    assert csrf is not None and 'name=reason' in plan.body
    form = urllib.parse.urlencode({"mode": "redrive", "csrf": csrf.group(1),
                                   "reason": "fixed upstream"})
    done = teams.request("POST", f"/jobs/{teams.job_a}/replay", body=form, cookie=TEAM_A)
    assert done.status == 303 and "redrive" in urllib.parse.unquote(done.headers["location"])
    rec = teams.pipeline.runtime.store.get(teams.job_a)
    assert rec is not None and rec.redrive_count == 1
    [event] = [e for e in rec.history if e["type"] == "ExecutionRedriven"]
    assert event["details"]["replayed_by"] == {"via": "console", "as": "team teama"}
    assert event["details"]["reason"] == "fixed upstream"


def test_the_fleet_and_the_dlq_are_the_operators(teams: Teams) -> None:
    for method, path in (("GET", "/fleet"), ("GET", "/fleet?fragment=live"),
                         ("GET", "/dlq"), ("POST", "/dlq")):
        reply = teams.request(method, path, TEAM_A, body="" if method == "POST" else None)
        assert reply.status == 403 and 'data-code="UiTeamRefused"' in reply.body, path
    assert teams.request("GET", "/fleet", OPERATOR).status == 200
    assert '>Fleet</a>' not in teams.request("GET", "/", TEAM_A).body
    assert '>Fleet</a>' in teams.request("GET", "/", OPERATOR).body
    assert teams.request("GET", "/", "c" * 32).status == 401
