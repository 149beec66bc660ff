"""Present simulation results: a rich table for people, one JSON document for scripts,
a Markdown table for docs/scaling.md.

Formatting only: no simulation and no I/O beyond the console it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from auto_lambda_dev.sim.policies import BASELINE_POLICY, DEFAULT_POLICY, ORACLE
from auto_lambda_dev.sim.runner import PolicyResult, SimOptions
from auto_lambda_dev.sim.scenarios import Scenario
from auto_lambda_dev.sim.workload import Workload

# The bar the default policy is held to: p95 within this factor of the oracle's, at no
# more instance-hours than the built-in policy.
FLOOR_FACTOR = 1.15


def assumptions(options: SimOptions) -> dict[str, Any]:
    g, c, p = options.group, options.control, options.prices
    return {
        "build_times": options.builds.describe(),
        "group": {"min": g.min_capacity, "max": g.max_capacity, "concurrency": g.concurrency,
                  "vcpus": g.vcpus, "cpu_fraction": g.cpu_fraction,
                  "launch_seconds": g.launch_seconds, "boot_seconds": g.boot_seconds,
                  "warm_pool_size": g.warm_pool_size,
                  "warm_launch_seconds": g.warm_launch_seconds,
                  "warm_boot_seconds": g.warm_boot_seconds,
                  "instance_warmup_seconds": g.warmup_seconds},
        "control": {"target_backlog_per_slot": c.target,
                    "scale_out_datapoints": c.out_points, "scale_in_datapoints": c.in_points,
                    "scale_in_below": c.target * c.in_ratio,
                    "scale_in_step_fraction": c.in_step_fraction,
                    "builtin_metric_lag_seconds": c.builtin_lag,
                    "checker_metric_lag_seconds": c.checker_lag,
                    "sqs_metrics_sleep_after_seconds": c.sleep_after,
                    "sqs_metrics_wake_delay_seconds": c.wake_delay,
                    "keda_poll_seconds": c.keda_poll,
                    "direct_interval_seconds": c.direct_interval,
                    "direct_step_up": c.direct_step_up,
                    "direct_scale_in_window_seconds": c.direct_window},
        "prices": {"worker_per_hour": p.instance_per_hour,
                   "worker_volume_gb": p.volume_gb, "ebs_gb_month": p.ebs_gb_month,
                   "checker_host_per_hour": p.checker_per_hour,
                   "checker_host": p.checker_host,
                   "put_metric_data_per_1000": p.put_metric_per_1000,
                   "custom_metric_month": p.metric_month,
                   "alarm_standard_month": p.alarm_standard_month,
                   "alarm_high_res_month": p.alarm_high_res_month},
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def vs_oracle(result: PolicyResult, oracle: PolicyResult | None) -> tuple[float | None,
                                                                           float | None]:
    """(p95 ÷ oracle's p95, instance-hours ÷ oracle's)."""
    if oracle is None:
        return None, None
    return _ratio(result.p95, oracle.p95), _ratio(result.instance_hours, oracle.instance_hours)


def floor_check(results: Sequence[PolicyResult]) -> dict[str, Any] | None:
    """Whether the default policy's p95 is within FLOOR_FACTOR of the oracle's at no
    more instance-hours than the built-in policy (None unless all three ran)."""
    by_name = {r.policy: r for r in results}
    if not {DEFAULT_POLICY, BASELINE_POLICY, ORACLE} <= set(by_name):
        return None
    default, baseline = by_name[DEFAULT_POLICY], by_name[BASELINE_POLICY]
    p95_ratio, _ = vs_oracle(default, by_name[ORACLE])
    hours_ratio = _ratio(default.instance_hours, baseline.instance_hours)
    return {
        "policy": DEFAULT_POLICY, "baseline": BASELINE_POLICY, "factor": FLOOR_FACTOR,
        "p95_vs_oracle": p95_ratio, "instance_hours_vs_baseline": hours_ratio,
        "unfinished": default.jobs - default.finished,
        "ok": (p95_ratio is not None and p95_ratio <= FLOOR_FACTOR
               and hours_ratio is not None and hours_ratio <= 1.0
               and default.finished == default.jobs),
    }


def as_json(scenario: Scenario, seed: int, workload: Workload, results: Sequence[PolicyResult],
            options: SimOptions) -> dict[str, Any]:
    by_name = {r.policy: r for r in results}
    ratio = None
    if "checker-10s" in by_name and "builtin" in by_name and by_name["builtin"].p95 > 0:
        ratio = by_name["checker-10s"].p95 / by_name["builtin"].p95
    oracle = by_name.get(ORACLE)
    policies = []
    for r in results:
        doc = r.as_json()
        doc["p95_vs_oracle"], doc["instance_hours_vs_oracle"] = vs_oracle(r, oracle)
        policies.append(doc)
    return {
        "scenario": scenario.name, "description": scenario.description, "seed": seed,
        "uploads": len(workload.arrivals),
        "assumptions": assumptions(options),
        "p95_ratio_checker_10s_to_builtin": ratio,
        "oracle": None if oracle is None else {"p95": oracle.p95,
                                               "instance_hours": oracle.instance_hours},
        "floor_check": floor_check(results),
        "policies": policies,
    }


def _seconds(value: float) -> str:
    return f"{value:,.0f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(scenario: Scenario, seed: int, workload: Workload,
          results: Sequence[PolicyResult]) -> Table:
    by_name = {r.policy: r for r in results}
    oracle = by_name.get(ORACLE)
    title = (f"{scenario.name}: {scenario.description} "
             f"({len(workload.arrivals)} uploads, seed {seed})")
    if oracle is not None:
        title += f"; oracle p95 {_seconds(oracle.p95)} s"
    out = Table(title=title)
    for header in ("policy", "p50 s", "p95 s", "p99 s", "p95 ÷ oracle", "inst-h",
                   "inst-h ÷ oracle", "max backlog", "workers $", "control $", "total $",
                   "control $/mo", "unfinished"):
        out.add_column(header, justify="left" if header == "policy" else "right",
                       no_wrap=header == "policy")
    for r in results:
        p95_ratio, hours_ratio = vs_oracle(r, oracle)
        out.add_row(r.policy, _seconds(r.p50), _seconds(r.p95), _seconds(r.p99),
                    _times(p95_ratio), f"{r.instance_hours:.1f}", _times(hours_ratio),
                    str(r.max_backlog), f"{r.instance_cost:.2f}",
                    f"{r.control_cost:.2f}", f"{r.total_cost:.2f}",
                    f"{r.control_cost_per_month:.2f}", str(r.jobs - r.finished))
    return out


def print_table(console: Console, scenario: Scenario, seed: int, workload: Workload,
                results: Sequence[PolicyResult], options: SimOptions) -> None:
    console.print(table(scenario, seed, workload, results))
    p, g = options.prices, options.group
    warm = (f"; warm pool {g.warm_pool_size} (${p.warm_pool_per_month(g.warm_pool_size):.2f}"
            "/month stopped)" if g.warm_pool_size else "")
    console.print(f"build times: {options.builds.describe()}; {g.concurrency} job slots on "
                  f"{g.vcpus} vCPUs per instance; worker ${p.instance_per_hour}/h + "
                  f"{p.volume_gb:g} GB volume; checker host {p.checker_host} "
                  f"(${p.checker_per_hour}/h){warm}; latency = upload to verified.")
    check = floor_check(results)
    if check is not None:
        verdict = "meets" if check["ok"] else "MISSES"
        console.print(f"{DEFAULT_POLICY}: p95 {_times(check['p95_vs_oracle'])}x the oracle's, "
                      f"instance-hours {_times(check['instance_hours_vs_baseline'])}x "
                      f"{BASELINE_POLICY}'s: {verdict} the bar (p95 at most {FLOOR_FACTOR}x "
                      f"the oracle's, instance-hours at most {BASELINE_POLICY}'s).")


def markdown(scenario: Scenario, seed: int, workload: Workload,
             results: Sequence[PolicyResult]) -> str:
    """The table docs/scaling.md shows for a scenario (one line per policy)."""
    oracle = {r.policy: r for r in results}.get(ORACLE)
    lines = [f"{scenario.name}: {scenario.description} ({len(workload.arrivals)} uploads, "
             f"seed {seed})", "",
             "| policy | p50 s | p95 s | p99 s | p95 ÷ oracle | inst-h | inst-h ÷ oracle "
             "| max backlog | workers $ | control $ | total $ |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        p95_ratio, hours_ratio = vs_oracle(r, oracle)
        name = f"**{r.policy}**" if r.policy == DEFAULT_POLICY else r.policy
        unfinished = f" ({r.jobs - r.finished} unfinished)" if r.finished < r.jobs else ""
        lines.append(f"| {name}{unfinished} | {_seconds(r.p50)} | {_seconds(r.p95)} | "
                     f"{_seconds(r.p99)} | {_times(p95_ratio)} | {r.instance_hours:.1f} | "
                     f"{_times(hours_ratio)} | {r.max_backlog} | {r.instance_cost:.2f} | "
                     f"{r.control_cost:.2f} | {r.total_cost:.2f} |")
    return "\n".join(lines)
