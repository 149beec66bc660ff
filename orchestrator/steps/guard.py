"""Every failure of a step carries one of auto-lambda's stable codes.

A step raises ``AutoLambdaError`` subclasses with codes; anything else that escapes a
step (a bug, a full disk, a permission problem on the worker) would otherwise reach the
job record as a Python class name (``PermissionError``), which is neither stable nor
something a user can act on. ``guard_tasks`` wraps each step so such an exception becomes
an error with a stable code and the original type and message kept in the message. An
AWS failure a step let through unmapped gets its code from the AWS error map
(``orchestrator.aws.errors``: throttled, server error, denied...), so no job records
"ClientError". Timeouts pass through unchanged: the workflow retries them as
``States.Timeout``.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from typing import TypeVar

from orchestrator.aws.facade import classify_client_error
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.types import JsonObject

log = logging.getLogger(__name__)
C = TypeVar("C")


def stable_error(exc: BaseException, step: str) -> AutoLambdaError:
    """The coded error for an exception that is not an AutoLambdaError."""
    mapped = classify_client_error(exc, f"aws.{step} step")
    if mapped is not None:
        return mapped
    what = f"{step} failed on the worker: {type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, MemoryError):
        return AutoLambdaError(what, code=Code.WorkerOutOfMemory,
                               hint="the worker ran out of memory; retry on another worker")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return AutoLambdaError(what, code=Code.WorkerDiskFull,
                               hint="free space in AUTO_LAMBDA_WORK_DIR, then replay the job")
    if isinstance(exc, PermissionError):
        return AutoLambdaError(what, code=Code.WorkerPermissionDenied,
                               hint="the worker's user cannot use a file or folder it needs; "
                                    "check AUTO_LAMBDA_WORK_DIR and AUTO_LAMBDA_CACHE_DIR")
    return AutoLambdaError(what, code=Code.InternalError,
                           hint="this is a bug in auto-lambda; the job can be replayed")


def guard(step: str, task: Callable[[C], JsonObject]) -> Callable[[C], JsonObject]:
    def guarded(ctx: C) -> JsonObject:
        try:
            return task(ctx)
        except (AutoLambdaError, TimeoutError):
            raise
        except Exception as exc:
            log.exception("step %s raised %s", step, type(exc).__name__)
            raise stable_error(exc, step) from exc
    guarded.__name__ = getattr(task, "__name__", step)
    return guarded


def guard_tasks(tasks: dict[str, Callable[[C], JsonObject]]
                ) -> dict[str, Callable[[C], JsonObject]]:
    return {name: guard(name, task) for name, task in tasks.items()}
