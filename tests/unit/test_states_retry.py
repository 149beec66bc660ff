"""Backoff: min(interval * rate^(n-1), max_delay), FULL jitter uniform in [0, that]."""

from __future__ import annotations

import random

import pytest

from states import Retrier, backoff_delay, base_delay


@pytest.mark.parametrize(("attempt", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0),
                                                   (5, 16.0), (6, 20.0), (9, 20.0)])
def test_backoff_without_jitter_is_the_formula(attempt: int, expected: float) -> None:
    r = Retrier(("X",), interval_seconds=1, backoff_rate=2.0, max_delay_seconds=20)
    assert backoff_delay(r, attempt) == expected


def test_backoff_without_cap_keeps_growing() -> None:
    r = Retrier(("X",), interval_seconds=0.5, backoff_rate=3.0)
    assert backoff_delay(r, 4) == pytest.approx(0.5 * 27)


def test_full_jitter_stays_within_zero_and_the_formula_and_varies() -> None:
    r = Retrier(("X",), interval_seconds=2, backoff_rate=2.0, max_delay_seconds=5,
                jitter="FULL")
    rng = random.Random(7)
    for attempt in range(1, 8):
        values = [backoff_delay(r, attempt, rng) for _ in range(200)]
        cap = base_delay(r, attempt)
        assert all(0.0 <= v <= cap for v in values)
        assert max(values) > cap * 0.8 and min(values) < cap * 0.2


def test_same_seed_same_delays() -> None:
    r = Retrier(("X",), jitter="FULL")
    a = [backoff_delay(r, n, random.Random(3)) for n in (1, 2, 3)]
    b = [backoff_delay(r, n, random.Random(3)) for n in (1, 2, 3)]
    assert a == b


def test_attempt_must_be_one_based() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        backoff_delay(Retrier(("X",)), 0)
