"""Leases, heartbeats, duplicate deliveries, crashes, drains and scale-in protection,
on in-process moto with steps that can be held open by the test."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from orchestrator.aws.outage_signal import paused_workers
from orchestrator.intake.events import ObjectRef, s3_event_body
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runner import JobRunner, Outcome
from orchestrator.retries import MAX_CRASHES
from orchestrator.steps.build.step import Built
from orchestrator.steps.tasks import StepContext, Steps
from tests.fakes import FakeClock
from tests.functional.conftest import HELLO_APP, Pipeline, make_zip
from tests.waiting import wait_for
from worker.instance import InstanceConfig, ScaleInGuard
from worker.loop import MAX_COPIES, Worker
from worker.messages import Ack

LEASE = 0.6


class GatedSteps(Steps):
    """Steps whose build waits for ``gate`` (or dies, if ``die`` is set)."""

    def __init__(self, base: Steps, gate: threading.Event, die: bool = False) -> None:
        super().__init__(base.env)
        self.gate, self.die = gate, die
        self.builds = 0

    def build(self, ctx: StepContext) -> Built:
        self.builds += 1
        if self.die:
            raise SystemExit("the worker process died here")
        self.gate.wait(30)
        return super().build(ctx)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a job thread waiting


def runner_for(pipeline: Pipeline, owner: str, steps: Steps | None = None) -> JobRunner:
    rt = pipeline.runtime
    return JobRunner(store=rt.store, steps=steps or rt.steps, owner=owner,
                     lease_seconds=LEASE, heartbeat_interval=LEASE / 4)


def upload_hello(pipeline: Pipeline) -> ObjectRef:
    files: dict[str, str | bytes] = dict(HELLO_APP)
    put = pipeline.aws.s3.put_object(Bucket=pipeline.aws.settings.incoming_bucket,
                                     Key="hello.zip", Body=make_zip(files))
    return ObjectRef(bucket=pipeline.aws.settings.incoming_bucket, key="hello.zip",
                     version_id=put["VersionId"], etag=put["ETag"].strip('"'))


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def building(pipeline: Pipeline, job_id: str) -> JobRecord | None:
    rec = pipeline.runtime.store.get(job_id)
    if rec and rec.state == "unpacked" and rec.history[-1]["type"] == "TaskStarted":
        return rec
    return None


def test_the_lease_is_kept_alive_while_a_long_step_runs(pipeline: Pipeline,
                                                        gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    thread, out = in_thread(lambda: runner_for(pipeline, "a", steps).process(ref))
    first = wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    # Well past the first lease's expiry, heartbeats have pushed it on ...
    store = pipeline.runtime.store
    wait_for("the lease to be extended twice over", lambda: (
        (rec := store.get(ref.job_id)) is not None
        and rec.lease_expires > first.lease_expires + 2 * LEASE))
    # ... so another worker cannot take the job, and no version was bumped by beats.
    assert store.claim(ref.job_id, "b/x", time.time(), LEASE) is None
    assert store.get(ref.job_id).version == first.version  # type: ignore[union-attr]
    gate.set()
    thread.join(30)
    outcome, rec = out[0]
    assert outcome is Outcome.DONE and rec.state == "verified"


def test_a_second_delivery_in_the_same_process_is_busy_not_worked(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    runner = runner_for(pipeline, "same-owner", steps)
    thread, out = in_thread(lambda: runner.process(ref))
    wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    outcome, _ = runner.process(ref)  # same runner, same owner: still a different claim
    assert outcome is Outcome.BUSY
    gate.set()
    thread.join(30)
    assert out[0][0] is Outcome.DONE and steps.builds == 1


def test_a_worker_that_dies_mid_step_is_resumed_there_after_its_lease_expires(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    dying = runner_for(pipeline, "dies", GatedSteps(pipeline.runtime.steps, gate, die=True))
    with pytest.raises(SystemExit):
        dying.process(ref)
    store = pipeline.runtime.store
    crashed = store.get(ref.job_id)
    assert crashed is not None and crashed.lease_owner and crashed.lease_owner.startswith("dies/")
    survivor = runner_for(pipeline, "survivor")
    assert survivor.process(ref)[0] is Outcome.BUSY  # the dead worker's lease is still live
    wait_for("the dead worker's lease to expire", lambda: time.time() > crashed.lease_expires)
    outcome, rec = survivor.process(ref)
    assert outcome is Outcome.DONE and rec.state == "verified", rec.error
    starts = Counter(e["state"] for e in rec.history if e["type"] == "TaskStarted")
    assert starts == Counter({"received": 1, "fetched": 1, "unpacked": 2, "built": 1,
                              "deployed": 1, "tested": 1})
    timed_out = [e for e in rec.history if e["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1 and "lease expired" in str(timed_out[0]["cause"])


def _dying_runs(pipeline: Pipeline, ref: ObjectRef, steps: Steps, clock: FakeClock,
                times: int) -> None:
    """``times`` workers, one after another, each dying in the build it runs; each dead
    worker's lease expires (on the fake clock) before the next one takes the job."""
    for n in range(times):
        runner = JobRunner(store=pipeline.runtime.store, steps=steps, owner=f"dies-{n}",
                           lease_seconds=LEASE, clock=clock, sleep=clock.sleep,
                           heartbeat_interval=60)
        with pytest.raises(SystemExit):
            runner.process(ref)
        clock.sleep(LEASE + 1)


def test_a_step_that_kills_its_worker_again_and_again_fails_the_job_with_worker_crashed(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    clock = FakeClock(time.time())
    steps = GatedSteps(pipeline.runtime.steps, gate, die=True)
    _dying_runs(pipeline, ref, steps, clock, MAX_CRASHES)
    rec = pipeline.runtime.store.get(ref.job_id)
    assert rec is not None and (rec.crashes, rec.crash_state) == (MAX_CRASHES - 1, "unpacked")
    last = JobRunner(store=pipeline.runtime.store, steps=steps, owner="last",
                     lease_seconds=LEASE, clock=clock, sleep=clock.sleep)
    outcome, rec = last.process(ref)
    # The next worker does not run the build again: the job fails there, with its code,
    # and can be redriven; its message is acknowledged (never walked to the DLQ).
    assert outcome is Outcome.DONE and steps.builds == MAX_CRASHES
    assert rec.state == "failed" and rec.error is not None
    assert (rec.error["code"], rec.error["state"]) == ("WorkerCrashed", "unpacked")
    assert f"{MAX_CRASHES} times in a row" in rec.error["message"]
    assert sum(e["type"] == "TaskTimedOut" for e in rec.history) == MAX_CRASHES - 1


def test_deaths_short_of_the_limit_cost_reruns_and_are_forgotten_past_the_step(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    clock = FakeClock(time.time())
    steps = GatedSteps(pipeline.runtime.steps, gate, die=True)
    _dying_runs(pipeline, ref, steps, clock, MAX_CRASHES - 1)
    steps.die = False
    gate.set()
    survivor = JobRunner(store=pipeline.runtime.store, steps=steps, owner="survivor",
                         lease_seconds=LEASE, clock=clock, sleep=clock.sleep)
    outcome, rec = survivor.process(ref)
    assert outcome is Outcome.DONE and rec.state == "verified", rec.error
    stored = pipeline.runtime.store.get(ref.job_id)
    assert stored is not None and (stored.crashes, stored.crash_state) == (0, None)


def test_a_worker_that_lost_its_lease_leaves_the_job_alone(pipeline: Pipeline,
                                                           gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    thread, out = in_thread(lambda: runner_for(pipeline, "slow", steps).process(ref))
    rec = wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    store = pipeline.runtime.store
    # Another worker takes over, as if the heartbeats had stopped reaching DynamoDB: the
    # lease lapsed (and is marked as nobody's, so a heartbeat landing now cannot revive it).
    rec.lease_owner, rec.lease_expires = "lapsed/0", 0.0
    store.save(rec)
    taken = store.claim(ref.job_id, "other/1", time.time(), 60)
    assert taken is not None
    gate.set()
    thread.join(30)
    assert out[0][0] is Outcome.LOST
    after = store.get(ref.job_id)
    assert after is not None and after.lease_owner == "other/1" and after.state == "unpacked"


def test_an_exception_in_a_job_never_takes_the_worker_down(pipeline: Pipeline) -> None:
    class Exploding(JobRunner):
        def process(self, ref: ObjectRef, **kwargs: Any) -> Any:
            raise RuntimeError("a bug in the pipeline")

    rt = pipeline.runtime
    runner = Exploding(store=rt.store, steps=rt.steps, owner="x")
    worker = Worker(runner, queue_url=pipeline.info.queue_url, wait_seconds=0)
    pipeline.aws.sqs.purge_queue(QueueUrl=pipeline.info.queue_url)  # the s3:TestEvent
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url,
                                  MessageBody=s3_event_body("auto-lambda-incoming-local",
                                                            "x.zip", etag="e"))
    msg = wait_for("the message", lambda: worker.queue.receive(10))
    handled = [worker.handle(m) for m in msg]
    assert {h.ack for h in handled} == {Ack.KEEP}


def test_a_message_that_breaks_workers_before_it_is_a_job_ends_in_the_dlq(
        pipeline: Pipeline) -> None:
    class Exploding(JobRunner):
        def process(self, ref: ObjectRef, **kwargs: Any) -> Any:
            raise RuntimeError("a bug in the pipeline")

    sqs, info = pipeline.aws.sqs, pipeline.info
    dlq_arn = sqs.get_queue_attributes(QueueUrl=info.dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=info.queue_url, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})
    sqs.purge_queue(QueueUrl=info.queue_url)  # the s3:TestEvent
    rt = pipeline.runtime
    worker = Worker(Exploding(store=rt.store, steps=rt.steps, owner="x"),
                    queue_url=info.queue_url, wait_seconds=0, visibility=1, redrive_limit=3)
    sqs.send_message(QueueUrl=info.queue_url,
                     MessageBody=s3_event_body("auto-lambda-incoming-local", "x.zip", etag="e"))

    def dead_lettered() -> bool:
        worker.poll_once(wait_s=1)
        return bool(sqs.receive_message(QueueUrl=info.dlq_url).get("Messages"))

    wait_for("the message to reach the DLQ", dead_lettered, timeout=30)
    assert worker.stats.kept == 3 and worker.stats.delayed == 0  # no copy outlived it


def test_stopping_past_the_drain_deadline_persists_the_interruption(
        pipeline: Pipeline, gate: threading.Event) -> None:
    upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    runner = runner_for(pipeline, "drainer", steps)
    worker = Worker(runner, queue_url=pipeline.info.queue_url, wait_seconds=1, visibility=30,
                    drain_seconds=0.2, expected_bucket=pipeline.aws.settings.incoming_bucket)
    thread, out = in_thread(worker.run)
    store = pipeline.runtime.store
    rec = wait_for("the build to start", lambda: next(
        (r for r in store.list() if r.key == "hello.zip" and building(pipeline, r.job_id)),
        None))
    worker.request_stop()
    thread.join(30)
    assert not thread.is_alive() and out[0].abandoned == 1
    after = store.get(rec.job_id)
    assert after is not None and after.lease_owner is None and not after.is_terminal
    timed_out = [e for e in after.history if e["type"] == "TaskTimedOut"]
    assert timed_out and "shut down" in str(timed_out[-1]["cause"])
    assert after.history[-1]["type"] == "StateEntered" and after.state == "retrying"
    # The message is visible again at once: the next worker gets it.
    again = pipeline.aws.sqs.receive_message(QueueUrl=pipeline.info.queue_url,
                                             MaxNumberOfMessages=10)
    assert any("hello.zip" in m["Body"] for m in again.get("Messages", []))


def _group_with_instance(pipeline: Pipeline) -> str:
    ec2 = pipeline.aws.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    asg = pipeline.aws.autoscaling
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=image,
                                    InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="auto-lambda-workers",
                                  LaunchConfigurationName="lc", MinSize=1, MaxSize=1,
                                  DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    group = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    return str(group["Instances"][0]["InstanceId"])


def test_scale_in_protection_is_held_while_jobs_run(pipeline: Pipeline) -> None:
    instance = _group_with_instance(pipeline)
    settings = pipeline.aws.settings
    config = InstanceConfig.from_settings(replace(settings, instance_id=instance),
                                          lookup=lambda: pytest.fail("IMDS must not be asked"))
    asked: list[bool] = []

    class RecordingScaling:
        """The Auto Scaling door, noting each protection state the guard asks for."""

        def set_instance_protection(self, group: str, instance_id: str,
                                    protected: bool) -> None:
            asked.append(protected)
            pipeline.aws.scaling.set_instance_protection(group, instance_id, protected)

    guard = ScaleInGuard(RecordingScaling, config)  # type: ignore[arg-type]

    def protected() -> bool:
        inst = pipeline.aws.autoscaling.describe_auto_scaling_instances(
            InstanceIds=[instance])["AutoScalingInstances"][0]
        return bool(inst["ProtectedFromScaleIn"])

    guard.job_started()
    guard.job_started()
    assert protected()
    guard.job_finished()
    assert protected()  # one job still runs
    guard.job_finished()
    assert not protected()
    assert asked == [True, False]


def test_instance_protection_is_off_locally_and_never_asks_imds(pipeline: Pipeline) -> None:
    local = pipeline.aws.settings.with_endpoint("http://127.0.0.1:1")
    config = InstanceConfig.from_settings(replace(local, instance_protection=True),
                                          lookup=lambda: pytest.fail("IMDS must not be asked"))
    assert not config.enabled
    guard = ScaleInGuard(lambda: pytest.fail("no AWS call expected"), config)
    guard.job_started()
    guard.job_finished()
    assert guard.complete_termination() is False


def test_the_termination_hook_is_completed_with_continue() -> None:
    calls: list[tuple[str, str, str]] = []

    class FakeAutoScaling:
        def set_instance_protection(self, group: str, instance_id: str,
                                    protected: bool) -> None:
            raise AssertionError("not asked for")

        def complete_lifecycle_action(self, hook: str, group: str, instance_id: str) -> None:
            calls.append((hook, group, instance_id))

    config = InstanceConfig(instance_id="i-123", group_name="g", drain_hook="h",
                            protection=True)
    assert ScaleInGuard(FakeAutoScaling, config).complete_termination()
    assert calls == [("h", "g", "i-123")]


def test_a_test_event_and_an_unexpected_bucket_are_acknowledged_without_work(
        pipeline: Pipeline) -> None:
    sqs, url = pipeline.aws.sqs, pipeline.info.queue_url
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}))
    sqs.send_message(QueueUrl=url, MessageBody=s3_event_body("elsewhere", "x.zip", etag="e"))
    records = pipeline.drain()
    assert [r.error["code"] for r in records if r.error] == ["UnexpectedBucket"]
    assert pipeline.queue_depth() == 0


def test_a_step_hung_past_its_deadline_lets_the_job_go_to_another_worker(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    clock = FakeClock(time.time())
    hung = runner_for(pipeline, "hung", GatedSteps(pipeline.runtime.steps, gate))
    hung.clock, hung.sleep = clock, clock.sleep
    thread, out = in_thread(lambda: hung.process(ref))
    wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    ident = thread.ident
    assert ident is not None and not hung.hung_in_thread(ident)
    clock.now += 900 + 60 + LEASE + 1  # past the build's timeout and its heartbeat
    wait_for("the keeper to give the lease up", lambda: hung.hung_in_thread(ident))

    other = runner_for(pipeline, "other")
    other.clock, other.sleep = clock, clock.sleep
    outcome, rec = other.process(ref)
    assert outcome is Outcome.DONE and rec.state == "verified", rec.error
    assert [e["type"] for e in rec.history].count("TaskTimedOut") == 1
    gate.set()  # the hung step finally returns: its worker must leave the job alone
    thread.join(30)
    assert out[0][0] is Outcome.LOST
    final = pipeline.runtime.store.get(ref.job_id)
    assert final is not None and final.state == "verified"


# ---- deliveries of a job another worker holds never spend receives ----
def _body(ref: ObjectRef) -> str:
    return s3_event_body(ref.bucket, ref.key, version_id=ref.version_id, etag=ref.etag)


def test_a_copy_of_a_job_running_from_another_message_is_acknowledged(
        pipeline: Pipeline, gate: threading.Event) -> None:
    from worker.messages import handle_body

    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    runner = runner_for(pipeline, "holder", steps)
    thread, out = in_thread(lambda: runner.process(ref, message_id="message-A"))
    wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    other = runner_for(pipeline, "other")
    handled = handle_body(other, _body(ref), message_id="message-B", expected_bucket=None,
                          wait_for_expiry=LEASE + 1)
    assert handled.ack is Ack.DELETE  # message-A carries the job; B is a duplicate
    gate.set()
    thread.join(30)
    assert out[0][0] is Outcome.DONE and steps.builds == 1


def test_the_jobs_own_message_back_before_a_dead_holders_lease_ends_waits_for_it(
        pipeline: Pipeline, gate: threading.Event) -> None:
    from worker.messages import handle_body

    ref = upload_hello(pipeline)
    dying = runner_for(pipeline, "dies", GatedSteps(pipeline.runtime.steps, gate, die=True))
    with pytest.raises(SystemExit):
        dying.process(ref, message_id="message-A")
    held = pipeline.runtime.store.get(ref.job_id)
    assert held is not None and held.lease_message == "message-A"
    assert held.lease_expires > time.time()  # the message came back first
    survivor = runner_for(pipeline, "survivor")
    handled = handle_body(survivor, _body(ref), message_id="message-A", expected_bucket=None,
                          wait_for_expiry=LEASE + 1)
    assert handled.ack is Ack.DELETE  # waited for the expiry, took over and finished
    done = pipeline.runtime.store.get(ref.job_id)
    assert done is not None and done.state == "verified"


def test_a_job_held_without_a_message_gets_a_fresh_delayed_copy(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    holder = runner_for(pipeline, "here", steps)  # as `replay --here`: no message behind it
    holder.lease_seconds = 30
    thread, out = in_thread(lambda: holder.process(ref))
    wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    pipeline.aws.sqs.purge_queue(QueueUrl=pipeline.info.queue_url)
    pipeline.aws.sqs.send_message(QueueUrl=pipeline.info.queue_url, MessageBody=_body(ref))
    worker = Worker(runner_for(pipeline, "w"), queue_url=pipeline.info.queue_url,
                    wait_seconds=0)
    [msg] = wait_for("the delivery", lambda: worker.queue.receive(10, visibility=30))
    handled = worker.handle(msg)
    assert handled.ack is Ack.REQUEUE and 20 <= handled.delay <= 32
    attrs = pipeline.aws.sqs.get_queue_attributes(
        QueueUrl=pipeline.info.queue_url, AttributeNames=["All"])["Attributes"]
    # the received copy is gone, a new one waits out the lease: its receives start at 0
    assert (attrs["ApproximateNumberOfMessagesNotVisible"],
            attrs["ApproximateNumberOfMessagesDelayed"]) == ("0", "1")
    gate.set()
    thread.join(30)
    assert out[0][0] is Outcome.DONE


def test_the_jobs_own_message_back_while_its_holder_beats_comes_back_at_the_lease_end(
        pipeline: Pipeline, gate: threading.Event) -> None:
    from worker.messages import handle_body

    ref = upload_hello(pipeline)
    steps = GatedSteps(pipeline.runtime.steps, gate)
    holder = runner_for(pipeline, "alive", steps)
    thread, out = in_thread(lambda: holder.process(ref, message_id="message-A"))
    wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    handled = handle_body(runner_for(pipeline, "other"), _body(ref), message_id="message-A",
                          expected_bucket=None, wait_for_expiry=0)
    assert handled.ack is Ack.DELAY and 1 <= handled.delay <= LEASE + 2
    gate.set()
    thread.join(30)
    assert out[0][0] is Outcome.DONE and steps.builds == 1


def test_a_message_near_the_redrive_limit_hands_its_job_to_a_fresh_copy(
        pipeline: Pipeline) -> None:
    ref = upload_hello(pipeline)
    url = pipeline.info.queue_url
    pipeline.aws.sqs.purge_queue(QueueUrl=url)
    pipeline.aws.sqs.send_message(QueueUrl=url, MessageBody=_body(ref))
    worker = Worker(runner_for(pipeline, "w"), queue_url=url, wait_seconds=0,
                    redrive_limit=5)
    for _ in range(3):  # three receives spent (workers that died, answers lost)
        [spent] = wait_for("a delivery", lambda: worker.queue.receive(10, visibility=30))
        worker.queue.set_visibility(spent.receipt, 0)
    [msg] = wait_for("the 4th delivery", lambda: worker.queue.receive(10, visibility=30))
    assert (msg.receive_count, msg.copies) == (4, 0) and worker.near_redrive_limit(msg)
    handled = worker.handle(msg)
    assert handled.ack is Ack.REQUEUE
    held = pipeline.runtime.store.get(ref.job_id)
    assert held is not None and held.lease_owner is None  # released for the copy
    [copy] = wait_for("the fresh copy", lambda: worker.queue.receive(10, visibility=30))
    assert (copy.receive_count, copy.copies, copy.body) == (1, 1, msg.body)
    assert worker.handle(copy).ack is Ack.DELETE
    done = pipeline.runtime.store.get(ref.job_id)
    assert done is not None and done.state == "verified"
    # a message copied often enough is left to the redrive limit
    tired = replace(copy, receive_count=5, copies=MAX_COPIES)
    assert not worker.near_redrive_limit(tired)


def test_the_jobs_own_message_near_the_limit_passes_the_lease_to_a_fresh_copy(
        pipeline: Pipeline, gate: threading.Event) -> None:
    ref = upload_hello(pipeline)
    url = pipeline.info.queue_url
    pipeline.aws.sqs.purge_queue(QueueUrl=url)
    pipeline.aws.sqs.send_message(QueueUrl=url, MessageBody=_body(ref))
    holder = Worker(runner_for(pipeline, "holder", GatedSteps(pipeline.runtime.steps, gate)),
                    queue_url=url, wait_seconds=0, visibility=30, redrive_limit=5)
    [first] = wait_for("the delivery", lambda: holder.queue.receive(10, visibility=30))
    thread, out = in_thread(lambda: holder.handle(first))
    held = wait_for("the build to start", lambda: building(pipeline, ref.job_id))
    assert held.lease_message == first.message_id
    other = Worker(runner_for(pipeline, "other"), queue_url=url, wait_seconds=0,
                   redrive_limit=5)
    again = first
    for _ in range(2):  # its holder's message keeps coming back (its hiding fails)
        other.queue.set_visibility(again.receipt, 0)
        [again] = wait_for("the message again", lambda: other.queue.receive(10, visibility=30))
    assert again.receive_count == 3 and other.near_redrive_limit(again)
    assert other.handle(again).ack is Ack.DELAY
    now = pipeline.runtime.store.get(ref.job_id)
    assert now is not None and now.lease_message not in (None, first.message_id)
    attrs = pipeline.aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    gate.set()
    thread.join(30)
    assert out[0].ack is Ack.DELETE  # the holder's own message was gone already: fine
    done = pipeline.runtime.store.get(ref.job_id)
    assert done is not None and done.state == "verified"


def test_a_worker_paused_by_an_outage_tells_the_checker(pipeline: Pipeline) -> None:
    aws, worker = pipeline.aws, pipeline.worker
    for _ in range(10):  # DynamoDB keeps failing: its breaker opens
        aws.breakers.record("dynamodb", "GetItem", transient=True)
    thread, _ = in_thread(worker.run)
    try:
        wait_for("the worker to pause", lambda: worker.stats.paused >= 1)
    finally:
        worker.request_stop()
        thread.join(30)
    assert worker.stats.received == 0  # no message taken while the table is down
    assert paused_workers(aws.metrics, aws.settings.queue_name, time.time()) > 0
