"""Which requests the fault proxy (``auto_lambda_dev.faultproxy``) breaks, and how.

A plan is a list of rules, written as text for ``auto-lambda local up --faults``::

    SPEC  := RULE ("," RULE)*
    RULE  := KIND "=" RATE [":" SECONDS] ["@" TARGET ("+" TARGET)*] ["#" COUNT]
           | "seed=" INT
    KIND  := before | after | reset | delay

- ``before``: the request never reaches the service; the client gets a 500.
- ``after``: the request reaches the service and takes effect; its answer is replaced
  by a 500 (the lost answer of a timeout after commit).
- ``reset``: as ``after``, but the connection is reset instead of answered.
- ``delay``: the request waits ``SECONDS`` (default 1) before it is sent on.

``RATE`` is a fraction (``0.1``) or a percentage (``10%``); ``TARGET`` a service
(``lambda``), an operation (``CreateAlias``) or both (``lambda.CreateAlias``);
``COUNT`` caps how often the rule fires. Examples: ``before=10%,after=10%,seed=7``;
``after=100%@CreateAlias#1`` (the first CreateAlias takes effect, its answer is lost);
``delay=5%:2@dynamodb``. The same seed gives the same sequence of decisions for the same
sequence of requests. Pure: parsing and deciding only; no I/O.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError

KINDS = ("before", "after", "reset", "delay")


class FaultSpecInvalid(AutoLambdaError):
    code = Code.FaultSpecInvalid

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="for example --faults 'before=10%,after=10%,seed=7' "
                                       "or 'after=100%@CreateAlias#1'")


@dataclass(frozen=True)
class FaultRule:
    kind: str
    rate: float
    seconds: float = 0.0
    targets: tuple[str, ...] = ()
    count: int | None = None

    def matches(self, service: str, operation: str) -> bool:
        if not self.targets:
            return True
        names = {service.lower(), operation.lower(), f"{service}.{operation}".lower()}
        return any(t.lower() in names for t in self.targets)

    def text(self) -> str:
        out = f"{self.kind}={self.rate:g}"
        if self.kind == "delay":
            out += f":{self.seconds:g}"
        if self.targets:
            out += "@" + "+".join(self.targets)
        if self.count is not None:
            out += f"#{self.count}"
        return out


@dataclass(frozen=True)
class Fault:
    """What to do to one request: ``kind`` (None: nothing) and, for delays, seconds."""

    kind: str | None
    delay: float = 0.0
    rule: int | None = None


@dataclass
class FaultPlan:
    rules: tuple[FaultRule, ...] = ()
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _fired: Counter[int] = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def text(self) -> str:
        return ",".join([*(r.text() for r in self.rules), f"seed={self.seed}"])

    def decide(self, service: str, operation: str) -> Fault:
        """One request's fault: at most one of before/after/reset, plus any delay."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(service, operation):
                    continue
                if rule.count is not None and self._fired[index] >= rule.count:
                    continue
                if rule.kind != "delay" and chosen is not None:
                    continue
                if self._rng.random() >= rule.rate:
                    continue
                self._fired[index] += 1
                if rule.kind == "delay":
                    delay += rule.seconds
                else:
                    chosen = Fault(rule.kind, rule=index)
        if chosen is None:
            return Fault(None, delay)
        return Fault(chosen.kind, delay, chosen.rule)


def parse_faults(spec: str) -> FaultPlan:
    """A plan from its text (see the module); FaultSpecInvalid with the bad part."""
    rules: list[FaultRule] = []
    seed = 0
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        name, sep, value = raw.partition("=")
        name = name.strip().lower()
        if not sep:
            raise FaultSpecInvalid(f"fault rule {raw!r} is not KIND=RATE")
        if name == "seed":
            try:
                seed = int(value)
            except ValueError:
                raise FaultSpecInvalid(f"seed must be a whole number, got {value!r}") from None
            continue
        if name not in KINDS:
            raise FaultSpecInvalid(f"fault rule {raw!r}: unknown kind {name!r} "
                                   f"(one of {', '.join(KINDS)})")
        rules.append(_rule(name, value.strip(), raw))
    return FaultPlan(tuple(rules), seed)


def _rule(kind: str, value: str, raw: str) -> FaultRule:
    count: int | None = None
    if "#" in value:
        value, _, count_text = value.partition("#")
        if not count_text.isdigit():
            raise FaultSpecInvalid(f"fault rule {raw!r}: #COUNT must be a whole number")
        count = int(count_text)
    targets: tuple[str, ...] = ()
    if "@" in value:
        value, _, target_text = value.partition("@")
        targets = tuple(t.strip() for t in target_text.split("+") if t.strip())
        if not targets:
            raise FaultSpecInvalid(f"fault rule {raw!r}: @ names no service or operation")
    rate_text, _, seconds_text = value.partition(":")
    rate = _rate(rate_text, raw)
    seconds = 0.0
    if kind == "delay":
        try:
            seconds = float(seconds_text) if seconds_text else 1.0
        except ValueError:
            raise FaultSpecInvalid(f"fault rule {raw!r}: delay seconds must be a "
                                   "number") from None
        if not 0 <= seconds <= 600:
            raise FaultSpecInvalid(f"fault rule {raw!r}: delay must be 0..600 seconds")
    elif seconds_text:
        raise FaultSpecInvalid(f"fault rule {raw!r}: only delay takes :SECONDS")
    return FaultRule(kind, rate, seconds, targets, count)


def _rate(text: str, raw: str) -> float:
    text = text.strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise FaultSpecInvalid(f"fault rule {raw!r}: rate {text!r} is not a number "
                               "or a percentage") from None
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecInvalid(f"fault rule {raw!r}: rate must be between 0 and 100%")
    return rate
