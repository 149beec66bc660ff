"""The workflows a job can run, by name: ``deployment`` (an upload becomes a verified
function; ``orchestrator.jobs.workflow``), ``deletion`` (a deleted zip removes its
function) and ``rollback`` (``live`` moves back to an earlier version).

A job record names its workflow (records written before there were several name none:
they are deployments). Everything that reads a record's execution (the runner, replay,
the listing, the console, ``auto-lambda graph --workflow``) asks this registry for the
definition. Declarations only: no steps, no AWS.
"""

from __future__ import annotations

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.workflow import DEPLOYMENT
from orchestrator.jobs.workflows.deletion import DELETION
from orchestrator.jobs.workflows.rollback import ROLLBACK
from states import Definition

DEFAULT_WORKFLOW = "deployment"
WORKFLOWS: dict[str, Definition] = {
    "deployment": DEPLOYMENT,
    "deletion": DELETION,
    "rollback": ROLLBACK,
}


class UnknownWorkflow(AutoLambdaError):
    code = Code.UnknownWorkflow


def definition_of(name: str | None) -> Definition:
    """The definition of workflow ``name`` (None: a deployment, as records of earlier
    releases are); ``UnknownWorkflow`` for any other name."""
    try:
        return WORKFLOWS[name or DEFAULT_WORKFLOW]
    except KeyError:
        raise UnknownWorkflow(
            f"no workflow {name!r}", hint="one of: " + ", ".join(WORKFLOWS)) from None


def all_states() -> tuple[str, ...]:
    """Every state a job of any workflow can be in (each once, in declaration order),
    with the library's waiting state."""
    seen: dict[str, None] = {}
    for definition in WORKFLOWS.values():
        for name in (*definition.names, definition.retrying_state):
            seen.setdefault(name, None)
    return tuple(seen)


TERMINAL_STATES: frozenset[str] = frozenset().union(
    *(d.terminal_states for d in WORKFLOWS.values()))
SUCCEEDED_STATES: frozenset[str] = frozenset().union(
    *(d.succeed_states for d in WORKFLOWS.values()))
