"""The deployment workflow, declared with the states library: the Machine state IS the
job state (received -> fetched -> unpacked -> built -> deployed -> tested -> verified,
or failed).

Each Task's ``resource`` names the step that runs in that state (fetch, unpack, build,
deploy, verify, promote): ``deployed`` runs the smoke test, ``tested`` moves ``live``
(a gradual rollout bakes there, under its own timeout and heartbeat), and ``verified``
means the tested version is live. Transient error codes are retried with backoff and
full jitter; any other error (or exhausted retries) is caught to ``failed``. This module
only declares; it must not run steps or touch AWS. Everything else asks it which states
are terminal, which step runs where, and which steps need the uploaded object.
"""

from __future__ import annotations

from orchestrator.errors import TRANSIENT_CODES
from orchestrator.retries import WORKFLOW
from orchestrator.types import JsonObject
from states import Catcher, Definition, FailState, Retrier, SucceedState, TaskState
from states.export import to_asl, to_dot, to_mermaid

# The numbers are the retry policy's (``orchestrator.retries``), which bounds them
# together with botocore's and the doors' budgets.
TRANSIENT_RETRY = Retrier(error_equals=tuple(TRANSIENT_CODES),
                          interval_seconds=WORKFLOW.interval_seconds,
                          max_attempts=WORKFLOW.max_attempts,
                          backoff_rate=WORKFLOW.backoff_rate,
                          max_delay_seconds=WORKFLOW.max_delay_seconds,
                          jitter=WORKFLOW.jitter)
CATCH_ALL = Catcher(error_equals=("States.ALL",), next="failed")

# (state, resource, next, timeout seconds, heartbeat seconds, comment)
_STEPS: tuple[tuple[str, str, str, int, int | None, str], ...] = (
    ("received", "fetch", "fetched", 120, None, "Download the uploaded zip from S3."),
    ("fetched", "unpack", "unpacked", 120, None, "Unpack the zip safely and read the manifest."),
    ("unpacked", "build", "built", 900, 60, "Install wheels and package the function."),
    ("built", "deploy", "deployed", 300, None, "Create or update the function, publish a version."),
    ("deployed", "verify", "tested", 300, 60,
     "Smoke-test the published version; live does not move."),
    ("tested", "promote", "verified", 600, 60,
     "Point live at the tested version (gradual: routing weights, bake, re-check)."),
)

STEP_OF_STATE: dict[str, str] = {state: resource for state, resource, *_ in _STEPS}
# Steps that read the uploaded object; later ones work from the stored artifact, so a
# job failed there can be redriven even after the upload was deleted.
SOURCE_STEPS = frozenset({"fetch", "unpack", "build"})

# The history lives in its own table, one item per event, and a worker holds only the
# events it has not yet written: so a job's length is bounded by its own worth, not by an
# item or by memory. The cap still stops a runaway (say, a script redriving a job in a
# loop), four times Step Functions' 25,000.
MAX_HISTORY_EVENTS = 100_000

DEPLOYMENT: Definition = Definition(
    start_at="received",
    comment="auto-lambda: build, deploy and verify one uploaded app zip",
    max_history_events=MAX_HISTORY_EVENTS,
    states=(
        *(TaskState(name=state, resource=resource, next=nxt, retry=(TRANSIENT_RETRY,),
                    catch=(CATCH_ALL,), timeout_seconds=timeout, heartbeat_seconds=heartbeat,
                    comment=comment)
          for state, resource, nxt, timeout, heartbeat, comment in _STEPS),
        SucceedState("verified", comment="The tested version is live behind the alias."),
        FailState("failed", comment="A permanent error, or retries exhausted."),
    ),
)


TERMINAL_STATES: frozenset[str] = DEPLOYMENT.terminal_states
SUCCEEDED_STATE: str = next(iter(DEPLOYMENT.succeed_states))
FAILED_STATE: str = next(iter(DEPLOYMENT.fail_states))
STATES_WITHOUT_SOURCE: frozenset[str] = frozenset(
    state for state, step in STEP_OF_STATE.items() if step not in SOURCE_STEPS)


def mermaid() -> str:
    """The workflow as a mermaid stateDiagram-v2."""
    return to_mermaid(DEPLOYMENT)


def asl() -> JsonObject:
    """The workflow as Amazon States Language."""
    return to_asl(DEPLOYMENT)


def dot() -> str:
    """The workflow as a graphviz digraph."""
    return to_dot(DEPLOYMENT)
