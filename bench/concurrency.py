"""Jobs per instance: how many builds at once one worker process sustains on this
machine, for a mix of pure-Python and numpy apps, through the embedded stack.

    .venv/bin/python bench/concurrency.py [--levels 1,2,3,4,6,8] [--jobs 24] [--rounds 3]
                                          [--quiet-load 1.0 --quiet-wait 600] [--json]

For each concurrency level: a fresh set of resources (queue, table, buckets) in one
emulator, one ``auto-lambda worker --concurrency N`` process, one numpy upload built
first and not timed (so numpy is in the build cache, as on a fleet that has built it
once: otherwise a higher level would just install numpy several times at once), then
``--jobs`` uploads at once (half pure, half numpy). It prints, per level:
throughput (jobs/min, from the first job taken to the last one finished) and its ratio
to one job at a time, the mean time a job spends in the worker (taken to finished), CPU
seconds per job of the worker and its children (pip, verify sandboxes) and of the
emulator (this process), and the worker's peak memory over its idle size. The levels
run in ``--rounds`` interleaved rounds and each level shows its median round (and its
best throughput): on a shared machine a neighbour's burst of load slows some runs by a
third, so one lucky or unlucky run decides nothing. With ``--quiet-load X`` each run
first waits (up to ``--quiet-wait`` seconds) for the one-minute load average to drop
below X; the load each run started at is printed with the figures.

From these it derives what the simulator's model needs: the concurrency a worker
sustains (the smallest level whose median throughput is within 5 % of the best median)
and the share of a job's time alone that is CPU (the worker's CPU per job over its time
in the worker, at level 1). The emulator runs on the same cores, so AWS calls cost CPU
here that they do not cost on AWS: the figures are a floor for what an instance
sustains. Needs the package registry (numpy) and python3.12 for verify.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from auto_lambda_dev.emulator import ensure_fake_credentials, start_server
from auto_lambda_dev.examples import example_dir
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.store import JobStore
from tests.chaos.harness import make_zip

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def pure_zip(i: int) -> bytes:
    return make_zip({
        "app.py": f"def handler(event, context):\n    return {{'n': {i}}}\n",
        "auto-lambda.toml": (f"[function]\nname = 'pure-{i}'\nruntime = 'python3.12'\n"
                             f"[verify]\nexpect = {{ n = {i} }}\n")})


def numpy_zip(i: int) -> bytes:
    src = example_dir("numpy-stats")
    manifest = (src / "auto-lambda.toml").read_text().replace(
        'name = "numpy-stats"', f'name = "numpy-{i}"')
    return make_zip({"app.py": (src / "app.py").read_text() + f"\n# variant {i}\n",
                     "requirements.txt": (src / "requirements.txt").read_text(),
                     "auto-lambda.toml": manifest})


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def tree(root: int) -> list[int]:
    """``root`` and its live descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[21]) * PAGE
    return total


def cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and of the children it has reaped (utime, stime, cutime, cstime)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / TICKS


@dataclass
class Level:
    concurrency: int
    jobs: int
    verified: int
    jobs_per_minute: float
    speedup: float
    mean_seconds_in_worker: float
    worker_cpu_per_job: float
    emulator_cpu_per_job: float
    peak_memory_mb: float
    idle_memory_mb: float
    load: float = 0.0  # one-minute load average when the run started


def wait_terminal(store: JobStore, exclude: set[str], count: int,
                  limit: float = 600.0) -> set[str]:
    """Wait until ``count`` jobs (not in ``exclude``) are terminal; their ids."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = {r.job_id for r in store.list()
                if r.job_id not in exclude and not r.job_id.startswith("rejected")
                and r.is_terminal}
        if len(done) >= count:
            return done
        time.sleep(0.25)  # polling the table, bounded by the deadline above
    raise SystemExit(f"{count} job(s) did not finish within {limit:g} s")


def wait_for_quiet(threshold: float, limit: float) -> float:
    """Wait until the one-minute load average is below ``threshold`` (0: do not wait),
    at most ``limit`` seconds; returns the load average then."""
    deadline = time.monotonic() + limit
    while threshold > 0 and os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run_level(endpoint_url: str, k: int, jobs: int, tmp: Path) -> Level:
    prefix = f"bench-c{k}-{time.time_ns() % 10**9}"
    env = dict(os.environ) | {
        "AWS_ENDPOINT_URL": endpoint_url, "AUTO_LAMBDA_PREFIX": prefix,
        "AUTO_LAMBDA_WORK_DIR": str(tmp / prefix),
        "AUTO_LAMBDA_CACHE_DIR": str(tmp / prefix / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    settings = Settings.from_env(env)
    aws = Aws(settings)
    info = ensure_resources(aws)
    # The s3:TestEvent the notification set-up sends: drain it before timing.
    aws.sqs.purge_queue(QueueUrl=info.queue_url)
    log = open(tmp / f"{prefix}.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli.main", "worker", "--concurrency", str(k),
         "--wait", "2"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        store = JobStore(aws)
        # Warm the build cache with one numpy build (not timed, not counted).
        aws.s3.put_object(Bucket=settings.incoming_bucket, Key="warm-up.zip",
                          Body=numpy_zip(10_000))
        warm = wait_terminal(store, set(), 1)
        idle = rss_bytes(tree(worker.pid))
        peak = idle
        cpu_before = time.process_time()
        worker_cpu_before = cpu_seconds(worker.pid)
        bodies = [pure_zip(i) if i % 2 else numpy_zip(i) for i in range(jobs)]
        for i, body in enumerate(bodies):
            aws.s3.put_object(Bucket=settings.incoming_bucket, Key=f"app-{i}.zip", Body=body)
        deadline = time.monotonic() + 900
        records: list = []
        while time.monotonic() < deadline:
            peak = max(peak, rss_bytes(tree(worker.pid)))
            records = [r for r in store.list()
                       if not r.job_id.startswith("rejected") and r.job_id not in warm]
            if len(records) == jobs and all(r.is_terminal for r in records):
                break
            time.sleep(0.25)  # polling the table, bounded by the deadline above
        worker_cpu = cpu_seconds(worker.pid) - worker_cpu_before
        emulator_cpu = time.process_time() - cpu_before
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    finished = [r for r in records if r.finished_at is not None]
    span = max(r.finished_at for r in finished) - min(r.created_at for r in finished)
    in_worker = [r.finished_at - r.created_at for r in finished]
    return Level(
        concurrency=k, jobs=jobs, verified=sum(1 for r in records if r.state == "verified"),
        jobs_per_minute=round(60 * len(finished) / span, 2), speedup=0.0,
        mean_seconds_in_worker=round(sum(in_worker) / len(in_worker), 2),
        worker_cpu_per_job=round(worker_cpu / jobs, 3),
        emulator_cpu_per_job=round(emulator_cpu / jobs, 3),
        peak_memory_mb=round(peak / 2**20, 1), idle_memory_mb=round(idle / 2**20, 1))


def median_run(runs: list[Level]) -> Level:
    """The run with the median throughput (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.jobs_per_minute)
    return ordered[(len(ordered) - 1) // 2]


def summarise(levels: list[Level]) -> dict[str, float]:
    base = levels[0].jobs_per_minute
    for level in levels:
        level.speedup = round(level.jobs_per_minute / base, 2)
    best = max(level.jobs_per_minute for level in levels)
    sustained = min(level.concurrency for level in levels
                    if level.jobs_per_minute >= 0.95 * best)
    one = levels[0]
    at = next(level for level in levels if level.concurrency == sustained)
    cores = os.cpu_count() or 1
    return {
        "sustained_concurrency": sustained,
        "cpu_fraction": round(min(1.0, one.worker_cpu_per_job / one.mean_seconds_in_worker), 2),
        # Where the worker's own CPU use alone would fill the cores (no emulator, no GIL).
        "cpu_bound_concurrency": round(cores * one.mean_seconds_in_worker
                                       / max(one.worker_cpu_per_job, 1e-9), 1),
        "memory_mb_per_job": round((levels[-1].peak_memory_mb - levels[-1].idle_memory_mb)
                                   / levels[-1].concurrency, 1),
        "memory_mb_at_sustained": round(at.peak_memory_mb - at.idle_memory_mb, 1),
        "cores": cores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,2,3,4,6,8")
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet-load", type=float, default=0.0)
    parser.add_argument("--quiet-wait", type=float, default=600.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(v) for v in args.levels.split(",")]
    if levels[0] != 1:
        levels = [1, *levels]
    logging.basicConfig(level=logging.WARNING)
    ensure_fake_credentials()
    endpoint = start_server(0)
    runs: dict[int, list[Level]] = {k: [] for k in levels}
    loads: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_number in range(1, max(1, args.rounds) + 1):
                for k in levels:
                    loads.append(wait_for_quiet(args.quiet_load, args.quiet_wait))
                    level = run_level(endpoint.url, k, args.jobs, Path(tmp))
                    level.load = round(loads[-1], 2)
                    runs[k].append(level)
                    if not args.json:
                        print(f"  round {round_number} (load {loads[-1]:.1f}) level {k}: "
                              f"{level.jobs_per_minute} jobs/min", flush=True)
    finally:
        endpoint.stop()
    results = [median_run(runs[k]) for k in levels]
    best = {k: max(r.jobs_per_minute for r in runs[k]) for k in levels}
    derived = summarise(results) | {
        "load_average_before_runs": [round(v, 1) for v in loads],
        "rounds": {k: [r.jobs_per_minute for r in runs[k]] for k in levels},
        "median_of_rounds": {k: statistics.median(r.jobs_per_minute for r in runs[k])
                             for k in levels},
    }
    if args.json:
        print(json.dumps({"levels": [asdict(level) for level in results], **derived}))
        return
    print(f"{args.jobs} uploads (half numpy) at once, one worker, {derived['cores']} cores; "
          f"median of {args.rounds} rounds")
    print("  conc  jobs/min (best)  speedup  s in worker  worker cpu/job  emulator cpu/job  "
          "peak MB (idle)  verified")
    for r in results:
        print(f"  {r.concurrency:4d}  {r.jobs_per_minute:8.1f} ({best[r.concurrency]:5.1f})  "
              f"{r.speedup:7.2f}  {r.mean_seconds_in_worker:11.2f}  "
              f"{r.worker_cpu_per_job:14.2f}  {r.emulator_cpu_per_job:16.2f}  "
              f"{r.peak_memory_mb:7.0f} ({r.idle_memory_mb:.0f})  {r.verified:4d}/{r.jobs}")
    print(f"  sustained concurrency (median within 5 % of the best median): "
          f"{derived['sustained_concurrency']}")
    print(f"  CPU share of a job alone: {derived['cpu_fraction']} (the worker's CPU alone would "
          f"fill {derived['cores']} cores at {derived['cpu_bound_concurrency']} jobs)")
    print(f"  memory: {derived['memory_mb_at_sustained']} MB over idle at that concurrency, "
          f"{derived['memory_mb_per_job']} MB a job at the highest level")
    print(f"  load average before each run: {derived['load_average_before_runs']}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
