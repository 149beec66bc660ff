"""``auto-lambda checker`` (publish the queue-backlog metric the worker group scales on,
and with ``--control direct`` set the group's desired capacity from it) and
``auto-lambda simulate`` (compare scaling policies in a discrete-event simulation).

Thin click wrappers: parse options, build the objects, print. ``checker`` is imported
inside the command functions only, so the CLI loads fast and the layering holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from orchestrator.capacity import (
    MEASURED_CONCURRENCY,
    MEASURED_CPU_FRACTION,
    MEASURED_VCPUS,
    default_concurrency,
)
from orchestrator.cli import params
from orchestrator.cli.console import console as make_console

log = logging.getLogger(__name__)


@click.command()
@click.option("--interval", default="10s", show_default=True, callback=params.interval,
              help="Time between polls, e.g. 10s, 1m. Match the scaling policy's metric "
                   "period (10 s for high-resolution target tracking), or half of it with "
                   "--control direct so the controller reacts sooner.")
@click.option("--once", is_flag=True, help="Poll and publish once, then exit.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per tick (time, metrics, published, errors).")
@click.option("--include-in-flight/--no-include-in-flight", default=True, show_default=True,
              help="Count messages being processed (ApproximateNumberOfMessagesNotVisible) "
                   "in the backlog, as KEDA's scaleOnInFlight.")
@click.option("--include-delayed/--no-include-delayed", default=False, show_default=True,
              help="Count delayed messages (ApproximateNumberOfMessagesDelayed) too.")
@click.option("--activation", default=0, show_default=True, type=click.IntRange(min=0),
              help="A backlog of at most N messages counts as 0 for BacklogPerSlot "
                   "(as KEDA's activationQueueLength); 0 turns this off.")
@click.option("--history-window", default="15m", show_default=True, callback=params.interval,
              help="AverageProcessingSeconds averages jobs finished within this window.")
@click.option("--slots-per-instance", type=click.IntRange(min=1), default=None,
              help="Jobs each worker instance runs at once [default: "
                   "AUTO_LAMBDA_WORKER_CONCURRENCY, else what this machine would run; set "
                   "it when the checker runs on another instance type than the workers].")
@click.option("--control", type=click.Choice(["tracking", "direct"]), default="tracking",
              show_default=True,
              help="tracking: only publish (the group's target-tracking policy scales). "
                   "direct: also set the group's desired capacity each tick from the "
                   "backlog; the target-tracking policy stays as the fallback.")
@click.option("--target", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True,
              help="With --control direct: jobs per slot to size for (1: every waiting "
                   "job gets a slot).")
@click.option("--step-up", type=click.IntRange(min=1), default=10, show_default=True,
              help="With --control direct: add at most max(N, 100% of the group) "
                   "instances per tick.")
@click.option("--scale-in-window", default="2m", show_default=True, callback=params.interval,
              help="With --control direct: scale in only to the largest need seen within "
                   "this window.")
def checker(interval: float, once: bool, as_json: bool, include_in_flight: bool,
            include_delayed: bool, activation: int, history_window: float,
            slots_per_instance: int | None, control: str, target: float, step_up: int,
            scale_in_window: float) -> None:
    """Publish the high-resolution metric the worker group scales on, and optionally
    set the group's desired capacity from it.

    Every interval: read the jobs queue's ApproximateNumberOfMessages, ...NotVisible
    and ...Delayed, the worker group's InService instance count and the average
    processing time of recently finished jobs, and publish to CloudWatch namespace
    AutoLambda (dimension QueueName=<prefix>-jobs, StorageResolution=1):

    \b
      BacklogPerSlot      backlog / (InService x slots per instance), InService at least 1
      BacklogPerInstance  backlog / InService (the backlog itself when InService is 0)
      Backlog, Visible, InFlight, Delayed, InServiceInstances, JobSlots,
      AverageProcessingSeconds

    With --control direct, each tick then sets the group's desired capacity to what the
    backlog needs (ceil(backlog / (target x slots))), adding at most --step-up per
    tick and scaling in only to the largest need of the last --scale-in-window, within
    the group's min and max. Needs autoscaling:SetDesiredCapacity on the group.

    Zeros are published too: target tracking never scales in on missing data. API
    errors are logged and counted; the loop keeps going. Ctrl-C (or SIGTERM) stops it.

    \b
    Example:
      auto-lambda checker --interval 10s
      auto-lambda checker --interval 5s --control direct --slots-per-instance 4
      auto-lambda checker --once --json
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from checker.metric import Checker, CheckerOptions, format_tick
    from orchestrator.aws.facade import Aws
    from orchestrator.config import Settings

    settings = Settings.from_env()
    slots = slots_per_instance or default_concurrency(settings.worker_concurrency)
    options = CheckerOptions(interval=interval, include_in_flight=include_in_flight,
                             include_delayed=include_delayed, activation=activation,
                             history_window=history_window, slots_per_instance=slots)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    aws = Aws(settings)
    worker = Checker(aws, options)
    controller = None
    if control == "direct":
        from checker.controller import DirectController
        from checker.direct import DirectPolicy

        controller = DirectController(aws, DirectPolicy(target=target, step_up=step_up,
                                                        scale_in_window=scale_in_window))

    def show(result: Any) -> None:
        step = controller.step(result) if controller is not None else None
        if as_json:
            doc = result.as_json()
            if step is not None:
                doc["control"] = step.as_json()
            click.echo(json.dumps(doc, sort_keys=True))
        else:
            click.echo(format_tick(result, False))
            if step is not None:
                click.echo(step.line())
        sys.stdout.flush()

    if not as_json:
        click.echo(f"checker: queue {settings.queue_name}, group {settings.worker_group_name}, "
                   f"{slots} slot(s) per instance, every {interval:g}s, control {control}"
                   + (f", endpoint {settings.endpoint_url}" if settings.endpoint_url else ""),
                   err=True)
    with contextlib.suppress(KeyboardInterrupt):
        worker.run(stop=stop.is_set, sleep=stop.wait, on_tick=show,
                   max_ticks=1 if once else None)
    failed = worker.error_count + (controller.error_count if controller is not None else 0)
    if once and failed:
        sys.exit(1)


@click.command()
@click.option("--scenario", type=click.Choice(["steady", "burst", "diurnal", "idle-wake"]),
              default="burst", show_default=True,
              help="steady: 6 uploads/min for 3 h. burst: 500 uploads at once. diurnal: a "
                   "day from 1 to 19 uploads/min. idle-wake: 50 uploads after 6 idle hours "
                   "at zero instances.")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same result).")
@click.option("--policy", "policy_names", multiple=True,
              help="Policy to run (repeatable): builtin, checker-60s, checker-10s, "
                   "checker-step, keda, direct, fixed. Default: all but fixed. The oracle "
                   "runs too, as the floor every result is compared with.")
@click.option("--no-oracle", is_flag=True, help="Do not run the oracle (no ratios to it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for the docs).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write backlog and capacity over time per policy to FILE.png.")
@click.option("--target", default=1.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Target backlog per job slot (1: every waiting job gets a slot).")
@click.option("--min", "min_capacity", type=click.IntRange(min=0),
              help="Min instances (default 1; idle-wake 0).")
@click.option("--max", "max_capacity", default=20, show_default=True,
              type=click.IntRange(min=1), help="Max instances.")
@click.option("--concurrency", type=click.IntRange(min=1), default=MEASURED_CONCURRENCY,
              show_default=True,
              help="Job slots per instance (builds at once; measured on a 2-core worker).")
@click.option("--vcpus", type=click.IntRange(min=1), default=MEASURED_VCPUS,
              show_default=True, help="vCPUs per instance, shared by its builds.")
@click.option("--cpu-fraction", type=click.FloatRange(0, 1), default=MEASURED_CPU_FRACTION,
              show_default=True,
              help="Share of a build's time alone that computes (the rest waits on "
                   "downloads and AWS calls); measured.")
@click.option("--build-mean", default=30.0, show_default=True,
              help="Mean build seconds (lognormal), alone on an instance.")
@click.option("--build-sigma", default=0.5, show_default=True,
              help="Lognormal sigma of build seconds (spread).")
@click.option("--build-times-csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Fit the lognormal to these build durations (seconds, first column).")
@click.option("--fit-from-jobs", is_flag=True,
              help="Fit the lognormal to finished jobs' durations in the jobs table "
                   "(finished_at - created_at; uses the AWS settings).")
@click.option("--arrivals-csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Use these upload timestamps (epoch seconds or ISO 8601) as arrivals.")
@click.option("--launch-seconds", default=45.0, show_default=True,
              help="Launch to InService for a new instance.")
@click.option("--boot-seconds", default=20.0, show_default=True,
              help="InService to the worker polling.")
@click.option("--warm-pool", default=0, show_default=True, type=click.IntRange(min=0),
              help="Warm pool size: stopped, pre-initialised instances.")
@click.option("--warm-launch-seconds", default=20.0, show_default=True,
              help="Start from the warm pool to InService.")
@click.option("--warm-boot-seconds", default=10.0, show_default=True,
              help="InService to the worker polling, for a warm-pool instance.")
@click.option("--warmup", default=60.0, show_default=True,
              help="DefaultInstanceWarmup seconds.")
@click.option("--wake-delay", default=900.0, show_default=True,
              help="Seconds SQS metrics stay missing after an idle queue wakes (up to 900).")
@click.option("--scale-in-window", default=120.0, show_default=True,
              help="direct: scale in only to the largest need within this many seconds.")
@click.option("--step-up", default=10, show_default=True, type=click.IntRange(min=1),
              help="direct: add at most max(N, 100% of the group) instances per tick.")
@click.option("--instance-price", default=0.0416, show_default=True,
              help="Worker $/hour (t3.medium us-east-1 on-demand).")
@click.option("--ebs-gb-month", default=0.08, show_default=True,
              help="gp3 $/GB-month of a worker's 30 GB volume (running or stopped in the "
                   "warm pool).")
@click.option("--checker-price", default=0.0104, show_default=True,
              help="Checker host $/hour (t3.micro).")
@click.option("--checker-host", type=click.Choice(["dedicated", "shared"]), default="dedicated",
              show_default=True, help="Whether the checker has its own instance.")
def simulate(scenario: str, seed: int, policy_names: tuple[str, ...], no_oracle: bool,
             as_json: bool, markdown: bool, plot: Path | None, target: float,
             min_capacity: int | None, max_capacity: int, concurrency: int, vcpus: int,
             cpu_fraction: float,
             build_mean: float, build_sigma: float, build_times_csv: Path | None,
             fit_from_jobs: bool, arrivals_csv: Path | None, launch_seconds: float,
             boot_seconds: float, warm_pool: int, warm_launch_seconds: float,
             warm_boot_seconds: float, warmup: float, wake_delay: float,
             scale_in_window: float, step_up: int, instance_price: float,
             ebs_gb_month: float, checker_price: float, checker_host: str) -> None:
    """Compare scaling policies on a simulated upload workload, against an oracle.

    A discrete-event simulation of the queue and the worker group with AWS's control
    delays: built-in SQS metrics once a minute (missing for up to 15 min after 6 idle
    hours), target-tracking alarms (3 datapoints to scale out, 15 to scale in), 10 s
    periods for high-resolution metrics, instance launch, boot, warm pool and warm-up.
    Each instance runs --concurrency builds at once on --vcpus shared CPUs.

    \b
    Policies: builtin       target tracking on SQS's own metric (AWS default)
              checker-60s   target tracking on the checker's metric, 60 s
              checker-10s   target tracking on the checker's metric, 10 s
              checker-step  step scaling on the checker's metric, 10 s
              keda          a poller setting desired capacity directly, 30 s
              direct        checker --control direct every 5 s, target tracking
                            as fallback (the CDK stack's default)
              oracle        knows each upload at once and sets the capacity that
                            drains fastest (the floor; always run)

    Reports p50/p95/p99 upload-to-verified latency, p95 and instance-hours against the
    oracle, max backlog, instance-hours and cost including each policy's own control
    cost and the EBS volumes of running and warm-pool instances.

    \b
    Example:
      auto-lambda simulate --scenario burst --max 50
      auto-lambda simulate --scenario idle-wake --warm-pool 5 --policy direct
      auto-lambda simulate --scenario diurnal --json --plot diurnal.png
    """
    # imported on use, for start-up time: other commands (and --help) must not load it
    from dataclasses import replace

    from orchestrator.errors import DEV_TOOLS, require_extra

    require_extra(DEV_TOOLS, "sim", "the scaling simulator")
    require_extra("simpy", "sim", "the scaling simulator")
    from auto_lambda_dev.sim import present
    from auto_lambda_dev.sim.costs import Prices
    from auto_lambda_dev.sim.policies import COMPARED, ControlParams
    from auto_lambda_dev.sim.runner import SimOptions
    from auto_lambda_dev.sim.runner import simulate as run
    from auto_lambda_dev.sim.scenarios import get_scenario
    from auto_lambda_dev.sim.workload import (
        LogNormal,
        csv_arrivals,
        csv_durations,
        fit_lognormal,
    )
    from auto_lambda_dev.sim.world import GroupConfig
    from checker.errors import CheckerConfigError

    chosen = get_scenario(scenario)
    if build_times_csv is not None:
        builds = fit_lognormal(csv_durations(build_times_csv))
    elif fit_from_jobs:
        builds = fit_lognormal(_job_durations())
    else:
        builds = LogNormal.from_mean(build_mean, build_sigma)
    try:
        group = GroupConfig(max_capacity=max_capacity, concurrency=concurrency, vcpus=vcpus,
                            cpu_fraction=cpu_fraction, launch_seconds=launch_seconds,
                            boot_seconds=boot_seconds, warm_pool_size=warm_pool,
                            warm_launch_seconds=warm_launch_seconds,
                            warm_boot_seconds=warm_boot_seconds, warmup_seconds=warmup)
        if min_capacity is not None:
            group = replace(group, min_capacity=min_capacity, initial_capacity=min_capacity)
            chosen = replace(chosen, group={})
    except ValueError as exc:
        raise CheckerConfigError(f"invalid group: {exc}",
                                 hint="check --min, --max, --concurrency and --vcpus") from exc
    control = ControlParams(target=target, wake_delay=wake_delay, direct_window=scale_in_window,
                            direct_step_up=step_up)
    options = SimOptions(group=group, control=control,
                         prices=Prices(instance_per_hour=instance_price,
                                       ebs_gb_month=ebs_gb_month,
                                       checker_per_hour=checker_price,
                                       checker_host=checker_host),
                         builds=builds)
    arrivals = csv_arrivals(arrivals_csv) if arrivals_csv is not None else None
    workload, results = run(chosen, seed, list(policy_names) or list(COMPARED), options,
                            arrivals, with_oracle=not no_oracle)
    if plot is not None:
        from auto_lambda_dev.sim.plot import plot as draw

        draw(plot, chosen, results)
    if as_json:
        click.echo(json.dumps(present.as_json(chosen, seed, workload, results, options),
                              sort_keys=True))
        return
    if markdown:
        click.echo(present.markdown(chosen, seed, workload, results))
        return
    present.print_table(make_console(), chosen, seed, workload, results, options)
    if plot is not None:
        click.echo(f"plot written to {plot}")


def _job_durations() -> list[float]:
    """finished_at - created_at of every finished job in the jobs table."""
    # imported on use, for start-up time: other commands (and --help) must not load it
    from orchestrator.aws.facade import Aws
    from orchestrator.config import Settings
    from orchestrator.jobs.store import JobStore

    return JobStore(Aws(Settings.from_env())).finished_durations()


commands = [checker, simulate]
