"""Benchmark: listing jobs with 10,000 records in the local table (the embedded moto
server, as ``local up`` runs it). Prints how long the console's jobs page and
``auto-lambda jobs --state failed`` take, and, measured in the same process as the
baseline, what the scan those listings used before costs.

    .venv/bin/python bench/ui.py                 # 10,000 records, 5 runs each
    .venv/bin/python bench/ui.py --records 2000 --runs 3 --json

Records: spread over the last 30 days, 85 % verified, 12 % failed, the 40 newest still
running; verified ones carry a full history (about 20 events), as real ones do.
The console's counts per state are read in the background from its start (a count reads
a whole index partition); when they are ready is printed separately.
A figure, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auto_lambda_dev.emulator import start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.cli.ui.data import ConsoleData
from orchestrator.cli.ui.server import UiServer
from orchestrator.config import Settings
from orchestrator.jobs.record import JobRecord

REPO = Path(__file__).resolve().parents[1]
RUNNING = ("received", "fetched", "unpacked", "built", "deployed", "retrying")
APPS = ("hello", "api", "web", "billing", "search", "numpy-stats", "reports", "auth")


def _history(state: str, start: float) -> list[dict[str, Any]]:
    path = ["received", "fetched", "unpacked", "built", "deployed", "verified"]
    stop = path.index(state) + 1 if state in path else 3
    events: list[dict[str, Any]] = [{"type": "ExecutionStarted", "state": "received",
                                     "time": start, "attempt": 1}]
    t = start
    for name in path[:stop]:
        for kind in ("StateEntered", "TaskStarted", "TaskSucceeded", "StateExited"):
            t += 0.05
            events.append({"type": kind, "state": name, "time": t, "attempt": 1})
    if state == "failed":
        events.append({"type": "TaskFailed", "state": "unpacked", "time": t + 0.1,
                       "attempt": 1, "error": "NoCompatibleWheel",
                       "cause": "no wheel of numpy==1.0 for python3.12 x86_64"})
        events.append({"type": "StateEntered", "state": "failed", "time": t + 0.1,
                       "attempt": 1})
    return events


def make_records(n: int, now: float, rng: random.Random) -> list[JobRecord]:
    records = []
    span = 30 * 86400
    for i in range(n):
        created = now - span + span * i / n + rng.random()
        if i >= n - 40:
            state = rng.choice(RUNNING)
        else:
            state = "failed" if rng.random() < 0.12 else "verified"
        app = rng.choice(APPS)
        key = f"team{i % 7}/{app}.zip" if i % 3 else f"{app}.zip"
        history = _history(state, created)
        rec = JobRecord(
            job_id=f"{rng.getrandbits(96):024x}", bucket="auto-lambda-incoming-local",
            key=key, version_id=f"v{i}", etag=f"{i:032x}", app_name=app, state=state,
            status={"verified": "SUCCEEDED", "failed": "FAILED"}.get(state, "RUNNING"),
            version=9, created_at=created, updated_at=history[-1]["time"],
            finished_at=history[-1]["time"] if state in ("verified", "failed") else None,
            snapshot={"history": history, "data": {"app": {"name": app}}},
            error=({"code": "NoCompatibleWheel", "message": "no wheel", "state": "unpacked"}
                   if state == "failed" else None),
            published_version=str(i % 9 + 1) if state == "verified" else None)
        records.append(rec)
    return records


def load(aws: Aws, records: list[JobRecord]) -> float:
    started = time.perf_counter()
    table = aws.settings.table_name
    for i in range(0, len(records), 25):
        batch = [{"PutRequest": {"Item": r.to_item()}} for r in records[i:i + 25]]
        request: dict[str, Any] = {table: batch}
        while request:
            request = aws.dynamodb.batch_write_item(RequestItems=request).get(
                "UnprocessedItems") or {}
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status} {body[:200]!r}")
    return len(body)


def old_scan(aws: Aws, state: str) -> int:
    """What `jobs --state` did before the indexes: a filtered scan of the whole table."""
    kwargs: dict[str, Any] = {"TableName": aws.settings.table_name,
                              "FilterExpression": "#s = :s",
                              "ExpressionAttributeNames": {"#s": "state"},
                              "ExpressionAttributeValues": {":s": {"S": state}}}
    found = 0
    for page in aws.dynamodb.get_paginator("scan").paginate(**kwargs):
        found += len(page.get("Items", []))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    endpoint = start_server(0)
    env = dict(os.environ) | endpoint.env(Settings())
    aws = Aws(Settings.from_env(env))
    ensure_resources(aws)
    now = time.time()
    loaded = load(aws, make_records(args.records, now, random.Random(7)))

    figures: dict[str, Any] = {"records": args.records, "load_seconds": round(loaded, 1),
                               "load_average_before": os.getloadavg()[0]}
    # The CLI first, with nothing else talking to the emulator.
    cli = [sys.executable, "-m", "orchestrator.cli.main", "jobs", "--state", "failed"]
    figures["cli_jobs_failed"] = timed(lambda: subprocess.run(
        cli, env=env, cwd=REPO, check=True, capture_output=True), args.runs)
    figures["cli_jobs_failed_json"] = timed(lambda: subprocess.run(
        [*cli, "--json"], env=env, cwd=REPO, check=True, capture_output=True), args.runs)
    figures["cli_version_only"] = timed(lambda: subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "--version"], env=env, cwd=REPO,
        check=True, capture_output=True), args.runs)
    figures["baseline_scan_failed"] = timed(lambda: old_scan(aws, "failed"), 1)

    data = ConsoleData(aws)
    started = time.perf_counter()
    server = UiServer(data, port=0).start()
    port = server.access.port
    try:
        figures["page_first_seconds"] = timed(lambda: get(port, "/"), 1)[0]
        while data.counts.get() is None:
            time.sleep(0.05)
        figures["counts_ready_seconds"] = time.perf_counter() - started
        pages = {
            "page_jobs": "/",
            "page_failed": "/?state=failed",
            "page_app": "/?app=billing",
            "page_team_last_day": "/?team=team3&since=1d",
            "page_live_fragment": "/?fragment=live",
        }
        for name, path in pages.items():
            figures[name] = timed(lambda p=path: get(port, p), args.runs)  # type: ignore[misc]
    finally:
        server.stop()
        endpoint.stop()

    if args.json:
        print(json.dumps(figures, indent=2))
        return
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.records} job records in the local table (loaded in {loaded:.1f} s); "
          f"load average {load_avg} on {os.cpu_count()} cores")
    print(f"  console: first page {figures['page_first_seconds']:.3f} s; counts per state "
          f"ready {figures['counts_ready_seconds']:.1f} s after start (read in the background)")
    print(f"  {'measure':<34}{'min':>8}{'median':>9}   (seconds, {args.runs} runs)")
    scan = figures["baseline_scan_failed"][0]
    for name, values in figures.items():
        if not isinstance(values, list):
            continue
        print(f"  {name:<34}{min(values):>8.3f}{statistics.median(values):>9.3f}"
              + (f"   {scan / statistics.median(values):5.1f}x faster than the scan"
                 if name.startswith(("page_failed", "cli_jobs_failed")) else ""))
    print("  (cli_* include starting Python and importing the CLI: see cli_version_only)")


if __name__ == "__main__":
    main()
