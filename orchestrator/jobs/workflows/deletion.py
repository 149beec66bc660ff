"""The deletion workflow, declared with the states library: an app's zip was deleted
(an ObjectRemoved event: a delete, or a delete marker in the versioned bucket), so its
function goes, after a grace period an upload of the same app cancels.

requested (Wait: the grace period, ``$.grace_seconds``, fixed when the job was made)
-> graced (check: the app was not uploaded again, the function is auto-lambda's)
-> confirmed (remove the triggers) -> untriggered (remove the ``live`` alias)
-> unaliased (delete the function) -> undeployed (delete its role, if auto-lambda's)
-> deleted. An upload found by the check, or by a later step before the function goes,
ends the job in ``kept`` (succeeded; the TaskFailed event says what was found, and the
new upload's own job deploys the app again); a function auto-lambda does not own fails
it (``NotOwned``). Every step is idempotent: a thing already gone is done.

Declares only; it must not run steps or touch AWS.
"""

from __future__ import annotations

from orchestrator.codes import Code
from orchestrator.jobs.workflow import CATCH_ALL, MAX_HISTORY_EVENTS, TRANSIENT_RETRY
from states import Catcher, Definition, FailState, SucceedState, TaskState, WaitState

# The error the check raises when the app is there again: caught into ``kept``.
UPLOADED_AGAIN = Code.AppUploadedAgain
GRACE_PATH = "$.grace_seconds"

# (state, resource, next, timeout seconds, comment)
_STEPS: tuple[tuple[str, str, str, int, str], ...] = (
    ("graced", "recheck", "confirmed", 60,
     "Keep the app if it was uploaded again; refuse a function auto-lambda does not own."),
    ("confirmed", "untrigger", "untriggered", 300,
     "Remove the function URL, event source mappings, schedules and HTTP APIs."),
    ("untriggered", "unalias", "unaliased", 60, "Delete the live alias."),
    ("unaliased", "undeploy", "undeployed", 120, "Delete the function and its versions."),
    ("undeployed", "unrole", "deleted", 120,
     "Delete the function's own role, if auto-lambda made it."),
)

# The steps that look for an upload first: one found ends the job ``kept`` (before the
# function goes; the role is the function's, removed only once the function is gone).
_CHECKED = frozenset({"recheck", "untrigger", "unalias", "undeploy"})

DELETION: Definition = Definition(
    start_at="requested",
    comment="auto-lambda: remove an app whose zip was deleted, after a grace period",
    max_history_events=MAX_HISTORY_EVENTS,
    states=(
        WaitState("requested", next="graced", seconds_path=GRACE_PATH,
                  comment="The grace period (AUTO_LAMBDA_DELETE_GRACE)."),
        *(TaskState(name=state, resource=resource, next=nxt, retry=(TRANSIENT_RETRY,),
                    catch=((Catcher((UPLOADED_AGAIN,), "kept"),) if resource in _CHECKED
                           else ()) + (CATCH_ALL,),
                    timeout_seconds=timeout, comment=comment)
          for state, resource, nxt, timeout, comment in _STEPS),
        SucceedState("deleted", comment="The triggers, alias, function and role are gone."),
        SucceedState("kept", comment="The app was uploaded again: the deletion stopped."),
        FailState("failed", comment="Not auto-lambda's function, or retries exhausted."),
    ),
)
