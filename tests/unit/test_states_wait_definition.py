"""Wait states are declared as data and validated when the definition is built: exactly
one of Seconds, SecondsPath, Timestamp and TimestampPath, a known Next, well-formed
paths and RFC 3339 timestamps; the wake-up arithmetic is pure."""

from __future__ import annotations

from typing import Any

import pytest

from states import (
    Catcher,
    Definition,
    DefinitionError,
    FailState,
    StatesRuntimeError,
    SucceedState,
    TaskState,
    WaitState,
)
from states.paths import PathNotFound, PathSyntaxError, parse_path, resolve
from states.waits import parse_timestamp, wake_time


def _defn(wait: WaitState) -> Definition:
    return Definition(start_at="a", states=(
        TaskState("a", "run_a", next=wait.name), wait, SucceedState("done")))


@pytest.mark.parametrize("wait", [
    WaitState("w", next="done", seconds=0),
    WaitState("w", next="done", seconds=300),
    WaitState("w", next="done", seconds_path="$.rollout.bake_seconds"),
    WaitState("w", next="done", timestamp="2026-12-07T15:00:00Z"),
    WaitState("w", next="done", timestamp="2026-12-07T16:00:00.250+01:00"),
    WaitState("w", next="done", timestamp_path="$['rollout'].not_before"),
])
def test_each_of_the_four_fields_declares_a_valid_wait(wait: WaitState) -> None:
    d = _defn(wait)
    assert d.wait_states == (wait,)
    assert ("w", "done") in d.edges()
    assert "w" not in d.terminal_states


@pytest.mark.parametrize(("kw", "needle"), [
    ({}, "needs exactly one of Seconds, SecondsPath, Timestamp and TimestampPath, got none"),
    ({"seconds": 5, "seconds_path": "$.s"}, "got ['Seconds', 'SecondsPath']"),
    ({"timestamp": "2026-12-07T15:00:00Z", "timestamp_path": "$.t"},
     "got ['Timestamp', 'TimestampPath']"),
    ({"seconds": -1}, "Seconds must be an integer >= 0, got -1"),
    ({"seconds": 1.5}, "Seconds must be an integer >= 0, got 1.5"),
    ({"seconds": True}, "Seconds must be an integer >= 0, got True"),
    ({"seconds_path": "rollout.bake"}, "SecondsPath 'rollout.bake' is not a reference path"),
    ({"seconds_path": "$.items[*]"}, "SecondsPath '$.items[*]' is not a reference path at "
                                     "character 8"),
    ({"timestamp_path": "$..deep"}, "TimestampPath '$..deep' is not a reference path"),
    ({"timestamp": "2026-12-07 15:00:00Z"}, "is not an RFC 3339 timestamp"),
    ({"timestamp": "2026-12-07T15:00:00"}, "is not an RFC 3339 timestamp"),
    ({"timestamp": "2026-02-30T15:00:00Z"}, "is not a valid date and time"),
])
def test_bad_wait_fields_are_named(kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        _defn(WaitState("w", next="done", **kw))
    assert "state 'w'" in str(info.value)
    assert needle in str(info.value)


def test_a_wait_must_go_to_a_known_state() -> None:
    with pytest.raises(DefinitionError, match="state 'w': Next names unknown state 'later'"):
        _defn(WaitState("w", next="later", seconds=1))


def test_a_wait_loop_without_a_way_out_is_refused() -> None:
    with pytest.raises(DefinitionError, match="can never reach a Succeed or Fail state"):
        Definition(start_at="x", states=(
            TaskState("x", "r", next="a", catch=(Catcher(("States.ALL",), "oops"),)),
            TaskState("a", "r", next="w"), WaitState("w", next="a", seconds=1),
            FailState("oops")))


def test_the_declared_field_changes_the_fingerprint_and_comments_do_not() -> None:
    short = _defn(WaitState("w", next="done", seconds=60))
    noted = _defn(WaitState("w", next="done", seconds=60, comment="bake"))
    longer = _defn(WaitState("w", next="done", seconds=300))
    by_path = _defn(WaitState("w", next="done", seconds_path="$.s"))
    assert short.fingerprint == noted.fingerprint
    assert len({short.fingerprint, longer.fingerprint, by_path.fingerprint}) == 3


def test_reference_paths_resolve_fields_quoted_names_and_indexes() -> None:
    data = {"rollout": {"bake_seconds": 300, "steps": [{"at": "x"}]}, "odd key": 1}
    assert parse_path("$") == ()
    assert parse_path("$.rollout.steps[0]['at']") == ("rollout", "steps", 0, "at")
    assert resolve("$.rollout.bake_seconds", data) == 300
    assert resolve("$.rollout.steps[0].at", data) == "x"
    assert resolve("$['odd key']", data) == 1
    assert resolve("$", data) is data
    with pytest.raises(PathNotFound, match=r"\$\.rollout\.missing is not in the data"):
        resolve("$.rollout.missing.deeper", data)
    with pytest.raises(PathNotFound, match=r"\$\.rollout\.steps\[3\]"):
        resolve("$.rollout.steps[3]", data)
    with pytest.raises(PathSyntaxError):
        parse_path("$.a[-1]")


def test_timestamps_are_rfc3339_with_a_zone() -> None:
    assert parse_timestamp("1970-01-01T00:01:00Z") == 60.0
    assert parse_timestamp("1970-01-01T01:01:00+01:00") == 60.0
    # more digits than microseconds are cut, not refused
    assert parse_timestamp("1970-01-01T00:00:01.1234567Z") == pytest.approx(1.123456)


@pytest.mark.parametrize(("wait", "data", "due"), [
    (WaitState("w", next="d", seconds=30), {}, 130.0),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": 2.5}, 102.5),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": 0}, 100.0),
    (WaitState("w", next="d", timestamp="1970-01-01T00:03:00Z"), {}, 180.0),
    (WaitState("w", next="d", timestamp_path="$.t"), {"t": "1970-01-01T00:02:00Z"}, 120.0),
    # a moment already past is due at once
    (WaitState("w", next="d", timestamp_path="$.t"), {"t": "1970-01-01T00:00:10Z"}, 100.0),
])
def test_wake_time_is_absolute_from_now(wait: WaitState, data: dict[str, Any],
                                        due: float) -> None:
    assert wake_time(wait, data, now=100.0) == due


@pytest.mark.parametrize(("wait", "data", "needle"), [
    (WaitState("w", next="d", seconds_path="$.s"), {}, "$.s is not in the data"),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": -1},
     "must select a number of seconds >= 0, got -1"),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": "300"}, "got '300'"),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": True}, "got True"),
    (WaitState("w", next="d", seconds_path="$.s"), {"s": float("inf")}, "got inf"),
    (WaitState("w", next="d", timestamp_path="$.t"), {"t": 5},
     "TimestampPath '$.t' must select an RFC 3339 timestamp"),
])
def test_unusable_path_values_are_states_runtime_errors(wait: WaitState, data: dict[str, Any],
                                                        needle: str) -> None:
    with pytest.raises(StatesRuntimeError) as info:
        wake_time(wait, data, now=100.0)
    assert info.value.code == "States.Runtime"
    assert "state 'w'" in str(info.value) and needle in str(info.value)
