"""The cost of a job's history as it grows: the long-job test
(tests/functional/test_long_jobs.py, a job redriven until its history passes N events)
run at the suite's 2,000 events and at 30,000, against in-process moto.

    python bench/long_jobs.py [--events 2000,30000]

Prints, per length, the test's wall time (with pytest's start, a few seconds) and the
milliseconds per event, and the ratio of each length's cost per event to the first's:
near 1.0 means a job's thousandth event costs what its first did (the record does not
grow with its history). Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/functional/test_long_jobs.py"


def run(events: int) -> float:
    env = {**os.environ, "AUTO_LAMBDA_TEST_EVENTS": str(events)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--timeout=0", "-k", "thousands_of_events", TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the long-job test failed at {events} events:\n{done.stdout[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="2000,30000")
    lengths = [int(n) for n in parser.parse_args().events.split(",")]
    print(f"{'events':>8} {'seconds':>9} {'ms/event':>9} {'vs first':>9}")
    first: float | None = None
    for events in lengths:
        seconds = run(events)
        per_event = seconds * 1000 / events
        first = first or per_event
        print(f"{events:>8} {seconds:>9.1f} {per_event:>9.2f} {per_event / first:>8.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
