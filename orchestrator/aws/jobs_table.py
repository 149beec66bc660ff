"""The DynamoDB door of the job tables: every call on the jobs table and the history
table, the conditional writes and how a write whose answer was lost is settled.

Items are DynamoDB's wire form (``Item``); ``serialize_item``/``deserialize_item`` turn
plain values into it and back, so nothing outside this package touches boto3's types.
What an item means (a job record, its lease, its history tail) is
``orchestrator.jobs.record`` and ``orchestrator.jobs.store``; this module only knows
the attributes a conditional write names (``version``, ``write_id``, ``lease_owner``,
``lease_expires``, ``lease_message``), as powertools' DynamoDB persistence layer knows
its lock attributes and nothing else.

A write whose answer may be lost (a timeout or a 5xx after DynamoDB committed; botocore's
retry then meets its own write as a failed condition) carries a fresh ``write_id``. When
it fails with a conflict or an unknown outcome the item is read back, once, here:

    our write_id there             -> the write landed (its answer did not)
    the version we expected, there -> it did not land: send it again (budget allowing)
    anything else                  -> someone else wrote: ``VersionMoved`` with the item

Sends of one write share one budget with botocore's own retries
(``orchestrator.retries.JOB_WRITE``). No workflow decisions are made here.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from orchestrator.aws.errors import CONFLICT, AwsError, aws_call
from orchestrator.aws.lost_answers import outcome_unknown
from orchestrator.aws.tables import HISTORY_KEY, HISTORY_SEQ, JOB_KEY, history_key, job_key
from orchestrator.aws.types import BotoClient, Item, sends_per_call
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.retries import HISTORY_BATCH, JOB_WRITE, SendBudget, compute_backoff
from orchestrator.types import JsonObject

__all__ = ["Item", "JobsTable", "QueryPage", "VersionMoved", "deserialize_item",
           "serialize_item"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_CONDITION_FAILED = "ConditionalCheckFailedException"
# BatchWriteItem takes at most 25 puts; BatchGetItem at most 100 keys.
_BATCH_PUTS = 25
_BATCH_KEYS = 100

_ser = TypeSerializer()
_deser = TypeDeserializer()


def serialize_item(values: Mapping[str, object]) -> Item:
    """Plain values (str, int, Decimal, bool, lists, dicts) as a DynamoDB item."""
    return {k: _ser.serialize(v) for k, v in values.items()}


def deserialize_item(item: Item) -> dict[str, object]:
    """A DynamoDB item as plain values (numbers as Decimal)."""
    return {k: _deser.deserialize(v) for k, v in item.items()}


def _number(item: Item, name: str) -> int | None:
    value = item.get(name, {}).get("N")
    return None if value is None else int(Decimal(value))


def _string(item: Item, name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return None if value is None else str(value)


class VersionMoved(AutoLambdaError):
    """A conditional write found another writer's item (or none): ``current`` is what
    the table holds now."""

    code = Code.LeaseLost

    def __init__(self, message: str, current: Item | None) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class QueryPage:
    """One Query page: its items (none with ``Select=COUNT``), how many matched, and
    where the next page starts (None: this was the last)."""

    items: list[Item]
    count: int
    last_key: Item | None


class _Again(enum.Enum):
    """The read-back found the write not landed and its condition still holding."""

    RESEND = "resend"


RESEND = _Again.RESEND


class JobsTable:
    """The jobs table and its history table."""

    def __init__(self, client: BotoClient, table: str, history_table: str, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._db = client
        self.table = table
        self.history_table = history_table
        self.sleep = sleep
        self._per_call = sends_per_call(client)

    # ---- reads ----
    def get(self, job_id: str) -> Item | None:
        with aws_call(f"dynamodb.get_item({job_id})"):
            resp = self._db.get_item(TableName=self.table, Key=job_key(job_id),
                                     ConsistentRead=True)
        item = resp.get("Item")
        return dict(item) if item else None

    def get_many(self, job_ids: list[str]) -> list[Item]:
        """The items of ``job_ids`` (any order, missing ones left out), 100 keys a call."""
        found: list[Item] = []
        for start in range(0, len(job_ids), _BATCH_KEYS):
            keys = [job_key(j) for j in dict.fromkeys(job_ids[start:start + _BATCH_KEYS])]
            request: JsonObject = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                with aws_call("dynamodb.batch_get_item"):
                    resp = self._db.batch_get_item(RequestItems=request)
                found.extend(resp.get("Responses", {}).get(self.table, []))
                request = resp.get("UnprocessedKeys") or {}
        return found

    def query(self, index: str, **kwargs: object) -> QueryPage:
        """One Query page on one of the jobs table's indexes."""
        with aws_call(f"dynamodb.query({index})"):
            resp = self._db.query(TableName=self.table, IndexName=index, **kwargs)
        return QueryPage(list(resp.get("Items", [])), int(resp.get("Count", 0)),
                         resp.get("LastEvaluatedKey"))

    def scan(self, where: str = "dynamodb.scan", **kwargs: object) -> Iterator[list[Item]]:
        """The jobs table page by page (each page read when asked for, so a table of any
        size fits)."""
        pages = iter(self._db.get_paginator("scan").paginate(TableName=self.table, **kwargs))
        while True:
            with aws_call(where):
                page = next(pages, None)
            if page is None:
                return
            yield list(page.get("Items", []))

    def history_events(self, job_id: str, start: int, end: int, page_size: int | None
                       ) -> Iterator[list[JsonObject]]:
        """Events ``start`` to ``end - 1`` of a job, one page at a time, stopping at the
        first gap; the caller checks it got them all (``HistoryIncomplete``)."""
        kwargs: JsonObject = {
            "TableName": self.history_table, "ConsistentRead": True,
            "KeyConditionExpression": "#k = :k AND #s BETWEEN :a AND :b",
            "ExpressionAttributeNames": {"#k": HISTORY_KEY, "#s": HISTORY_SEQ},
            "ExpressionAttributeValues": {":k": {"S": job_id}, ":a": {"N": str(start)},
                                          ":b": {"N": str(end - 1)}}}
        if page_size:
            kwargs["PaginationConfig"] = {"PageSize": page_size}
        expected = start
        with aws_call(f"dynamodb.query(history of {job_id})"):
            for page in self._db.get_paginator("query").paginate(**kwargs):
                events = []
                for item in page.get("Items", []):
                    if int(item[HISTORY_SEQ]["N"]) != expected:
                        break
                    expected += 1
                    events.append(json.loads(item["event"]["S"]))
                if events:
                    yield events

    # ---- conditional writes of a job item ----
    def put_new(self, job_id: str, item: Item, write_id: str) -> bool:
        """Put ``item`` if the job has no item yet. True when ours is there (even if the
        answer was lost), False when another one already was (a duplicate delivery)."""
        where = f"dynamodb.put_item(new job {job_id})"

        def send() -> bool:
            with aws_call(where):
                self._db.put_item(TableName=self.table, Item=item,
                                  ConditionExpression=f"attribute_not_exists({JOB_KEY})")
            return True

        def settle(exc: AwsError) -> bool | _Again:
            current = self.get(job_id)
            if current is not None:
                landed = _string(current, "write_id") == write_id
                if landed:
                    log.info("job %s: created although the answer was lost (%s)", job_id,
                             exc.aws_code or exc.code)
                return landed
            if not outcome_unknown(exc):
                raise exc
            return RESEND

        return self._settled(where, send, settle, on_conflict=True)

    def put_replacing(self, job_id: str, item: Item, *, expected_version: int,
                      write_id: str) -> None:
        """Replace the item if it still has ``expected_version``; ``VersionMoved`` (with
        the item found) when another writer came between."""
        where = f"dynamodb.put_item({job_id})"

        def send() -> None:
            with aws_call(where):
                self._db.put_item(
                    TableName=self.table, Item=item, ConditionExpression="#v = :expected",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":expected": {"N": str(expected_version)}})

        def settle(exc: AwsError) -> _Again | None:
            current = self.get(job_id)
            if current is not None and _string(current, "write_id") == write_id:
                log.info("job %s: saved although the answer was lost (%s)", job_id,
                         exc.aws_code or exc.code)
                return None
            if current is None or _number(current, "version") != expected_version:
                raise VersionMoved(f"job {job_id}: version {expected_version} moved on",
                                   current) from exc
            # our version is still there: the write did not land; send it again
            log.info("job %s: save did not land (%s); sending it again", job_id,
                     exc.aws_code or exc.code)
            return RESEND

        self._settled(where, send, settle, on_conflict=True)

    def claim(self, job_id: str, owner: str, now: float, ttl: float,
              message_id: str | None) -> Item | None:
        """Take (or extend) the lease and bump the version; the new item, or None when
        another owner holds a live lease."""
        update = "SET lease_owner = :o, lease_expires = :e, #v = #v + :one"
        values: JsonObject = {":o": {"S": owner}, ":e": {"N": repr(now + ttl)},
                              ":now": {"N": repr(now)}, ":one": {"N": "1"}}
        if message_id:
            update += ", lease_message = :m"
            values[":m"] = {"S": message_id}
        else:
            update += " REMOVE lease_message"
        where = "dynamodb.update_item(claim)"

        def send() -> Item | None:
            try:
                with aws_call(where):
                    resp = self._db.update_item(
                        TableName=self.table, Key=job_key(job_id), UpdateExpression=update,
                        ConditionExpression=(
                            f"attribute_exists({JOB_KEY}) AND (attribute_not_exists("
                            "lease_owner) OR lease_owner = :o OR lease_expires < :now)"),
                        ExpressionAttributeNames={"#v": "version"},
                        ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
            except AwsError as exc:
                if exc.aws_code == _CONDITION_FAILED:
                    return None
                raise
            return dict(resp["Attributes"])

        def settle(exc: AwsError) -> Item | _Again | None:
            current = self.get(job_id)
            if current is not None and _string(current, "lease_owner") == owner:
                return current  # the claim landed; its answer did not
            return RESEND

        return self._settled(where, send, settle, on_conflict=False)

    def extend_lease(self, job_id: str, owner: str, expires: float) -> bool:
        """Push the lease's expiry if ``owner`` still holds it (no version bump). A
        repeat after a lost answer meets the same condition and succeeds."""
        return self._update_if(
            "dynamodb.update_item(extend lease)", job_id, "SET lease_expires = :e",
            "lease_owner = :o", {":o": {"S": owner}, ":e": {"N": repr(expires)}})

    def swap_lease_message(self, job_id: str, old: str, new: str) -> bool:
        """Make the lease name message ``new`` if it still names ``old`` (no version
        bump)."""
        return self._update_if(
            "dynamodb.update_item(lease message)", job_id, "SET lease_message = :new",
            "lease_message = :old OR lease_message = :new",
            {":old": {"S": old}, ":new": {"S": new}})

    def set_if_missing(self, job_id: str, name: str, value: int) -> bool:
        """Set number ``name`` on an existing item that lacks it. False when the item
        has it already (written meanwhile, or this very update's answer was lost) or is
        gone."""
        try:
            with aws_call(f"dynamodb.update_item({name})"):
                self._db.update_item(
                    TableName=self.table, Key=job_key(job_id), UpdateExpression="SET #w = :w",
                    ConditionExpression=f"attribute_exists({JOB_KEY}) AND "
                                        "attribute_not_exists(#w)",
                    ExpressionAttributeNames={"#w": name},
                    ExpressionAttributeValues={":w": {"N": str(value)}})
        except AwsError as exc:
            if exc.code != CONFLICT:
                raise
            return False
        return True

    def _update_if(self, where: str, job_id: str, update: str, condition: str,
                   values: JsonObject) -> bool:
        try:
            with aws_call(where):
                self._db.update_item(TableName=self.table, Key=job_key(job_id),
                                     UpdateExpression=update, ConditionExpression=condition,
                                     ExpressionAttributeValues=values)
        except AwsError as exc:
            if exc.aws_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def _settled(self, where: str, send: Callable[[], T],
                 settle: Callable[[AwsError], T | _Again],
                 *, on_conflict: bool, budget: SendBudget = JOB_WRITE) -> T:
        """``send()``; on an unknown outcome (or, with ``on_conflict``, a conflict)
        ``settle`` reads the item back and returns the write's result, raises, or asks
        for the write to be sent again (``RESEND``) while the budget allows."""
        sent = 0
        while True:
            try:
                return send()
            except AwsError as exc:
                sent += exc.sends if exc.sends is not None else self._per_call
                if not (outcome_unknown(exc) or (on_conflict and exc.code == CONFLICT)):
                    raise
                outcome = settle(exc)
                if not isinstance(outcome, _Again):
                    return outcome
                if not budget.may_send_again(sent, self._per_call):
                    raise
                log.debug("%s: sending again (%d sends so far)", where, sent)

    # ---- history ----
    def put_history(self, job_id: str, first: int, events: list[JsonObject]) -> None:
        """Put events numbered from ``first`` into the history table (repeatable: the
        same items whoever writes them, however often)."""
        puts = [{"PutRequest": {"Item": {
            **history_key(job_id, first + i),
            "event": {"S": json.dumps(event, separators=(",", ":"), default=str)}}}}
            for i, event in enumerate(events)]
        where = f"dynamodb.batch_write_item(history of {job_id})"
        budget = HISTORY_BATCH
        for start in range(0, len(puts), _BATCH_PUTS):
            todo = puts[start:start + _BATCH_PUTS]
            sent = attempt = 0
            while todo:
                attempt += 1
                try:
                    with aws_call(where):
                        resp = self._db.batch_write_item(RequestItems={self.history_table: todo})
                except AwsError as exc:
                    sent += exc.sends if exc.sends is not None else self._per_call
                    if not outcome_unknown(exc) or not budget.may_send_again(
                            sent, self._per_call):
                        raise
                    continue
                retried = (resp.get("ResponseMetadata") or {}).get("RetryAttempts")
                sent += 1 + (retried if isinstance(retried, int) else 0)
                todo = list((resp.get("UnprocessedItems") or {}).get(self.history_table, []))
                if not todo:
                    break
                if not budget.may_send_again(sent, self._per_call):
                    raise AutoLambdaError(
                        f"{where}: DynamoDB left {len(todo)} history events unwritten",
                        code=Code.AwsThrottled, hint="retried with backoff")
                if budget.backoff is not None:
                    self.sleep(compute_backoff(attempt, budget.backoff))
