"""When a Wait state ends: its Seconds, SecondsPath, Timestamp or TimestampPath turned
into an absolute wake-up time (epoch seconds) from the execution's data and the ``now``
the caller passes.

Pure: no clock, no state, no sleeping. A value read through a path that is missing or
unusable raises StatesRuntimeError, which the execution turns into a ``States.Runtime``
failure (as Step Functions does). Must not import anything outside the library.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from states.definition import WaitState
from states.errors import StatesRuntimeError
from states.paths import PathNotFound, resolve

# Step Functions' profile of RFC 3339: an uppercase T between date and time, and an
# uppercase Z or a numeric offset (a timestamp without a zone would depend on the
# machine that reads it).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(text: object) -> float:
    """Epoch seconds of an RFC 3339 timestamp such as ``2026-12-07T15:00:00Z``;
    ValueError saying what is wrong otherwise."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp; write it as "
                         f"2026-12-07T15:00:00Z or 2026-12-07T16:00:00+01:00")
    whole, _, rest = text.partition(".")
    if rest:
        # datetime takes at most microseconds: keep six digits of the fraction
        digits = re.match(r"\d+", rest)
        assert digits is not None
        fraction = digits.group(0)
        whole = f"{whole}.{fraction[:6]}{rest[len(fraction):]}"
    try:
        moment = datetime.fromisoformat(whole.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from exc
    return moment.timestamp()


def seconds_value(value: Any, where: str) -> float:
    """``value`` as a number of seconds to wait: a finite number >= 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value < 0:
        raise StatesRuntimeError(f"{where} must select a number of seconds >= 0, "
                                 f"got {value!r}")
    return float(value)


def wake_time(spec: WaitState, data: Any, now: float) -> float:
    """The epoch second at which the Wait state ``spec``, entered at ``now`` with the
    execution's ``data``, is over (never before ``now``: a past timestamp is due at once).
    StatesRuntimeError when a path selects nothing or something unusable."""
    where = f"state {spec.name!r}"
    if spec.seconds is not None:
        return now + float(spec.seconds)
    if spec.timestamp is not None:
        return max(now, parse_timestamp(spec.timestamp))
    path = spec.seconds_path if spec.seconds_path is not None else spec.timestamp_path
    assert path is not None, "validation guarantees one of the four fields"
    try:
        value = resolve(path, data)
    except PathNotFound as exc:
        raise StatesRuntimeError(f"{where}: {exc}") from exc
    if spec.seconds_path is not None:
        return now + seconds_value(value, f"{where}: SecondsPath {path!r}")
    try:
        return max(now, parse_timestamp(value))
    except ValueError as exc:
        raise StatesRuntimeError(f"{where}: TimestampPath {path!r} must select an RFC 3339 "
                                 f"timestamp: {exc}") from exc
