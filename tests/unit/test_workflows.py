"""The workflow registry: a record names its workflow (none: a deployment, as records of
earlier releases), each workflow's declaration holds what its steps rely on, and every
place that reads a workflow (graph, listing) sees all three."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orchestrator.cli.cmd_graph import graph
from orchestrator.jobs.listing import all_states
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import copy_execution, restore_execution, start_execution
from orchestrator.jobs.workflow import DEPLOYMENT
from orchestrator.jobs.workflows import (
    TERMINAL_STATES,
    WORKFLOWS,
    UnknownWorkflow,
    definition_of,
)
from orchestrator.jobs.workflows.deletion import DELETION, GRACE_PATH, UPLOADED_AGAIN
from orchestrator.jobs.workflows.rollback import ROLLBACK
from states import Status, WaitState


def test_a_record_without_a_workflow_is_a_deployment() -> None:
    rec = JobRecord(job_id="j", bucket="b", key="k.zip")
    item = rec.to_item()
    item.pop("workflow")  # as an earlier release wrote it
    back = JobRecord.from_item(item)
    assert back.workflow == "deployment" and definition_of(back.workflow) is DEPLOYMENT
    assert definition_of(None) is DEPLOYMENT


def test_workflow_params_and_people_round_trip_and_reach_the_input() -> None:
    rec = JobRecord(job_id="j", bucket="b", key="t/a", workflow="rollback",
                    params={"to_version": "3", "force": False}, actor="alice",
                    reason="bad deploy", restarted_from="old")
    back = JobRecord.from_item(rec.to_item())
    assert (back.workflow, back.params, back.actor, back.reason, back.restarted_from) == (
        "rollback", {"to_version": "3", "force": False}, "alice", "bad deploy", "old")
    ex = start_execution(back, 100.0)
    assert ex.definition is ROLLBACK and ex.data["to_version"] == "3"
    assert ex.data["key"] == "t/a"


def test_an_unknown_workflow_is_refused_with_a_code() -> None:
    with pytest.raises(UnknownWorkflow) as info:
        definition_of("teleport")
    assert info.value.code == "UnknownWorkflow" and "deletion" in str(info.value)


def test_a_deletion_waits_its_grace_period_before_anything_is_removed() -> None:
    first = DELETION.state(DELETION.start_at)
    assert isinstance(first, WaitState) and first.seconds_path == GRACE_PATH
    rec = JobRecord(job_id="d", bucket="b", key="t/a.zip", workflow="deletion",
                    params={"grace_seconds": 900})
    ex = start_execution(rec, 1_000.0)
    assert ex.state == "requested" and ex.wait_until == 1_900.0
    copy_execution(rec, ex)
    assert rec.status == Status.RUNNING.value and not rec.is_terminal


def test_an_upload_found_by_any_deletion_step_ends_it_kept() -> None:
    kept = {t.resource for t in DELETION.task_states
            if [c.next for c in t.catch if UPLOADED_AGAIN in c.error_equals] == ["kept"]}
    assert kept == {"recheck", "untrigger", "unalias", "undeploy"}
    assert {"kept", "deleted"} == DELETION.succeed_states
    order = [t.resource for t in DELETION.task_states]
    assert order == ["recheck", "untrigger", "unalias", "undeploy", "unrole"]


def test_listing_and_terminal_states_cover_every_workflow() -> None:
    states = set(all_states())
    for definition in WORKFLOWS.values():
        assert set(definition.names) <= states
        assert definition.terminal_states <= TERMINAL_STATES


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_graph_prints_the_chosen_workflow(name: str) -> None:
    result = CliRunner().invoke(graph, ["--workflow", name, "--format", "asl"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["StartAt"] == WORKFLOWS[name].start_at
    assert set(doc["States"]) == set(WORKFLOWS[name].names)


def test_a_restored_execution_uses_the_records_workflow() -> None:
    rec = JobRecord(job_id="r", bucket="b", key="t/a", workflow="rollback",
                    params={"function_name": "f", "team": "t", "to_version": "1"})
    copy_execution(rec, start_execution(rec, 5.0))

    class NoStore:
        pass

    ex = restore_execution(NoStore(), rec)  # type: ignore[arg-type]
    assert ex.definition is ROLLBACK and ex.state == "requested"
