"""Entry point of the ``auto-lambda`` console script: registers the ``cmd_*`` modules'
commands and turns errors into one line, ``error [CODE]: message (hint)``, exit status 2."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from typing import NoReturn

import click

from orchestrator import __version__
from orchestrator.errors import AutoLambdaError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "aws_xray_sdk", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))


def _register() -> None:
    # imported on use, for start-up time: other commands (and --help) must not load it
    import orchestrator.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"orchestrator.cli.{info.name}")
            for command in module.commands:
                cli.add_command(command)


_register()


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
