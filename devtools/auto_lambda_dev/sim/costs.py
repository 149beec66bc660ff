"""What each policy costs: worker instance-hours plus the control loop itself.

Prices are assumptions (us-east-1, on-demand, Linux, as published when this was
written) and can be overridden: worker t3.medium $0.0416/h (the CDK stack's default
type), its 30 GB gp3 root volume $0.08 per GB-month (billed while the instance runs and
while it waits stopped in a warm pool), checker host t3.micro $0.0104/h, PutMetricData
$0.01 per 1,000 requests, custom metrics $0.30 per metric-month, alarms $0.10 per
metric-month (standard) or $0.30 (high resolution, period < 60 s), SQS $0.40 per million
requests; a month is 730 h. Pure arithmetic; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from auto_lambda_dev.sim.policies import PolicySpec

HOURS_PER_MONTH = 730.0
CHECKER_METRICS = 9  # what checker.metric publishes each tick (one request)


@dataclass(frozen=True)
class Prices:
    instance_per_hour: float = 0.0416
    volume_gb: float = 30.0
    ebs_gb_month: float = 0.08
    checker_per_hour: float = 0.0104
    checker_host: str = "dedicated"  # or "shared": runs on a worker, costs no instance
    put_metric_per_1000: float = 0.01
    metric_month: float = 0.30
    alarm_standard_month: float = 0.10
    alarm_high_res_month: float = 0.30
    sqs_per_million: float = 0.40

    @property
    def volume_per_hour(self) -> float:
        """One worker's root volume, per hour (running or stopped)."""
        return self.volume_gb * self.ebs_gb_month / HOURS_PER_MONTH

    def workers(self, running_hours: float, stopped_hours: float) -> float:
        """Running instances with their volumes, plus stopped warm-pool volumes."""
        return (running_hours * (self.instance_per_hour + self.volume_per_hour)
                + stopped_hours * self.volume_per_hour)

    def warm_pool_per_month(self, size: int) -> float:
        """What ``size`` stopped warm-pool instances cost at rest for a month."""
        return size * self.volume_per_hour * HOURS_PER_MONTH


def control_cost_per_month(spec: PolicySpec, prices: Prices) -> dict[str, float]:
    """The monthly cost of a policy's control loop, itemised (dollars)."""
    seconds = HOURS_PER_MONTH * 3600
    host = prices.checker_per_hour * HOURS_PER_MONTH if prices.checker_host == "dedicated" else 0.0
    if spec.kind in ("fixed", "oracle"):
        return {}
    if spec.signal == "builtin":
        # Two alarms on metric math m1 / m2: each alarm bills both metrics.
        return {"alarms": 2 * 2 * prices.alarm_standard_month}
    polls = seconds / spec.interval
    sqs = polls * prices.sqs_per_million / 1e6
    if spec.kind == "keda":
        return {"poller host": host, "sqs requests": sqs}
    alarm_price = prices.alarm_high_res_month if spec.period < 60 else prices.alarm_standard_month
    return {
        "checker host": host,
        "put_metric_data": polls * prices.put_metric_per_1000 / 1000,
        "custom metrics": CHECKER_METRICS * prices.metric_month,
        "alarms": 2 * alarm_price,
        "sqs requests": sqs,
    }
