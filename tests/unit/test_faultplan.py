"""The fault proxy's plan: its text form, its targeting and counts, and seeded rates."""

from __future__ import annotations

import pytest

from auto_lambda_dev.faultplan import FaultSpecInvalid, parse_faults


def test_the_spec_reads_kinds_rates_targets_counts_and_a_seed() -> None:
    plan = parse_faults("before=10%, after=0.1@lambda.CreateAlias+PublishVersion#2,"
                        "reset=5%@dynamodb,delay=50%:2.5,seed=7")
    kinds = [(r.kind, r.rate, r.seconds, r.targets, r.count) for r in plan.rules]
    assert kinds == [("before", 0.1, 0.0, (), None),
                     ("after", 0.1, 0.0, ("lambda.CreateAlias", "PublishVersion"), 2),
                     ("reset", 0.05, 0.0, ("dynamodb",), None),
                     ("delay", 0.5, 2.5, (), None)]
    assert plan.seed == 7
    assert parse_faults(plan.text).rules == plan.rules


@pytest.mark.parametrize(("spec", "says"), [
    ("boom=10%", "unknown kind"), ("after", "not KIND=RATE"), ("after=150%", "between 0"),
    ("after=x", "not a number"), ("after=1#two", "#COUNT"), ("after=1@", "names no"),
    ("before=1:3", "only delay"), ("delay=1:forever", "seconds"), ("seed=abc", "seed"),
])
def test_a_bad_spec_says_which_part_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(FaultSpecInvalid, match=says) as info:
        parse_faults(spec)
    assert info.value.code == "FaultSpecInvalid" and "--faults" in str(info.value)


def test_a_targeted_rule_fires_on_its_operation_only_and_as_often_as_counted() -> None:
    plan = parse_faults("after=100%@CreateAlias#2")
    assert plan.decide("lambda", "GetAlias").kind is None
    assert [plan.decide("lambda", "CreateAlias").kind for _ in range(4)] == [
        "after", "after", None, None]
    service_wide = parse_faults("before=100%@lambda")
    assert service_wide.decide("lambda", "PublishVersion").kind == "before"
    assert service_wide.decide("sqs", "DeleteMessage").kind is None


def test_rates_follow_the_seed_and_only_one_failure_applies_per_request() -> None:
    def run(seed: int) -> list[str | None]:
        plan = parse_faults(f"before=20%,after=20%,reset=20%,seed={seed}")
        return [plan.decide("s3", "PutObject").kind for _ in range(2000)]

    first = run(3)
    assert first == run(3) and first != run(4)
    share = {kind: first.count(kind) / len(first) for kind in ("before", "after", "reset")}
    # before fires on 20%; after on 20% of the rest; reset on 20% of what is left
    assert share["before"] == pytest.approx(0.2, abs=0.03)
    assert share["after"] == pytest.approx(0.16, abs=0.03)
    assert share["reset"] == pytest.approx(0.128, abs=0.03)


def test_delays_add_to_a_failure_of_the_same_request() -> None:
    plan = parse_faults("delay=100%:1.5,after=100%")
    fault = plan.decide("sqs", "SendMessage")
    assert (fault.kind, fault.delay) == ("after", 1.5)
