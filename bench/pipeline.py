"""Pipeline overhead: N trivial jobs through the embedded stack with one worker,
against the same S3 and Lambda calls made directly with boto3 by a bare script, in
the same process and against the same emulator.

    python bench/pipeline.py [--jobs 20]

Prints jobs/s for both and the ratio pipeline ÷ bare (time per job). The pipeline
also persists every transition, builds a deterministic zip and runs the local verify
subprocess; the bare script does none of that, so the ratio is what the state machine,
its persistence and the safety checks cost on top of the unavoidable AWS calls.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from auto_lambda_dev.emulator import ensure_fake_credentials, start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import ensure_resources
from orchestrator.config import Settings
from orchestrator.intake.submit import submit_zip
from orchestrator.jobs.runtime import build_runtime
from worker.loop import Worker


def app_zip(i: int, runtime: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", f"def handler(event, context):\n    return {{'n': {i}}}\n")
        zf.writestr("auto-lambda.toml",
                    f"[function]\nname = 'bench-{i}'\nruntime = '{runtime}'\n"
                    f"[verify]\nexpect = {{ n = {i} }}\n")
    return buf.getvalue()


def step_means(records: list[Any]) -> dict[str, float]:
    """Mean seconds per step over the jobs (time in the state that runs the step)."""
    from orchestrator.cli.report import _step_of_state, state_durations

    step_of = _step_of_state()
    sums: dict[str, float] = {}
    for rec in records:
        for state, secs in state_durations(rec.history):
            label = step_of.get(state, state)
            sums[label] = sums.get(label, 0.0) + secs
    return {k: round(v / max(len(records), 1), 3) for k, v in sums.items()}


def run_pipeline(aws: Aws, n: int, tmp: Path, runtime: str) -> tuple[float, dict[str, float]]:
    info = ensure_resources(aws)
    rt = build_runtime(aws.settings, aws=aws, hooks=[], work_root=tmp / "jobs")
    stop = threading.Event()
    worker = Worker(rt.runner, queue_url=info.queue_url, wait_seconds=1,
                    expected_bucket=aws.settings.incoming_bucket, stop=stop)
    # drain the s3:TestEvent before timing
    worker.poll_once()
    paths = []
    for i in range(n):
        p = tmp / f"bench-{i}.zip"
        p.write_bytes(app_zip(i, runtime))
        paths.append(p)
    thread = threading.Thread(target=worker.run, daemon=True)
    start = time.perf_counter()
    ids = [submit_zip(aws, p).job_id for p in paths]
    thread.start()
    while True:
        recs = [rt.store.get(j) for j in ids]
        if all(r is not None and r.is_terminal for r in recs):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    stop.set()
    thread.join(timeout=30)
    bad = [r.job_id for r in recs if r is not None and r.state != "verified"]
    if bad:
        raise SystemExit(f"{len(bad)} jobs did not verify: {bad[:3]}")
    return elapsed, step_means([r for r in recs if r is not None])


def run_bare(aws: Aws, n: int) -> float:
    """The same AWS calls with no state machine: upload, fetch, store, deploy, alias."""
    s3, lam = aws.s3, aws.lambda_
    role = aws.iam.get_role(RoleName=aws.settings.role_name)["Role"]["Arn"]
    bucket = aws.settings.incoming_bucket
    start = time.perf_counter()
    for i in range(n):
        body = app_zip(i + 10_000, "python3.11")
        key = f"bare-{i}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=aws.settings.artifacts_bucket, Key=f"bare/{i}.zip", Body=data)
        name = f"bare-{i}"
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                            Handler="app.handler", Code={
                                "S3Bucket": aws.settings.artifacts_bucket,
                                "S3Key": f"bare/{i}.zip"})
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--runtime", default="python3.11")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ensure_fake_credentials()
    endpoint = start_server(0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(dict(os.environ) | {
                "AWS_ENDPOINT_URL": endpoint.url, "AUTO_LAMBDA_WORK_DIR": tmp})
            aws = Aws(settings)
            pipeline, steps = run_pipeline(aws, args.jobs, Path(tmp), args.runtime)
            bare = run_bare(aws, args.jobs)
    finally:
        endpoint.stop()
    figures = {
        "jobs": args.jobs,
        "pipeline_seconds": round(pipeline, 3),
        "bare_seconds": round(bare, 3),
        "pipeline_jobs_per_s": round(args.jobs / pipeline, 2),
        "bare_jobs_per_s": round(args.jobs / bare, 2),
        "overhead_ratio": round(pipeline / bare, 2),
        "pipeline_seconds_per_step": steps,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.jobs} trivial jobs, one worker, embedded emulator")
    print(f"  pipeline : {figures['pipeline_jobs_per_s']:7.2f} jobs/s  ({pipeline:.2f} s)")
    print(f"  bare     : {figures['bare_jobs_per_s']:7.2f} jobs/s  ({bare:.2f} s)")
    print(f"  overhead : {figures['overhead_ratio']:.2f}x  (pipeline ÷ bare, time per job)")
    print("  pipeline seconds per step (mean): "
          + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))


if __name__ == "__main__":
    main()
