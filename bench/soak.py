"""Soak: many uploads, each S3 event delivered several times, workers SIGKILLed while
they work, and a fault proxy failing a share of every AWS call before it reaches the
emulator and another share after it took effect (its answer replaced by a 500).

    python bench/soak.py [--uploads 100] [--deliveries 3] [--kills 24] [--workers 3]
                         [--before 10] [--after 10] [--seed 7] [--baseline] [--json]
                         [--outage SERVICE:START:SECONDS]

``--outage dynamodb:20:300`` also fails every call to that service (a 500 before it
reaches the emulator) from 20 s after the first upload, for 300 s: a regional blip.

Prints jobs verified, failed (by code), published versions per function, what is left
in the DLQ, p50/p95 upload -> verified, the time to recover after the last kill (until
every job the killed worker held was resumed by another; each kill picks a worker that
holds a job when one does), and what the proxy broke.
``--baseline`` runs the same load without faults first and prints the p95 ratio. Real
worker processes with the shipped lease and visibility against the embedded emulator,
the queue's redrive limit at the shipped one (``--receives`` to change it).
``--diagnose`` adds, for each message left in the DLQ, its receive count, its fresh
copies, its job's state and the worker log lines that name it. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from auto_lambda_dev.emulator import ensure_fake_credentials
from auto_lambda_dev.faultproxy import FaultProxy
from orchestrator.config import Settings
from orchestrator.intake.events import s3_event_body
from tests.chaos.harness import ChaosStack, WorkerProc, app_zip, start_stack, stop_stack


@dataclass
class Kill:
    at: float
    pid: int
    held: list[str]                      # jobs the worker held when it died
    resumed: dict[str, float] = field(default_factory=dict)

    @property
    def recovered_after(self) -> float | None:
        if not self.held:
            return 0.0
        if len(self.resumed) < len(self.held):
            return None
        return max(self.resumed.values()) - self.at


@dataclass
class Result:
    faults: str
    uploads: int
    deliveries: int
    workers: int
    kills: int
    seconds: float
    verified: int
    failed: dict[str, int]
    unfinished: int
    versions_per_function: dict[str, int]
    dlq: int
    p50: float
    p95: float
    recover_after_last_kill: float | None
    recover_max: float | None
    recover_median: float | None
    settled_after_last_kill: float | None
    fired: dict[str, int]
    kill_log: list[tuple[float, int, float | None]]  # (seconds in, jobs held, recovered after)
    dlq_messages: list[dict[str, Any]] = field(default_factory=list)  # why each got there


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _held_by(stack: ChaosStack, pid: int) -> list[str]:
    now = time.time()
    return [j.job_id for j in stack.jobs()
            if not j.is_terminal and j.lease_owner and f":{pid}:" in j.lease_owner
            and j.lease_expires > now]


def _resumed_since(stack: ChaosStack, kill: Kill) -> None:
    for job_id in kill.held:
        if job_id in kill.resumed:
            continue
        job = stack.store.get(job_id)
        if job is None:
            continue
        if job.is_terminal and not any(float(e["time"]) >= kill.at for e in job.history):
            kill.resumed[job_id] = kill.at
            continue
        later = [float(e["time"]) for e in job.history
                 if float(e["time"]) >= kill.at
                 and e["type"] in ("TaskTimedOut", "TaskStarted", "ExecutionSucceeded")]
        if later:
            kill.resumed[job_id] = min(later)


def _dlq_report(stack: ChaosStack) -> list[dict[str, Any]]:
    """Each message left in the DLQ: its receive count, how many fresh copies preceded
    it, its job's state, and the worker log lines that name it (what happened to it)."""
    found: dict[str, dict[str, Any]] = {}
    for _ in range(20):
        resp = stack.aws.sqs.receive_message(
            QueueUrl=stack.info.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=600,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"])
        for raw in resp.get("Messages", []):
            found.setdefault(raw["MessageId"], raw)
        if not resp.get("Messages"):
            break
    logs = {w.name: w.log_path.read_text(encoding="utf-8", errors="replace")
            for w in stack.workers if w.log_path.exists()}
    report = []
    for message_id, raw in found.items():
        key = None
        with contextlib.suppress(Exception):
            key = json.loads(raw["Body"])["Records"][0]["s3"]["object"]["key"]
        job = next((j for j in stack.jobs() if key and j.key == key), None)
        lines = [f"{name}: {line}" for name, text in logs.items()
                 for line in text.splitlines() if message_id in line]
        report.append({
            "message_id": message_id, "key": key,
            "receives": raw.get("Attributes", {}).get("ApproximateReceiveCount"),
            "copies": (raw.get("MessageAttributes") or {}).get(
                "AutoLambdaCopies", {}).get("StringValue", "0"),
            "job_state": job.state if job else None,
            "job_error": (job.error or {}).get("code") if job else None,
            "log": lines[-25:]})
    return report


def _outage(spec: str | None) -> tuple[str, float, float] | None:
    if not spec:
        return None
    service, start, length = spec.split(":")
    return service, float(start), float(length)


def soak(args: argparse.Namespace, root: Path, *, faults: bool) -> Result:
    plan = (f"before={args.before}%,after={args.after}%,seed={args.seed}" if faults
            else f"seed={args.seed}")
    if faults and args.outage:
        plan += f" (+ outage {args.outage})"
        plan, shown = plan.split(" (")[0], plan
    else:
        shown = plan
    receives = str(args.receives or Settings().max_receive_count)
    stack = start_stack(root, {"AUTO_LAMBDA_MAX_RECEIVE_COUNT": receives},
                        lease_seconds=None, visibility_seconds=None)
    rng = random.Random(args.seed)
    proxy = FaultProxy(stack.endpoint.url).start()
    proxy.set_plan(plan)
    env = {"AUTO_LAMBDA_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL": proxy.url}
    kills: list[Kill] = []
    try:
        workers: list[WorkerProc] = [stack.start_worker(env=env, concurrency=args.concurrency)
                                     for _ in range(args.workers)]
        bucket = stack.settings.incoming_bucket
        uploaded: dict[str, float] = {}
        started = time.time()
        for i in range(args.uploads):
            key = f"soak-{i:03d}.zip"
            put = stack.aws.s3.put_object(Bucket=bucket, Key=key, Body=app_zip(f"soak-{i:03d}"))
            uploaded[key] = time.time()
            for _ in range(args.deliveries - 1):  # S3 sent one event; more copies of it
                stack.send(s3_event_body(bucket, key, etag=put["ETag"].strip('"')))
        next_kill = started + args.first_kill
        deadline = started + args.timeout
        outage = _outage(args.outage)
        down = False
        while time.time() < deadline:
            if outage is not None:
                service, start, length = outage
                now_in = time.time() - started
                if not down and start <= now_in < start + length:
                    proxy.set_plan(f"{plan},before=100%@{service}")
                    down = True
                elif down and now_in >= start + length:
                    proxy.set_plan(plan)
                    down = False
            for i, worker in enumerate(workers):
                if not worker.alive():
                    workers[i] = stack.start_worker(env=env, concurrency=args.concurrency)
            if len(kills) < args.kills and time.time() >= next_kill:
                # a worker in the middle of a job, if any is
                alive = [w for w in workers if w.alive()]
                holding = {w.pid: _held_by(stack, w.pid) for w in alive}
                busy = [w for w in alive if holding[w.pid]]
                victim = rng.choice(busy or alive)
                held = holding[victim.pid]
                victim.proc.send_signal(signal.SIGKILL)
                kills.append(Kill(time.time(), victim.pid, held))
                victim.proc.wait(timeout=10)
                next_kill = time.time() + args.kill_every
            for kill in kills:
                _resumed_since(stack, kill)
            if len(kills) >= args.kills and not down and stack.settled(args.uploads):
                break
            time.sleep(0.5)
        seconds = time.time() - started
        settled_after_last_kill = time.time() - kills[-1].at if kills else None
        jobs = [j for j in stack.jobs() if j.key in uploaded]
        for kill in kills:
            _resumed_since(stack, kill)
        latencies = [j.finished_at - uploaded[j.key] for j in jobs
                     if j.state == "verified" and j.finished_at]
        versions: Counter[str] = Counter()
        for i in range(args.uploads):
            try:
                versions[str(len(stack.published_versions(f"soak-{i:03d}")))] += 1
            except Exception:
                versions["no function"] += 1
        fired = {k: int(v) for k, v in proxy.stats()["totals"].items()}
        dlq_messages = _dlq_report(stack) if args.diagnose else []
        recoveries = [k.recovered_after for k in kills]
        known = [r for r in recoveries if r is not None]
        return Result(
            faults=shown, uploads=args.uploads, deliveries=args.deliveries,
            workers=args.workers, kills=len(kills), seconds=round(seconds, 1),
            verified=sum(j.state == "verified" for j in jobs),
            failed=dict(Counter(str((j.error or {}).get("code")) for j in jobs
                                if j.state == "failed")),
            unfinished=args.uploads - sum(j.is_terminal for j in jobs),
            versions_per_function=dict(sorted(versions.items())),
            dlq=stack.dlq_depth(), p50=round(statistics.median(latencies), 2)
            if latencies else float("nan"), p95=round(_percentile(latencies, 0.95), 2),
            recover_after_last_kill=(round(recoveries[-1], 2)
                                     if recoveries and recoveries[-1] is not None else None),
            recover_max=round(max(known), 2) if known else None,
            recover_median=round(statistics.median(known), 2) if known else None,
            settled_after_last_kill=(round(settled_after_last_kill, 1)
                                     if settled_after_last_kill is not None else None),
            fired=fired,
            kill_log=[(round(k.at - started, 1), len(k.held),
                       None if k.recovered_after is None else round(k.recovered_after, 2))
                      for k in kills],
            dlq_messages=dlq_messages)
    finally:
        proxy.stop()
        stop_stack(stack)


def _print(result: Result) -> None:
    r = result
    print(f"faults {r.faults}: {r.uploads} uploads x {r.deliveries} deliveries, "
          f"{r.workers} workers, {r.kills} SIGKILLs, {r.seconds:.0f} s")
    print(f"  verified {r.verified}/{r.uploads}   failed {r.failed or 'none'}   "
          f"unfinished {r.unfinished}   DLQ {r.dlq}")
    print(f"  published versions per function (versions: functions) {r.versions_per_function}")
    print(f"  upload -> verified  p50 {r.p50:.1f} s   p95 {r.p95:.1f} s")
    print(f"  recovery after the last kill {r.recover_after_last_kill} s (kills: median "
          f"{r.recover_median} s, worst {r.recover_max} s); every job ended "
          f"{r.settled_after_last_kill} s after the last kill")
    print(f"  faults fired {r.fired or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=3)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--kill-every", type=float, default=1.5,
                        help="seconds between SIGKILLs")
    parser.add_argument("--first-kill", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--before", type=float, default=10.0, help="%% of calls failed before")
    parser.add_argument("--after", type=float, default=10.0,
                        help="%% of calls failed after taking effect")
    parser.add_argument("--receives", type=int, default=None,
                        help="the queue's maxReceiveCount (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for every job to end")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the same load without faults and print the p95 ratio")
    parser.add_argument("--outage", default=None, metavar="SERVICE:START:SECONDS",
                        help="take one service down (every call fails) for a window")
    parser.add_argument("--diagnose", action="store_true",
                        help="report each DLQ message: receives, copies, job state, log lines")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    ensure_fake_credentials()
    # SIGTERM stops the run like Ctrl-C, so its workers and emulator are stopped too
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    runs: dict[str, Any] = {}
    for name, faults in ([("baseline", False)] if args.baseline else []) + [("faults", True)]:
        with tempfile.TemporaryDirectory(prefix="auto-lambda-soak-") as tmp:
            result = soak(args, Path(tmp), faults=faults)
        runs[name] = asdict(result)
        if not args.json:
            _print(result)
    if "baseline" in runs and runs["baseline"]["p95"]:
        runs["p95_ratio"] = round(runs["faults"]["p95"] / runs["baseline"]["p95"], 2)
        if not args.json:
            print(f"p95 with faults / without: {runs['p95_ratio']}")
    if args.json:
        json.dump(runs, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
