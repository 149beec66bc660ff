"""Context parameters: defaults, and the errors a wrong value gets (no synthesis needed)."""

from __future__ import annotations

from typing import Any

import pytest
from auto_lambda_infra.params import ContextError, Params

pytestmark = pytest.mark.cdk


def _params(**context: Any) -> Params:
    return Params.from_context(context.get)


def test_defaults_follow_the_design() -> None:
    params = _params()
    assert params.prefix == "auto-lambda"
    assert (params.worker_min, params.worker_max, params.backlog_target) == (1, 20, 5)
    assert params.worker_ami_id is None
    assert params.visibility_timeout_minutes * 60 > 15 * 60


def test_context_values_arrive_as_strings_from_the_cli() -> None:
    params = _params(prefix="acme", worker_min="2", worker_max="8", worker_ami_id="ami-0abc1234")
    assert (params.prefix, params.worker_min, params.worker_max) == ("acme", 2, 8)
    assert params.worker_ami_id == "ami-0abc1234"


@pytest.mark.parametrize(
    ("context", "mentions"),
    [
        ({"prefix": "Auto_Lambda"}, "prefix"),
        ({"prefix": "a" * 31}, "prefix"),
        ({"worker_min": "5", "worker_max": "2"}, "worker_min=5 exceeds worker_max=2"),
        ({"worker_max": "many"}, "worker_max"),
        ({"worker_ami_id": "ubuntu"}, "worker_ami_id"),
        ({"visibility_timeout_minutes": "10"}, "visibility_timeout_minutes"),
    ],
)
def test_bad_context_names_the_key(context: dict[str, Any], mentions: str) -> None:
    with pytest.raises(ContextError, match=mentions):
        _params(**context)


def test_teams_are_checked_like_the_worker_reads_them() -> None:
    from auto_lambda_infra.params import ContextError, Params

    ok = Params.from_context(lambda key: {"teams": "payments, search,payments"}.get(key))
    assert ok.teams == ("payments", "search")
    for bad in ("data-eng", "Payments", "default"):
        with pytest.raises(ContextError, match="teams"):
            Params.from_context(lambda key, bad=bad: {"teams": bad}.get(key))
