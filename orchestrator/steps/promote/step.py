"""The promote step (state ``tested``): decide how ``live`` moves to the version that
passed verification, and for all-at-once, move it.

All at once (the default, or nothing live yet, or the same version live already):
``live`` points at the new version now and the rollout's ``next`` is ``done``. A canary
or linear rollout is planned here and run by the declared states after this one
(``orchestrator.steps.promote.rollout``): no other rollout of the function may be under
way (RolloutInProgress), the team's alarms must exist (AlarmNotFound), auto-lambda's own
alarms on the new version are created, and the pre-traffic hook must pass (HookFailed:
no traffic has moved, nothing to roll back); then ``next`` is ``shift``.

Every alias write is compared with the alias as Lambda holds it, before and after an
unclear failure, by the Lambda door (``aws.functions.point_alias``), so a write whose
answer was lost is never repeated into a conflict. The function's triggers are
reconciled with the manifest here too (``orchestrator.steps.triggers``): they are
attached to the alias, so they follow ``live`` through the rollout (and back, when it
reverts), and a trigger removed from the manifest is removed from AWS. Touches only the
alias, the alarms and the triggers; never publishes or builds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.errors import RolloutInProgress
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Rollout
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.promote import alarms
from orchestrator.steps.promote.hooks import BEFORE, HookAnswer, hook_event, judge
from orchestrator.steps.triggers.reconcile import TriggerReport, reconcile, target_of
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)

# What invokes a hook: (step context, function name, event) -> its answer.
InvokeHook = Callable[[StepContext, str, JsonObject], HookAnswer]


@dataclass(frozen=True)
class Promoted:
    rollout: Rollout
    triggers: TriggerReport


def attach_triggers(ctx: StepContext, spec: AppSpec, deployed: DeployResult) -> TriggerReport:
    """Reconcile the function's triggers (on ``live``) with the manifest's."""
    target = target_of(ctx.env.aws, function_name=deployed.function_name,
                       function_arn=deployed.function_arn, team=spec.team, app=spec.name)
    report = reconcile(ctx.env.aws, target, spec.triggers)
    for change in report.changes:
        ctx.progress(f"trigger: {change}")
    return report


def run(ctx: StepContext, invoke_hook: InvokeHook) -> Promoted:
    spec, deployed = ctx.get(AppSpec), ctx.get(DeployResult)
    aws, name, version = ctx.env.aws, deployed.function_name, deployed.version
    plan = spec.deploy
    previous = _previous(aws, name, version) if plan.gradual else None
    if previous is None or previous == version:
        promote(aws, name, version)
        return Promoted(Rollout(requested=plan.requested, strategy="all-at-once",
                                previous_live=previous, version=version, next="done"),
                        attach_triggers(ctx, spec, deployed))
    alarms.require_existing(aws, plan.alarms)
    own = alarms.create_own(aws, name, version, spec.team)
    if plan.pre_traffic_hook:
        ctx.progress(f"pre-traffic hook {plan.pre_traffic_hook}")
        event = hook_event(job_id=ctx.job_id, lifecycle_event=BEFORE, function_name=name,
                           version=version, previous=previous, team=spec.team, app=spec.name)
        try:
            judge(plan.pre_traffic_hook, BEFORE,
                  invoke_hook(ctx, plan.pre_traffic_hook, event))
        except Exception:
            alarms.delete_own(aws, own)
            raise
    ctx.progress(f"{plan.strategy} rollout of version {version} over {previous}: "
                 f"weights {list(plan.weights)}")
    return Promoted(Rollout(requested=plan.requested, strategy=plan.strategy,
                            weights=plan.weights,
                            bakes=tuple(s.bake_seconds for s in plan.steps),
                            previous_live=previous, version=version, next="shift",
                            alarms=(*plan.alarms, *own), own_alarms=own),
                    attach_triggers(ctx, spec, deployed))


def _previous(aws: Aws, name: str, version: str) -> str | None:
    """The version ``live`` points at; RolloutInProgress when it also routes traffic to
    another version than ours (a rollout of an earlier upload has not ended)."""
    current = aws.functions.get_alias(name, LIVE_ALIAS)
    if current is None:
        return None
    others = sorted(set(current.weights) - {version})
    if others:
        raise RolloutInProgress(
            f"{LIVE_ALIAS} of {name} is version {current.version} with "
            f"{current.weights[others[0]]:.0%} of its traffic on version {others[0]}: another "
            f"rollout is under way", hint="wait for it to end, or stop it (auto-lambda rollout "
            "stop JOB), then replay this job (auto-lambda replay JOB)",
            details={"live": current.version, "routing": dict(current.weights)})
    return current.version


def promote(aws: Aws, function_name: str, version: str) -> None:
    """Point ``live`` at ``version`` (creating the alias if needed), clearing any routing.

    Call only after the version passed verification.
    """
    aws.functions.point_alias(function_name, LIVE_ALIAS, version)
    log.info("function %s: %s -> version %s", function_name, LIVE_ALIAS, version)
