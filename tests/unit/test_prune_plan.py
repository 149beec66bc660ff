"""The prune plan keeps the newest verified versions, every alias target, the rollback
target and versions still in flight; it deletes failed ones and old verified ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.jobs.prune import Verdict, Version, plan_prune, rollback_target

V, F, U = Verdict.VERIFIED, Verdict.FAILED, Verdict.UNKNOWN


def test_twelve_uploads_keep_five_verified_and_the_alias_targets() -> None:
    verdicts = [V, V, F, V, V, V, F, V, V, V, F, V]  # versions 1..12
    versions = [Version(n, v, 1000) for n, v in enumerate(verdicts, start=1)]
    plan = plan_prune(versions, alias_targets={12, 2}, live=12, keep=5)
    kept = {n for n, _ in plan.keep}
    assert kept == {12, 10, 9, 8, 6, 2}   # newest five verified, plus the routed-to 2
    assert {n for n, _ in plan.delete} == {11, 7, 3, 5, 4, 1}
    assert all(why == "it failed verify" for n, why in plan.delete if n in (3, 7, 11))
    assert plan.freed_bytes == 1000 * len(plan.delete)


def test_the_rollback_target_survives_even_with_keep_one() -> None:
    versions = [Version(1, V), Version(2, V), Version(3, V)]
    plan = plan_prune(versions, alias_targets={3}, live=3, keep=1)
    assert dict(plan.keep) == {3: "an alias points at it", 2: "a rollback would use it"}
    assert [n for n, _ in plan.delete] == [1]
    assert rollback_target(versions, 3) == 2


def test_a_version_in_flight_is_never_deleted() -> None:
    plan = plan_prune([Version(1, V), Version(2, U)], alias_targets={1}, live=1, keep=1)
    assert (2, "its job has not ended") in plan.keep and plan.delete == []


def test_keep_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan_prune([], alias_targets=(), live=None, keep=0)


@given(st.lists(st.sampled_from(list(Verdict)), max_size=40), st.integers(1, 8),
       st.data())
def test_every_version_is_decided_once_and_nothing_needed_goes(
        verdicts: list[Verdict], keep: int, data: st.DataObject) -> None:
    versions = [Version(n, v) for n, v in enumerate(verdicts, start=1)]
    numbers = [v.number for v in versions]
    targets = set(data.draw(st.lists(st.sampled_from(numbers), max_size=2))) if numbers else set()
    live = max(targets, default=None)
    plan = plan_prune(versions, alias_targets=targets, live=live, keep=keep)
    kept, deleted = {n for n, _ in plan.keep}, {n for n, _ in plan.delete}
    assert kept | deleted == set(numbers) and not kept & deleted
    assert targets <= kept
    assert {v.number for v in versions if v.verdict is Verdict.UNKNOWN} <= kept
    rb = rollback_target(versions, live)
    assert rb is None or rb in kept
    verified_kept = sorted((n for n in kept if verdicts[n - 1] is Verdict.VERIFIED),
                           reverse=True)
    newest = sorted((v.number for v in versions if v.verdict is Verdict.VERIFIED),
                    reverse=True)[:keep]
    assert set(newest) <= set(verified_kept)
