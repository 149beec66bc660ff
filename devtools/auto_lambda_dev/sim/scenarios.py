"""The named scenarios ``auto-lambda simulate --scenario`` runs.

- steady: Poisson uploads, 6 a minute for 3 hours (about 3 busy instances at 30 s builds).
- burst: 500 uploads at once, 10 minutes into a quiet morning with one instance.
- diurnal: a day of Poisson uploads averaging 10 a minute, from 1 a minute at midnight
  to 19 at noon.
- idle-wake: a group scaled to zero and a queue idle for 6 hours (so SQS stops its
  metrics), then 50 uploads at once followed by 3 a minute for an hour. With at least
  one worker polling, SQS would keep its metrics awake; scaling to zero is what
  exposes the 15-minute wake-up delay, so this scenario uses min capacity 0.

Only workload and group shape are chosen here; no simulation runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from auto_lambda_dev.sim import workload as wl
from checker.errors import CheckerConfigError

HOUR = 3600.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    horizon: float
    arrivals: Callable[[random.Random], list[float]]
    group: dict[str, object] = field(default_factory=dict)
    sample_every: float = 10.0
    plot_from: float = 0.0
    plot_until: float | None = None


def _idle_wake(rng: random.Random) -> list[float]:
    wake = 6 * HOUR + 60
    return wl.burst_arrivals(50, wake) + wl.steady_arrivals(3 / 60, wake, wake + HOUR, rng)


SCENARIOS: dict[str, Scenario] = {
    "steady": Scenario(
        "steady", "Poisson uploads, 6/min for 3 h", 3 * HOUR + 1800,
        lambda rng: wl.steady_arrivals(6 / 60, 0, 3 * HOUR, rng), sample_every=30),
    "burst": Scenario(
        "burst", "500 uploads at once at t=10 min, one instance running", 2 * HOUR,
        lambda rng: wl.burst_arrivals(500, 600.0), plot_until=1.25 * HOUR),
    "diurnal": Scenario(
        "diurnal", "a day of Poisson uploads, 1/min at midnight to 19/min at noon",
        24 * HOUR + 1800,
        lambda rng: wl.diurnal_arrivals(10 / 60, 0.9, 0, 24 * HOUR, rng), sample_every=30,
        plot_from=10 * HOUR, plot_until=13 * HOUR),
    "idle-wake": Scenario(
        "idle-wake", "6 h idle at zero instances, then 50 at once and 3/min for 1 h",
        8 * HOUR, _idle_wake, group={"min_capacity": 0, "initial_capacity": 0},
        sample_every=30, plot_from=6 * HOUR, plot_until=7.5 * HOUR),
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise CheckerConfigError(f"unknown scenario {name!r}",
                                 hint="choose one of " + ", ".join(SCENARIOS)) from None
