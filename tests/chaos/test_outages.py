"""Real workers behind the fault proxy while one AWS service is down for a window, mid
run, with duplicate deliveries and a worker killed during the outage: every job still
ends verified once the service is back, one version per function, nothing in the DLQ.

The queue's redrive limit is 5 receives (the shipped one is 100, a last resort) with
2 s visibility, so a worker that spent a receive on each failed attempt would send the
messages to the DLQ within seconds of the outage starting; parking (a fresh, delayed
copy of the message) and the circuit breakers (no new messages while a service keeps
failing) are what prevent it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from auto_lambda_dev.faultproxy import FaultProxy
from orchestrator.intake.events import s3_event_body
from tests.chaos.conftest import ChaosStack, Figures, app_zip

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 20.0
APPS = 4


@pytest.fixture
def chaos_env() -> dict[str, str]:
    # a low redrive limit (the shipped one is 100); parks come back within seconds
    return {"AUTO_LAMBDA_MAX_RECEIVE_COUNT": "5", "AUTO_LAMBDA_PARK_AFTER": "1"}


@pytest.fixture
def proxy(stack: ChaosStack) -> Iterator[FaultProxy]:
    with FaultProxy(stack.endpoint.url) as running:
        yield running


@pytest.mark.parametrize("service", ["dynamodb", "s3", "lambda", "sqs"])
def test_a_service_down_mid_run_loses_no_job(stack: ChaosStack, proxy: FaultProxy,
                                              figures: Figures, service: str) -> None:
    through_proxy = {"AWS_ENDPOINT_URL": proxy.url}
    workers = [stack.start_worker(env=through_proxy, concurrency=2) for _ in range(2)]
    bucket = stack.settings.incoming_bucket
    names = [f"out-{service}-{i}" for i in range(APPS)]
    for name in names[:2]:
        stack.upload(f"{name}.zip", app_zip(name))
    # the outage starts while the first jobs run, and more arrive during it
    stack.wait_for("a job to start", lambda: stack.jobs() or None, timeout=60)
    proxy.set_plan(f"before=100%@{service}")
    started = time.monotonic()
    for name in names[2:]:
        stack.aws.s3.put_object(Bucket=bucket, Key=f"{name}.zip", Body=app_zip(name))
    put = stack.aws.s3.head_object(Bucket=bucket, Key=f"{names[0]}.zip")
    stack.send(s3_event_body(bucket, f"{names[0]}.zip", etag=put["ETag"].strip('"')))
    workers[0].signal(signal.SIGKILL)
    workers.append(stack.start_worker(env=through_proxy, concurrency=2))
    stack.wait_for("the outage window", lambda: time.monotonic() - started
                   >= OUTAGE_SECONDS or None, timeout=OUTAGE_SECONDS + 5, interval=0.5)
    assert stack.dlq_depth() == 0  # nothing dead-lettered while the service was down
    proxy.set_plan("")
    stack.wait_for("every job to settle after the outage", lambda: stack.settled(APPS),
                   timeout=240)

    jobs = {j.key: j for j in stack.jobs()}
    assert set(jobs) == {f"{n}.zip" for n in names}
    for job in jobs.values():
        assert job.state == "verified", (job.key, job.error, stack.logs())
    for name in names:
        assert stack.published_versions(name) == ["1"], name
        assert stack.live_version(name) == "1"
    assert stack.dlq_depth() == 0
    fired = proxy.stats()["fired"].get("before", {})
    assert sum(fired.values()) > 0, "the outage never hit a call"
    assert all(w.alive() for w in workers[1:]), stack.logs()
    figures.add(f"outage-{service}", jobs_run=len(jobs), kills=1, duplicate_deliveries=1,
                calls_failed=sum(fired.values()),
                jobs_lost=sum(1 for j in jobs.values() if j.state != "verified"))
