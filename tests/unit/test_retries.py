"""The retry policy (``orchestrator.retries``): one place for every budget, a pure
backoff, and a bound on how often one mutation can be sent that the levels cannot
multiply past."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from orchestrator.aws.errors import AwsError
from orchestrator.aws.functions import ride_conflicts
from orchestrator.errors import AutoLambdaError
from orchestrator.jobs.workflow import TRANSIENT_RETRY
from orchestrator.retries import (
    BOTOCORE,
    JOB_WRITE,
    LAMBDA_CONFLICT,
    LAMBDA_WRITE,
    MAX_OUTAGE_DEADLINE,
    ROLE_WAIT,
    WORKFLOW,
    Backoff,
    compute_backoff,
    max_sends,
)


def test_one_mutation_is_sent_at_most_9_times_a_step_run() -> None:
    # A Lambda write: 9 sends in one run of the deploy step (six conflicts, or botocore's
    # four sends sharing the count). Before the budgets shared one count it was
    # 4 (botocore) x 6 (conflicts) per run. The step runs again after a transient failure
    # until the outage deadline (the runner's), 2,000 retries being only a backstop.
    assert LAMBDA_WRITE.sends == 9
    assert WORKFLOW.runs == 2001
    # a create or configuration update naming a new role may also wait for IAM to
    # propagate it: a budget of its own, added, never multiplied
    assert ROLE_WAIT.sends == 9
    assert max_sends() == (9 + 9) * 2001
    assert JOB_WRITE.sends <= max_sends()
    # a full-jitter retry waits half the cap on average: the backstop outlasts the
    # longest deadline an operator may set
    assert WORKFLOW.max_attempts * WORKFLOW.max_delay_seconds / 2 > MAX_OUTAGE_DEADLINE


def test_the_workflow_declaration_reads_its_retry_from_the_policy() -> None:
    assert TRANSIENT_RETRY.max_attempts == WORKFLOW.max_attempts
    assert TRANSIENT_RETRY.interval_seconds == WORKFLOW.interval_seconds
    assert TRANSIENT_RETRY.backoff_rate == WORKFLOW.backoff_rate
    assert TRANSIENT_RETRY.max_delay_seconds == WORKFLOW.max_delay_seconds
    assert TRANSIENT_RETRY.jitter == WORKFLOW.jitter


def test_botocore_config_is_standard_mode_with_three_retries() -> None:
    assert BOTOCORE.config() == {"max_attempts": 3, "mode": "standard"}
    assert BOTOCORE.sends == 4


@pytest.mark.parametrize(("attempt", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0),
                                                   (9, 16.0)])
def test_backoff_doubles_up_to_its_cap(attempt: int, expected: float) -> None:
    assert compute_backoff(attempt, LAMBDA_CONFLICT) == expected


def test_full_jitter_takes_the_injected_share() -> None:
    b = Backoff(base=2.0, factor=2.0, max_delay=5.0)
    assert compute_backoff(3, b, jitter="FULL", rand=lambda: 0.5) == 2.5
    assert compute_backoff(3, b, jitter="FULL", rand=lambda: 0.0) == 0.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        compute_backoff(0, LAMBDA_CONFLICT)


def _answer(code: str, status: int, retry_attempts: int | None,
            message: str | None = None) -> botocore.exceptions.ClientError:
    meta: dict[str, Any] = {"HTTPStatusCode": status}
    if retry_attempts is not None:
        meta["RetryAttempts"] = retry_attempts
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": meta},
        "UpdateAlias")


def _sends_until_given_up(script: list[tuple[str, int, int | None]]) -> int:
    """Sends a door makes of one write whose every call fails as ``script`` says (the
    last entry repeats), botocore's retries included."""
    sent: list[int] = []

    def call() -> None:
        code, status, retried = script[min(len(sent), len(script) - 1)]
        sent.append(1 + (retried or 0))
        raise _answer(code, status, retried)

    with pytest.raises(AwsError):
        ride_conflicts(call, "lambda.update_function_code(f)", sleep=lambda s: None)
    return sum(sent)


def test_endless_conflicts_are_six_sends() -> None:
    assert _sends_until_given_up([("ResourceConflictException", 409, 0)]) == 6


def test_conflicts_and_botocore_retries_share_one_budget() -> None:
    # Each conflict arrives after botocore retried two throttles: the door stops once
    # another botocore round would not fit, instead of multiplying 6 x 4.
    sends = _sends_until_given_up([("ResourceConflictException", 409, 2)])
    assert sends <= LAMBDA_WRITE.sends
    # conflicts first, then a call botocore retries to the end: still within the budget
    sends = _sends_until_given_up([("ResourceConflictException", 409, 0)] * 5
                                  + [("ThrottlingException", 400, 3)])
    assert sends <= LAMBDA_WRITE.sends


def test_a_refusal_is_sent_once() -> None:
    assert _sends_until_given_up([("InvalidParameterValueException", 400, 0)]) == 1


REPO = Path(__file__).resolve().parents[2]
_BUDGET_NAME = re.compile(r"ATTEMPT|RETRIES|RETRY|BACKOFF")


def budgets_outside_the_policy(root: Path) -> list[str]:
    """Retry numbers written down anywhere but ``orchestrator/retries.py``: a constant
    (an upper-case name) named like a budget, or a literal ``max_attempts=`` or
    ``attempts=`` argument."""
    found: list[str] = []
    for package in ("orchestrator", "worker", "checker"):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel == Path("orchestrator/retries.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, int):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    found += [f"{rel}:{node.lineno} {n}" for n in names
                              if n.isupper() and _BUDGET_NAME.search(n)]
                if isinstance(node, ast.Call):
                    found += [f"{rel}:{node.lineno} {k.arg}=" for k in node.keywords
                              if k.arg in ("max_attempts", "attempts", "total_max_attempts")
                              and isinstance(k.value, ast.Constant)]
    return found


def test_no_retry_budget_is_written_down_outside_the_policy() -> None:
    assert budgets_outside_the_policy(REPO) == []


def test_the_budget_check_sees_a_stray_budget(tmp_path: Path) -> None:
    (tmp_path / "orchestrator" / "steps").mkdir(parents=True)
    (tmp_path / "worker").mkdir()
    (tmp_path / "checker").mkdir()
    (tmp_path / "orchestrator" / "steps" / "loop.py").write_text(
        "_WRITE_ATTEMPTS = 4\nRetrier(('X',), max_attempts=3)\n")
    assert budgets_outside_the_policy(tmp_path) == [
        "orchestrator/steps/loop.py:1 _WRITE_ATTEMPTS",
        "orchestrator/steps/loop.py:2 max_attempts=",
    ]


def _role_answer(retried: int = 0) -> botocore.exceptions.ClientError:
    return _answer("InvalidParameterValueException", 400, retried,
                   "The role defined for the function cannot be assumed by Lambda.")


def test_a_role_lambda_cannot_assume_yet_is_waited_for_then_is_role_not_found() -> None:
    sleeps: list[float] = []
    sent: list[int] = []

    def call() -> None:
        sent.append(1)
        raise _role_answer()

    with pytest.raises(AutoLambdaError) as info:
        ride_conflicts(call, "lambda.create_function(f)", sleep=sleeps.append,
                       conflicts=False, role_wait=ROLE_WAIT)
    assert info.value.code == "RoleNotFound"
    assert len(sent) == 6 and sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_role_waits_and_conflicts_are_counted_apart_and_add_up() -> None:
    script = [_role_answer()] * 3 + [_answer("ResourceConflictException", 409, 0)] * 20
    sent: list[int] = []

    def call() -> None:
        sent.append(1)
        raise script[min(len(sent) - 1, len(script) - 1)]

    with pytest.raises(AutoLambdaError) as info:
        ride_conflicts(call, "lambda.update_function_configuration(f)", sleep=lambda s: None,
                       role_wait=ROLE_WAIT)
    assert info.value.code == "LambdaUpdateInProgress"
    assert len(sent) == 3 + 6 <= LAMBDA_WRITE.sends + ROLE_WAIT.sends


def test_a_role_answer_without_role_wait_is_role_not_found_at_once() -> None:
    sent: list[int] = []

    def call() -> None:
        sent.append(1)
        raise _role_answer()

    with pytest.raises(AutoLambdaError) as info:
        ride_conflicts(call, "lambda.update_function_code(f)", sleep=lambda s: None)
    assert info.value.code == "RoleNotFound" and len(sent) == 1
