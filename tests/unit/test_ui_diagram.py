"""The console's state diagram comes from the declared definition and marks a job's path."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from orchestrator.cli.ui.diagram import JobMarks, render_svg
from orchestrator.jobs.workflow import DEPLOYMENT, TRANSIENT_RETRY
from states import Catcher, Definition, FailState, SucceedState, TaskState

SVG = "{http://www.w3.org/2000/svg}"


def states_of(svg: str) -> dict[str, set[str]]:
    root = ET.fromstring(svg)
    return {g.get("data-state", ""): set((g.get("class") or "").split())
            for g in root.iter(f"{SVG}g") if g.get("data-state")}


def test_every_declared_state_is_drawn() -> None:
    drawn = states_of(render_svg(DEPLOYMENT))
    assert set(drawn) == {*DEPLOYMENT.names, DEPLOYMENT.retrying_state}


def test_a_state_added_to_a_workflow_appears_without_any_change_here() -> None:
    catch = (Catcher(("States.ALL",), "failed"),)
    extended = Definition(start_at="a", states=(
        TaskState("a", "one", "b", retry=(TRANSIENT_RETRY,), catch=catch),
        TaskState("b", "two", "promoted", catch=catch),
        TaskState("promoted", "promote", "done", catch=catch),
        SucceedState("done"), FailState("failed")))
    svg = render_svg(extended)
    assert set(states_of(svg)) == {"a", "b", "promoted", "done", "failed", "retrying"}
    # Next edges run left to right along the chain.
    xs = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'data-state="(\w+)"><title>[^<]*</title><rect x="(\d+)"', svg)}
    assert xs["a"] < xs["b"] < xs["promoted"] < xs["done"]


def test_a_failed_job_marks_its_failing_state_with_the_code() -> None:
    history = [
        {"type": "ExecutionStarted", "state": "received", "time": 1.0, "attempt": 1},
        {"type": "StateEntered", "state": "fetched", "time": 2.0, "attempt": 1},
        {"type": "StateEntered", "state": "unpacked", "time": 3.0, "attempt": 1},
        {"type": "RetryScheduled", "state": "unpacked", "time": 4.0, "attempt": 1},
        {"type": "StateEntered", "state": "retrying", "time": 4.0, "attempt": 1},
        {"type": "StateEntered", "state": "unpacked", "time": 5.0, "attempt": 2},
        {"type": "TaskFailed", "state": "unpacked", "time": 6.0, "attempt": 2,
         "error": "NoCompatibleWheel"},
        {"type": "StateEntered", "state": "failed", "time": 6.0, "attempt": 1},
    ]
    marks = JobMarks.from_history(history, "failed", True,
                                  {"code": "NoCompatibleWheel", "state": "unpacked"})
    svg = render_svg(DEPLOYMENT, marks)
    drawn = states_of(svg)
    assert "failing" in drawn["unpacked"] and "final" in drawn["failed"]
    assert {"received", "fetched", "unpacked", "retrying", "failed"} == {
        name for name, classes in drawn.items() if "visited" in classes}
    assert "visited" not in drawn["verified"]
    assert ">NoCompatibleWheel<" in svg and ">↻1<" in svg


def test_a_running_job_is_current_not_final() -> None:
    marks = JobMarks.from_history([], "built", False, None)
    drawn = states_of(render_svg(DEPLOYMENT, marks))
    assert "current" in drawn["built"] and "final" not in drawn["built"]


def test_text_in_the_diagram_is_escaped() -> None:
    odd = Definition(start_at="a", comment='<script>"x"</script>', states=(
        TaskState("a", "r<b>", "done"), SucceedState("done")))
    svg = render_svg(odd)
    assert "<script>" not in svg and "r&lt;b&gt;" in svg
    ET.fromstring(svg)  # still well-formed
