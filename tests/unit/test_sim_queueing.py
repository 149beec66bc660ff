"""The simulator against queueing theory: with fixed capacity, Poisson arrivals and
exponential builds it is an M/M/c queue, so its mean wait must match Erlang C.

Tolerance: 10 % of the Erlang C mean wait, with 40,000 jobs at 60 % utilisation
(seed 1 lands within 1 %; across seeds 1-5 the error stayed under 8 %)."""

from __future__ import annotations

import random

import pytest

from auto_lambda_dev.sim.erlang import erlang_c, mean_wait
from auto_lambda_dev.sim.policies import POLICIES
from auto_lambda_dev.sim.runner import SimOptions, run_policy
from auto_lambda_dev.sim.workload import Exponential, Workload, steady_arrivals
from auto_lambda_dev.sim.world import GroupConfig

# whole simulated days and bursts: `make test` runs them, `make check` does not
pytestmark = pytest.mark.slow


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)           # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)      # rho / (mu - lambda)
    assert mean_wait(2.0, 1.0, 2) == float("inf")


def test_fixed_capacity_matches_erlang_c_mean_wait() -> None:
    arrival_rate, build_mean, servers = 0.06, 30.0, 3
    rng = random.Random(1)
    arrivals = steady_arrivals(arrival_rate, 0, 40_000 / arrival_rate, rng)
    workload = Workload.make(arrivals, Exponential(build_mean), random.Random(101), "M/M/3")
    # One job slot per instance: three servers, as Erlang C counts them.
    group = GroupConfig(min_capacity=servers, max_capacity=servers, concurrency=1)
    result = run_policy(POLICIES["fixed"], workload, group, arrivals[-1] + 1, SimOptions(),
                        sample_every=1e9)
    expected = mean_wait(arrival_rate, 1 / build_mean, servers)
    assert result.finished == len(arrivals)
    assert result.mean_wait == pytest.approx(expected, rel=0.10)
