"""What replaying jobs would do to their functions' triggers: for ``replay --dry-run``,
the trigger plan (``orchestrator.steps.triggers``) of each job a redrive or restart would
run to its promote step, computed from the job's recorded app and deployment and what AWS
holds now. Reads only."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.aws.facade import Aws
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.replay import Action
from orchestrator.steps.data import read_optional
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.triggers.reconcile import plan_triggers, target_of
from orchestrator.steps.unpack.manifest import AppSpec


def trigger_plans(aws: Aws, get: Callable[[str], JobRecord | None],
                  actions: Sequence[Action]) -> dict[str, list[str]]:
    """Job id -> the trigger changes its replay would make (one line each); a job whose
    deploy step has not run yet is left out (its function is not known)."""
    out: dict[str, list[str]] = {}
    for action in actions:
        if action.kind not in ("redrive", "restart") or not action.job_id:
            continue
        record = get(action.job_id)
        data = (record.snapshot.get("data") or {}) if record is not None else {}
        spec, deployed = read_optional(data, AppSpec), read_optional(data, DeployResult)
        if spec is None or deployed is None:
            continue
        target = target_of(aws, function_name=deployed.function_name,
                           function_arn=deployed.function_arn, team=spec.team, app=spec.name)
        try:
            planned, _ = plan_triggers(aws, target, spec.triggers)
        except AutoLambdaError as exc:
            out[action.job_id] = [f"cannot plan: [{exc.code}] {exc.message}"]
            continue
        out[action.job_id] = [a.describe() for a in planned]
    return out
