"""The deployment workflow, declared with the states library: the Machine state IS the
job state (received -> fetched -> unpacked -> built -> deployed -> tested -> verified,
or failed).

Each Task's ``resource`` names the step that runs in that state (fetch, unpack, build,
deploy, verify, promote, and the rollout's shift, check, finish, revert):
``deployed`` runs the smoke test, ``tested`` plans how ``live`` moves (all at once: it
moves there), and ``verified`` means the tested version is live. A canary or linear
rollout is declared as states, as CodeDeploy runs it: ``shifting`` sets the traffic
weight, ``baking`` is a Wait state (``$.rollout.bake_seconds``: the job parks, no worker
is held), ``checking`` reads the alarms, the hooks' verdicts and the operator's
requests, and the Choice ``rollout`` repeats, finishes (``finishing``: all traffic, the
post-traffic hook) or rolls back (``rolling_back``: ``live`` back on the previous
version, then ``failed`` with AlarmTriggered, HookFailed or RolloutStopped).

Transient error codes are retried with backoff and full jitter; any other error (or
exhausted retries) is caught to ``failed``. This module only declares; it must not run
steps or touch AWS. Everything else asks it which states are terminal, which step runs
where, and which steps need the uploaded object.
"""

from __future__ import annotations

from orchestrator.errors import TRANSIENT_CODES
from orchestrator.retries import WORKFLOW
from orchestrator.types import JsonObject
from states import (
    Catcher,
    ChoiceRule,
    ChoiceState,
    Definition,
    FailState,
    Retrier,
    SucceedState,
    TaskState,
    WaitState,
)
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
# Once traffic has moved, a step that fails for good rolls live back before failing.
CATCH_TO_ROLLBACK = Catcher(error_equals=("States.ALL",), next="rolling_back")
ROLLOUT_TASKS = frozenset({"shifting", "checking", "finishing"})

# (state, resource, next, timeout seconds, heartbeat seconds, comment)
_STEPS: tuple[tuple[str, str, str, int, int | None, str], ...] = (
    ("received", "fetch", "fetched", 120, None, "Download the uploaded zip from S3."),
    ("fetched", "unpack", "unpacked", 120, None, "Unpack the zip safely and read the manifest."),
    ("unpacked", "build", "built", 900, 60, "Install wheels and package the function."),
    ("built", "deploy", "deployed", 300, None, "Create or update the function, publish a version."),
    ("deployed", "verify", "tested", 300, 60,
     "Smoke-test the published version; live does not move."),
    ("tested", "promote", "rollout", 300, 60,
     "Plan how live moves: all at once now, or a rollout (alarms, pre-traffic hook)."),
    ("shifting", "shift", "baking", 120, None,
     "Send this step's share of live's traffic to the new version."),
    ("checking", "check", "rollout", 600, 60,
     "Gate the step: alarms, the smoke re-check, the operator's stop or promote."),
    ("finishing", "finish", "rollout", 300, 60,
     "All of live on the new version, then the post-traffic hook and the alarms."),
    ("rolling_back", "revert", "failed", 120, None,
     "Live back on the previous version; fails with the reason (alarm, hook, operator)."),
)

# Where the rollout goes after planning, a check or finishing ($.rollout.next).
ROLLOUT_CHOICE = ChoiceState(
    "rollout", choices=(
        ChoiceRule("$.rollout.next", "verified", string_equals="done"),
        ChoiceRule("$.rollout.next", "shifting", string_equals="shift"),
        ChoiceRule("$.rollout.next", "finishing", string_equals="finish"),
        ChoiceRule("$.rollout.next", "rolling_back", string_equals="rollback")),
    default="rolling_back",
    comment="Repeat (shift), finish, or roll back; anything unexpected rolls back.")
BAKE = WaitState("baking", next="checking", seconds_path="$.rollout.bake_seconds",
                 comment="Bake at this weight; the job parks and frees its worker.")

STEP_OF_STATE: dict[str, str] = {state: resource for state, resource, *_ in _STEPS}
# The states only a canary or linear rollout enters (an all-at-once job never does).
ROLLOUT_STATES: frozenset[str] = frozenset(
    {*ROLLOUT_TASKS, "rolling_back", ROLLOUT_CHOICE.name, BAKE.name})
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
                    catch=(CATCH_TO_ROLLBACK if state in ROLLOUT_TASKS else CATCH_ALL,),
                    timeout_seconds=timeout, heartbeat_seconds=heartbeat, comment=comment)
          for state, resource, nxt, timeout, heartbeat, comment in _STEPS),
        ROLLOUT_CHOICE, BAKE,
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
