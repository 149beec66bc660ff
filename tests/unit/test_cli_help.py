"""Every ``auto-lambda`` command answers ``--help`` with what it does, and the commands
people run by hand against a stack show an example invocation."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from orchestrator.cli.main import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        out.append(path)
        if isinstance(command, click.Group):
            out += _commands(command, path)
    return out


ALL = _commands(cli)
WITH_EXAMPLES = ["build", "checker", "jobs", "replay", "rollout", "show", "simulate", "submit",
                 "trace", "ui", "worker"]


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


def test_the_lazy_command_table_names_each_command_where_it_is_defined() -> None:
    import importlib
    import pkgutil

    import orchestrator.cli as package
    from orchestrator.cli.main import LAZY

    defined = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"orchestrator.cli.{info.name}")
            defined |= {c.name: info.name for c in module.commands}
    assert defined == LAZY


def test_build_starts_without_boto3_or_rich() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom click.testing import CliRunner\n"
            "from orchestrator.cli.main import cli\n"
            "r = CliRunner().invoke(cli, ['build', '--help'])\nassert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'rich', 'checker', 'worker') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
