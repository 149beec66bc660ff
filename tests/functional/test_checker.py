"""The checker against moto in-process: the values it publishes, zeros when idle, and
a loop that survives API errors (faults injected with botocore event hooks)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from click.testing import CliRunner

from auto_lambda_dev.localgroup import set_capacity
from checker.metric import Checker, CheckerOptions, metric_dimensions
from orchestrator.aws.facade import Aws
from orchestrator.aws.outage_signal import report_paused
from orchestrator.config import METRIC_NAMESPACE
from tests.functional.conftest import emulated_group

NOW = 1_900_000_000.0  # a fixed clock: 2030-03-17


@pytest.fixture
def aws() -> Iterator[Aws]:
    with emulated_group(min_size=0) as client:
        yield client


def _queue(aws: Aws) -> str:
    return aws.queue_url()


def _put_job(aws: Aws, job_id: str, state: str, created: float,
             finished: float | None) -> None:
    item: dict[str, Any] = {"job_id": {"S": job_id}, "state": {"S": state},
                            "created_at": {"N": str(created)}}
    if finished is not None:
        item["finished_at"] = {"N": str(finished)}
    aws.dynamodb.put_item(TableName=aws.settings.table_name, Item=item)


def _published(aws: Aws, name: str) -> list[float]:
    resp = aws.cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {
            "Namespace": METRIC_NAMESPACE, "MetricName": name,
            "Dimensions": metric_dimensions(aws.settings)}, "Period": 1, "Stat": "Maximum"}}],
        StartTime=dt.datetime.fromtimestamp(NOW - 3600, tz=dt.UTC),
        EndTime=dt.datetime.fromtimestamp(NOW + 3600, tz=dt.UTC))
    return list(resp["MetricDataResults"][0]["Values"])


def _fill(aws: Aws, visible: int, in_flight: int, delayed: int) -> None:
    url = _queue(aws)
    for i in range(visible + in_flight):
        aws.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    for i in range(delayed):
        aws.sqs.send_message(QueueUrl=url, MessageBody=f"d{i}", DelaySeconds=600)
    taken = 0
    while taken < in_flight:
        got = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, in_flight - taken),
                                      VisibilityTimeout=600, WaitTimeSeconds=0)
        taken += len(got.get("Messages", []))


def test_publishes_backlog_per_slot_and_the_parts_it_is_made_of(aws: Aws) -> None:
    _fill(aws, visible=5, in_flight=2, delayed=1)
    set_capacity(aws, aws.settings, 2)
    _put_job(aws, "a", "verified", NOW - 100, NOW - 70)   # 30 s, recent
    _put_job(aws, "b", "failed", NOW - 200, NOW - 150)    # 50 s, recent
    _put_job(aws, "c", "verified", NOW - 9000, NOW - 8000)  # finished long ago
    _put_job(aws, "d", "built", NOW - 50, None)           # not finished

    options = CheckerOptions(slots_per_instance=4)
    result = Checker(aws, options, clock=lambda: NOW).tick()

    assert result.published and result.errors == []
    assert result.metrics == {
        "BacklogPerSlot": 7 / 8, "BacklogPerInstance": 3.5, "Backlog": 7.0, "Visible": 5.0,
        "InFlight": 2.0, "Delayed": 1.0, "InServiceInstances": 2.0, "JobSlots": 8.0,
        "AverageProcessingSeconds": 40.0, "WaitingWorkers": 0.0,
    }
    assert _published(aws, "BacklogPerSlot") == [0.875]
    assert _published(aws, "BacklogPerInstance") == [3.5]
    assert _published(aws, "JobSlots") == [8.0]
    assert _published(aws, "AverageProcessingSeconds") == [40.0]


@pytest.mark.parametrize(("options", "expected"), [
    (CheckerOptions(include_delayed=True), 4.0),
    (CheckerOptions(include_in_flight=False), 2.5),
    (CheckerOptions(activation=7), 0.0),
    (CheckerOptions(activation=6), 3.5),
])
def test_backlog_options_change_what_counts(aws: Aws, options: CheckerOptions,
                                            expected: float) -> None:
    _fill(aws, visible=5, in_flight=2, delayed=1)
    set_capacity(aws, aws.settings, 2)
    result = Checker(aws, options, clock=lambda: NOW).tick()
    assert result.metrics is not None
    assert result.metrics["BacklogPerInstance"] == expected


def test_idle_queue_publishes_zeros_not_nothing(aws: Aws) -> None:
    result = Checker(aws, clock=lambda: NOW).tick()
    assert result.published
    for name in ("BacklogPerSlot", "BacklogPerInstance", "Backlog", "InServiceInstances",
                 "JobSlots", "AverageProcessingSeconds"):
        assert _published(aws, name) == [0.0], name


def test_backlog_with_no_instance_in_service_counts_one_instances_slots(aws: Aws) -> None:
    """So value x max(InService, 1) / target is still the instances the backlog needs."""
    _fill(aws, visible=3, in_flight=0, delayed=0)
    result = Checker(aws, CheckerOptions(slots_per_instance=2), clock=lambda: NOW).tick()
    assert result.metrics is not None
    assert result.metrics["InServiceInstances"] == 0
    assert result.metrics["JobSlots"] == 0
    assert result.metrics["BacklogPerSlot"] == 1.5
    assert result.metrics["BacklogPerInstance"] == 3.0


def test_a_backlog_that_only_waits_for_a_service_is_not_scaled_out_on(aws: Aws) -> None:
    _fill(aws, visible=3, in_flight=1, delayed=0)
    set_capacity(aws, aws.settings, 2)
    checker = Checker(aws, clock=lambda: NOW)
    before = checker.tick().metrics
    assert before is not None and before["BacklogPerSlot"] == 2.0
    # DynamoDB goes down: both workers pause and say so (each every REPORT_SECONDS),
    # while uploads keep arriving.
    for at in (NOW + 1, NOW + 11, NOW + 21):
        for _ in range(2):
            report_paused(aws.metrics, aws.settings.queue_name, at)
    _fill(aws, visible=10, in_flight=0, delayed=0)
    checker.clock = lambda: NOW + 25
    during = checker.tick().metrics
    assert during is not None and during["WaitingWorkers"] == 2.0
    assert during["Backlog"] == 14.0  # measured as it is ...
    assert during["BacklogPerSlot"] == 2.0  # ... but scaled on as before the outage
    # The service answers again: the workers stop reporting, the whole backlog counts.
    checker.clock = lambda: NOW + 90
    after = checker.tick().metrics
    assert after is not None and after["WaitingWorkers"] == 0.0
    assert after["BacklogPerSlot"] == 7.0


def test_one_paused_worker_of_four_does_not_hold_the_backlog(aws: Aws) -> None:
    _fill(aws, visible=8, in_flight=0, delayed=0)
    set_capacity(aws, aws.settings, 4)
    for at in (NOW - 25, NOW - 15, NOW - 5):
        report_paused(aws.metrics, aws.settings.queue_name, at)
    result = Checker(aws, clock=lambda: NOW).tick().metrics
    assert result is not None and result["WaitingWorkers"] == 1.0
    assert result["BacklogPerSlot"] == 2.0  # a worker's own trouble, not an outage


def test_slots_per_instance_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CheckerOptions(slots_per_instance=0)


class Faults:
    """Fail the first ``count`` calls of an operation by raising from a before-call hook."""

    def __init__(self, code: str, count: int, exc: type[Exception] | None = None) -> None:
        self.code = code
        self.left = count
        self.exc = exc

    def __call__(self, **kwargs: Any) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        if self.exc is not None:
            raise self.exc("injected")
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": self.code, "Message": "injected"},
             "ResponseMetadata": {"HTTPStatusCode": 400}}, "Injected")


def test_loop_survives_api_errors_and_counts_them(aws: Aws) -> None:
    _fill(aws, visible=4, in_flight=0, delayed=0)
    set_capacity(aws, aws.settings, 1)
    aws.sqs.meta.events.register("before-call.sqs.GetQueueAttributes",
                                 Faults("AccessDenied", 2))
    aws.cloudwatch.meta.events.register("before-call.cloudwatch.PutMetricData",
                                        Faults("", 1, exc=RuntimeError))
    aws.autoscaling.meta.events.register("before-call.auto-scaling.DescribeAutoScalingGroups",
                                         Faults("Throttling", 1))
    clock = [NOW]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    seen: list[Any] = []
    checker = Checker(aws, CheckerOptions(interval=10), clock=lambda: clock[0])
    ticks = checker.run(sleep=sleep, on_tick=seen.append, max_ticks=5)

    assert ticks == 5
    assert checker.error_count == 4
    assert [r.published for r in seen] == [False, False, False, True, True]
    assert seen[-1].metrics["BacklogPerInstance"] == 4.0
    assert slept == [10.0] * 4


def test_run_stops_when_told(aws: Aws) -> None:
    calls: list[float] = []
    checker = Checker(aws, CheckerOptions(interval=10), clock=lambda: NOW)
    ticks = checker.run(stop=lambda: len(calls) >= 3, sleep=calls.append)
    assert ticks == 3


def test_cli_once_json_prints_one_tick(aws: Aws) -> None:
    from orchestrator.cli.main import cli

    _fill(aws, visible=2, in_flight=0, delayed=0)
    result = CliRunner().invoke(cli, ["checker", "--once", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert doc["published"] is True
    assert doc["metrics"]["Backlog"] == 2.0
    assert "control" not in doc


def test_cli_counts_the_configured_job_slots(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.cli.main import cli

    _fill(aws, visible=6, in_flight=0, delayed=0)
    set_capacity(aws, aws.settings, 1)
    monkeypatch.setenv("AUTO_LAMBDA_WORKER_CONCURRENCY", "3")
    result = CliRunner().invoke(cli, ["checker", "--once", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert doc["metrics"]["JobSlots"] == 3.0 and doc["metrics"]["BacklogPerSlot"] == 2.0
    result = CliRunner().invoke(cli, ["checker", "--once", "--json", "--slots-per-instance", "6"])
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert doc["metrics"]["BacklogPerSlot"] == 1.0


def test_cli_rejects_a_bad_interval() -> None:
    from orchestrator.cli.main import cli

    result = CliRunner().invoke(cli, ["checker", "--interval", "soon"])
    assert result.exit_code != 0
    assert "duration" in result.output
