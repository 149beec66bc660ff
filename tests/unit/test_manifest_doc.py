"""docs/manifest.md is the manifest's reference page: it names every key the reader
accepts, every key of the operator's policy, and every code either can refuse with."""

from __future__ import annotations

from pathlib import Path

from orchestrator.policy import ENTRY_KEYS, TRIGGER_TYPES
from orchestrator.steps.unpack import manifest, platform, rollout, smoke

DOC = (Path(__file__).resolve().parents[2] / "docs" / "manifest.md").read_text()
CODES = ["ManifestInvalid", "UnsupportedRuntime", "UnsupportedArchitecture",
         "HandlerNotFound", "HandlerAsync", "ArnInvalid", "SecretReferenceInvalid",
         "ScheduleExpressionInvalid", "PolicyDocumentInvalid", "LimitExceeded",
         "VpcProfileUnknown", "LayerNotAllowed", "TriggerNotAllowed", "PublicUrlNotAllowed",
         "ForbiddenQueue", "ForbiddenSecret", "PermissionsOutsideBoundary", "ConfigInvalid",
         "RolloutInvalid", "RolloutPresetUnknown", "AlarmOutsideTeam", "ForbiddenFunctionName",
         "AlarmNotFound", "AlarmTriggered", "HookFailed", "RolloutStopped", "RolloutInProgress",
         "RolloutSuperseded", "SchedulerRoleNotFound"]


def test_every_key_and_table_is_documented() -> None:
    keys = {*manifest._FUNCTION_KEYS, *manifest._BUILD_KEYS, *rollout.DEPLOY_KEYS, *rollout.PRESETS,
            *smoke.EVENT_KEYS, *platform.PERMISSIONS_KEYS, *ENTRY_KEYS, *TRIGGER_TYPES,
            *(k for keys in platform.TRIGGER_KEYS.values() for k in keys)}
    missing = sorted(k for k in keys if f"`{k}`" not in DOC)
    assert not missing
    for table in manifest.TABLES:
        assert f"[{table}]" in DOC


def test_every_code_is_documented() -> None:
    assert not [c for c in CODES if f"`{c}`" not in DOC]


def test_the_readme_links_the_reference_page() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    contract = readme.split("## The app zip contract", 1)[1].split("\n## ", 1)[0]
    assert "(docs/manifest.md)" in contract
