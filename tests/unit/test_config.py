"""Settings read from the environment: a value that cannot be read is a ConfigInvalid
error naming the variable, not a traceback."""

from __future__ import annotations

import pytest

from orchestrator.config import Settings
from orchestrator.errors import ConfigError


def test_numbers_and_flags_are_read() -> None:
    s = Settings.from_env({"AUTO_LAMBDA_VISIBILITY_TIMEOUT": "90", "AUTO_LAMBDA_LOCAL": "yes"})
    assert s.visibility_timeout == 90 and s.local_override is True


@pytest.mark.parametrize(("name", "value"), [
    ("AUTO_LAMBDA_VISIBILITY_TIMEOUT", "abc"),
    ("AUTO_LAMBDA_LEASE_SECONDS", "1.5"),
    ("AUTO_LAMBDA_LOCAL", "maybe"),
])
def test_unreadable_values_are_config_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert caught.value.code == "ConfigInvalid"
    assert name in str(caught.value) and caught.value.hint
