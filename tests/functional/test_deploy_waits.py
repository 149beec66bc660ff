"""Waiting for Lambda to settle between changes, and riding out updates in progress, in
the Lambda door: driven by a hand-written fake client and an injected clock and sleep
(no real waiting)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from orchestrator.aws.errors import AwsError
from orchestrator.aws.functions import Functions, ride_conflicts
from orchestrator.errors import DeployError, TransientError
from orchestrator.retries import BOTOCORE, Backoff, SendBudget


class FakeLambda:
    """Answers get_function_configuration from a script of (State, LastUpdateStatus)."""

    def __init__(self, script: list[tuple[str, str | None]]) -> None:
        self.script = script
        self.calls = 0

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        state, update = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return {"FunctionName": FunctionName, "State": state, "LastUpdateStatus": update,
                "LastUpdateStatusReason": "role is broken" if update == "Failed" else None}


def wait_until_ready(fake: FakeLambda, name: str, *, sleep: Any, clock: Any,
                     timeout: float = 300.0) -> Any:
    return Functions(fake, sleep=sleep, clock=clock).wait_until_ready(name, timeout=timeout)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_waits_through_pending_and_in_progress() -> None:
    fake = FakeLambda([("Pending", None), ("Active", "InProgress"), ("Active", "InProgress"),
                       ("Active", "Successful")])
    clock = Clock()
    config = wait_until_ready(fake, "f", sleep=clock.sleep, clock=clock.time)
    assert config["LastUpdateStatus"] == "Successful"
    assert fake.calls == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_ready_function_needs_no_sleep() -> None:
    clock = Clock()
    wait_until_ready(FakeLambda([("Active", None)]), "f", sleep=clock.sleep, clock=clock.time)
    assert clock.sleeps == []


def test_endless_update_becomes_transient() -> None:
    clock = Clock()
    with pytest.raises(TransientError) as exc:
        wait_until_ready(FakeLambda([("Active", "InProgress")]), "f", sleep=clock.sleep,
                         clock=clock.time, timeout=60)
    assert exc.value.code == "LambdaUpdateInProgress"
    assert 60 <= clock.now <= 80
    assert max(clock.sleeps) == 10.0


def test_failed_update_is_deploy_failed_with_the_reason() -> None:
    clock = Clock()
    with pytest.raises(DeployError) as exc:
        wait_until_ready(FakeLambda([("Active", "InProgress"), ("Active", "Failed")]), "f",
                         sleep=clock.sleep, clock=clock.time)
    assert exc.value.code == "DeployFailed"
    assert "role is broken" in str(exc.value)


def client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "UpdateFunctionCode")


def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []
    clock = Clock()

    def call() -> None:
        calls.append(1)
        raise client_error("InvalidParameterValueException")

    with pytest.raises(AwsError) as exc:
        ride_conflicts(call, "lambda.update", sleep=clock.sleep)
    assert exc.value.code == "AwsValidation"
    assert exc.value.aws_code == "InvalidParameterValueException"
    assert calls == [1] and clock.sleeps == []


def test_conflicts_back_off_exponentially_with_a_cap() -> None:
    clock = Clock()
    attempts: list[int] = []

    def call() -> str:
        attempts.append(1)
        if len(attempts) < 6:
            raise client_error("ResourceConflictException", 409)
        return "done"

    six_calls = SendBudget(sends=5 + BOTOCORE.sends, backoff=Backoff(1.0, 2.0, max_delay=4))
    assert ride_conflicts(call, "lambda.update", sleep=clock.sleep, budget=six_calls) == "done"
    assert clock.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
