"""``auto-lambda ui``: serve the web console (jobs, one job's diagram and timeline, the
fleet, replay) until Ctrl-C. ``start_console`` is what ``local up --ui`` and
``demo --ui`` use to run it beside the embedded stack."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import click

from orchestrator.codes import Code
from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws
    from orchestrator.cli.ui.server import UiServer

DEFAULT_PORT = 8765
TOKEN_VARIABLE = "AUTO_LAMBDA_UI_TOKEN"


def start_console(aws: Aws, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                  token: str | None = None) -> UiServer:
    """Start the console on a thread; the caller stops it. A taken port is an error
    with a code, not a traceback."""
    # Imported here: the console's modules are only needed when it runs.
    from orchestrator.cli.ui.data import ConsoleData
    from orchestrator.cli.ui.security import is_loopback
    from orchestrator.cli.ui.server import UiServer

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    if token is not None and len(token) < 16:
        raise AutoLambdaError(f"{TOKEN_VARIABLE} is too short to protect the console",
                              code=Code.UiTokenWeak, hint="use at least 16 random characters, "
                              "or unset it for a generated token")
    try:
        server = UiServer(ConsoleData(aws), host=host, port=port, token=token)
    except OSError as exc:
        raise AutoLambdaError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                              code=Code.UiPortUnavailable,
                              hint="choose another --ui-port/--port (0 picks a free one)"
                              ) from exc
    if not is_loopback(host):
        click.echo(f"warning: the console listens on {host}: anyone who can reach it needs "
                   "the token in the address below; keep it secret", err=True)
    return server.start()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback requires the printed token "
                   "on every request.")
@click.option("--port", "-p", default=DEFAULT_PORT, show_default=True,
              help="Port to listen on (0 picks a free one).")
def ui(host: str, port: int) -> None:
    """Serve the web console: live jobs, each job's state diagram and timeline, the
    fleet's scaling metrics, replay and the DLQ.

    It reads through the same AWS settings as every command: against the embedded
    stack, run it with the export lines `auto-lambda local up` prints (or use
    `local up --ui`); against an account, with your AWS profile. Actions (replay, DLQ)
    are shown as a plan first and need the console's own form token.

    \b
    Example:
      auto-lambda ui                       # http://127.0.0.1:8765/
      auto-lambda ui --host 0.0.0.0 --port 9000   # prints an address with ?token=
      AUTO_LAMBDA_UI_TOKEN=... auto-lambda ui --host 10.0.0.5
    """
    from orchestrator.aws.facade import Aws

    server = start_console(Aws(Settings.from_env()), host=host, port=port)
    click.echo(f"auto-lambda console on {server.url}")
    click.echo("Ctrl-C to stop", err=True)
    sys.stdout.flush()
    _serve_until_interrupted(server)


def _serve_until_interrupted(server: UiServer) -> None:
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


commands = [ui]
