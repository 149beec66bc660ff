"""The unpack step: extract the source zip safely (``zipsafe``) and read the app's
contract (``manifest``): name, handler, runtime, verify event, rollout; then check it
against the team's policy (``checkpolicy``), so a refusal comes before anything is built
or deployed.

Never imports or runs the app: the handler check here is static.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from orchestrator.policy import load_operator_policy
from orchestrator.steps.context import StepContext
from orchestrator.steps.data import Unpacked
from orchestrator.steps.unpack import rehydrate
from orchestrator.steps.unpack.checkpolicy import check_policy
from orchestrator.steps.unpack.manifest import AppSpec, load_app_spec
from orchestrator.steps.unpack.rollout import check_team_names
from orchestrator.steps.unpack.zipsafe import lift_single_folder, unpack_zip
from orchestrator.tenancy import function_name, own_app_name, team_of_key


@dataclass(frozen=True)
class UnpackOutput:
    app: AppSpec
    unpacked: Unpacked


def with_team(spec: AppSpec, key: str, prefix: str) -> AppSpec:
    """The spec of an upload under ``key``: its team, its own app name, a function name
    Lambda accepts (TeamInvalid, ForbiddenFunctionName, FunctionNameTooLong), and
    [deploy]'s alarms and hooks within the team's namespace (AlarmOutsideTeam)."""
    team = team_of_key(key)
    app = own_app_name(prefix, team, spec.name)
    function_name(prefix, team, app)
    return replace(spec, team=team, name=app,
                   deploy=check_team_names(spec.deploy, prefix, team))


def run(ctx: StepContext) -> UnpackOutput:
    folder = ctx.folder
    folder.clear_app()
    result = unpack_zip(rehydrate.source_zip(ctx), folder.app_dir,
                        rehydrate.unpack_limits(ctx.env.aws.settings))
    lifted = lift_single_folder(folder.app_dir)
    settings = ctx.env.aws.settings
    spec = with_team(load_app_spec(folder.app_dir, PurePosixPath(ctx.input.key).name),
                     ctx.input.key, settings.prefix)
    # Read per job: an operator's change to the file applies to the next upload.
    team_policy = load_operator_policy(settings.team_policy_file).for_team(spec.team,
                                                                           settings.prefix)
    check_policy(spec, team_policy)
    folder.unpacked_marker.touch()
    return UnpackOutput(spec, Unpacked(files=len(result.files), bytes=result.bytes_written,
                                       lifted_from=lifted))
