"""Extra hooks named by AUTO_LAMBDA_HOOKS: loaded from import paths, refused with a
code and a hint when they cannot be used."""

from __future__ import annotations

import pytest

from orchestrator.config import Settings
from orchestrator.errors import ConfigError
from orchestrator.jobs.extensions import load_hooks
from states import Hooks
from tests.fault_hooks import HOOKS_PATH, FaultHooks

NOT_HOOKS = object()


def make_hooks() -> Hooks:
    return FaultHooks()


def test_settings_read_the_hooks_setting() -> None:
    settings = Settings.from_env({"AUTO_LAMBDA_HOOKS": f" {HOOKS_PATH} , mod:attr ,"})
    assert settings.extra_hooks == (HOOKS_PATH, "mod:attr")


def test_classes_and_factories_load_as_hooks() -> None:
    loaded = load_hooks([HOOKS_PATH, "tests.unit.test_extensions:make_hooks"])
    assert [type(h) for h in loaded] == [FaultHooks, FaultHooks]


@pytest.mark.parametrize(("path", "said"), [
    ("no-colon", "is not module:attribute"),
    ("no_such_module_here:Hooks", "cannot import"),
    ("tests.fault_hooks:Missing", "has no 'Missing'"),
    ("tests.unit.test_extensions:NOT_HOOKS", "not a states.Hooks"),
])
def test_a_bad_entry_is_a_config_error_with_a_code(path: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said) as info:
        load_hooks([path])
    assert info.value.code == "HooksInvalid"
