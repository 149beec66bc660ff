"""``auto-lambda wait``: wait for the result of one upload, as a person or a CI job
would (``orchestrator.feedback.waiting``)."""

from __future__ import annotations

import json
import sys
import time

import click

from orchestrator.cli import params
from orchestrator.config import Settings


@click.command()
@click.argument("key")
@click.option("--version-id", help="The upload's S3 version id (what the upload's PutObject "
              "answered); default: the object's current version, when readable.")
@click.option("--timeout", default="15m", show_default=True, callback=params.interval,
              help="How long to wait (e.g. 90s, 15m).")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def wait(key: str, version_id: str | None, timeout: float, as_json: bool, quiet: bool) -> None:
    """Wait for the result of upload KEY (<team>/<app>.zip) and exit with its outcome.

    Exit status: 0 the job ended verified; 1 it ended otherwise (its error code is
    printed); 3 no result within --timeout; 2 the wait itself failed (no access, a bad
    argument). Progress goes to stderr; --json prints the result object (or
    {"timeout": true, ...}) on stdout.

    \b
    Example:
      v=$(aws s3api put-object --bucket B --key team/app.zip --body app.zip \\
            --query VersionId --output text)
      auto-lambda wait team/app.zip --version-id "$v" --timeout 10m --json
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.feedback.waiting import exit_code, resolve_target, wait_for

    key = key.removeprefix("/")
    if not key.lower().endswith(".zip"):
        raise click.BadParameter("name the upload's key, <team>/<app>.zip", param_hint="KEY")
    aws = Aws(Settings.from_env())
    target = resolve_target(aws, key, version_id, time.time())
    which = (f"version {target.version_id}" if target.version_id
             else "a job started from now on")
    if not quiet:
        click.echo(f"waiting for the result of {key} ({which})", err=True)

    def progress(waited: float) -> None:
        if not quiet:
            click.echo(f"  ... {waited:.0f}s", err=True)

    result = wait_for(aws, target, timeout, progress=progress)
    code = exit_code(result)
    if as_json:
        click.echo(json.dumps(result if result is not None else {
            "timeout": True, "key": key, "version_id": target.version_id,
            "waited_seconds": timeout}, indent=2, sort_keys=True))
    if result is None:
        click.echo(f"timeout: no result for {key} ({which}) within {timeout:.0f}s", err=True)
    elif result.get("ok"):
        click.echo(f"verified: {result.get('function_arn')} version {result.get('version')} "
                   f"(alias {result.get('alias')}), job {result.get('job_id')}", err=True)
    else:
        error = result.get("error") or {}
        hint = f" ({error['hint']})" if error.get("hint") else ""
        click.echo(f"{result.get('state')} [{error.get('code')}]: {error.get('message')}{hint}"
                   f", job {result.get('job_id')}", err=True)
    sys.exit(code)


commands = [wait]
