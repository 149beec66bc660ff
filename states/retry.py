"""Pure retry arithmetic: error matching (Step Functions' ErrorEquals rules) and the
backoff delay. No clocks, no sleeping, no state: callers pass the attempt number and
the random source.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

from states.errors import STATES_ALL, STATES_TASK_FAILED, STATES_TIMEOUT

if TYPE_CHECKING:
    from states.definition import Retrier


def matches(error_equals: Iterable[str], error: str) -> bool:
    """A Retry/Catch clause matches ``error`` if the name is listed, if ``States.ALL`` is
    listed, or if ``States.TaskFailed`` is listed and the error is not a timeout."""
    names = error_equals if isinstance(error_equals, (tuple, list, set, frozenset)) \
        else tuple(error_equals)
    if error in names or STATES_ALL in names:
        return True
    return STATES_TASK_FAILED in names and error != STATES_TIMEOUT


def base_delay(retrier: Retrier, attempt: int) -> float:
    """``min(interval * rate^(attempt-1), max_delay)`` for retry number ``attempt`` >= 1."""
    if attempt < 1:
        raise ValueError(f"retry attempt must be >= 1, got {attempt}")
    try:
        delay = float(retrier.interval_seconds) * float(retrier.backoff_rate) ** (attempt - 1)
    except OverflowError:  # thousands of retries of a long outage: the cap holds
        delay = math.inf
    if retrier.max_delay_seconds is not None:
        delay = min(delay, float(retrier.max_delay_seconds))
    return delay


def backoff_delay(retrier: Retrier, attempt: int, rng: random.Random | None = None) -> float:
    """The wait before retry number ``attempt`` (1-based). With FULL jitter the result is
    uniform in [0, base_delay]; with NONE it is base_delay exactly."""
    delay = base_delay(retrier, attempt)
    if retrier.jitter == "FULL":
        return (rng or random).uniform(0.0, delay)
    return delay
