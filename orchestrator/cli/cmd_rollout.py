"""``auto-lambda rollout stop|promote JOB``: an operator's say over a running canary or
linear rollout. A thin shell over ``orchestrator.jobs.rollout_control``: the request is
recorded in the job's history with who made it, and a worker is woken to act on it.
"""

from __future__ import annotations

import getpass
import json
import socket

import click

from orchestrator.config import Settings


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@click.group()
def rollout() -> None:
    """Stop or promote a running canary or linear rollout.

    \b
    Example:
      auto-lambda rollout stop 3f2a9c --by alice
      auto-lambda rollout promote 3f2a9c --json
    """


def _act(action: str, job: str, by: str | None, wake: bool, as_json: bool) -> None:
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.queue import Queue
    from orchestrator.jobs.rollout_control import request
    from orchestrator.jobs.runtime import build_runtime

    settings = Settings.from_env()
    rt = build_runtime(settings, hooks=())
    queue = Queue(rt.aws, rt.aws.queue_url(), "jobs") if wake else None
    done = request(rt.runner, job, action, by or _operator(), queue=queue)
    if as_json:
        click.echo(json.dumps({"job_id": done.job_id, "action": done.action, "by": done.by,
                               "state": done.state, "woken": done.woken}))
        return
    then = ("a worker acts on it now" if done.woken
            else "the job acts on it when it next wakes")
    click.echo(f"{done.action} of job {done.job_id} recorded (by {done.by}, in {done.state}); "
               f"{then}")


_by = click.option("--by", default=None,
                   help="Who asks, for the job's history (default: user@host).")
_no_wake = click.option("--no-wake", "no_wake", is_flag=True,
                        help="Do not send a message to wake the job; it sees the request "
                             "when its parked message returns (within 15 minutes).")
_json = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@rollout.command()
@click.argument("job")
@_by
@_no_wake
@_json
def stop(job: str, by: str | None, no_wake: bool, as_json: bool) -> None:
    """Roll JOB's rollout back: live returns to the previous version at the next check
    (at once when the job is baking); the job fails with RolloutStopped."""
    _act("stop", job, by, not no_wake, as_json)


@rollout.command()
@click.argument("job")
@_by
@_no_wake
@_json
def promote(job: str, by: str | None, no_wake: bool, as_json: bool) -> None:
    """Skip JOB's remaining steps and waits: after one last look at the alarms, all of
    live moves to the new version (the post-traffic hook still runs)."""
    _act("promote", job, by, not no_wake, as_json)


commands = [rollout]
