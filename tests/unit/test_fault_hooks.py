"""The fault points the chaos suite drives: inert when unset, parsed strictly, counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import AutoLambdaError, TransientError
from tests import fault_hooks as faults


def test_fault_points_do_nothing_when_no_rule_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENV_RULES, raising=False)
    monkeypatch.delenv(faults.ENV_KILL_AT, raising=False)
    faults.fault_point("after:built", job_id="j", key="k")  # returns, nothing raised


def test_rules_parse_points_actions_and_matches() -> None:
    rules = faults.parse_rules({
        faults.ENV_RULES: "during:build=sleep:2/app.zip; before:deploy=raise:AwsServerError:3",
        faults.ENV_KILL_AT: "after:built, during:verify/x.zip"})
    assert [(r.point, r.action, r.args, r.match) for r in rules] == [
        ("during:build", "sleep", ("2",), "app.zip"),
        ("before:deploy", "raise", ("AwsServerError", "3"), ""),
        ("after:built", "kill", (), ""),
        ("during:verify", "kill", (), "x.zip")]


@pytest.mark.parametrize("bad", ["after:built", "built=kill", "after:built=explode"])
def test_malformed_rules_are_refused(bad: str) -> None:
    with pytest.raises(faults.FaultSpecError):
        faults.parse_rules({faults.ENV_RULES: bad})


def test_raise_rules_fire_n_times_across_processes_then_pass(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(faults.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(faults.ENV_RULES, "before:deploy=raise:AwsServerError:2/a.zip;"
                                         "before:fetch=raise:DeployFailed")
    faults.fault_point("before:deploy", job_id="j", key="b.zip")  # other key: no fault
    for _ in range(2):
        with pytest.raises(TransientError) as info:
            faults.fault_point("before:deploy", job_id="j", key="a.zip")
        assert info.value.code == "AwsServerError"
    faults.fault_point("before:deploy", job_id="j", key="a.zip")  # the outage is over
    with pytest.raises(AutoLambdaError) as perm:
        faults.fault_point("before:fetch", job_id="j", key="a.zip")
    assert perm.value.code == "DeployFailed" and not isinstance(perm.value, TransientError)
    assert [f["point"] for f in faults.fired(tmp_path)] == [
        "before:deploy", "before:deploy", "before:fetch"]
