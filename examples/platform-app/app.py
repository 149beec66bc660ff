"""A worker app: invoked through its URL or HTTP API, on a schedule and from an SQS
queue; the platform gives it its database address and API key as environment variables
from the secrets the manifest names."""

import json
import os


def _configured():
    return bool(os.environ.get("DB_URL") and os.environ.get("API_KEY"))


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    http = (event.get("requestContext") or {}).get("http")
    if http:  # a function URL or the HTTP API (payload format 2.0)
        answer = {"app": "platform-app", "method": http.get("method"),
                  "path": event.get("rawPath", "/"), "configured": _configured()}
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps(answer)}
    records = event.get("Records") or []
    return {
        "source": "sqs" if records else event.get("source", "direct"),
        "records": len(records),
        "configured": _configured(),
    }
