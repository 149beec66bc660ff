"""EventBridge schedule expressions: what rate() and cron() accept, in canonical form,
and what they refuse with ScheduleExpressionInvalid."""

from __future__ import annotations

import pytest

from orchestrator.errors import ManifestError
from orchestrator.steps.unpack.schedule import check_schedule


@pytest.mark.parametrize(("text", "canonical"), [
    ("rate(1 minute)", "rate(1 minute)"),
    ("rate(5 minutes)", "rate(5 minutes)"),
    ("rate(1 hour)", "rate(1 hour)"),
    ("rate(12 hours)", "rate(12 hours)"),
    ("rate(1 day)", "rate(1 day)"),
    ("rate(7 days)", "rate(7 days)"),
    ("  rate( 10   minutes )  ", "rate(10 minutes)"),
    ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
    ("cron(15 10 ? * 6L 2019-2022)", "cron(15 10 ? * 6L 2019-2022)"),
    ("cron(0 18 ? * mon-fri *)", "cron(0 18 ? * MON-FRI *)"),
    ("cron(0 8 1 * ? *)", "cron(0 8 1 * ? *)"),
    ("cron(0/15 * * * ? *)", "cron(0/15 * * * ? *)"),
    ("cron(0/10 * ? * MON-FRI *)", "cron(0/10 * ? * MON-FRI *)"),
    ("cron(0/5 8-17 ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)"),
    ("cron(0 9 ? * 2#1 *)", "cron(0 9 ? * 2#1 *)"),
    ("cron(0 0 L * ? *)", "cron(0 0 L * ? *)"),
    ("cron(0 0 15W * ? *)", "cron(0 0 15W * ? *)"),
    ("cron(0,30 1,2,3 ? jan,Jul SUN *)", "cron(0,30 1,2,3 ? JAN,JUL SUN *)"),
    ("cron(*/5   *  ?  *  L  *)", "cron(*/5 * ? * L *)"),
    ("cron(0 0 ? * * 2199)", "cron(0 0 ? * * 2199)"),
])
def test_valid_expressions_come_back_canonical(text: str, canonical: str) -> None:
    assert check_schedule(text, "x") == canonical


@pytest.mark.parametrize("text", [
    "", "rate()", "rate(5)", "rate(minutes)", "rate(0 minutes)", "rate(-1 minutes)",
    "rate(1 minutes)", "rate(5 minute)", "rate(2 hour)", "rate(1 days)", "rate(05 minutes)",
    "rate(5 seconds)", "rate(5 weeks)", "rate(1.5 hours)", "rate(5 Minutes)",
    "rate(1000001 minutes)", "rate(5 minutes", "every 5 minutes", "at(2026-12-07T12:00:00)",
    "cron(0 12 * * *)", "cron(0 12 * * ? * *)", "cron()", "cron(0 12 * * * *)",
    "cron(0 12 ? * ? *)", "cron(60 12 * * ? *)", "cron(0 24 * * ? *)",
    "cron(0 12 0 * ? *)", "cron(0 12 32 * ? *)", "cron(0 12 * 13 ? *)",
    "cron(0 12 ? * 8 *)", "cron(0 12 ? * 0 *)", "cron(0 12 * * ? 1969)",
    "cron(0 12 * * ? 2200)", "cron(0 12 * FOO ? *)", "cron(0 12 ? * FUNDAY *)",
    "cron(30-10 * * * ? *)", "cron(0/0 * * * ? *)", "cron(0/61 * * * ? *)",
    "cron(0,,5 * * * ? *)", "cron(0 12 ? * 2#6 *)", "cron(0 12 ? * 2#0 *)",
    "cron(0 12 32W * ? *)", "cron(0 12 L,1 * ? *)", "cron(0 12 ? * L,MON *)",
    "cron(a b c d e f)", "CRON(0 12 * * ? *)",
    "rate(5 minutes)rate(5 minutes)", "x" * 300,
])
def test_invalid_expressions_are_refused_with_their_code(text: str) -> None:
    with pytest.raises(ManifestError) as info:
        check_schedule(text, "[[triggers]][0].expression")
    assert info.value.code == "ScheduleExpressionInvalid"
    assert "[[triggers]][0].expression" in str(info.value)


@pytest.mark.parametrize("value", [5, None, ["rate(5 minutes)"], {"rate": 5}])
def test_a_value_that_is_not_a_string_is_a_manifest_error(value: object) -> None:
    with pytest.raises(ManifestError) as info:
        check_schedule(value, "e")
    assert info.value.code == "ManifestInvalid"
