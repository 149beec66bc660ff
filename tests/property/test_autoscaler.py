"""Properties of the target-tracking rule (checker.rule.decide) for any history."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given
from hypothesis import strategies as st

from checker.rule import Capacity, MetricSample, ScalingPolicy, decide, needed_capacity

values = st.floats(min_value=0, max_value=1000, allow_nan=False)


@st.composite
def policies(draw: st.DrawFn) -> ScalingPolicy:
    low = draw(st.integers(0, 10))
    high = draw(st.integers(low, 40))
    return ScalingPolicy(target=draw(st.floats(0.5, 50)), min_capacity=low, max_capacity=high,
                         scale_in_ratio=draw(st.floats(0.5, 1.0)),
                         scale_in_window=draw(st.floats(0, 300)),
                         scale_in_cooldown=draw(st.floats(0, 120)),
                         warmup=draw(st.floats(0, 120)),
                         max_scale_in_step=draw(st.integers(0, 5)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[MetricSample], float]:
    gaps = draw(st.lists(st.floats(0.1, 60), max_size=20))
    now = 10_000.0
    t = now - sum(gaps)
    out = []
    for gap in gaps:
        out.append(MetricSample(t, draw(values), draw(st.none() | st.integers(0, 50))))
        t += gap
    return out, now


def above_target(history: list[MetricSample], policy: ScalingPolicy,
                 data: st.DataObject, now: float) -> list[MetricSample]:
    """The history with its latest sample moved above the target."""
    excess = data.draw(st.floats(1e-6, 1000))
    last = history[-1] if history else MetricSample(now, 0.0, None)
    return [*history[:-1], MetricSample(last.time, policy.target + excess, last.in_service)]


@st.composite
def capacities(draw: st.DrawFn, now: float, most: int = 50) -> Capacity:
    current = draw(st.integers(0, most))
    launched = tuple(draw(st.lists(st.floats(now - 600, now), max_size=current)))
    last_in = draw(st.none() | st.floats(now - 600, now))
    return Capacity(current, launched, last_in)


@given(policies(), histories(), st.data())
def test_capacity_always_within_min_and_max(policy: ScalingPolicy,
                                            hist: tuple[list[MetricSample], float],
                                            data: st.DataObject) -> None:
    history, now = hist
    capacity = data.draw(capacities(now))
    decision = decide(capacity, history, policy, now)
    assert policy.min_capacity <= decision.desired <= policy.max_capacity


@given(policies(), histories(), st.data())
def test_never_scales_in_while_backlog_per_instance_exceeds_target(
        policy: ScalingPolicy, hist: tuple[list[MetricSample], float],
        data: st.DataObject) -> None:
    history, now = hist
    history = above_target(history, policy, data, now)
    capacity = data.draw(capacities(now, most=policy.max_capacity))
    decision = decide(capacity, history, policy, now)
    assert decision.desired >= capacity.current
    assert decision.action != "in"


@given(policies(), histories(), st.data())
def test_scale_out_covers_the_backlog_up_to_max(policy: ScalingPolicy,
                                                hist: tuple[list[MetricSample], float],
                                                data: st.DataObject) -> None:
    history, now = hist
    history = above_target(history, policy, data, now)
    capacity = data.draw(capacities(now))
    latest = history[-1]
    divisor = latest.in_service if latest.in_service is not None else capacity.current
    needed = needed_capacity(latest.value * max(divisor, 1), policy.target)
    decision = decide(capacity, history, policy, now)
    assert decision.desired >= min(needed, policy.max_capacity)


@given(policies(), histories(), st.data())
def test_no_scale_in_while_instances_warm_up(policy: ScalingPolicy,
                                             hist: tuple[list[MetricSample], float],
                                             data: st.DataObject) -> None:
    history, now = hist
    policy = replace(policy, warmup=max(policy.warmup, 1.0),
                     max_capacity=max(policy.max_capacity, 1))
    current = data.draw(st.integers(max(policy.min_capacity, 1), policy.max_capacity))
    # at least one instance launched less than the warm-up ago
    just_launched = now - data.draw(st.floats(0, policy.warmup, exclude_max=True))
    assume(now - just_launched < policy.warmup)
    capacity = Capacity(current, (just_launched,), None)
    assert decide(capacity, history, policy, now).desired >= current


@given(policies(), st.floats(0.5, 60), st.lists(st.floats(0, 1000), min_size=1, max_size=30),
       st.data())
def test_scale_out_after_waits_for_the_metric_to_stay_above_target(
        policy: ScalingPolicy, wait: float, values: list[float], data: st.DataObject) -> None:
    policy = replace(policy, scale_out_after=wait)
    now = 10_000.0
    history = [MetricSample(now - len(values) + i + 1, v, 1) for i, v in enumerate(values)]
    capacity = data.draw(capacities(now, most=policy.max_capacity))
    decision = decide(capacity, history, policy, now)
    if decision.desired > max(capacity.current, policy.min_capacity):
        start = now - wait
        assert history[0].time <= start
        covering = [s for s in history if s.time <= start][-1:] + [
            s for s in history if s.time > start]
        assert all(s.value > policy.target for s in covering)


@given(policies(), histories(), st.data())
def test_with_scale_in_disabled_it_never_scales_in(policy: ScalingPolicy,
                                                   hist: tuple[list[MetricSample], float],
                                                   data: st.DataObject) -> None:
    history, now = hist
    policy = replace(policy, scale_in=False)
    capacity = data.draw(capacities(now, most=policy.max_capacity))
    assume(policy.min_capacity <= capacity.current)
    assert decide(capacity, history, policy, now).desired >= capacity.current
