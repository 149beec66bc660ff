"""Waiting for a Lambda function to settle, and retrying calls that hit an update in
progress.

Lambda refuses a second change while the first is still being applied
(ResourceConflictException) and reports progress through ``State`` and
``LastUpdateStatus``. These helpers poll with an injected ``sleep``/``clock`` (boto3's
own waiters sleep with ``time.sleep`` and cannot be driven by tests) and turn a wait that
never ends into a transient ``LambdaUpdateInProgress`` error for the workflow's Retry.

This module only reads function state and re-issues the call it is given; it decides
nothing about what to deploy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from orchestrator.aws.facade import aws_call, classify_client_error, error_code
from orchestrator.errors import DeployError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

_PENDING_STATES = {"Pending"}
_PENDING_UPDATES = {"InProgress"}


def function_ready(config: dict[str, Any]) -> bool:
    """True when a function configuration accepts the next change.

    Raises DeployFailed when Lambda reports the function or its last update as failed.
    """
    state = config.get("State") or "Active"
    update = config.get("LastUpdateStatus") or "Successful"
    name = config.get("FunctionName", "?")
    if state == "Failed" or update == "Failed":
        reason = config.get("LastUpdateStatusReason") or config.get("StateReason") or "no reason"
        raise DeployError(
            f"Lambda reports function {name} as failed (State={state}, "
            f"LastUpdateStatus={update}): {reason}",
            code="DeployFailed",
            hint="check the function's role, runtime and package; then replay the job",
        )
    return state not in _PENDING_STATES and update not in _PENDING_UPDATES


def wait_until_ready(
    lambda_client: Any,
    function_name: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    timeout: float = 300.0,
    interval: float = 1.0,
    max_interval: float = 10.0,
) -> dict[str, Any]:
    """Poll until State is Active and LastUpdateStatus Successful; return the configuration.

    A wait longer than ``timeout`` raises TransientError(LambdaUpdateInProgress): the update
    may still finish, so the workflow retries rather than failing the job.
    """
    deadline = clock() + timeout
    delay = interval
    while True:
        with aws_call(f"lambda.get_function_configuration({function_name})"):
            config: dict[str, Any] = lambda_client.get_function_configuration(
                FunctionName=function_name)
        if function_ready(config):
            return config
        if clock() >= deadline:
            raise TransientError(
                f"function {function_name} still updating after {timeout:.0f} s "
                f"(State={config.get('State')}, LastUpdateStatus={config.get('LastUpdateStatus')})",
                code="LambdaUpdateInProgress",
                hint="Lambda is slow to apply the update; the job is retried",
            )
        log.debug("waiting for %s: State=%s LastUpdateStatus=%s", function_name,
                  config.get("State"), config.get("LastUpdateStatus"))
        sleep(delay)
        delay = min(delay * 2, max_interval)


def retry_conflicts(
    call: Callable[[], T],
    where: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 6,
    base_delay: float = 1.0,
    max_delay: float = 16.0,
) -> T:
    """Run ``call``; on ResourceConflictException wait (exponential backoff) and run it again.

    After ``attempts`` conflicts the last one surfaces as TransientError
    (LambdaUpdateInProgress). Every other failure surfaces at once as an AwsError with
    its code (the workflow retries the transient ones).
    """
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if error_code(exc) != "ResourceConflictException" or attempt == attempts:
                mapped = classify_client_error(exc, where)
                if mapped is not None:
                    raise mapped from exc
                raise
            log.info("%s: update in progress (attempt %d of %d), retrying in %.1f s",
                     where, attempt, attempts, delay)
            sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")  # pragma: no cover
