"""Pre- and post-traffic hooks, as CodeDeploy's ``BeforeAllowTraffic`` and
``AfterAllowTraffic``: a team Lambda function invoked synchronously with the deployment's
details, whose answer is its verdict.

A hook fails when it raises (the invoke's FunctionError), or answers a JSON object whose
``status`` is ``Failed`` (CodeDeploy's word; any case). Any other answer passes. Unlike
CodeDeploy, the hook does not call back (PutLifecycleEventHookExecutionStatus): its
answer is the verdict, so no worker waits for a callback.

Invoking is the caller's (``Steps.invoke_hook``: the Lambda door on AWS; tests and the
local stack substitute it, since the emulator never runs Lambda code). Pure otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import HookFailed
from orchestrator.types import JsonObject

BEFORE = "BeforeAllowTraffic"
AFTER = "AfterAllowTraffic"


@dataclass(frozen=True)
class HookAnswer:
    """What a hook's invoke answered: the FunctionError (None when it returned) and
    its decoded output."""

    function_error: str | None
    payload: object


def hook_event(*, job_id: str, lifecycle_event: str, function_name: str, version: str,
               previous: str | None, team: str, app: str) -> JsonObject:
    """The event a hook is invoked with: CodeDeploy's two ids, plus what it deploys."""
    return {"DeploymentId": job_id,
            "LifecycleEventHookExecutionId": f"{job_id}:{lifecycle_event}",
            "LifecycleEvent": lifecycle_event, "FunctionName": function_name,
            "Alias": LIVE_ALIAS, "CurrentVersion": previous, "TargetVersion": version,
            "Team": team, "App": app}


def judge(hook: str, lifecycle_event: str, answer: HookAnswer) -> None:
    """Raise HookFailed (naming the hook and why) unless ``answer`` passes."""
    why: str | None = None
    if answer.function_error:
        why = f"it raised ({answer.function_error}): {str(answer.payload)[:500]}"
    elif isinstance(answer.payload, dict) \
            and str(answer.payload.get("status", "")).lower() == "failed":
        why = f"it answered {str(answer.payload)[:500]}"
    if why is not None:
        raise HookFailed(f"the {lifecycle_event} hook {hook} failed: {why}",
                         hint="fix the hook or the version it checks, then upload again",
                         details={"hook": hook, "lifecycle_event": lifecycle_event})
