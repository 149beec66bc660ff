"""The bar the default scaling policy is held to (docs/scaling.md): in every scenario its
p95 is at most 1.15x the oracle's, at no more instance-hours than the built-in policy,
with every job finished. Simulator defaults; several seeds where a run is cheap."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auto_lambda_dev.sim.policies import BASELINE_POLICY, DEFAULT_POLICY
from auto_lambda_dev.sim.present import FLOOR_FACTOR, floor_check
from auto_lambda_dev.sim.runner import SimOptions, simulate
from auto_lambda_dev.sim.scenarios import get_scenario

# whole simulated days and bursts: `make test` runs them, `make check` does not
pytestmark = pytest.mark.slow


def _check(scenario: str, seed: int, max_capacity: int = 20) -> dict[str, object]:
    options = SimOptions()
    options = replace(options, group=replace(options.group, max_capacity=max_capacity))
    _, results = simulate(get_scenario(scenario), seed, [BASELINE_POLICY, DEFAULT_POLICY],
                          options)
    check = floor_check(results)
    assert check is not None
    return check


@pytest.mark.parametrize(("scenario", "max_capacity"),
                         [("steady", 20), ("burst", 20), ("idle-wake", 20), ("burst", 50)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_default_policy_is_near_the_oracle_at_less_cost_than_builtin(
        scenario: str, max_capacity: int, seed: int) -> None:
    check = _check(scenario, seed, max_capacity)
    assert check["unfinished"] == 0
    assert check["p95_vs_oracle"] <= FLOOR_FACTOR, check  # type: ignore[operator]
    assert check["instance_hours_vs_baseline"] <= 1.0, check  # type: ignore[operator]
    assert check["ok"] is True


@pytest.mark.slow
def test_default_policy_meets_the_bar_over_a_day() -> None:
    check = _check("diurnal", 1)
    assert check["ok"] is True, check


def test_the_bar_can_be_missed() -> None:
    """The check is not a constant: a default policy slowed down to a poll every five
    minutes misses it."""
    options = SimOptions()
    options = replace(options, control=replace(options.control, direct_interval=300.0,
                                               direct_fallback=False))
    _, results = simulate(get_scenario("burst"), 1, [BASELINE_POLICY, DEFAULT_POLICY], options)
    check = floor_check(results)
    assert check is not None and check["ok"] is False
    assert check["p95_vs_oracle"] > FLOOR_FACTOR  # type: ignore[operator]
