"""The AWS facade: one object that owns the boto3 clients and turns botocore's
exceptions into auto-lambda error codes.

Local and real AWS differ only by ``Settings.endpoint_url``. Steps receive an ``Aws``
and never build clients themselves, so tests inject moto-backed sessions and fault
hooks (botocore events) in one place. No workflow decisions are made here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError, TransientError

_THROTTLE_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "SlowDown",
    "RequestThrottled", "RequestThrottledException", "TooManyUpdates",
}
_CONFLICT_CODES = {"ResourceConflictException", "ResourceInUseException"}


def classify_client_error(exc: BaseException, where: str) -> AutoLambdaError | None:
    """Map a botocore exception to a transient AutoLambdaError, or None if permanent."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        msg = exc.response.get("Error", {}).get("Message", str(exc))
        if code in _THROTTLE_CODES or status == 429:
            return TransientError(f"{where}: AWS throttled the request ({code})",
                                  code="AwsThrottled")
        if code in _CONFLICT_CODES:
            return TransientError(f"{where}: {msg}", code="LambdaUpdateInProgress",
                                  hint="another update is in progress; retried with backoff")
        if status >= 500 or code in {"InternalError", "ServiceUnavailable", "InternalFailure"}:
            return TransientError(f"{where}: AWS server error {status} {code}",
                                  code="AwsServerError")
        return None
    if isinstance(exc, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError
                  | botocore.exceptions.ReadTimeoutError | ConnectionError):
        return TransientError(f"{where}: network error: {exc}", code="NetworkError")
    return None


@contextlib.contextmanager
def aws_call(where: str) -> Iterator[None]:
    """Re-raise transient botocore failures as TransientError with a code; others pass."""
    try:
        yield
    except AutoLambdaError:
        raise
    except Exception as exc:
        mapped = classify_client_error(exc, where)
        if mapped is not None:
            raise mapped from exc
        raise


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def as_user_error(exc: BaseException) -> AutoLambdaError | None:
    """A botocore failure that reached the command line, as an error with a code and a
    hint (the AWS error code for a refused call); None for anything else."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AutoLambdaError(
            "no AWS credentials found", code="NoCredentials",
            hint="set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the "
                 "local stack use the export lines `auto-lambda local up` prints")
    if isinstance(exc, botocore.exceptions.ClientError):
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        return AutoLambdaError(
            f"AWS refused {exc.operation_name}: {message}", code=error_code(exc) or "AwsError",
            hint="check that AWS_REGION, AWS_ENDPOINT_URL and AUTO_LAMBDA_PREFIX name a "
                 "deployed stack and that these credentials may use it")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AutoLambdaError(str(exc), code="AwsError",
                               hint="check the AWS settings (AWS_PROFILE, AWS_REGION, "
                                    "AWS_ENDPOINT_URL)")
    return None


# What S3 answers (GetObject, HeadObject) when the object, its version or its bucket is gone.
S3_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"})


def s3_version_etag(resp: dict[str, Any]) -> tuple[str | None, str | None]:
    """The version id and unquoted etag of a PutObject/HeadObject response; None for
    absent values and for the ``"null"`` version of an unversioned bucket."""
    version = resp.get("VersionId")
    etag = str(resp.get("ETag", "")).strip('"')
    return (version if version and version != "null" else None), (etag or None)


class Aws:
    """Lazily created boto3 clients for one Settings (endpoint, region)."""

    def __init__(self, settings: Settings, session: boto3.session.Session | None = None,
                 max_attempts: int = 3) -> None:
        self.settings = settings
        self.session = session or boto3.session.Session(region_name=settings.region)
        self._config = botocore.config.Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=5, read_timeout=60,
        )
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,
                region_name=self.settings.region,
                endpoint_url=self.settings.endpoint_url,
                config=self._config,
            )
        return self._clients[service]

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @property
    def xray(self) -> Any:
        return self.client("xray")

    def credentials_method(self) -> str | None:
        """How botocore found this session's credentials ("env", "shared-credentials-file",
        "iam-role", ...), or None when it found none."""
        try:
            creds = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError:
            return None
        return None if creds is None else str(getattr(creds, "method", "") or "") or None

    def queue_url(self, name: str | None = None) -> str:
        name = name or self.settings.queue_name
        with aws_call(f"sqs.get_queue_url({name})"):
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
