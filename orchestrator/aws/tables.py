"""The job tables' definitions: their keys, the jobs table's listing indexes, and the
requests that create them.

Two tables: the jobs table (one item per job: its summary and execution snapshot) and
the history table (one item per history event, keyed by the job id and the event's
sequence number, as Step Functions' paginated GetExecutionHistory), so a job's item
stays the same size however long its history grows.

One source for the layout: the job store (``orchestrator.jobs.store``) reads and writes
items by these names, the listing (``orchestrator.jobs.listing``) queries the indexes,
the local stack creates the tables from the ``create_*_request`` functions, and the CDK
stack declares the same keys and indexes (checked by its tests). Data only: no calls.

The listing indexes are all sorted by ``created_at`` and project only what a list row
shows (never the execution snapshot): ``by-state`` (hash ``state``), ``by-week`` (hash
``created_week``, whole weeks since the epoch, written with every item) and ``by-app``
(hash ``app_key``, ``<team>/<app>``, written once the job knows its app: one function's
jobs, for ``apps`` and for pruning its versions; it also projects ``deployed_version``,
the version a job's deploy step produced whether or not it verified).
"""

from __future__ import annotations

from orchestrator.types import JsonObject

JOB_KEY = "job_id"
# The history table: the job id, then the event's number (0 = the job's first event,
# counting on across restarts of the job).
HISTORY_KEY = "job_id"
HISTORY_SEQ = "seq"
STATE_INDEX = "by-state"
WEEK_INDEX = "by-week"
APP_INDEX = "by-app"
APP_KEY = "app_key"
WEEK_SECONDS = 7 * 24 * 3600
# What both listing indexes project besides their keys: everything a list row shows.
SUMMARY_ATTRIBUTES = ("app_name", "key", "status", "updated_at", "finished_at", "error",
                      "published_version", "redrive_count", "state", "created_week")
# What the by-app index adds: the version a failed job's deploy step published.
APP_ATTRIBUTES = (*SUMMARY_ATTRIBUTES, "deployed_version")


def app_key(team: str, app: str) -> str:
    """The ``by-app`` index's hash key of one app (one function of the fleet)."""
    return f"{team}/{app}"


def week_bucket(created_at: float) -> int:
    """The ``created_week`` of a job created at ``created_at`` (seconds since the epoch)."""
    return int(created_at // WEEK_SECONDS)


def listing_indexes() -> list[JsonObject]:
    """The GlobalSecondaryIndexes of the jobs table."""

    def index(name: str, hash_key: str, attributes: tuple[str, ...] = SUMMARY_ATTRIBUTES
              ) -> JsonObject:
        return {"IndexName": name,
                "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                              {"AttributeName": "created_at", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE",
                               "NonKeyAttributes": [a for a in attributes
                                                    if a != hash_key]}}

    return [index(STATE_INDEX, "state"), index(WEEK_INDEX, "created_week"),
            index(APP_INDEX, APP_KEY, APP_ATTRIBUTES)]


def job_key(job_id: str) -> dict[str, dict[str, str]]:
    """The item key of one job."""
    return {JOB_KEY: {"S": job_id}}


def create_table_request(table_name: str) -> JsonObject:
    """The CreateTable arguments for the jobs table (on-demand capacity, three indexes)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": JOB_KEY, "AttributeType": "S"},
                                 {"AttributeName": "state", "AttributeType": "S"},
                                 {"AttributeName": "created_week", "AttributeType": "N"},
                                 {"AttributeName": APP_KEY, "AttributeType": "S"},
                                 {"AttributeName": "created_at", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": JOB_KEY, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": listing_indexes(),
        "BillingMode": "PAY_PER_REQUEST",
    }


def history_key(job_id: str, seq: int) -> dict[str, dict[str, str]]:
    """The item key of one history event."""
    return {HISTORY_KEY: {"S": job_id}, HISTORY_SEQ: {"N": str(int(seq))}}


def create_history_table_request(table_name: str) -> JsonObject:
    """The CreateTable arguments for the history table (on-demand capacity)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": HISTORY_KEY, "AttributeType": "S"},
                                 {"AttributeName": HISTORY_SEQ, "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": HISTORY_KEY, "KeyType": "HASH"},
                      {"AttributeName": HISTORY_SEQ, "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def item_size(item: JsonObject) -> int:
    """An item's size as DynamoDB counts it against its 400 KB limit (attribute names
    plus values; numbers counted generously), in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: JsonObject) -> int:
    (kind, raw), = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw)) // 2 + 2
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in raw.items())
    if kind == "SS":
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(len(str(v)) // 2 + 2 for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    raise ValueError(f"unknown DynamoDB type {kind!r}")
