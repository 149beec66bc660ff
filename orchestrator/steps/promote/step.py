"""The promote step: point the ``live`` alias at the version that passed verification,
at once or, with ``[deploy] strategy = "gradual"``, through weighted routing with a bake
and a fresh check after each weight.

A failed re-check puts ``live`` back on the earlier version without routing and fails
the step with the check's code. The bake sleeps in slices with a heartbeat after each,
so it stays inside the state's heartbeat timeout; a retried step starts over from the
alias as it finds it. Every alias write (create, update, each routing change) is
compared with the alias as Lambda holds it, before and after an unclear failure, by the
Lambda door (``aws.functions.point_alias``), so a write whose answer was lost is never
repeated into a conflict. Once ``live`` points at the verified version, the function's
triggers are reconciled with the manifest (``orchestrator.steps.triggers``): they are
attached to the alias, so they reach the new version from now on, and a trigger removed
from the manifest is removed from AWS. Touches only the alias and the triggers; never
publishes or builds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Rollout
from orchestrator.steps.deploy.step import DeployResult, live_version
from orchestrator.steps.triggers.reconcile import TriggerReport, reconcile, target_of
from orchestrator.steps.unpack import rehydrate
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify.step import Check, check_version

log = logging.getLogger(__name__)

# A bake sleeps in slices this long, heartbeating after each: well inside the promote
# state's heartbeat timeout.
BAKE_SLICE_SECONDS = 20.0


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


def run(ctx: StepContext, check: Check = check_version) -> Promoted:
    spec, deployed = ctx.get(AppSpec), ctx.get(DeployResult)
    aws, name, version = ctx.env.aws, deployed.function_name, deployed.version
    previous = live_version(aws, name) if spec.deploy_strategy == "gradual" else None
    if previous is None or previous == version:
        promote(aws, name, version)
        return Promoted(Rollout(requested=spec.deploy_strategy, strategy="all-at-once"),
                        attach_triggers(ctx, spec, deployed))
    package = rehydrate.package_zip(ctx)
    rechecks = 0

    def recheck() -> None:
        nonlocal rechecks
        ctx.heartbeat()
        check(ctx, spec, deployed, package)
        rechecks += 1
        ctx.heartbeat()

    def bake(seconds: float) -> None:
        sleep_in_slices(seconds, slice_seconds=BAKE_SLICE_SECONDS, sleep=ctx.env.sleep,
                        beat=ctx.heartbeat)

    ctx.progress(f"gradual rollout of version {version} over {previous}: "
                 f"weights {list(spec.deploy_weights)}")
    gradual_promote(aws, name, version, weights=spec.deploy_weights,
                    bake_seconds=spec.deploy_bake_seconds, check=recheck, sleep=bake)
    return Promoted(Rollout(requested=spec.deploy_strategy, strategy="gradual",
                            weights=tuple(spec.deploy_weights),
                            bake_seconds=spec.deploy_bake_seconds, previous_live=previous,
                            rechecks=rechecks),
                    attach_triggers(ctx, spec, deployed))


def _set_alias(aws: Aws, function_name: str, version: str,
               weights: dict[str, float] | None = None) -> None:
    """Make ``live`` point at ``version`` with ``weights`` (the door reads the alias
    before and after an unclear failure, so a repeat changes nothing)."""
    aws.functions.point_alias(function_name, LIVE_ALIAS, version, weights)


def promote(aws: Aws, function_name: str, version: str) -> None:
    """Point ``live`` at ``version`` (creating the alias if needed), clearing any routing.

    Call only after the version passed verification.
    """
    _set_alias(aws, function_name, version)
    log.info("function %s: %s -> version %s", function_name, LIVE_ALIAS, version)


def sleep_in_slices(seconds: float, *, slice_seconds: float, sleep: Callable[[float], None],
                    beat: Callable[[], None]) -> None:
    """Sleep ``seconds`` as slices of at most ``slice_seconds``, calling ``beat()`` after each,
    so a long bake keeps a step's heartbeat (and with it its lease) alive."""
    if slice_seconds <= 0:
        raise ValueError(f"slice_seconds must be positive, got {slice_seconds}")
    remaining = float(seconds)
    while remaining > 0:
        step = min(slice_seconds, remaining)
        sleep(step)
        remaining -= step
        beat()


def gradual_promote(
    aws: Aws,
    function_name: str,
    new_version: str,
    *,
    weights: Sequence[float] = (0.1, 0.5),
    bake_seconds: float,
    check: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Shift ``live`` to ``new_version`` in steps of traffic weight, baking at each step.

    At each weight, ``live`` keeps pointing at the previous version and sends ``weight``
    of the traffic to ``new_version``; after ``bake_seconds`` ``check()`` runs (e.g. reads
    the new version's error metrics) and raises to stop. On any failure the alias goes back
    to the previous version with no routing, and the failure propagates. With no previous
    version there is nothing to shift from: ``live`` moves at once.
    """
    previous = live_version(aws, function_name)
    if previous is None or previous == new_version:
        promote(aws, function_name, new_version)
        return
    try:
        for weight in weights:
            if not 0.0 < weight < 1.0:
                raise ValueError(f"routing weights must be between 0 and 1, got {weight}")
            _set_alias(aws, function_name, previous, {new_version: float(weight)})
            log.info("function %s: %.0f%% of %s to version %s, baking %.0f s", function_name,
                     weight * 100, LIVE_ALIAS, new_version, bake_seconds)
            sleep(bake_seconds)
            check()
    except BaseException:
        log.warning("function %s: rolling %s back to version %s", function_name, LIVE_ALIAS,
                    previous)
        _set_alias(aws, function_name, previous)
        raise
    promote(aws, function_name, new_version)
