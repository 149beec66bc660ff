"""``auto-lambda config show``: the effective settings (from the environment) and the
operator's policy per team (from ``AUTO_LAMBDA_TEAM_POLICY``), as text or JSON.

Reads the environment and the policy file only; makes no AWS calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from orchestrator.config import Settings
from orchestrator.policy import load_operator_policy
from orchestrator.types import JsonObject


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def effective(settings: Settings) -> JsonObject:
    """``{"settings": {...}, "team_policy": {"source", "default", "teams"}}``."""
    policy = load_operator_policy(settings.team_policy_file)
    return {"settings": _plain(asdict(settings)),
            "team_policy": _plain(policy.to_dict(settings.prefix))}


def _lines(data: JsonObject, indent: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.append(f"{indent}{key}:")
            out += _lines(value, indent + "  ")
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.append(f"{indent}{key}: {'-' if shown in (None, '', {}) else shown}")
    return out


@click.group()
def config() -> None:
    """Inspect auto-lambda's configuration: settings and the per-team policy."""


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(as_json: bool) -> None:
    """Print the effective settings (AUTO_LAMBDA_* and the AWS variables) and each
    team's policy from AUTO_LAMBDA_TEAM_POLICY (the safe defaults when unset).

    \b
    Example:
        AUTO_LAMBDA_TEAM_POLICY=/etc/auto-lambda/teams.json auto-lambda config show --json
    """
    data = effective(Settings.from_env())
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo("\n".join(_lines(data)))


commands: list[click.Command] = [config]
