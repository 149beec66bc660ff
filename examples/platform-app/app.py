"""A worker app: invoked through its URL or HTTP API, on a schedule and from an SQS
queue; the platform gives it its database address and API key as environment variables
from the secrets the manifest names."""

import os


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    records = event.get("Records") or []
    return {
        "source": "sqs" if records else event.get("source", "direct"),
        "records": len(records),
        "configured": bool(os.environ.get("DB_URL") and os.environ.get("API_KEY")),
    }
