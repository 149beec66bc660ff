"""Properties of the direct control rule (checker.direct) for any sequence of needs."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from checker.direct import DirectPolicy, DirectRule, needed_instances


@st.composite
def policies(draw: st.DrawFn) -> DirectPolicy:
    return DirectPolicy(target=draw(st.floats(0.25, 10)), step_up=draw(st.integers(1, 20)),
                        step_up_ratio=draw(st.floats(0, 3)),
                        scale_in_window=draw(st.floats(0, 600)),
                        max_step_down=draw(st.integers(0, 10)))


steps = st.lists(st.tuples(st.floats(0.5, 60), st.integers(0, 200)), min_size=1, max_size=40)
bounds = st.tuples(st.integers(0, 10), st.integers(0, 40)).map(
    lambda t: (min(t), max(t)))


@given(policies(), steps, bounds, st.integers(0, 60))
def test_every_decision_respects_bounds_steps_and_the_window(
        policy: DirectPolicy, sequence: list[tuple[float, int]], limits: tuple[int, int],
        start: int) -> None:
    low, high = limits
    rule = DirectRule(policy)
    now, current = 1000.0, start
    seen: list[tuple[float, int]] = []
    for gap, need in sequence:
        now += gap
        decision = rule.decide(now, current, need, low, high)
        clamped = max(low, min(high, need))
        seen.append((now, clamped))
        assert decision.previous == current
        if decision.desired > current:
            # Out: toward the need, never past it, at most one step.
            step = max(policy.step_up, math.ceil(current * policy.step_up_ratio))
            assert decision.desired <= clamped
            assert decision.desired - current <= step
        elif decision.desired < current:
            # In: never below any need of the window, only after watching a whole one.
            window = [n for t, n in seen if t == now or now - t < policy.scale_in_window]
            assert decision.desired >= max(window)
            assert now - seen[0][0] >= policy.scale_in_window
            if policy.max_step_down:
                assert current - decision.desired <= policy.max_step_down
        if low <= current <= high:
            assert low <= decision.desired <= high
        current = decision.desired


@given(policies(), st.integers(0, 40), st.integers(1, 40), st.integers(1, 40))
def test_an_unchanged_need_is_reached_and_then_held(policy: DirectPolicy, start: int,
                                                    need: int, high: int) -> None:
    rule = DirectRule(policy)
    current, now = start, 0.0
    for _ in range(200):
        now += 10
        current = rule.decide(now, current, need, 0, high).desired
        if now > policy.scale_in_window + 10 and current == min(need, high):
            break
    target = min(need, high)
    assert current == target
    assert rule.decide(now + 10, current, need, 0, high).desired == target


@given(st.floats(0, 10_000), st.integers(1, 16), st.floats(0.1, 10))
def test_needed_instances_gives_each_job_its_share_of_a_slot(backlog: float, slots: int,
                                                             target: float) -> None:
    n = needed_instances(backlog, slots, target)
    assert n * slots * target >= backlog - 1e-6
    assert n == 0 or (n - 1) * slots * target < backlog + 1e-6


class _EveryNeed(DirectRule):
    """The rule keeping every need of the window, as it first did."""

    def _remember(self, now: float, needed: int) -> None:
        self.recent = [(t, n) for t, n in self.recent if now - t < self.policy.scale_in_window]
        self.recent.append((now, needed))


# Few distinct gaps and windows, so that needs leave the window on the same ticks and
# a clock stepping back lands inside a window often.
gaps = st.sampled_from([-15.0, -5.0, 0.0, 1.0, 5.0, 10.0, 40.0])


@given(st.sampled_from([0.0, 10.0, 30.0, 120.0]),
       st.lists(st.tuples(gaps, st.integers(0, 12), st.integers(0, 12)), min_size=1,
                max_size=60), bounds)
def test_keeping_only_the_needs_that_can_be_highest_decides_the_same(
        window: float, sequence: list[tuple[float, int, int]],
        limits: tuple[int, int]) -> None:
    """The same decisions as keeping every need, for any sequence, even with a clock
    that steps back; and what is kept stays small when it only moves forward."""
    low, high = limits
    policy = DirectPolicy(scale_in_window=window)
    kept, every = DirectRule(policy), _EveryNeed(policy)
    now = 1000.0
    forward = all(gap >= 0 for gap, _, _ in sequence)
    for gap, need, current in sequence:
        now += gap
        assert kept.decide(now, current, need, low, high) == every.decide(
            now, current, need, low, high)
        if forward:
            needs = [n for _, n in kept.recent]
            assert needs == sorted(set(needs), reverse=True)  # strictly falling
