"""Parse the human durations the CLI accepts ("10s", "1m", "500ms", "2h", "15").

Pure functions; no I/O.
"""

from __future__ import annotations

import re

from checker.errors import CheckerConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$")


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``; a bare number means seconds. Raises CheckerConfigError."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _RE.match(text)
        if not match:
            raise CheckerConfigError(
                f"cannot read {text!r} as a duration",
                hint="write a number with an optional unit: 500ms, 10s, 1m, 2h")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise CheckerConfigError(f"duration {text!r} must be more than zero",
                                 hint="use for example 10s")
    return seconds
