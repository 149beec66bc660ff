"""Every ``auto-lambda`` command answers ``--help`` with what it does, and the commands
people run by hand against a stack show an example invocation."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        out.append(path)
        if isinstance(command, click.Group):
            out += _commands(command, path)
    return out


ALL = _commands(cli)
WITH_EXAMPLES = ["build", "checker", "jobs", "replay", "show", "simulate", "submit", "trace", "ui",
                 "worker"]


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_command_describes_itself(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    description = result.output.split("\n\n", 2)[1].strip()
    assert description and not description.startswith("Options:")


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_hand_run_commands_show_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert f"Example:\n    auto-lambda {name} " in result.output
