"""The CloudWatch door: publishing the checker's metrics and reading series back, and
the alarms a rollout is gated by (creating auto-lambda's own, reading their states,
deleting them).

Timestamps cross this door as seconds since the epoch (floats), never datetimes; a
GetMetricData answer comes back as one sorted series per query id, all of its pages
read. Every failure leaves as an ``AwsError`` with its code. Decides nothing about what
a metric means (``checker.metric``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, TypedDict

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient

__all__ = ["AlarmSpec", "Dimension", "MetricDatum", "MetricQuery", "Metrics", "Series",
           "metric_query"]

# (time, value) points, oldest first.
Series = list[tuple[float, float]]


class Dimension(TypedDict):
    Name: str
    Value: str


class _Metric(TypedDict):
    Namespace: str
    MetricName: str
    Dimensions: list[Dimension]


class _MetricStat(TypedDict):
    Metric: _Metric
    Period: int
    Stat: str


class MetricQuery(TypedDict):
    """One of GetMetricData's MetricDataQueries."""

    Id: str
    ReturnData: bool
    MetricStat: _MetricStat


class MetricDatum(TypedDict):
    """One value for PutMetricData (times as seconds since the epoch)."""

    MetricName: str
    Dimensions: list[Dimension]
    Timestamp: float
    Value: float
    Unit: str


class AlarmSpec(TypedDict):
    """One metric alarm as auto-lambda creates it: ``Sum`` of ``metric`` over ``period``
    seconds at or above ``threshold`` goes to ALARM; no data is not breaching."""

    name: str
    namespace: str
    metric: str
    dimensions: list[Dimension]
    period: int
    threshold: float
    description: str


def metric_query(query_id: str, namespace: str, name: str, dimensions: list[Dimension], *,
                 period: int, stat: str) -> MetricQuery:
    return {"Id": query_id, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
        "Period": period, "Stat": stat}}


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class Metrics:
    """CloudWatch, one method per call auto-lambda makes."""

    def __init__(self, client: BotoClient) -> None:
        self._cw = client

    def put(self, namespace: str, data: Sequence[MetricDatum], *,
            storage_resolution: int = 1) -> None:
        """Publish ``data`` (high resolution by default: the checker ticks in seconds)."""
        wire = [{**d, "Timestamp": _when(d["Timestamp"]),
                 "StorageResolution": storage_resolution} for d in data]
        with aws_call("cloudwatch.put_metric_data"):
            self._cw.put_metric_data(Namespace=namespace, MetricData=wire)

    def get(self, queries: Sequence[MetricQuery], start: float, end: float, *,
            scan_by: Literal["TimestampAscending", "TimestampDescending"]
            = "TimestampAscending") -> dict[str, Series]:
        """Each query's points between ``start`` and ``end``, oldest first."""
        out: dict[str, Series] = {q["Id"]: [] for q in queries}
        token: str | None = None
        while True:
            kwargs: dict[str, object] = {
                "MetricDataQueries": list(queries), "StartTime": _when(start),
                "EndTime": _when(end), "ScanBy": scan_by}
            if token:
                kwargs["NextToken"] = token
            with aws_call("cloudwatch.get_metric_data"):
                resp = self._cw.get_metric_data(**kwargs)
            for result in resp.get("MetricDataResults", []):
                out.setdefault(str(result["Id"]), []).extend(
                    (stamp.timestamp(), float(value)) for stamp, value in
                    zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
            token = resp.get("NextToken")
            if not token:
                break
        for series in out.values():
            series.sort()
        return out

    # ---- alarms ----
    def put_alarm(self, alarm: AlarmSpec, *, tags: dict[str, str] | None = None) -> None:
        """Create or replace a metric alarm (PutMetricAlarm is an upsert: safe to repeat)."""
        kwargs: dict[str, object] = {
            "AlarmName": alarm["name"], "AlarmDescription": alarm["description"],
            "Namespace": alarm["namespace"], "MetricName": alarm["metric"],
            "Dimensions": list(alarm["dimensions"]), "Statistic": "Sum",
            "Period": alarm["period"], "EvaluationPeriods": 1,
            "Threshold": float(alarm["threshold"]),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching", "ActionsEnabled": False}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        with aws_call(f"cloudwatch.put_metric_alarm({alarm['name']})"):
            self._cw.put_metric_alarm(**kwargs)

    def alarm_states(self, names: Sequence[str]) -> dict[str, str]:
        """The state (``OK``, ``ALARM``, ``INSUFFICIENT_DATA``) of each named alarm that
        exists; an alarm missing from the answer does not exist."""
        out: dict[str, str] = {}
        wanted = list(dict.fromkeys(names))
        for first in range(0, len(wanted), 100):  # DescribeAlarms takes 100 names
            token: str | None = None
            while True:
                kwargs: dict[str, object] = {"AlarmNames": wanted[first:first + 100],
                                             "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
                if token:
                    kwargs["NextToken"] = token
                with aws_call("cloudwatch.describe_alarms"):
                    resp = self._cw.describe_alarms(**kwargs)
                for kind in ("MetricAlarms", "CompositeAlarms"):
                    for alarm in resp.get(kind, []):
                        out[str(alarm["AlarmName"])] = str(alarm["StateValue"])
                token = resp.get("NextToken")
                if not token:
                    break
        return out

    def delete_alarms(self, names: Sequence[str]) -> None:
        """Delete the named alarms (names that do not exist are ignored by CloudWatch)."""
        if names:
            with aws_call("cloudwatch.delete_alarms"):
                self._cw.delete_alarms(AlarmNames=list(names))
