"""One duration syntax for every command."""

from __future__ import annotations

import pytest

from orchestrator.durations import DurationInvalid, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("15", 15.0), ("2.5", 2.5), ("500ms", 0.5), ("10s", 10.0), ("15m", 900.0),
    ("15min", 900.0), ("2h", 7200.0), ("1d", 86400.0), ("1w", 604800.0),
    ("1h30m", 5400.0), (" 10 s ", 10.0), ("1M", 60.0),
])
def test_durations_are_read_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "ten", "10x", "1h30", "-5s", "10s!"])
def test_unreadable_durations_raise_with_a_code(text: str) -> None:
    with pytest.raises(DurationInvalid) as info:
        parse_duration(text)
    assert info.value.code == "DurationInvalid"


def test_an_interval_must_be_more_than_zero() -> None:
    assert parse_duration("500ms", positive=True) == pytest.approx(0.5)
    with pytest.raises(DurationInvalid, match="more than zero"):
        parse_duration("0s", positive=True)
    with pytest.raises(DurationInvalid):
        parse_duration("soon", positive=True)
