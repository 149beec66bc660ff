"""Every AWS failure maps to a stable code with the service, operation and request id in
its message; the retried ones are the workflow's transient codes; and a step that lets a
raw botocore error through still records a stable code, never "ClientError"."""

from __future__ import annotations

from typing import Any

import boto3.exceptions
import botocore.exceptions
import pytest

from orchestrator.aws.errors import RETRIED, AwsError, classify, error_code
from orchestrator.aws.facade import aws_call
from orchestrator.errors import TRANSIENT_CODES, TransientError
from states import TaskTimeout


def client_error(code: str, status: int, op: str = "CreateAlias",
                 rid: str = "req-123") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": f"says {code}"},
         "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": rid}}, op)


@pytest.mark.parametrize(("aws_code", "status", "expected"), [
    ("ThrottlingException", 400, "AwsThrottled"),
    ("TooManyRequestsException", 429, "AwsThrottled"),
    ("SlowDown", 503, "AwsThrottled"),
    ("ServiceException", 500, "AwsServerError"),
    ("InternalError", 500, "AwsServerError"),
    ("Unknown", 503, "AwsServerError"),
    ("ResourceConflictException", 409, "LambdaUpdateInProgress"),
    ("ConflictException", 409, "AwsConflict"),
    ("ConditionalCheckFailedException", 400, "AwsConflict"),
    ("TransactionCanceledException", 400, "AwsConflict"),
    ("ResourceNotFoundException", 404, "AwsNotFound"),
    ("NoSuchKey", 404, "AwsNotFound"),
    ("404", 404, "AwsNotFound"),
    ("AccessDeniedException", 403, "AwsAccessDenied"),
    ("ExpiredTokenException", 400, "AwsAccessDenied"),
    ("InvalidParameterValueException", 400, "AwsValidation"),
    ("ValidationException", 400, "AwsValidation"),
    ("SomethingNew", 400, "AwsValidation"),
])
def test_client_errors_map_to_their_category(aws_code: str, status: int,
                                             expected: str) -> None:
    mapped = classify(client_error(aws_code, status), "lambda.create_alias(f:live)")
    assert mapped is not None
    assert (mapped.code, mapped.aws_code, error_code(mapped)) == (expected, aws_code, aws_code)
    assert mapped.retried == (expected in RETRIED)
    assert isinstance(mapped, TransientError) == mapped.retried
    text = str(mapped)
    assert "lambda CreateAlias" in text and "req-123" in text and aws_code in text
    assert mapped.hint


def test_the_retried_codes_are_the_workflows_transient_codes() -> None:
    assert set(RETRIED) <= set(TRANSIENT_CODES)


@pytest.mark.parametrize("exc", [
    botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
    botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"),
    botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"),
    ConnectionResetError("reset by peer"),
])
def test_network_failures_are_network_errors(exc: BaseException) -> None:
    mapped = classify(exc, "s3.get_object(k)")
    assert mapped is not None and mapped.code == "NetworkError" and mapped.retried


def test_wrapped_and_client_side_failures_keep_their_cause() -> None:
    try:
        try:
            raise client_error("AccessDenied", 403, "PutObject")
        except botocore.exceptions.ClientError as inner:
            raise boto3.exceptions.S3UploadFailedError("Failed to upload") from inner
    except boto3.exceptions.S3UploadFailedError as wrapped:
        mapped = classify(wrapped, "s3.upload_file(a)")
    assert mapped is not None and mapped.code == "AwsAccessDenied"
    param = classify(botocore.exceptions.ParamValidationError(report="bad"), "s3.x")
    assert param is not None and param.code == "AwsValidation"
    creds = classify(botocore.exceptions.NoCredentialsError(), "sqs.receive")
    assert creds is not None and creds.code == "NoCredentials" and "AWS_PROFILE" in str(creds)


def test_what_is_not_an_aws_failure_is_left_alone() -> None:
    assert classify(KeyError("x"), "s3.x") is None
    assert classify(TaskTimeout("late"), "s3.x") is None
    assert classify(AwsError("m", code="AwsNotFound", service="s", operation="o"), "x") is None


def test_aws_call_raises_the_mapped_error_from_the_original() -> None:
    with pytest.raises(AwsError) as info, aws_call("dynamodb.put_item(job)"):
        raise client_error("ConditionalCheckFailedException", 400, "PutItem")
    assert info.value.code == "AwsConflict"
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)


def test_a_raw_client_error_from_a_step_is_recorded_with_a_stable_code(tmp_path: Any) -> None:
    from orchestrator.steps.tasks import Steps
    from states import Execution, drive
    from tests.fakes import FETCH_BUILD, FakeClock

    class RawSteps(Steps):
        def fetch(self, ctx: Any) -> Any:
            raise client_error("AccessDenied", 403, "GetObject", rid="rid-9")

    clock = FakeClock()
    ex = Execution.start(FETCH_BUILD, "job", {}, clock())
    drive(ex, RawSteps(None).tasks(), persist=lambda e: None,  # type: ignore[arg-type]
          clock=clock, sleep=clock.sleep)
    assert ex.error is not None and ex.error["error"] == "AwsAccessDenied"
    assert "GetObject" in ex.error["cause"] and "rid-9" in ex.error["cause"]
