"""Comparing a handler's output with the manifest's [verify] expect."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import VerifyError
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.smoke import SmokeEvent
from orchestrator.steps.verify.compare import (
    check_output,
    first_difference,
    json_contains,
    json_equal,
)


@pytest.mark.parametrize(("a", "b", "equal"), [
    ({"a": 1}, {"a": 1.0}, True),
    ({"a": True}, {"a": 1}, False),
    ({"a": "1"}, {"a": 1}, False),
    ([1, 2], [2, 1], False),
    ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    (None, {}, False),
    (0, False, False),
])
def test_json_equality(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert json_equal(b, a) is equal


def test_first_difference_points_at_the_path() -> None:
    assert first_difference({"a": {"b": [1, 2]}}, {"a": {"b": [1, 3]}}) == "$.a.b[1]"
    assert first_difference({"a": 1}, {}) == "$.a (missing)"
    assert first_difference({}, {"z": 1}) == "$.z (unexpected)"


def spec(**kw: Any) -> AppSpec:
    return AppSpec(name="x", handler="app.handler", **kw)


def test_mismatch_shows_expected_and_got_truncated() -> None:
    expected = {"message": "hi world"}
    with pytest.raises(VerifyError) as exc:
        check_output(spec(verify_expect=expected, has_expect=True),
                     {"message": "hello world", "pad": "x" * 5000})
    assert exc.value.code == "VerifyMismatch"
    text = str(exc.value)
    assert '"message": "hi world"' in text and '"message": "hello world"' in text
    assert len(text) < 1500
    assert exc.value.details["at"] == "$.message"


def test_no_expect_accepts_any_json() -> None:
    check_output(spec(), {"anything": [1, 2]})


def test_expected_null_is_checked_when_given() -> None:
    with pytest.raises(VerifyError):
        check_output(spec(verify_expect=None, has_expect=True), {"a": 1})
    check_output(spec(verify_expect=None, has_expect=True), None)


@pytest.mark.parametrize("value", [{1, 2}, float("nan"), {"a": b"bytes"}])
def test_not_json_is_bad_output(value: Any) -> None:
    with pytest.raises(VerifyError) as exc:
        check_output(spec(), value)
    assert exc.value.code == "VerifyBadOutput"


RESPONSE = {"statusCode": 200, "headers": {"content-type": "application/json",
                                          "content-length": "14"},
            "body": '{"hi":"there"}', "isBase64Encoded": False}


@pytest.mark.parametrize(("expected", "contained"), [
    ({"statusCode": 200}, True),
    ({"statusCode": 200, "headers": {"content-type": "application/json"}}, True),
    ({"statusCode": 200.0}, True),
    ({"statusCode": "200"}, False),
    ({"statusCode": 201}, False),
    ({"headers": {"x-missing": "1"}}, False),
    ({"isBase64Encoded": 0}, False),
    (RESPONSE, True),
])
def test_subset_allows_extra_keys_at_any_depth_and_nothing_else(expected: Any,
                                                               contained: bool) -> None:
    assert json_contains(RESPONSE, expected) is contained


def test_subset_arrays_match_item_by_item_with_the_same_length() -> None:
    assert json_contains([{"a": 1, "b": 2}], [{"a": 1}])
    assert not json_contains([{"a": 1}, {"a": 2}], [{"a": 1}])
    assert not json_contains([1, 2], [2, 1])


def test_subset_match_passes_extra_keys_and_exact_points_at_them() -> None:
    subset = SmokeEvent("api", {}, {"statusCode": 200}, True, "subset")
    check_output(spec(), RESPONSE, subset)
    exact = SmokeEvent("api", {}, {"statusCode": 200}, True)
    with pytest.raises(VerifyError) as exc:
        check_output(spec(), RESPONSE, exact)
    assert exc.value.details["at"] == "$.headers (unexpected)"
    assert 'match = "subset"' in (exc.value.hint or "")
    wrong = SmokeEvent("api", {}, {"statusCode": 201}, True, "subset")
    with pytest.raises(VerifyError) as exc:
        check_output(spec(), RESPONSE, wrong)
    assert exc.value.details["at"] == "$.statusCode"
    assert "expected at least" in str(exc.value)
    assert 'match = "subset"' not in (exc.value.hint or "")
