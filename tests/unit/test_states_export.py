"""Exports: mermaid, ASL and DOT show every state and edge, deterministically."""

from __future__ import annotations

import json

from orchestrator.errors import TRANSIENT_CODES
from orchestrator.jobs import workflow
from orchestrator.jobs.workflow import DEPLOYMENT
from states import (
    Catcher,
    Definition,
    FailState,
    Retrier,
    SucceedState,
    TaskState,
    WaitState,
)
from states.export import to_asl, to_dot, to_mermaid


def test_mermaid_shows_every_state_next_retry_and_catch_edge() -> None:
    text = to_mermaid(DEPLOYMENT)
    assert text.startswith("stateDiagram-v2\n")
    assert "    [*] --> received" in text
    for src, dst in [("received", "fetched"), ("fetched", "unpacked"), ("unpacked", "built"),
                     ("built", "deployed"), ("deployed", "tested"), ("tested", "rollout")]:
        assert f"    {src} --> {dst} : " in text
        assert f"    {src} --> retrying : " in text
        assert f"    retrying --> {src} : " in text
        assert f"    {src} --> failed : catch any error" in text
    # the rollout: shift, wait, check, repeat; finish or roll back
    for line in ("shifting --> baking : shift ok", "baking --> checking : wait over",
                 "checking --> rollout : check ok",
                 "rollout --> shifting : when $.rollout.next is shift",
                 "rollout --> finishing : when $.rollout.next is finish",
                 "rollout --> verified : when $.rollout.next is done",
                 "rollout --> rolling_back : otherwise",
                 "checking --> rolling_back : catch any error",
                 "rolling_back --> failed : catch any error"):
        assert f"    {line}\n" in text
    assert "    verified --> [*]" in text and "    failed --> [*]" in text
    assert to_mermaid(DEPLOYMENT) == text


def test_mermaid_edges_match_the_machine_edges() -> None:
    text = to_mermaid(DEPLOYMENT)
    drawn = {(line.split()[0], line.split()[2]) for line in text.splitlines()
             if " --> " in line and "[*]" not in line}
    assert drawn == set(DEPLOYMENT.edges())


def test_mermaid_aliases_names_it_cannot_use_as_ids() -> None:
    d = Definition(start_at="first step", states=(
        TaskState("first step", "r", next="end"), SucceedState("end")))
    text = to_mermaid(d)
    assert 'state "first step" as s0' in text and 'state "end" as s1' in text
    assert "s0 --> s1 : r ok" in text


def test_asl_has_tasks_with_retry_catch_and_timeouts_and_no_retrying_state() -> None:
    doc = to_asl(DEPLOYMENT)
    assert doc["StartAt"] == "received"
    assert set(doc["States"]) == {"received", "fetched", "unpacked", "built", "deployed",
                                  "tested", "rollout", "shifting", "baking", "checking",
                                  "finishing", "rolling_back", "verified", "failed"}
    build = doc["States"]["unpacked"]
    assert build["Type"] == "Task" and build["Next"] == "built"
    assert build["TimeoutSeconds"] == 900 and build["HeartbeatSeconds"] == 60
    assert build["Parameters"]["Payload"]["step"] == "build"
    assert build["Retry"] == [{"ErrorEquals": list(TRANSIENT_CODES), "IntervalSeconds": 1,
                               "MaxAttempts": 2000, "BackoffRate": 2.0, "MaxDelaySeconds": 60,
                               "JitterStrategy": "FULL"}]
    assert build["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert build["Catch"][0]["Next"] == "failed"
    timeouts = {n: s.get("TimeoutSeconds") for n, s in doc["States"].items()}
    assert timeouts == {"received": 120, "fetched": 120, "unpacked": 900, "built": 300,
                        "deployed": 300, "tested": 300, "rollout": None, "shifting": 120,
                        "baking": None, "checking": 600, "finishing": 300,
                        "rolling_back": 120, "verified": None, "failed": None}
    promote = doc["States"]["tested"]
    assert promote["Parameters"]["Payload"]["step"] == "promote"
    assert promote["Next"] == "rollout" and promote["HeartbeatSeconds"] == 60
    assert doc["States"]["baking"] == {
        "Type": "Wait", "Comment": "Bake at this weight; the job parks and frees its worker.",
        "SecondsPath": "$.rollout.bake_seconds", "Next": "checking"}
    choice = doc["States"]["rollout"]
    assert choice["Type"] == "Choice" and choice["Default"] == "rolling_back"
    assert {"Variable": "$.rollout.next", "StringEquals": "shift",
            "Next": "shifting"} in choice["Choices"]
    assert doc["States"]["checking"]["Catch"][0]["Next"] == "rolling_back"
    assert "HeartbeatSeconds" not in doc["States"]["built"]
    assert doc["States"]["verified"] == {"Type": "Succeed",
                                         "Comment": "The tested version is live behind the alias."}
    assert doc["States"]["failed"]["Type"] == "Fail"
    json.dumps(doc)


def test_asl_rounds_fractional_seconds_up_and_keeps_fail_fields() -> None:
    d = Definition(start_at="a", states=(
        TaskState("a", "r", next="ok", timeout_seconds=2.5,
                  retry=(Retrier(("X",), interval_seconds=0.2, backoff_rate=1.5),),
                  catch=(Catcher(("States.ALL",), "bad"),)),
        SucceedState("ok"), FailState("bad", error="E", cause="C")))
    doc = to_asl(d)
    assert doc["States"]["a"]["TimeoutSeconds"] == 3
    assert doc["States"]["a"]["Retry"][0]["IntervalSeconds"] == 1
    assert doc["States"]["bad"] == {"Type": "Fail", "Error": "E", "Cause": "C"}


def test_dot_has_the_same_edges() -> None:
    text = to_dot(DEPLOYMENT)
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    for src, dst in DEPLOYMENT.edges():
        assert f'"{src}" -> "{dst}"' in text
    assert '"__start__" -> "received"' in text


def test_workflow_helpers_match_the_exports() -> None:
    assert workflow.mermaid() == to_mermaid(DEPLOYMENT)
    assert workflow.asl() == to_asl(DEPLOYMENT)
    assert workflow.dot() == to_dot(DEPLOYMENT)


WAITS = Definition(start_at="deploy", states=(
    TaskState("deploy", "deploy", next="bake", catch=(Catcher(("States.ALL",), "failed"),)),
    WaitState("bake", next="not before", seconds_path="$.rollout.bake_seconds",
              comment="let the canary take traffic"),
    WaitState("not before", next="settle", timestamp_path="$.window.opens"),
    WaitState("settle", next="window", seconds=300),
    WaitState("window", next="done", timestamp="2026-12-07T15:00:00Z"),
    SucceedState("done"), FailState("failed")))


def test_asl_wait_states_carry_the_declared_field_and_next() -> None:
    states = to_asl(WAITS)["States"]
    assert states["bake"] == {"Type": "Wait", "Comment": "let the canary take traffic",
                              "SecondsPath": "$.rollout.bake_seconds", "Next": "not before"}
    assert states["not before"] == {"Type": "Wait", "TimestampPath": "$.window.opens",
                                    "Next": "settle"}
    assert states["settle"] == {"Type": "Wait", "Seconds": 300, "Next": "window"}
    assert states["window"] == {"Type": "Wait", "Timestamp": "2026-12-07T15:00:00Z",
                                "Next": "done"}
    assert states["deploy"]["Next"] == "bake"


def test_diagrams_say_what_each_wait_waits_for() -> None:
    text = to_mermaid(WAITS)
    assert "    bake : bake - waits $.rollout.bake_seconds seconds" in text
    assert 'state "not before" as s2' in text
    assert "    s2 : not before - waits until $.window.opens" in text
    assert "    settle : settle - waits 300s" in text
    assert "    window : window - waits until 2026-12-07T15:00:00Z" in text
    assert "    bake --> s2 : wait over" in text and "    window --> done : wait over" in text
    drawn = {(line.split(" --> ")[0].strip(), line.split(" --> ")[1].split(" : ")[0])
             for line in text.splitlines() if " --> " in line and "[*]" not in line}
    ids = {"s2": "not before"}
    assert {(ids.get(a, a), ids.get(b, b)) for a, b in drawn} == set(WAITS.edges())
    dot = to_dot(WAITS)
    assert '"settle" [label="settle\\nwaits 300s", shape=octagon];' in dot
    for src, dst in WAITS.edges():
        assert f'"{src}" -> "{dst}"' in dot


def test_the_deployment_bakes_in_one_wait_state_read_from_the_rollout() -> None:
    waits = {n: s for n, s in to_asl(DEPLOYMENT)["States"].items() if s["Type"] == "Wait"}
    assert list(waits) == ["baking"]
    assert waits["baking"]["SecondsPath"] == "$.rollout.bake_seconds"
    assert "baking : baking - waits $.rollout.bake_seconds seconds" in to_mermaid(DEPLOYMENT)
