"""Read the human durations the CLI accepts: ``15`` (seconds), ``500ms``, ``10s``,
``15m`` / ``15min``, ``2h``, ``1d``, ``1w`` and sums such as ``1h30m``.

One parser for every command, so `checker --interval` and `replay --since` accept the
same forms. Pure; callers add their own bounds.
"""

from __future__ import annotations

import re

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0,
          "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d|w)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class DurationInvalid(AutoLambdaError):
    code = Code.DurationInvalid


def parse_duration(text: str | float | int, *, positive: bool = False) -> float:
    """Seconds in ``text``; a bare number means seconds. With ``positive``, zero is
    refused too (an interval)."""
    seconds = _parse(text)
    if positive and seconds <= 0:
        raise DurationInvalid(f"duration {text!r} must be more than zero",
                              hint="use for example 10s")
    return seconds


def _parse(text: str | float | int) -> float:
    if isinstance(text, int | float):
        return float(text)
    raw = text.strip().lower().replace(" ", "")
    if _NUMBER.fullmatch(raw):
        return float(raw)
    parts = _PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise DurationInvalid(f"cannot read {text!r} as a duration",
                              hint="write a number with a unit: 500ms, 10s, 15m, 2h, 1d, 1h30m")
    return sum(float(n) * _UNITS[u] for n, u in parts)
