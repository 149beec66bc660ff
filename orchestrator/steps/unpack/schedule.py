"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, checked here so a
``[[triggers]]`` schedule that EventBridge would refuse fails at unpack, before anything
is deployed, with ``ScheduleExpressionInvalid`` and a hint.

- ``rate(N unit)``: N a whole number from 1 to 1,000,000 without leading zeros; unit
  ``minute``, ``hour`` or ``day`` when N is 1, else ``minutes``, ``hours``, ``days``.
- ``cron(minutes hours day-of-month month day-of-week year)``: exactly six fields, each
  ``*``, a value, a range ``a-b`` (a <= b), a step ``x/n`` (x being ``*``, a value or a
  range) or a comma-separated list of those, within the field's range (minutes 0-59,
  hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT,
  year 1970-2199). Exactly one of day-of-month and day-of-week is ``?``. Day-of-month
  also takes ``L`` (last day) or ``nW`` (nearest weekday); day-of-week ``L``, ``nL``
  (last such day) or ``n#k`` (k-th such day, k 1-5). Each of those stands alone in its
  field.

Accepted expressions come back canonical: one space between the parts and names in
upper case. Pure: string rules only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.codes import Code
from orchestrator.errors import ManifestError

MAX_EXPRESSION_CHARS = 256
MAX_RATE = 1_000_000
UNITS = ("minute", "hour", "day")
_RATE_RE = re.compile(r"^rate\(\s*([0-9]+)\s+([A-Za-z]+)\s*\)\Z")
_CRON_RE = re.compile(r"^cron\((.*)\)\Z")
_NUMBER_RE = re.compile(r"^[0-9]{1,4}\Z")
_HINT = ('use rate(5 minutes), rate(1 hour) or cron(0 12 * * ? *) '
         "(minutes hours day-of-month month day-of-week year)")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names for low, low+1, ...


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 1, 7, DAYS),
    _Field("year", 1970, 2199),
)


class _Bad(ValueError):
    pass


def _invalid(text: str, why: str, where: str) -> ManifestError:
    return ManifestError(f"{where} = {text[:80]!r} is not a schedule expression: {why}",
                         code=Code.ScheduleExpressionInvalid, hint=_HINT)


def _value(token: str, field: _Field) -> tuple[int, str]:
    upper = token.upper()
    if upper in field.names:
        return field.low + field.names.index(upper), upper
    if not _NUMBER_RE.match(token):
        raise _Bad(f"{token!r} is not a value of {field.name}")
    number = int(token)
    if not field.low <= number <= field.high:
        raise _Bad(f"{field.name} {number} is outside {field.low}-{field.high}")
    return number, str(number)


def _base(token: str, field: _Field) -> str:
    if token == "*":
        return "*"
    if "-" in token:
        first, _, last = token.partition("-")
        a, a_text = _value(first, field)
        b, b_text = _value(last, field)
        if a > b:
            raise _Bad(f"the range {token!r} of {field.name} runs backwards")
        return f"{a_text}-{b_text}"
    return _value(token, field)[1]


def _item(token: str, field: _Field) -> str:
    if "/" in token:
        base, _, step = token.partition("/")
        if not _NUMBER_RE.match(step) or not 1 <= int(step) <= field.high:
            raise _Bad(f"the step {step!r} of {field.name} must be 1 to {field.high}")
        return f"{_base(base, field)}/{int(step)}"
    return _base(token, field)


def _special(text: str, field: _Field) -> str | None:
    """Day-of-month's and day-of-week's own forms, which stand alone in their field."""
    upper = text.upper()
    if upper in ("?", "L"):
        return upper
    if field.name == "day-of-month" and upper.endswith("W"):
        return f"{_value(upper[:-1], field)[1]}W"
    if field.name == "day-of-week" and upper.endswith("L"):
        return f"{_value(upper[:-1], field)[1]}L"
    if field.name == "day-of-week" and "#" in upper:
        day, _, nth = upper.partition("#")
        if not _NUMBER_RE.match(nth) or not 1 <= int(nth) <= 5:
            raise _Bad(f"the week {nth!r} in {text!r} must be 1 to 5")
        return f"{_value(day, field)[1]}#{int(nth)}"
    return None


def _cron_field(text: str, field: _Field) -> str:
    if field.name in ("day-of-month", "day-of-week"):
        special = _special(text, field)
        if special is not None:
            return special
    items = text.split(",")
    if any(not item for item in items):
        raise _Bad(f"{field.name} {text!r} has an empty list item")
    return ",".join(_item(item, field) for item in items)


def check_schedule(text: object, where: str) -> str:
    """``text`` as a canonical EventBridge schedule expression, or
    ``ScheduleExpressionInvalid`` naming ``where``."""
    if not isinstance(text, str):
        raise ManifestError(f"{where} must be a string, got {text!r}", code=Code.ManifestInvalid,
                            hint=_HINT)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise _invalid(text, f"it is longer than {MAX_EXPRESSION_CHARS} characters", where)
    stripped = text.strip()
    rate = _RATE_RE.match(stripped)
    if rate is not None:
        number, unit = rate.groups()
        if number.startswith("0") or not 1 <= int(number) <= MAX_RATE:
            raise _invalid(text, f"the rate must be a whole number from 1 to {MAX_RATE:,} "
                           "without leading zeros", where)
        value = int(number)
        expected = UNITS if value == 1 else tuple(u + "s" for u in UNITS)
        if unit not in expected:
            raise _invalid(text, f"with {value} the unit is one of {', '.join(expected)}",
                           where)
        return f"rate({value} {unit})"
    cron = _CRON_RE.match(stripped)
    if cron is None:
        raise _invalid(text, "it is neither rate(...) nor cron(...)", where)
    parts = cron.group(1).split()
    if len(parts) != len(_FIELDS):
        raise _invalid(text, f"cron takes {len(_FIELDS)} fields "
                       f"({' '.join(f.name for f in _FIELDS)}), got {len(parts)}", where)
    try:
        fields = [_cron_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)]
    except _Bad as exc:
        raise _invalid(text, str(exc), where) from None
    if (fields[2] == "?") == (fields[4] == "?"):
        raise _invalid(text, "exactly one of day-of-month and day-of-week must be '?'", where)
    return f"cron({' '.join(fields)})"
