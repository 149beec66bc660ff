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


def test_the_standard_otlp_endpoints_are_read_blank_as_unset() -> None:
    s = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "  "})
    assert s.otel_endpoint == "http://collector:4318"
    assert s.otel_traces_endpoint is None
    assert Settings.from_env({}).otel_endpoint is None
