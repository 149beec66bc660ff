"""Workload generation: arrival patterns, build-time distributions, CSV inputs."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from auto_lambda_dev.sim.workload import (
    LogNormal,
    burst_arrivals,
    csv_arrivals,
    csv_durations,
    diurnal_arrivals,
    fit_lognormal,
    steady_arrivals,
)
from checker.errors import WorkloadError


def test_steady_rate_is_about_right() -> None:
    arrivals = steady_arrivals(0.5, 0, 20_000, random.Random(1))
    assert len(arrivals) == pytest.approx(10_000, rel=0.05)
    assert arrivals == sorted(arrivals) and arrivals[0] >= 0 and arrivals[-1] < 20_000


def test_burst_is_simultaneous() -> None:
    assert burst_arrivals(3, 12.0) == [12.0, 12.0, 12.0]


def test_diurnal_peaks_at_noon() -> None:
    arrivals = diurnal_arrivals(0.1, 0.9, 0, 86_400, random.Random(2))
    night = sum(1 for t in arrivals if t < 3 * 3600 or t > 21 * 3600)
    noon = sum(1 for t in arrivals if 9 * 3600 <= t < 15 * 3600)
    assert noon > 4 * night
    assert len(arrivals) == pytest.approx(8640, rel=0.05)


def test_lognormal_fit_recovers_its_parameters() -> None:
    truth = LogNormal(median=25.0, sigma=0.6)
    rng = random.Random(3)
    fitted = fit_lognormal(truth.sample(rng) for _ in range(20_000))
    assert fitted.median == pytest.approx(25.0, rel=0.03)
    assert fitted.sigma == pytest.approx(0.6, rel=0.03)
    assert LogNormal.from_mean(30, 0.5).mean == pytest.approx(30)
    with pytest.raises(WorkloadError):
        fit_lognormal([5.0])


def test_csv_inputs(tmp_path: Path) -> None:
    times = tmp_path / "uploads.csv"
    times.write_text("uploaded_at\n2026-01-01T00:00:10Z\n2026-01-01T00:00:00Z\n1767225630\n")
    assert csv_arrivals(times) == [0.0, 10.0, 30.0]
    builds = tmp_path / "builds.csv"
    builds.write_text("12.5\n40\n")
    assert csv_durations(builds) == [12.5, 40.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("when\nyesterday\n")
    with pytest.raises(WorkloadError):
        csv_arrivals(bad)
    assert math.isfinite(fit_lognormal(csv_durations(builds)).median)
