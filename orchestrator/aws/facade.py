"""The AWS facade: one object that owns the boto3 clients and turns botocore's
exceptions into auto-lambda error codes (``orchestrator.aws.errors``).

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

from orchestrator.aws.errors import AwsError, classify, error_code
from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError

__all__ = ["S3_MISSING_CODES", "Aws", "AwsError", "as_user_error", "aws_call",
           "classify_client_error", "error_code", "is_retried", "s3_version_etag"]


def classify_client_error(exc: BaseException, where: str) -> AwsError | None:
    """``exc`` as an AwsError with a stable code (``orchestrator.aws.errors``); None
    when it is not an AWS or network failure, or is already an AutoLambdaError."""
    return classify(exc, where)


def is_retried(exc: BaseException) -> bool:
    """True for the codes the workflow retries (throttling, 5xx, network, busy)."""
    return isinstance(exc, AwsError) and exc.retried


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


def as_user_error(exc: BaseException) -> AutoLambdaError | None:
    """A botocore failure that reached the command line, as an error with a code and a
    hint; None for anything else."""
    return classify(exc, "aws.call")


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
