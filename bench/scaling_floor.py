"""The bar the default scaling policy is held to, in every scenario of the simulator: a
p95 upload-to-verified latency at most 1.15x the oracle's, at no more instance-hours than
the built-in policy (SQS's own metric). Prints one row per scenario and seed, with the
simulator's default settings (the same as ``auto-lambda simulate``).

    .venv/bin/python bench/scaling_floor.py [--seeds 1,2,3] [--markdown] [--json]
    .venv/bin/python bench/scaling_floor.py --oracle-windows   # the oracle's frontier

Exits 1 if any row misses the bar. ``--oracle-windows`` prints instead the oracle's p95
and instance-hours by scale-in window (seed 1), the table docs/scaling.md uses to explain
why the oracle holds instances as long as the default policy does. Needs the ``sim``
extra (simpy).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

from auto_lambda_dev.sim.policies import BASELINE_POLICY, DEFAULT_POLICY
from auto_lambda_dev.sim.present import FLOOR_FACTOR, floor_check
from auto_lambda_dev.sim.runner import SimOptions, simulate
from auto_lambda_dev.sim.scenarios import get_scenario

# (label, scenario, max instances)
CASES = [("steady", "steady", 20), ("burst", "burst", 20), ("diurnal", "diurnal", 20),
         ("idle-wake", "idle-wake", 20), ("burst --max 50", "burst", 50)]


def row(label: str, scenario: str, max_capacity: int, seed: int) -> dict[str, Any]:
    options = SimOptions()
    options = replace(options, group=replace(options.group, max_capacity=max_capacity))
    _, results = simulate(get_scenario(scenario), seed, [BASELINE_POLICY, DEFAULT_POLICY],
                          options)
    by_name = {r.policy: r for r in results}
    check = floor_check(results)
    assert check is not None
    return {"scenario": label, "seed": seed, "oracle_p95": by_name["oracle"].p95,
            "default_p95": by_name[DEFAULT_POLICY].p95,
            "p95_vs_oracle": check["p95_vs_oracle"],
            "baseline_instance_hours": by_name[BASELINE_POLICY].instance_hours,
            "default_instance_hours": by_name[DEFAULT_POLICY].instance_hours,
            "oracle_instance_hours": by_name["oracle"].instance_hours,
            "instance_hours_vs_baseline": check["instance_hours_vs_baseline"],
            "ok": check["ok"]}


WINDOWS = (0, 30, 120, 300, 600)


def oracle_windows() -> None:
    print("| scenario | " + " | ".join(f"window {w} s" for w in WINDOWS) + " |")
    print("|---|" + "--:|" * len(WINDOWS))
    for label, scenario, top in CASES:
        cells = []
        for window in WINDOWS:
            options = SimOptions()
            options = replace(options, group=replace(options.group, max_capacity=top),
                              control=replace(options.control, direct_window=float(window)))
            _, results = simulate(get_scenario(scenario), 1, [], options)
            (oracle,) = results
            cells.append(f"{oracle.p95:.0f} s / {oracle.instance_hours:.1f} h")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--oracle-windows", action="store_true",
                        help="print the oracle's p95 and instance-hours by scale-in window")
    args = parser.parse_args()
    if args.oracle_windows:
        oracle_windows()
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = [row(label, scenario, top, seed) for label, scenario, top in CASES for seed in seeds]
    if args.json:
        print(json.dumps({"factor": FLOOR_FACTOR, "rows": rows}))
    elif args.markdown:
        print(f"| scenario | seed | oracle p95 s | {DEFAULT_POLICY} p95 s | p95 ÷ oracle "
              f"| {BASELINE_POLICY} inst-h | {DEFAULT_POLICY} inst-h | inst-h ÷ "
              f"{BASELINE_POLICY} | bar met |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|---|")
        for r in rows:
            print(f"| {r['scenario']} | {r['seed']} | {r['oracle_p95']:.0f} | "
                  f"{r['default_p95']:.0f} | {r['p95_vs_oracle']:.2f} | "
                  f"{r['baseline_instance_hours']:.1f} | {r['default_instance_hours']:.1f} | "
                  f"{r['instance_hours_vs_baseline']:.2f} | {'yes' if r['ok'] else 'NO'} |")
    else:
        print(f"{DEFAULT_POLICY}: p95 at most {FLOOR_FACTOR}x the oracle's, instance-hours at "
              f"most {BASELINE_POLICY}'s")
        for r in rows:
            print(f"  {r['scenario']:15s} seed {r['seed']}: p95 {r['default_p95']:5.0f} s = "
                  f"{r['p95_vs_oracle']:.2f}x oracle ({r['oracle_p95']:.0f} s); "
                  f"{r['default_instance_hours']:6.1f} instance-h = "
                  f"{r['instance_hours_vs_baseline']:.2f}x {BASELINE_POLICY} "
                  f"({r['baseline_instance_hours']:.1f})  {'ok' if r['ok'] else 'MISSED'}")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
