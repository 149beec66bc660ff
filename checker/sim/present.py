"""Present simulation results: a rich table for people, one JSON document for scripts.

Formatting only: no simulation and no I/O beyond the console it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from checker.sim.runner import PolicyResult, SimOptions
from checker.sim.scenarios import Scenario
from checker.sim.workload import Workload


def assumptions(options: SimOptions) -> dict[str, Any]:
    g, c, p = options.group, options.control, options.prices
    return {
        "build_times": options.builds.describe(),
        "group": {"min": g.min_capacity, "max": g.max_capacity, "concurrency": g.concurrency,
                  "launch_seconds": g.launch_seconds, "boot_seconds": g.boot_seconds,
                  "warm_pool_size": g.warm_pool_size,
                  "warm_pool_seconds": g.warm_launch_seconds + g.warm_boot_seconds,
                  "instance_warmup_seconds": g.warmup_seconds},
        "control": {"target_backlog_per_instance": c.target,
                    "scale_out_datapoints": c.out_points, "scale_in_datapoints": c.in_points,
                    "scale_in_below": c.target * c.in_ratio,
                    "scale_in_step_fraction": c.in_step_fraction,
                    "builtin_metric_lag_seconds": c.builtin_lag,
                    "checker_metric_lag_seconds": c.checker_lag,
                    "sqs_metrics_sleep_after_seconds": c.sleep_after,
                    "sqs_metrics_wake_delay_seconds": c.wake_delay,
                    "keda_poll_seconds": c.keda_poll},
        "prices": {"worker_per_hour": p.instance_per_hour,
                   "checker_host_per_hour": p.checker_per_hour,
                   "checker_host": p.checker_host,
                   "put_metric_data_per_1000": p.put_metric_per_1000,
                   "custom_metric_month": p.metric_month,
                   "alarm_standard_month": p.alarm_standard_month,
                   "alarm_high_res_month": p.alarm_high_res_month},
    }


def as_json(scenario: Scenario, seed: int, workload: Workload, results: Sequence[PolicyResult],
            options: SimOptions) -> dict[str, Any]:
    by_name = {r.policy: r for r in results}
    ratio = None
    if "checker-10s" in by_name and "builtin" in by_name and by_name["builtin"].p95 > 0:
        ratio = by_name["checker-10s"].p95 / by_name["builtin"].p95
    return {
        "scenario": scenario.name, "description": scenario.description, "seed": seed,
        "uploads": len(workload.arrivals),
        "assumptions": assumptions(options),
        "p95_ratio_checker_10s_to_builtin": ratio,
        "policies": [r.as_json() for r in results],
    }


def _seconds(value: float) -> str:
    return f"{value:,.0f}"


def table(scenario: Scenario, seed: int, workload: Workload,
          results: Sequence[PolicyResult]) -> Table:
    out = Table(title=f"{scenario.name}: {scenario.description} "
                      f"({len(workload.arrivals)} uploads, seed {seed})")
    for header in ("policy", "p50 s", "p95 s", "p99 s", "max backlog", "inst-h",
                   "workers $", "control $", "total $", "control $/mo", "unfinished"):
        out.add_column(header, justify="left" if header == "policy" else "right",
                       no_wrap=header == "policy")
    for r in results:
        out.add_row(r.policy, _seconds(r.p50), _seconds(r.p95), _seconds(r.p99),
                    str(r.max_backlog), f"{r.instance_hours:.1f}", f"{r.instance_cost:.2f}",
                    f"{r.control_cost:.2f}", f"{r.total_cost:.2f}",
                    f"{r.control_cost_per_month:.2f}", str(r.jobs - r.finished))
    return out


def print_table(console: Console, scenario: Scenario, seed: int, workload: Workload,
                results: Sequence[PolicyResult], options: SimOptions) -> None:
    console.print(table(scenario, seed, workload, results))
    p = options.prices
    console.print(f"build times: {options.builds.describe()}; worker ${p.instance_per_hour}/h; "
                  f"checker host {p.checker_host} (${p.checker_per_hour}/h); "
                  "latency = upload to verified.")
