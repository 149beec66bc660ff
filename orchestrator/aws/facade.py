"""The AWS facade: one object that owns the boto3 clients and turns botocore's
exceptions into auto-lambda error codes (``orchestrator.aws.errors``).

Local and real AWS differ only by ``Settings.endpoint_url``. Steps receive an ``Aws``
and never build clients themselves, so tests inject moto-backed sessions and fault
hooks (botocore events) in one place. No workflow decisions are made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from orchestrator.aws.apigateway import HttpApis
from orchestrator.aws.breaker import Breakers
from orchestrator.aws.errors import THROTTLE_CODES as THROTTLING
from orchestrator.aws.errors import AwsError, aws_call, classify, error_code
from orchestrator.aws.events import Events
from orchestrator.aws.functions import Functions
from orchestrator.aws.identity import Identity
from orchestrator.aws.jobs_table import JobsTable
from orchestrator.aws.logs import Logs
from orchestrator.aws.metrics import Metrics
from orchestrator.aws.objects import MISSING_CODES as S3_MISSING_CODES
from orchestrator.aws.objects import Objects
from orchestrator.aws.parameters import Parameters
from orchestrator.aws.retry_quota import without_retry_quota
from orchestrator.aws.roles import Roles
from orchestrator.aws.scaling import Scaling
from orchestrator.aws.scheduler import Schedules
from orchestrator.aws.secrets import Secrets
from orchestrator.aws.traces import Traces
from orchestrator.aws.types import BotoClient
from orchestrator.config import Settings
from orchestrator.errors import AutoLambdaError
from orchestrator.retries import BOTOCORE

__all__ = ["S3_MISSING_CODES", "Aws", "AwsError", "BotoClient", "as_user_error", "aws_call",
           "classify_client_error", "error_code"]


def classify_client_error(exc: BaseException, where: str) -> AwsError | None:
    """``exc`` as an AwsError with a stable code (``orchestrator.aws.errors``); None
    when it is not an AWS or network failure, or is already an AutoLambdaError."""
    return classify(exc, where)


def as_user_error(exc: BaseException) -> AutoLambdaError | None:
    """A botocore failure that reached the command line, as an error with a code and a
    hint; None for anything else."""
    return classify(exc, "aws.call")


def _names(event_name: str) -> tuple[str, str]:
    """(service, operation) of a botocore event name such as after-call.dynamodb.PutItem."""
    parts = event_name.split(".")
    return (parts[1], parts[2]) if len(parts) >= 3 else ("unknown", event_name)


class Aws:
    """Lazily created boto3 clients for one Settings (endpoint, region), and the doors
    over them (one per service; the pipeline calls AWS through those only)."""

    def __init__(self, settings: Settings, session: boto3.session.Session | None = None,
                 max_attempts: int = BOTOCORE.max_attempts) -> None:
        self.settings = settings
        self.session = session or boto3.session.Session(region_name=settings.region)
        self._config = botocore.config.Config(
            retries=BOTOCORE.config(max_attempts),
            connect_timeout=5, read_timeout=60,
        )
        self._clients: dict[str, BotoClient] = {}
        # Fed by every call's outcome (``_observe``): a worker consults them to stop
        # taking messages while a service keeps failing.
        self.breakers = Breakers()

    def client(self, service: str) -> BotoClient:
        """The raw boto3 client: for the doors (and tests that hook botocore events)."""
        if service not in self._clients:
            client = self.session.client(
                service,
                region_name=self.settings.region,
                endpoint_url=self.settings.endpoint_url,
                config=self._config,
            )
            if BOTOCORE.unlimited_quota:
                without_retry_quota(client)
            client.meta.events.register("after-call", self._observe)
            client.meta.events.register("after-call-error", self._observe_error)
            self._clients[service] = client
        return self._clients[service]

    def _observe(self, http_response: Any = None, parsed: Any = None,
                 event_name: str = "", **_: Any) -> None:
        status = getattr(http_response, "status_code", 200)
        code = str(((parsed or {}).get("Error") or {}).get("Code", ""))
        service, operation = _names(event_name)
        self.breakers.record(service, operation,
                             transient=status >= 500 or status == 429 or code in THROTTLING)

    def _observe_error(self, exception: BaseException | None = None, event_name: str = "",
                       **_: Any) -> None:
        service, operation = _names(event_name)
        self.breakers.record(service, operation, transient=exception is not None)

    # ---- the doors ----
    @cached_property
    def functions(self) -> Functions:
        return Functions(self.client("lambda"))

    @cached_property
    def objects(self) -> Objects:
        return Objects(self.client("s3"))

    @cached_property
    def roles(self) -> Roles:
        return Roles(self.client("iam"), self.client("sts"))

    @cached_property
    def secrets(self) -> Secrets:
        return Secrets(self.client("ssm"), self.client("secretsmanager"))

    @cached_property
    def schedules(self) -> Schedules:
        return Schedules(self.client("scheduler"))

    @cached_property
    def http_apis(self) -> HttpApis:
        return HttpApis(self.client("apigatewayv2"))

    @cached_property
    def identity(self) -> Identity:
        return Identity(self.client("sts"))

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(self.client("cloudwatch"))

    @cached_property
    def scaling(self) -> Scaling:
        return Scaling(self.client("autoscaling"))

    @cached_property
    def traces(self) -> Traces:
        return Traces(self.client("xray"))

    @cached_property
    def events(self) -> Events:
        return Events(self.client("events"))

    @cached_property
    def logs(self) -> Logs:
        return Logs(self.client("logs"))

    @cached_property
    def parameters(self) -> Parameters:
        return Parameters(self.client("ssm"))

    def jobs_table(self, sleep: Callable[[float], None] = time.sleep) -> JobsTable:
        return JobsTable(self.client("dynamodb"), self.settings.table_name,
                         self.settings.history_table_name, sleep=sleep)

    # ---- raw clients, for the doors and for tests that hook botocore events ----
    @property
    def s3(self) -> BotoClient:
        return self.client("s3")

    @property
    def sqs(self) -> BotoClient:
        return self.client("sqs")

    @property
    def dynamodb(self) -> BotoClient:
        return self.client("dynamodb")

    @property
    def lambda_(self) -> BotoClient:
        return self.client("lambda")

    @property
    def iam(self) -> BotoClient:
        return self.client("iam")

    @property
    def cloudwatch(self) -> BotoClient:
        return self.client("cloudwatch")

    @property
    def autoscaling(self) -> BotoClient:
        return self.client("autoscaling")

    @property
    def xray(self) -> BotoClient:
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
