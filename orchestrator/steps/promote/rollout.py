"""The rollout's tasks, one per declared state (``orchestrator.jobs.workflow``):

- ``shift`` (``shifting``): the next step's share of ``live``'s traffic goes to the new
  version (``live`` stays on the previous one, with routing); ``bake_seconds`` is that
  step's bake, which the Wait state ``baking`` then waits out, parked.
- ``check`` (``checking``): the gate after a bake. An operator's stop rolls back
  (RolloutStopped), an alarm in ALARM or gone rolls back (AlarmTriggered), a failed
  smoke re-check rolls back with its code; an operator's promote skips the remaining
  steps (``finish``); otherwise the next step (``shift``) or ``finish`` after the last.
- ``finish`` (``finishing``): all of ``live`` on the new version, then the post-traffic
  hook and a last look at the alarms; either failing rolls back.
- ``revert`` (``rolling_back``): ``live`` back on the previous version with no
  routing (unless the rollout was superseded: someone else moved ``live`` meanwhile,
  and each task checks that before it writes: RolloutSuperseded), auto-lambda's alarms
  deleted, then the rollout's reason raised as the job's error (AlarmTriggered,
  HookFailed, RolloutStopped, ...), which fails the job. A step
  that failed for good is caught here too (its error, at ``$.error``, is the reason).

Each returns the Rollout (data key ``rollout``) with ``next`` for the Choice state.
Transient failures raise (the workflow retries the task; the alias write is
idempotent); verdicts never raise except in ``revert``. Never publishes or builds.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.codes import Code
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import (
    TRANSIENT_CODES,
    AlarmTriggered,
    AutoLambdaError,
    HookFailed,
    RolloutStopped,
    RolloutSuperseded,
)
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Rollout
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.promote import alarms
from orchestrator.steps.promote.hooks import AFTER, hook_event, judge
from orchestrator.steps.promote.step import InvokeHook
from orchestrator.steps.unpack import rehydrate
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RolloutStep:
    """What a rollout state leaves: the rollout as it now stands (the triggers the
    promote step recorded stay as they were)."""

    rollout: Rollout

# The dynamic check of one version (verify's), re-run at each step when [deploy].recheck.
Check = Callable[[StepContext, AppSpec, DeployResult, Path], object]
# The codes ``revert`` raises for a reason (any other code is raised as an
# AutoLambdaError with that code: a failed re-check's VerifyMismatch, say).
_REASONS: dict[str, type[AutoLambdaError]] = {
    Code.AlarmTriggered: AlarmTriggered, Code.HookFailed: HookFailed,
    Code.RolloutStopped: RolloutStopped, Code.RolloutSuperseded: RolloutSuperseded}


def _current(ctx: StepContext) -> tuple[Rollout, DeployResult]:
    return ctx.get(Rollout), ctx.get(DeployResult)


def _still_ours(ctx: StepContext, rollout: Rollout, deployed: DeployResult) -> None:
    """RolloutSuperseded unless ``live`` is still where this rollout left it: on the
    previous version, routing to ours (or to none before the first shift). Someone else
    moved it (a newer deployment): going on, or rolling back, would undo their move."""
    current = ctx.env.aws.functions.get_alias(deployed.function_name, LIVE_ALIAS)
    routed = set(current.weights) if current is not None else set()
    if current is None or current.version != rollout.previous_live \
            or not routed <= {str(rollout.version)} \
            or (rollout.step >= 0 and not routed):
        where = "gone" if current is None else (
            f"on version {current.version} routing {dict(current.weights)}")
        raise RolloutSuperseded(
            f"{LIVE_ALIAS} was moved during the rollout of version {rollout.version} (it is "
            f"{where}); the rollout ends without touching it",
            hint="a newer deployment moved live; see its job")


def _roll_back(rollout: Rollout, code: str, message: str, **details: object) -> RolloutStep:
    log.warning("rollout of version %s: rolling back (%s: %s)", rollout.version, code, message)
    reason: JsonObject = {"code": code, "message": message, **details}
    return RolloutStep(dataclasses.replace(rollout, next="rollback", reason=reason,
                                        bake_seconds=0))


def shift(ctx: StepContext) -> RolloutStep:
    rollout, deployed = _current(ctx)
    step = rollout.step + 1
    if step >= len(rollout.weights):  # a repeated shift after the last step: finish
        return RolloutStep(dataclasses.replace(rollout, next="finish", bake_seconds=0))
    weight = rollout.weights[step]
    assert rollout.previous_live is not None and rollout.version is not None
    _still_ours(ctx, rollout, deployed)
    ctx.env.aws.functions.point_alias(deployed.function_name, LIVE_ALIAS,
                                      rollout.previous_live, {rollout.version: weight})
    # An operator's promote waiting to be seen: no bake, the check finishes at once.
    bake = 0 if rollout.request else rollout.bakes[step]
    ctx.progress(f"{weight:.0%} of {LIVE_ALIAS} on version {rollout.version}; baking {bake} s")
    return RolloutStep(dataclasses.replace(rollout, step=step, bake_seconds=bake, next="check"))


def check(ctx: StepContext, recheck: Check) -> RolloutStep:
    rollout, deployed = _current(ctx)
    request = rollout.request or {}
    who = str(request.get("by") or "an operator")
    _still_ours(ctx, rollout, deployed)
    if request.get("action") == "stop":
        return _roll_back(rollout, Code.RolloutStopped, f"{who} stopped the rollout",
                          by=who)
    gate = alarms.read_gate(ctx.env.aws, rollout.alarms)
    if gate.in_alarm:
        return _roll_back(rollout, Code.AlarmTriggered,
                          f"alarm {', '.join(gate.in_alarm)} was in ALARM at "
                          f"{rollout.weight:.0%} of traffic", alarms=list(gate.in_alarm))
    if gate.missing:
        return _roll_back(rollout, Code.AlarmTriggered,
                          f"alarm {', '.join(gate.missing)} no longer exists, so it cannot "
                          f"gate the rollout", alarms=list(gate.missing))
    if request.get("action") == "promote":
        return RolloutStep(dataclasses.replace(rollout, next="finish", promoted_by=who,
                                            request=None))
    rechecks = rollout.rechecks
    spec = ctx.get(AppSpec)
    if spec.deploy.recheck:
        ctx.heartbeat()
        try:
            recheck(ctx, spec, deployed, rehydrate.package_zip(ctx))
        except AutoLambdaError as exc:
            if exc.code in TRANSIENT_CODES:
                raise
            return _roll_back(rollout, exc.code, f"the re-check at {rollout.weight:.0%} "
                              f"failed: {exc}")
        rechecks += 1
        ctx.heartbeat()
    last = rollout.step + 1 >= len(rollout.weights)
    return RolloutStep(dataclasses.replace(rollout, rechecks=rechecks,
                                        next="finish" if last else "shift"))


def finish(ctx: StepContext, invoke_hook: InvokeHook) -> RolloutStep:
    rollout, deployed = _current(ctx)
    spec = ctx.get(AppSpec)
    assert rollout.version is not None
    aws, name = ctx.env.aws, deployed.function_name
    if aws.functions.alias_version(name, LIVE_ALIAS) != rollout.version:
        _still_ours(ctx, rollout, deployed)  # (a retried finish finds live moved already)
    aws.functions.point_alias(name, LIVE_ALIAS, rollout.version)
    hook = spec.deploy.post_traffic_hook
    if hook:
        event = hook_event(job_id=ctx.job_id, lifecycle_event=AFTER, function_name=name,
                           version=rollout.version, previous=rollout.previous_live,
                           team=spec.team, app=spec.name)
        try:
            judge(hook, AFTER, invoke_hook(ctx, hook, event))
        except HookFailed as exc:
            return _roll_back(rollout, exc.code, exc.message, hook=hook)
    gate = alarms.read_gate(aws, rollout.alarms)
    if gate.in_alarm:
        return _roll_back(rollout, Code.AlarmTriggered,
                          f"alarm {', '.join(gate.in_alarm)} was in ALARM with all of "
                          f"{LIVE_ALIAS} on version {rollout.version}",
                          alarms=list(gate.in_alarm))
    alarms.delete_own(aws, rollout.own_alarms)
    ctx.progress(f"{LIVE_ALIAS} fully on version {rollout.version}")
    return RolloutStep(dataclasses.replace(rollout, next="done", bake_seconds=0,
                                        step=len(rollout.weights)))


def _caught(ctx: StepContext) -> JsonObject:
    """The reason of a rollback no check decided: the error a rollout step failed with
    (the workflow's Catch puts it at ``$.error``)."""
    caught = ctx.task.data.get("error")
    if isinstance(caught, dict) and caught.get("Error"):
        return {"code": str(caught["Error"]),
                "message": f"a rollout step failed: {caught.get('Cause') or ''}"}
    return {"code": Code.RolloutStopped.value,
            "message": "the rollout went back for no recorded reason"}


def revert(ctx: StepContext) -> RolloutStep:
    rollout, deployed = _current(ctx)
    assert rollout.previous_live is not None
    aws = ctx.env.aws
    reason = rollout.reason or _caught(ctx)
    code = str(reason.get("code") or Code.RolloutStopped)
    if code == RolloutSuperseded.code:  # live is someone else's now: leave it
        message = str(reason.get("message"))
    else:
        aws.functions.point_alias(deployed.function_name, LIVE_ALIAS, rollout.previous_live)
        message = (f"{reason.get('message')}; {LIVE_ALIAS} is back on version "
                   f"{rollout.previous_live}")
    alarms.delete_own(aws, rollout.own_alarms)
    details = {k: v for k, v in reason.items() if k not in ("code", "message")}
    known = {c.value: c for c in Code}
    kind = _REASONS.get(code, AutoLambdaError)
    raise kind(message, code=known.get(code, Code.InternalError), details=details,
               hint="see the job's history (auto-lambda jobs show JOB); fix, then upload "
                    "again")
