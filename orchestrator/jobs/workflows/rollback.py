"""The rollback workflow, declared with the states library: ``auto-lambda rollback``
moves ``live`` to a version published earlier, without building anything, so it works
whether or not the upload still exists.

requested (check: the function is auto-lambda's and the team's, the version exists, and
it verified unless forced) -> chosen (point ``live`` at it) -> rolled_back. Triggers
target ``live``, so they move with it. Declares only; it must not run steps or touch AWS.
"""

from __future__ import annotations

from orchestrator.jobs.workflow import CATCH_ALL, MAX_HISTORY_EVENTS, TRANSIENT_RETRY
from states import Definition, FailState, SucceedState, TaskState

ROLLBACK: Definition = Definition(
    start_at="requested",
    comment="auto-lambda: move live back to an already published version",
    max_history_events=MAX_HISTORY_EVENTS,
    states=(
        TaskState("requested", resource="choose", next="chosen", retry=(TRANSIENT_RETRY,),
                  catch=(CATCH_ALL,), timeout_seconds=60,
                  comment="Check the function, the version and its verdict."),
        TaskState("chosen", resource="repoint", next="rolled_back", retry=(TRANSIENT_RETRY,),
                  catch=(CATCH_ALL,), timeout_seconds=120,
                  comment="Point live at the chosen version."),
        SucceedState("rolled_back", comment="live points at the chosen version."),
        FailState("failed", comment="Refused, or retries exhausted."),
    ),
)
