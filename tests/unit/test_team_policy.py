"""The operator's policy per team: safe defaults, a default entry with per-team
overrides, strict reading (ConfigInvalid naming the key), the setting that names the
file, and `auto-lambda config show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli
from orchestrator.config import Settings
from orchestrator.errors import ConfigError
from orchestrator.policy import (
    OperatorPolicy,
    TeamPolicy,
    VpcProfile,
    load_operator_policy,
    parse_operator_policy,
)

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:common:3"
PROFILE = {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-0123abcd"]}
FILE = {
    "default": {"max_memory": 1024, "max_timeout": 60, "services": ["s3"]},
    "teams": {
        "payments": {"vpc_profiles": {"private": PROFILE}, "layers": [LAYER],
                     "max_memory": 4096, "max_reserved_concurrency": 10,
                     "allow_public_urls": True, "triggers": ["url", "sqs"],
                     "services": ["s3", "dynamodb"]},
    },
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(data))
    return path


def test_safe_defaults_without_a_file() -> None:
    team = load_operator_policy(None).for_team("payments", "auto-lambda")
    assert team == TeamPolicy(team="payments", prefix="auto-lambda")
    assert team.vpc_profiles == {} and team.layers == () and team.services == ()
    assert not team.allow_public_urls and team.max_reserved_concurrency == 0
    assert (team.max_memory, team.max_timeout) == (10240, 900)
    assert team.name_prefix == "auto-lambda-payments-"


def test_default_entry_and_team_overrides_key_by_key(tmp_path: Path) -> None:
    policy = load_operator_policy(write(tmp_path, FILE))
    other = policy.for_team("shipping", "al")
    assert (other.max_memory, other.max_timeout, other.services) == (1024, 60, ("s3",))
    payments = policy.for_team("payments", "al")
    assert payments.max_memory == 4096 and payments.max_timeout == 60  # from the default
    assert payments.vpc_profiles == {"private": VpcProfile(("subnet-0123456789abcdef0",),
                                                           ("sg-0123abcd",))}
    assert payments.layers == (LAYER,) and payments.triggers == ("url", "sqs")
    assert payments.services == ("s3", "dynamodb") and payments.allow_public_urls


@pytest.mark.parametrize(("data", "names"), [
    ([], "file"), ({"defaults": {}}, "defaults"), ({"default": {"max_ram": 1}}, "max_ram"),
    ({"default": {"max_memory": 20000}}, "max_memory"),
    ({"default": {"max_memory": True}}, "max_memory"),
    ({"default": {"max_timeout": 0}}, "max_timeout"),
    ({"default": {"max_reserved_concurrency": -1}}, "max_reserved_concurrency"),
    ({"default": {"allow_public_urls": "yes"}}, "allow_public_urls"),
    ({"default": {"triggers": ["url", "email"]}}, "triggers"),
    ({"default": {"services": ["iam"]}}, "services"),
    ({"default": {"services": ["S3!"]}}, "services"),
    ({"default": {"layers": ["arn:aws:lambda:us-east-1:123456789012:function:f"]}}, "layers"),
    ({"default": {"vpc_profiles": {"Private": PROFILE}}}, "Private"),
    ({"default": {"vpc_profiles": {"p": {"subnet_ids": ["subnet-1"],
                                         "security_group_ids": ["sg-0123abcd"]}}}},
     "subnet_ids"),
    ({"default": {"vpc_profiles": {"p": {"subnet_ids": [], "security_group_ids": []}}}},
     "vpc_profiles.p"),
    ({"default": {"vpc_profiles": {"p": {"subnet_ids": ["subnet-0123abcd"]}}}},
     "vpc_profiles.p"),
    ({"teams": {"pay-ments": {}}}, "pay-ments"), ({"teams": []}, "teams"),
    ({"teams": {"payments": {"layer": []}}}, "layer"),
])
def test_mistakes_are_config_errors_naming_the_key(data: Any, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_operator_policy(data)
    assert info.value.code == "ConfigInvalid" and names in str(info.value)


def test_a_configured_file_that_is_missing_or_broken_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_operator_policy(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        load_operator_policy(bad)
    big = tmp_path / "big.json"
    big.write_text(" " * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="over"):
        load_operator_policy(big)


def test_the_setting_names_the_file() -> None:
    assert Settings.from_env({}).team_policy_file is None
    assert Settings.from_env({"AUTO_LAMBDA_TEAM_POLICY": " "}).team_policy_file is None
    settings = Settings.from_env({"AUTO_LAMBDA_TEAM_POLICY": "/etc/auto-lambda/teams.json"})
    assert settings.team_policy_file == Path("/etc/auto-lambda/teams.json")


def test_config_show_prints_settings_and_each_teams_policy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_TEAM_POLICY", str(write(tmp_path, FILE)))
    monkeypatch.setenv("AUTO_LAMBDA_PREFIX", "al")
    result = CliRunner().invoke(cli, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["settings"]["prefix"] == "al"
    assert data["settings"]["team_policy_file"] == str(tmp_path / "teams.json")
    policy = data["team_policy"]
    assert policy["source"] == str(tmp_path / "teams.json")
    assert policy["default"]["max_memory"] == 1024
    assert policy["teams"]["payments"]["vpc_profiles"]["private"]["subnet_ids"] == [
        "subnet-0123456789abcdef0"]
    text = CliRunner().invoke(cli, ["config", "show"])
    assert text.exit_code == 0 and "payments:" in text.output and "max_memory: 4096" in text.output


def test_config_show_with_the_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTO_LAMBDA_TEAM_POLICY", raising=False)
    result = CliRunner().invoke(cli, ["config", "show", "--json"])
    data = json.loads(result.output)["team_policy"]
    assert data["source"] is None and data["teams"] == {}
    assert data["default"]["allow_public_urls"] is False and data["default"]["layers"] == []


def test_config_show_refuses_a_broken_policy(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTO_LAMBDA_TEAM_POLICY", str(write(tmp_path, {"x": 1})))
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)


def test_an_empty_policy_object_is_the_defaults() -> None:
    assert parse_operator_policy({}) == OperatorPolicy()
