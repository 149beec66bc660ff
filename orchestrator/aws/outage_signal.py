"""The fleet's "paused for an outage" signal, carried by one CloudWatch metric.

A worker whose circuit breakers say a service the pipeline needs is down takes no new
messages (``worker/loop.py``); while it waits it reports so here, at most once every
``REPORT_SECONDS``: ``PausedWorkers`` = 1 in namespace ``AutoLambda`` with dimension
``QueueName=<prefix>-jobs``. The checker reads the sum over the last ``WINDOW_SECONDS``
and turns it into a number of workers (each paused worker reports about
``WINDOW_SECONDS / REPORT_SECONDS`` times per window). CloudWatch is not one of the
services the pipeline waits for, so the signal still flows while they are down. Nothing
is sent while no worker waits, so the signal costs nothing in normal times.

This module only writes and reads the signal; what the checker does with it is
``checker.metric``'s decision.
"""

from __future__ import annotations

from orchestrator.aws.metrics import Dimension, Metrics, metric_query
from orchestrator.config import METRIC_NAMESPACE

PAUSED_WORKERS = "PausedWorkers"
REPORT_SECONDS = 10.0
WINDOW_SECONDS = 30


def _dimensions(queue_name: str) -> list[Dimension]:
    return [{"Name": "QueueName", "Value": queue_name}]


def report_paused(metrics: Metrics, queue_name: str, now: float) -> None:
    """One worker says: I am waiting for a service to come back."""
    metrics.put(METRIC_NAMESPACE, [{
        "MetricName": PAUSED_WORKERS, "Dimensions": _dimensions(queue_name),
        "Timestamp": now, "Value": 1.0, "Unit": "Count"}])


def paused_workers(metrics: Metrics, queue_name: str, now: float) -> float:
    """About how many workers reported a pause in the last ``WINDOW_SECONDS``."""
    query = metric_query("paused", METRIC_NAMESPACE, PAUSED_WORKERS,
                         _dimensions(queue_name), period=WINDOW_SECONDS, stat="Sum")
    series = metrics.get([query], now - WINDOW_SECONDS, now + 1).get("paused", [])
    reports = sum(value for _, value in series)
    return reports * REPORT_SECONDS / WINDOW_SECONDS
