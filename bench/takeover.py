"""How fast a job whose worker died mid-step is resumed by another worker, for several
lease and message-visibility lengths.

    python bench/takeover.py [--trials 5] [--configs 60/60,20/20,10/10]

Each trial uploads one app whose build sleeps (a fault hook), SIGKILLs the worker running
it once the build is under way, and measures the seconds from the kill to the moment
another worker records the dead worker's step as timed out (``TaskTimedOut``: it holds
the lease and reruns that step). Two worker processes run throughout (a replacement is
started after each kill). Prints min / median / max per configuration ``LEASE/VISIBILITY``
(seconds). Against the embedded emulator with real worker processes; not a test.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from auto_lambda_dev.emulator import ensure_fake_credentials
from tests.chaos.harness import ChaosStack, app_zip, start_stack, stop_stack
from tests.fault_hooks import fired


def _kill_the_builder(stack: ChaosStack, key: str, timeout: float) -> float:
    def sleeping() -> dict[str, object] | None:
        return next((f for f in fired(stack.fault_dir)
                     if f["action"] == "sleep" and f["key"] == key), None)

    firing = stack.wait_for(f"the build of {key} to start", sleeping, timeout)
    victim = next(w for w in stack.workers if w.pid == firing["pid"])
    victim.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    victim.proc.wait(timeout=10)
    return killed_at


def trial(stack: ChaosStack, n: int, timeout: float) -> float:
    key = f"tk-{n}.zip"
    stack.upload(key, app_zip(f"tk-{n}"))
    killed_at = _kill_the_builder(stack, key, timeout)
    alive = [w for w in stack.workers if w.alive()]
    while len(alive) < 2:
        alive.append(stack.start_worker())

    def resumed() -> float | None:
        job = next((j for j in stack.jobs() if j.key == key), None)
        if job is None:
            return None
        times = [float(e["time"]) for e in job.history
                 if e["type"] == "TaskTimedOut" and float(e["time"]) >= killed_at]
        return min(times) if times else None

    took = stack.wait_for(f"{key} to be resumed", resumed, timeout) - killed_at
    stack.wait_for(f"{key} to be verified", lambda: stack.settled(n + 1), timeout)
    return took


def run(lease: int, visibility: int, trials: int, root: Path) -> list[float]:
    stack = start_stack(root, {"AUTO_LAMBDA_FAULTS": "before:build=sleep:600"},
                        lease_seconds=lease, visibility_seconds=visibility)
    try:
        stack.start_worker()
        stack.start_worker()
        timeout = 4 * max(lease, visibility) + 60
        return [trial(stack, n, timeout) for n in range(trials)]
    finally:
        stop_stack(stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--configs", default="60/60,20/20,10/10",
                        help="LEASE/VISIBILITY pairs in seconds, comma-separated")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    ensure_fake_credentials()
    results = []
    for text in args.configs.split(","):
        lease, visibility = (int(x) for x in text.split("/"))
        with tempfile.TemporaryDirectory(prefix="auto-lambda-takeover-") as tmp:
            seconds = run(lease, visibility, args.trials, Path(tmp))
        results.append({"lease": lease, "visibility": visibility, "trials": len(seconds),
                        "min": round(min(seconds), 2),
                        "median": round(statistics.median(seconds), 2),
                        "max": round(max(seconds), 2),
                        "seconds": [round(s, 2) for s in seconds]})
        if not args.json:
            r = results[-1]
            print(f"lease {lease:>3} s / visibility {visibility:>3} s: kill -> resumed "
                  f"min {r['min']:6.2f} s  median {r['median']:6.2f} s  "
                  f"max {r['max']:6.2f} s  ({r['trials']} trials)", flush=True)
    if args.json:
        json.dump({"takeover": results}, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
