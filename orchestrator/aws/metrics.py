"""The CloudWatch door: publishing the checker's metrics and reading series back.

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

__all__ = ["Dimension", "MetricDatum", "MetricQuery", "Metrics", "Series", "metric_query"]

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
