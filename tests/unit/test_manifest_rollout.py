"""``[deploy]``: strategies and CodeDeploy's presets, custom steps, the old ``gradual``
keys (still working, as a custom linear rollout), alarms and hooks within the team's
namespace, each mistake refused with its code and naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import ManifestError
from orchestrator.steps.unpack.manifest import AppSpec, load_app_spec
from orchestrator.steps.unpack.rollout import (
    PRESETS,
    DeployPlan,
    RolloutStep,
    check_team_names,
    read_deploy,
)
from orchestrator.steps.unpack.step import with_team

HANDLER = "def handler(event, context):\n    return event\n"


def spec_of(tmp_path: Path, deploy: str) -> AppSpec:
    (tmp_path / "app.py").write_text(HANDLER)
    (tmp_path / "auto-lambda.toml").write_text("[deploy]\n" + deploy)
    return load_app_spec(tmp_path, "a.zip")


def test_deploy_defaults_to_all_at_once(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    spec = load_app_spec(tmp_path, "a.zip")
    assert spec.deploy_strategy == "all-at-once" and spec.deploy == DeployPlan()
    assert not spec.deploy.gradual


@pytest.mark.parametrize(("deploy", "strategy", "preset", "steps"), [
    ("strategy = 'canary'", "canary", "Canary10Percent5Minutes", [(0.1, 300)]),
    ("preset = 'Canary10Percent30Minutes'", "canary", "Canary10Percent30Minutes",
     [(0.1, 1800)]),
    ("strategy = 'linear'", "linear", "Linear10PercentEvery1Minute",
     [(round(0.1 * i, 2), 60) for i in range(1, 10)]),
    ("strategy = 'linear'\npreset = 'Linear10PercentEvery10Minutes'", "linear",
     "Linear10PercentEvery10Minutes", [(round(0.1 * i, 2), 600) for i in range(1, 10)]),
    ("preset = 'AllAtOnce'", "all-at-once", "AllAtOnce", []),
    ("strategy = 'linear'\nsteps = [{ weight = 0.25, bake_seconds = 7200 },"
     " { weight = 0.5, bake_seconds = 7200 }]", "linear", None, [(0.25, 7200), (0.5, 7200)]),
    ("strategy = 'canary'\nsteps = [{ weight = 0.05, bake_seconds = 3600 }]", "canary", None,
     [(0.05, 3600)]),
])
def test_strategies_presets_and_steps(tmp_path: Path, deploy: str, strategy: str,
                                      preset: str | None,
                                      steps: list[tuple[float, int]]) -> None:
    spec = spec_of(tmp_path, deploy)
    assert spec.deploy_strategy == spec.deploy.strategy == strategy
    assert spec.deploy.preset == preset
    assert [(s.weight, s.bake_seconds) for s in spec.deploy.steps] == steps
    assert AppSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_every_codedeploy_lambda_preset_is_known() -> None:
    assert set(PRESETS) == {
        "AllAtOnce", "Canary10Percent5Minutes", "Canary10Percent10Minutes",
        "Canary10Percent15Minutes", "Canary10Percent30Minutes",
        "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes",
        "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes"}


def test_the_old_gradual_keys_are_a_custom_linear_rollout(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "strategy = 'gradual'\nweights = [0.05, 0.25, 0.75]\n"
                             "bake_seconds = 30\n")
    assert spec.deploy_strategy == "linear" and spec.deploy.requested == "gradual"
    assert spec.deploy.steps == (RolloutStep(0.05, 30), RolloutStep(0.25, 30),
                                 RolloutStep(0.75, 30))
    # defaults, and no more 240 s cap: bakes park the job
    plan = read_deploy({"strategy": "gradual", "bake_seconds": 3600})
    assert plan.steps == (RolloutStep(0.1, 3600), RolloutStep(0.5, 3600))


def test_snapshots_from_before_the_plan_still_load() -> None:
    old = {"name": "x", "handler": "app.handler", "deploy_strategy": "gradual",
           "deploy_weights": [0.1, 0.5], "deploy_bake_seconds": 60}
    spec = AppSpec.from_dict(old)
    assert spec.deploy == DeployPlan()


def test_alarms_and_hooks_are_the_teams_own(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "strategy = 'canary'\n"
                             "alarms = ['auto-lambda-pay-api-5xx', 'auto-lambda-pay-p99']\n"
                             "pre_traffic_hook = 'smoke'\n"
                             "post_traffic_hook = 'auto-lambda-pay-after'\n")
    mine = with_team(spec, "pay/a.zip", "auto-lambda")
    assert mine.deploy.alarms == ("auto-lambda-pay-api-5xx", "auto-lambda-pay-p99")
    assert mine.deploy.pre_traffic_hook == "auto-lambda-pay-smoke"
    assert mine.deploy.post_traffic_hook == "auto-lambda-pay-after"
    with pytest.raises(ManifestError) as info:
        with_team(spec, "other/a.zip", "auto-lambda")
    assert info.value.code == "AlarmOutsideTeam"
    assert "auto-lambda-pay-api-5xx" in str(info.value) and "auto-lambda-other-" in str(
        info.value)
    hook_elsewhere = read_deploy({"strategy": "canary",
                                  "pre_traffic_hook": "auto-lambda-pay-x"})
    with pytest.raises(ManifestError) as info:
        check_team_names(hook_elsewhere, "auto-lambda", "other")
    assert info.value.code == "ForbiddenFunctionName"


@pytest.mark.parametrize(("deploy", "code", "says"), [
    ("strategy = 'blue-green'", "RolloutInvalid", "strategy"),
    ("strategy = 1", "RolloutInvalid", "strategy"),
    ("preset = 'Canary50Percent5Minutes'", "RolloutPresetUnknown", "Canary50Percent5Minutes"),
    ("strategy = 'linear'\npreset = 'Canary10Percent5Minutes'", "RolloutPresetUnknown",
     "canary configuration"),
    ("strategy = 'canary'\npreset = 'Canary10Percent5Minutes'\n"
     "steps = [{ weight = 0.1, bake_seconds = 1 }]", "RolloutInvalid", "both"),
    ("strategy = 'canary'\nsteps = [{ weight = 0.1, bake_seconds = 1 },"
     " { weight = 0.2, bake_seconds = 1 }]", "RolloutInvalid", "one step"),
    ("strategy = 'linear'\nsteps = []", "RolloutInvalid", "give 1 to 20"),
    ("strategy = 'linear'\nsteps = 3", "RolloutInvalid", "list of tables"),
    ("strategy = 'linear'\nsteps = [{ weight = 0.1 }]", "RolloutInvalid", "steps[0]"),
    ("strategy = 'linear'\nsteps = [{ weight = 1.0, bake_seconds = 5 }]", "RolloutInvalid",
     "steps[0].weight"),
    ("strategy = 'linear'\nsteps = [{ weight = 0.5, bake_seconds = -5 }]", "RolloutInvalid",
     "steps[0].bake_seconds"),
    ("strategy = 'linear'\nsteps = [{ weight = 0.5, bake_seconds = 5 },"
     " { weight = 0.2, bake_seconds = 5 }]", "RolloutInvalid", "strictly increasing"),
    ("strategy = 'linear'\nsteps = [{ weight = 0.5, bake_seconds = 200000 }]",
     "RolloutInvalid", "2 days"),
    ("strategy = 'all-at-once'\nsteps = [{ weight = 0.5, bake_seconds = 5 }]",
     "RolloutInvalid", "all-at-once"),
    ("alarms = ['auto-lambda-default-x']", "RolloutInvalid", "all-at-once has no step"),
    ("strategy = 'canary'\nalarms = 'x'", "RolloutInvalid", "alarms"),
    ("strategy = 'canary'\nalarms = ['has space']", "RolloutInvalid", "not an alarm name"),
    ("strategy = 'canary'\npre_traffic_hook = 3", "RolloutInvalid", "pre_traffic_hook"),
    ("strategy = 'canary'\nrecheck = 'no'", "RolloutInvalid", "recheck"),
    ("weights = [0.5]", "RolloutInvalid", "gradual"),
    ("strategy = 'gradual'\npreset = 'Canary10Percent5Minutes'", "RolloutInvalid",
     "not preset"),
    ("strategy = 'gradual'\nweights = [0.5, 0.1]", "RolloutInvalid", "strictly increasing"),
    ("strategy = 'gradual'\nweights = [0, 0.5]", "RolloutInvalid", "weights[0]"),
    ("strategy = 'gradual'\nbake_seconds = 1.5", "RolloutInvalid", "bake_seconds"),
    ("strategy = 'gradual'\nbake_seconds = true", "RolloutInvalid", "bake_seconds"),
    ("strategy = 'canary'\nbake = 5", "ManifestInvalid", "unknown key"),
])
def test_deploy_mistakes_are_refused_with_a_code_naming_the_key(
        tmp_path: Path, deploy: str, code: str, says: str) -> None:
    with pytest.raises(ManifestError) as info:
        spec_of(tmp_path, deploy)
    assert info.value.code == code
    assert says in str(info.value)
    assert info.value.hint
