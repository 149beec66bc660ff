"""``auto-lambda local up`` and ``auto-lambda demo``: the pipeline on an embedded
emulator. Thin click wrappers: the stack, the emulator and the demo are the development
tools' (``auto_lambda_dev``, not in the worker's install); without them both commands
fail with ``ExtraMissing`` and the pip line that installs them."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.live import Live

from orchestrator.cli.console import console as make_console


@click.group()
def local() -> None:
    """Run the embedded local AWS stack."""


@local.command("up")
@click.option("--workers", "-w", default=1, show_default=True, help="Worker processes to start.")
@click.option("--max-workers", default=4, show_default=True,
              help="Upper bound for the local autoscaler.")
@click.option("--autoscale/--no-autoscale", default=True, show_default=True,
              help="Scale workers on BacklogPerSlot (the emulator never scales).")
@click.option("--control", type=click.Choice(["tracking", "direct"]), default="tracking",
              show_default=True,
              help="tracking: target tracking on the checker's metric only. direct: the "
                   "checker also sets the group's desired capacity each tick (as "
                   "`checker --control direct` does on AWS), tracking as the fallback.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=1, show_default=True,
              help="Jobs each local worker runs at once (its job slots). The workers "
                   "share this machine, so the default is one.")
@click.option("--port", "-p", default=4747, show_default=True,
              help="Port of the emulator on 127.0.0.1 (0 picks a free one).")
@click.option("--xray-port", default=2000, show_default=True,
              help="UDP port of the local X-Ray collector (0 picks a free one).")
@click.option("--ui/--no-ui", "with_ui", default=False, show_default=True,
              help="Also serve the web console on 127.0.0.1 and print its address.")
@click.option("--ui-port", default=8765, show_default=True,
              help="Port of the web console (0 picks a free one).")
@click.option("--url-port", default=8780, show_default=True,
              help="Port of the function URL / HTTP API stand-in (0 picks a free one; a "
                   "taken port falls back to a free one, and the URLs printed say which).")
@click.option("--faults", metavar="SPEC", default=None,
              help="Put a fault proxy in front of the emulator: KIND=RATE[:SECONDS]"
                   "[@TARGETS][#COUNT],... with KIND before (never sent on), after (took "
                   "effect, answer lost: 500), reset (took effect, connection reset) or "
                   "delay; seed=N makes runs repeatable. Stats: GET "
                   "<endpoint>/_auto-lambda/faults.")
def up(workers: int, max_workers: int, autoscale: bool, control: str, concurrency: int,
       port: int, xray_port: int, with_ui: bool, ui_port: int, url_port: int,
       faults: str | None) -> None:
    """Start the emulator, the resources and the workers; run until Ctrl-C.

    Prints the endpoint and the `export` lines another shell needs to use
    `auto-lambda submit`, `jobs`, `show` and the AWS CLI against it.

    \b
    auto-lambda local up --workers 2 --max-workers 6
    auto-lambda local up --control direct --concurrency 2
    auto-lambda local up --no-autoscale --port 0
    auto-lambda local up --ui
    auto-lambda local up --faults 'before=10%,after=10%,seed=7'
    auto-lambda local up --faults 'after=100%@lambda.CreateAlias#1,delay=5%:2@dynamodb'
    """
    _require_dev_tools()
    # imported on use, for start-up time: other commands (and --help) must not load it
    from auto_lambda_dev.autoscaler import format_decision
    from auto_lambda_dev.emulator import ensure_fake_credentials
    from auto_lambda_dev.stack import local_stack

    ensure_fake_credentials()
    err = make_console(stderr=True)
    _stop_on_sigterm()

    def on_scale(step: Any) -> None:
        if step.control is not None and step.control.decision is not None \
                and step.control.decision.changed:
            err.print(f"[cyan]checker[/cyan] {step.control.line()}")
        if step.decision.changed:
            err.print(f"[cyan]autoscaler[/cyan] {format_decision(step.decision, step.workers)}")

    with local_stack(port=port, workers=workers, max_workers=max_workers,
                     autoscale=autoscale, xray_port=xray_port, on_scale=on_scale,
                     concurrency=concurrency, control=control, faults=faults,
                     url_port=url_port) as stack:
        s = stack.settings
        click.echo(f"auto-lambda local stack on {stack.endpoint.url}")
        if stack.proxy is not None:
            click.echo(f"  fault proxy: {stack.proxy.plan.text}; what fired: "
                       f"curl {stack.endpoint.url}/_auto-lambda/faults")
        click.echo(f"  incoming bucket  s3://{s.incoming_bucket}   queue {s.queue_name}"
                   f"   table {s.table_name}")
        scaling = f"autoscale {control}, max {max_workers}" if autoscale else "autoscale off"
        click.echo(f"  workers {stack.workers()} with {concurrency} job slot(s) each ({scaling}); "
                   f"logs in {s.work_dir / 'logs'}")
        click.echo(f"  function URLs and HTTP APIs: {stack.urls.base_url}/<id>/ (a local "
                   "stand-in: runs the live version in the jail; <id> is the first label "
                   "of the URL a job reports)")
        click.echo("In another shell:\n" + stack.exports())
        click.echo("  auto-lambda submit my-app.zip && auto-lambda jobs", err=False)
        console = _start_ui(stack, ui_port) if with_ui else None
        sys.stdout.flush()
        last = -1
        try:
            while True:
                n = stack.workers()
                if n != last:
                    click.echo(f"workers: {n}")
                    sys.stdout.flush()
                    last = n
                time.sleep(0.5)
        except KeyboardInterrupt:
            click.echo("stopping: workers hand back their jobs…", err=True)
        finally:
            if console is not None:
                console.stop()


def _require_dev_tools() -> None:
    """ExtraMissing, with the pip line, unless the development tools are installed."""
    from orchestrator.errors import DEV_TOOLS, require_extra

    require_extra(DEV_TOOLS, "local", "the embedded local stack")


def _start_ui(stack: Any, port: int, err: bool = False) -> Any:
    from orchestrator.cli.cmd_ui import start_console

    console = start_console(stack.aws, port=port)
    click.echo(f"web console on {console.url}", err=err)
    return console


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM (a process manager, `kill`) stops the stack as Ctrl-C does: workers hand
    back their jobs and the emulator shuts down."""
    signal.signal(signal.SIGTERM, _interrupt)


def _demo_zips(zips: tuple[Path, ...], examples: tuple[str, ...], out_dir: Path
               ) -> tuple[list[Path], list[str]]:
    """The zips to submit and their keys (an example of a team goes under its folder)."""
    if zips:
        return list(zips), [z.name for z in zips]
    # imported on use, for start-up time: other commands (and --help) must not load it
    from auto_lambda_dev.examples import demo_dirs, example_dir, upload_key, zip_example

    out_dir.mkdir(parents=True, exist_ok=True)
    dirs = [example_dir(name) for name in examples] if examples else demo_dirs()
    return [zip_example(d, out_dir) for d in dirs], [upload_key(d) for d in dirs]


def _show_served(result: Any, console: Any) -> None:
    """Each function URL and HTTP API, where the stand-in serves it, and for public ones
    what a GET answers (the demo's own curl)."""
    from auto_lambda_dev.demo import fetch

    for served in result.served:
        console.print(f"[cyan]{served.app}[/cyan] {served.kind} (auth {served.auth}): "
                      f"{served.local_url}  [dim](stand-in for {served.aws_url})[/dim]")
        if served.auth == "none":
            status, body = fetch(served.local_url)
            console.print(f"  curl {served.local_url} -> {status} {body[:300]}",
                          markup=False, highlight=False)


@click.command()
@click.argument("zips", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workers", "-w", default=2, show_default=True, help="Worker processes.")
@click.option("--timeout", default=900, show_default=True,
              help="Seconds to wait for every job to end.")
@click.option("--json", "as_json", is_flag=True, help="Print {\"jobs\": [...]} only.")
@click.option("--ui", "with_ui", is_flag=True,
              help="Also serve the web console (printed address) and keep the stack up "
                   "after the jobs end, until Ctrl-C.")
@click.option("--ui-port", default=8765, show_default=True,
              help="Port of the web console (0 picks a free one).")
@click.option("--example", "examples", multiple=True, metavar="NAME",
              help="Submit only this example of examples/ (repeatable).")
@click.option("--serve/--no-serve", default=None,
              help="Keep the stack up after the jobs end, until Ctrl-C, so the printed "
                   "function URLs can be curled [default: when run in a terminal].")
@click.option("--url-port", default=0, show_default=True,
              help="Port of the function URL / HTTP API stand-in (0 picks a free one).")
def demo(zips: tuple[Path, ...], workers: int, timeout: int, as_json: bool, with_ui: bool,
         ui_port: int, examples: tuple[str, ...], serve: bool | None, url_port: int) -> None:
    """Start the embedded stack, submit ZIPS (default: the apps in examples/), show
    live progress, print each function URL and HTTP API (served by a local stand-in)
    and what the public ones answer, and exit 0 only if every job ends verified.

    \b
    auto-lambda demo
    auto-lambda demo --ui            # watch it in the browser
    auto-lambda demo --example platform-app --serve   # then curl the printed URL
    auto-lambda demo my-app.zip other-app.zip --json
    """
    _require_dev_tools()
    # imported on use, for start-up time: other commands (and --help) must not load it
    from auto_lambda_dev.demo import run_demo
    from auto_lambda_dev.emulator import ensure_fake_credentials
    from auto_lambda_dev.stack import local_stack
    from orchestrator.cli.report import jobs_table

    ensure_fake_credentials()
    _stop_on_sigterm()
    console = make_console(stderr=True) if as_json else make_console()
    # With the console, the local autoscaler runs too (up to --workers), so the fleet
    # page has the checker's metrics and the scaling target to show.
    with local_stack(port=0, workers=workers, xray_port=0, autoscale=with_ui,
                     max_workers=workers, url_port=url_port) as stack:
        paths, keys = _demo_zips(zips, examples, stack.settings.work_dir / "demo-zips")
        web = _start_ui(stack, ui_port, err=as_json) if with_ui else None
        console.print(f"embedded stack on {stack.endpoint.url}; {len(paths)} app(s), "
                      f"{workers} worker(s)")
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            result = run_demo(stack.aws, paths, timeout=timeout, keys=keys,
                              local_url=stack.urls.local_url,
                              on_update=lambda records: live.update(
                                  jobs_table(records, title="auto-lambda demo")))
        console.print()
        if as_json:
            click.echo(json.dumps({"jobs": [r.to_json() for r in result.records]},
                                  default=str))
        else:
            from orchestrator.cli.report import durations_table

            console.print(durations_table(result.records))
            for line in result.summary_lines():
                console.print(line)
        _show_served(result, console)
        if serve is None:
            serve = sys.stdin.isatty() and bool(result.served)
        if web is not None:
            click.echo(f"the console stays on {web.url} until Ctrl-C", err=True)
        if serve:
            click.echo("the function URLs above stay up until Ctrl-C", err=True)
        if web is not None or serve:
            _wait_for_interrupt()
        if web is not None:
            web.stop()
    sys.exit(0 if result.all_verified else 1)


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


commands = [local, demo]
