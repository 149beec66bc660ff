"""Triggers through the whole pipeline on in-process moto: a verified upload attaches its
manifest's triggers to ``live`` and records them; the next upload of the app without some
of them removes those from AWS, and keeps the rest on the alias, which now serves the new
version."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.config import LIVE_ALIAS
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

FUNCTION = "auto-lambda-default-hello"
URL = "[[triggers]]\ntype = 'url'\n"
SCHEDULE = "[[triggers]]\ntype = 'schedule'\nexpression = 'rate(1 hour)'\n"
HTTP = "[[triggers]]\ntype = 'http'\n"


def hello(greeting: str, triggers: str) -> bytes:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    files["auto-lambda.toml"] = (
        "[function]\nname = 'hello'\nruntime = 'python3.11'\n"
        f"[function.environment]\nGREETING = '{greeting}'\n"
        f"[verify]\nevent = {{ name = 'world' }}\nexpect = {{ message = '{greeting} world' }}\n"
        + triggers)
    return make_zip(files)


def _recorded(pipeline: Pipeline, key_version: int) -> dict[str, Any]:
    records = sorted(pipeline.runtime.store.list(), key=lambda r: r.created_at)
    record = records[key_version]
    assert record.state == "verified", record.error
    return dict((record.snapshot.get("data") or {})["triggers"])


def test_an_upload_attaches_its_triggers_and_the_next_removes_the_dropped_ones(
        pipeline: Pipeline) -> None:
    pipeline.upload("hello.zip", hello("hi", URL + SCHEDULE + HTTP))
    pipeline.drain()
    first = _recorded(pipeline, 0)
    assert sorted(t["type"] for t in first["triggers"]) == ["http", "schedule", "url"]
    url = next(t["url"] for t in first["triggers"] if t["type"] == "url")
    scheduler = pipeline.aws.client("scheduler")
    [schedule] = scheduler.list_schedules(GroupName="auto-lambda-default")["Schedules"]
    assert schedule["Target"]["Arn"].endswith(f":function:{FUNCTION}:{LIVE_ALIAS}")

    pipeline.upload("hello.zip", hello("hey", URL))
    pipeline.drain()
    second = _recorded(pipeline, 1)
    assert [t["type"] for t in second["triggers"]] == ["url"]
    assert second["triggers"][0]["url"] == url  # the same URL, on live
    assert {c.split(" ")[0] for c in second["changes"]} == {"delete", "remove"}
    assert scheduler.list_schedules(GroupName="auto-lambda-default")["Schedules"] == []
    assert [a for a in pipeline.aws.client("apigatewayv2").get_apis()["Items"]
            if a["Name"] == FUNCTION] == []
    assert pipeline.aws.functions.alias_version(FUNCTION, LIVE_ALIAS) == "2"

    # `show` prints each trigger of the job
    job = sorted(pipeline.runtime.store.list(), key=lambda r: r.created_at)[1].job_id
    shown = CliRunner().invoke(cli, ["show", job, "--events", "1"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"trigger url: {url} (auth iam)" in shown.output
