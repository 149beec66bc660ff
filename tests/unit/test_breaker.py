"""A breaker opens after a run of transient failures, lets one probe through after its
cooldown, closes on the probe's success and backs off on its failure; a permanent
error counts as an answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.aws.breaker import Breaker, Breakers, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_and_probes_once_after_the_cooldown() -> None:
    clock = Clock()
    b = Breakers(threshold=3, cooldown=2.0, max_cooldown=8.0, clock=clock)
    for _ in range(2):
        b.record("dynamodb", "PutItem", transient=True)
    assert b.allow("dynamodb", "PutItem") and not b.any_open()
    b.record("dynamodb", "PutItem", transient=True)
    assert b.open_ones() == [("dynamodb", "PutItem")]
    assert not b.allow("dynamodb", "PutItem")
    assert b.allow("dynamodb", "GetItem")  # per operation
    assert b.retry_after() == 2.0
    clock.now += 2.0
    assert b.allow("dynamodb", "PutItem")        # the probe
    assert not b.allow("dynamodb", "PutItem")    # only one at a time
    b.record("dynamodb", "PutItem", transient=True)
    assert b.retry_after() == 4.0                # failed probe: cooldown doubled
    clock.now += 4.0
    assert b.allow("dynamodb", "PutItem")
    b.record("dynamodb", "PutItem", transient=False)
    assert not b.any_open() and b.allow("dynamodb", "PutItem")


def test_a_permanent_error_is_an_answer() -> None:
    clock = Clock()
    b = Breakers(threshold=2, clock=clock)
    b.record("lambda", "CreateAlias", transient=True)
    b.record("lambda", "CreateAlias", transient=False)
    b.record("lambda", "CreateAlias", transient=True)
    assert not b.any_open()


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 30)), max_size=60))
def test_cooldown_stays_within_bounds_and_closed_always_allows(
        events: list[tuple[bool, float]]) -> None:
    breaker = Breaker(threshold=3, cooldown=1.0, max_cooldown=16.0)
    now = 0.0
    for transient, step in events:
        now += step
        if breaker.allow(now):
            if transient:
                breaker.failure(now)
            else:
                breaker.success()
        assert 0.0 <= breaker.current_cooldown <= 16.0
        if breaker.state is BreakerState.CLOSED:
            assert breaker.allow(now)
