"""A step's stray exception never reaches a job as a Python class name."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from orchestrator.errors import AutoLambdaError, BuildError
from orchestrator.steps.guard import guard_tasks


def _raising(exc: BaseException) -> dict[str, Any]:
    def task(ctx: Any) -> dict[str, Any]:
        raise exc
    return guard_tasks({"build": task})


@pytest.mark.parametrize(("exc", "code"), [
    (PermissionError(errno.EACCES, "Permission denied", "/root/.pyenv"), "WorkerPermissionDenied"),
    (OSError(errno.ENOSPC, "No space left on device"), "WorkerDiskFull"),
    (MemoryError(), "WorkerOutOfMemory"),
    (KeyError("artifact"), "InternalError"),
])
def test_stray_exceptions_get_stable_codes_and_keep_their_story(exc: BaseException,
                                                                code: str) -> None:
    with pytest.raises(AutoLambdaError) as info:
        _raising(exc)["build"](None)
    assert info.value.code == code
    assert type(exc).__name__ in str(info.value) and "build" in str(info.value)
    assert info.value.hint


def test_coded_errors_and_timeouts_pass_through_unchanged() -> None:
    original = BuildError("no wheel", code="NoCompatibleWheel")
    with pytest.raises(BuildError) as info:
        _raising(original)["build"](None)
    assert info.value is original
    with pytest.raises(TimeoutError):
        _raising(TimeoutError("slow"))["build"](None)


def test_an_aws_refusal_a_step_let_through_gets_the_aws_code_of_its_kind() -> None:
    from botocore.exceptions import ClientError

    refused = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
    with pytest.raises(AutoLambdaError) as info:
        _raising(refused)["build"](None)
    assert info.value.code == "AwsAccessDenied" and "AccessDenied" in info.value.message
