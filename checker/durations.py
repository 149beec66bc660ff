"""The checker's intervals: a duration (``orchestrator.durations``) that must be more
than zero. Pure functions; no I/O."""

from __future__ import annotations

from checker.errors import CheckerConfigError
from orchestrator.durations import DurationInvalid
from orchestrator.durations import parse_duration as _parse


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``; a bare number means seconds. Raises CheckerConfigError."""
    try:
        seconds = _parse(text)
    except DurationInvalid as exc:
        raise CheckerConfigError(exc.message, hint=exc.hint) from exc
    if seconds <= 0:
        raise CheckerConfigError(f"duration {text!r} must be more than zero",
                                 hint="use for example 10s")
    return seconds
