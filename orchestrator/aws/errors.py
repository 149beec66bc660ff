"""What an AWS failure means to auto-lambda: every botocore and boto3 exception mapped to
one stable code, with the service, the operation and the request id in the message.

The codes are categories a user (and the workflow's Retry) can act on:

| code | what happened | retried |
|---|---|---|
| ``AwsThrottled`` | throttling, 429, SlowDown | yes |
| ``AwsServerError`` | 5xx, InternalError, ServiceUnavailable | yes |
| ``NetworkError`` | no connection, a reset, a read timeout | yes |
| ``LambdaUpdateInProgress`` | Lambda or DynamoDB busy with an earlier change | yes |
| ``AwsConflict`` | 409, a failed condition, already exists | no |
| ``AwsNotFound`` | 404, no such resource | no |
| ``AwsAccessDenied`` | 401/403, expired or refused credentials | no |
| ``NoCredentials`` | no credentials to sign with | no |
| ``AwsValidation`` | any other 4xx: the request itself is wrong | no |

The AWS error code stays available as ``AwsError.aws_code`` (and ``error_code(exc)``),
so callers can still tell ``ResourceNotFoundException`` from ``NoSuchKey``. This module
only classifies: it makes no calls and decides nothing about retrying (the workflow's
Retry names the retried codes, ``orchestrator.errors.TRANSIENT_CODES``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import botocore.exceptions

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError, TransientError
from orchestrator.types import JsonObject

THROTTLED = Code.AwsThrottled
SERVER_ERROR = Code.AwsServerError
NETWORK = Code.NetworkError
UPDATE_IN_PROGRESS = Code.LambdaUpdateInProgress
CONFLICT = Code.AwsConflict
NOT_FOUND = Code.AwsNotFound
ACCESS_DENIED = Code.AwsAccessDenied
VALIDATION = Code.AwsValidation
NO_CREDENTIALS = Code.NoCredentials

RETRIED = frozenset({THROTTLED, SERVER_ERROR, NETWORK, UPDATE_IN_PROGRESS})

THROTTLE_CODES = _THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "SlowDown",
    "RequestThrottled", "RequestThrottledException", "TooManyUpdates",
    "LimitExceededException", "TransactionInProgressException",
})
_BUSY_CODES = frozenset({"ResourceConflictException", "ResourceInUseException"})
_SERVER_CODES = frozenset({"InternalError", "InternalFailure", "ServiceUnavailable",
                           "InternalServerError", "ServiceException", "ServerError"})
_CONFLICT_CODES = frozenset({"ConflictException", "ConditionalCheckFailedException",
                             "TransactionCanceledException", "TransactionConflictException",
                             "PreconditionFailed", "BucketAlreadyOwnedByYou",
                             "ResourceAlreadyExistsException", "EntityAlreadyExists",
                             "AlreadyExistsException", "QueueNameExists"})
_NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket",
                              "NoSuchVersion", "NotFound", "NoSuchEntity", "404",
                              "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
                              "NoSuchUpload"})
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                           "UnrecognizedClientException", "InvalidClientTokenId",
                           "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch",
                           "InvalidAccessKeyId", "MissingAuthenticationToken",
                           "KMSAccessDeniedException", "403"})
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
    botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError,
    ConnectionError,
)

_HINTS = {
    THROTTLED: "AWS is limiting the request rate; the workflow retries with backoff",
    SERVER_ERROR: "AWS failed to answer; the workflow retries with backoff",
    NETWORK: "the endpoint could not be reached or the connection dropped; the workflow "
             "retries with backoff (check AWS_ENDPOINT_URL and the network if it lasts)",
    UPDATE_IN_PROGRESS: "another change is still being applied; retried with backoff",
    CONFLICT: "the resource exists already or changed meanwhile",
    NOT_FOUND: "check that the stack is deployed and that AWS_REGION and "
               "AUTO_LAMBDA_PREFIX name it",
    ACCESS_DENIED: "check the credentials and that their role allows this call (infra/cdk "
                   "grants what the workers and the checker need, and no more)",
    VALIDATION: "AWS refused the request as given",
    NO_CREDENTIALS: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the "
                    "local stack use the export lines `auto-lambda local up` prints",
}


class AwsError(AutoLambdaError):
    """An AWS call failed; ``code`` is one of the categories above, ``aws_code`` what
    AWS (or botocore) called it."""

    code = SERVER_ERROR

    def __init__(self, message: str, *, code: Code, service: str, operation: str,
                 aws_code: str = "", request_id: str | None = None, status: int = 0,
                 hint: str | None = None) -> None:
        super().__init__(message, code=code, hint=hint if hint is not None else _HINTS[code],
                         details={k: v for k, v in (("service", service),
                                                    ("operation", operation),
                                                    ("aws_code", aws_code),
                                                    ("request_id", request_id),
                                                    ("status", status)) if v})
        self.service, self.operation = service, operation
        self.aws_code, self.request_id, self.status = aws_code, request_id, status
        # How many times botocore sent the request (None: unknown, say a network error),
        # for the doors' send budgets (``orchestrator.retries``).
        self.sends: int | None = None

    @property
    def retried(self) -> bool:
        return self.code in RETRIED


class AwsTransientError(AwsError, TransientError):
    """An AwsError the workflow retries (its code is in ``RETRIED``)."""


def _make(message: str, *, code: Code, service: str, operation: str, aws_code: str = "",
          request_id: str | None = None, status: int = 0) -> AwsError:
    cls = AwsTransientError if code in RETRIED else AwsError
    return cls(message, code=code, service=service, operation=operation, aws_code=aws_code,
               request_id=request_id, status=status)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError or an AwsError ('' for others)."""
    if isinstance(exc, AwsError):
        return exc.aws_code
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def category(aws_code: str, status: int, service: str = "") -> Code:
    """The auto-lambda code of an AWS error code and HTTP status."""
    if aws_code in _THROTTLE_CODES or status == 429:
        return THROTTLED
    if aws_code in _BUSY_CODES and service != "s3":
        return UPDATE_IN_PROGRESS
    if status >= 500 or aws_code in _SERVER_CODES:
        return SERVER_ERROR
    if aws_code in _CONFLICT_CODES or status in (409, 412):
        return CONFLICT
    if aws_code in _NOT_FOUND_CODES or status in (404, 410):
        return NOT_FOUND
    if aws_code in _DENIED_CODES or status in (401, 403):
        return ACCESS_DENIED
    return VALIDATION


def split_where(where: str) -> tuple[str, str]:
    """``"lambda.create_alias(f:live)"`` -> ``("lambda", "create_alias(f:live)")``."""
    service, dot, rest = where.partition(".")
    if not dot or not service.isidentifier():
        return "aws", where
    return service, rest


def _request_id(response: JsonObject) -> str | None:
    meta = response.get("ResponseMetadata") or {}
    headers = meta.get("HTTPHeaders") or {}
    rid = (meta.get("RequestId") or headers.get("x-amzn-requestid")
           or headers.get("x-amz-request-id"))
    return str(rid) if rid else None


def _botocore_cause(exc: BaseException) -> BaseException | None:
    """``exc`` itself or the botocore error it wraps (boto3's S3 transfer errors wrap one)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, botocore.exceptions.BotoCoreError
                      | botocore.exceptions.ClientError):
            return current
        current = current.__cause__ or current.__context__
    return None


def classify(exc: BaseException, where: str) -> AwsError | None:
    """``exc`` as an AwsError with a stable code; None when it is not an AWS failure
    (nor a network one) or already an AutoLambdaError."""
    if isinstance(exc, AutoLambdaError):
        return None
    service, detail = split_where(where)
    raw = _botocore_cause(exc)
    if isinstance(raw, botocore.exceptions.ClientError):
        err = raw.response.get("Error") or {}
        aws_code = str(err.get("Code") or "")
        meta = raw.response.get("ResponseMetadata") or {}
        status = int(meta.get("HTTPStatusCode") or 0)
        operation = raw.operation_name or detail
        code = category(aws_code, status, service)
        rid = _request_id(raw.response)
        text = str(err.get("Message") or raw)
        message = (f"{service} {operation} ({detail}) failed: {aws_code or status}: {text} "
                   f"[HTTP {status or '?'}, request id {rid or 'none'}]")
        mapped = _make(message, code=code, service=service, operation=operation,
                       aws_code=aws_code, request_id=rid, status=status)
        attempts = meta.get("RetryAttempts")
        # no RetryAttempts: an answer botocore's retry handler never saw (one send)
        mapped.sends = int(attempts) + 1 if isinstance(attempts, int) else 1
        return mapped
    if isinstance(raw, botocore.exceptions.NoCredentialsError):
        return AwsError("no AWS credentials found", code=NO_CREDENTIALS, service=service,
                        operation=detail, aws_code="NoCredentials")
    if isinstance(raw, botocore.exceptions.ParamValidationError):
        return AwsError(f"{service} {detail}: {raw}", code=VALIDATION, service=service,
                        operation=detail, aws_code="ParamValidation")
    network = raw if raw is not None else exc
    if isinstance(network, _NETWORK_ERRORS):
        return _make(f"{service} {detail}: network error: {network}", code=NETWORK,
                     service=service, operation=detail, aws_code=type(network).__name__)
    if isinstance(raw, botocore.exceptions.BotoCoreError):
        return AwsError(f"{service} {detail}: {type(raw).__name__}: {raw}",
                        code=VALIDATION, service=service, operation=detail,
                        aws_code=type(raw).__name__)
    return None


@contextlib.contextmanager
def aws_call(where: str) -> Iterator[None]:
    """Re-raise every AWS failure as an AwsError with its code (``where`` names the
    service and the call: ``"lambda.create_alias(f:live)"``). ``error_code(exc)`` still
    gives the AWS error code, so callers can single out the answers they expect."""
    try:
        yield
    except AutoLambdaError:
        raise
    except Exception as exc:
        mapped = classify(exc, where)
        if mapped is not None:
            raise mapped from exc
        raise
