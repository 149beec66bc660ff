"""Entry point of the ``auto-lambda`` console script: registers the ``cmd_*`` modules'
commands and turns errors into one line, ``error [CODE]: message (hint)``, exit status 2.

Commands load lazily: running one imports only the module that defines it (``LAZY``),
so ``auto-lambda build`` starts without boto3, rich or the checker. A ``cmd_*`` module
the table does not name is still found and registered, only eagerly.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

from orchestrator import __version__
from orchestrator.errors import AutoLambdaError

# Commands that finish in a moment and print their own report: without -v they leave
# logging at Python's defaults (warnings still reach stderr as plain lines).
QUIET = frozenset({"build"})
# command name -> the cmd_* module defining it (tests check this against the modules)
LAZY = {
    "build": "cmd_build", "checker": "cmd_checker", "simulate": "cmd_checker",
    "graph": "cmd_graph", "submit": "cmd_jobs", "jobs": "cmd_jobs", "show": "cmd_jobs",
    "reindex": "cmd_jobs", "logs": "cmd_logs",
    "local": "cmd_local", "demo": "cmd_local", "replay": "cmd_replay", "trace": "cmd_trace",
    "ui": "cmd_ui", "worker": "cmd_worker", "config": "cmd_config",
    "wait": "cmd_wait", "events": "cmd_events", "webhooks": "cmd_events",
    "rollback": "cmd_rollback",
    "prune": "cmd_prune",
    "apps": "cmd_apps",
    "rollout": "cmd_rollout",
}


def _module_commands(module_name: str) -> list[click.Command]:
    module = importlib.import_module(f"orchestrator.cli.{module_name}")
    return list(module.commands)


class LazyGroup(click.Group):
    """A group whose commands are imported when they are looked up."""

    def _unlisted(self) -> None:
        import pkgutil

        import orchestrator.cli as package

        known = set(LAZY.values())
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("cmd_") and info.name not in known:
                for command in _module_commands(info.name):
                    self.add_command(command)
                known.add(info.name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._unlisted()
        return sorted(set(LAZY) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY:
            for command in _module_commands(LAZY[cmd_name]):
                self.add_command(command)
        if cmd_name not in self.commands:
            self._unlisted()
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="auto-lambda")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Build app zips dropped into S3 into verified AWS Lambda functions.

    Every upload becomes one persisted state machine:
    received → fetched → unpacked → built → deployed → tested → verified (or failed).

    Without AWS_ENDPOINT_URL the commands talk to real AWS through the standard
    AWS variables; `auto-lambda local up` and `auto-lambda demo` run everything on an
    embedded emulator instead.
    """
    if verbose == 0 and click.get_current_context().invoked_subcommand in QUIET:
        return
    # imported on use, for start-up time: a quiet build does not load logging
    import logging

    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "aws_xray_sdk", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AutoLambdaError as exc:
        _fail(exc)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # imported on use, for start-up time: other commands (and --help) must not load it
        from orchestrator.aws.facade import as_user_error

        mapped = as_user_error(exc)
        if mapped is None:
            raise
        _fail(mapped)


def _fail(exc: AutoLambdaError) -> NoReturn:
    click.echo(f"error [{exc.code}]: {exc}", err=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
