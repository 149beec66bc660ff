"""Context parameters: defaults, and the errors a wrong value gets (no synthesis needed)."""

from __future__ import annotations

from typing import Any

import pytest
from auto_lambda_infra.params import ContextError, Params

from orchestrator import capacity

pytestmark = pytest.mark.cdk


def _params(**context: Any) -> Params:
    return Params.from_context(context.get)


def test_defaults_follow_the_design() -> None:
    params = _params()
    assert params.prefix == "auto-lambda"
    assert (params.worker_min, params.worker_max, params.slot_backlog_target) == (1, 20, 1)
    assert params.scaling_control == "direct"
    assert params.worker_concurrency == 3  # t3.medium: 2 vCPUs, 4 GiB
    assert params.warm_pool_size == 0
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
        ({"backlog_target": "5"}, "backlog_target is no longer read: use slot_backlog_target"),
        ({"scaling_control": "keda"}, "scaling_control"),
        ({"worker_min": "0", "scaling_control": "tracking"},
         "worker_min=0 needs scaling_control=direct"),
        ({"slot_backlog_target": "0"}, "slot_backlog_target"),
        ({"warm_pool_size": "21"}, "warm_pool_size=21 must be between 0 and 20"),
        ({"worker_instance_type": "x2gd.metal"}, "worker_concurrency=auto cannot size"),
        ({"worker_concurrency": "0"}, "worker_concurrency=0 must be between 1 and 256"),
    ],
)
def test_bad_context_names_the_key(context: dict[str, Any], mentions: str) -> None:
    with pytest.raises(ContextError, match=mentions):
        _params(**context)


def test_direct_control_may_scale_to_zero_and_targets_may_be_fractions() -> None:
    params = _params(worker_min="0", slot_backlog_target="1.5", warm_pool_size="2",
                     worker_concurrency="6")
    assert (params.worker_min, params.slot_backlog_target) == (0, 1.5)
    assert (params.warm_pool_size, params.worker_concurrency) == (2, 6)


@pytest.mark.parametrize(
    ("instance_type", "slots"),
    [("t3.micro", 1), ("t3.small", 3), ("t3.medium", 3), ("t3.large", 3), ("t3a.xlarge", 6),
     ("c7i.large", 3), ("m7i.2xlarge", 12), ("r6i.xlarge", 6), ("m6g.medium", 1)],
)
def test_worker_concurrency_follows_the_instance_type(instance_type: str, slots: int) -> None:
    assert _params(worker_instance_type=instance_type).worker_concurrency == slots


def test_sizing_rule_is_the_runtimes_rule() -> None:
    from auto_lambda_infra import sizing

    assert (sizing.JOBS_PER_VCPU, sizing.MEMORY_PER_JOB_MB, sizing.RESERVED_MB) == (
        capacity.JOBS_PER_VCPU, capacity.MEMORY_PER_JOB_MB, capacity.RESERVED_MB)
    for vcpus in (1, 2, 4, 8, 96):
        for memory_mb in (0, 512, 1024, 2048, 4096, 16384, 393216):
            assert sizing.concurrency_for(vcpus, memory_mb) == capacity.concurrency_for(
                vcpus, memory_mb)


def test_teams_are_checked_like_the_worker_reads_them() -> None:
    from auto_lambda_infra.params import ContextError, Params

    ok = Params.from_context(lambda key: {"teams": "payments, search,payments"}.get(key))
    assert ok.teams == ("payments", "search")
    for bad in ("data-eng", "Payments", "default"):
        with pytest.raises(ContextError, match="teams"):
            Params.from_context(lambda key, bad=bad: {"teams": bad}.get(key))
