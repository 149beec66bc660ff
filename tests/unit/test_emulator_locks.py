"""The emulator answers DynamoDB requests one at a time; other services are not held."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from auto_lambda_dev.emulator_locks import serialize_tables

TABLE = {"TableName": "t", "BillingMode": "PAY_PER_REQUEST",
         "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}


@pytest.fixture
def held(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[threading.Event, threading.Event]]:
    """A GetItem that stays inside moto until released."""
    entered, release = threading.Event(), threading.Event()
    original = DynamoDBBackend.get_item

    def get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(30)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", get_item)
    assert serialize_tables()
    assert serialize_tables()  # a second call changes nothing
    with mock_aws():
        boto3.client("dynamodb").create_table(**TABLE)
        yield entered, release
        release.set()


def _in_thread(fn: Any) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        fn()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_a_table_request_waits_for_the_one_inside(
        held: tuple[threading.Event, threading.Event]) -> None:
    entered, release = held
    db = boto3.client("dynamodb")
    reader, _ = _in_thread(lambda: db.get_item(TableName="t", Key={"k": {"S": "a"}}))
    assert entered.wait(30)
    writer, wrote = _in_thread(lambda: db.put_item(TableName="t", Item={"k": {"S": "a"}}))
    # the put cannot enter while the get is inside; other services are not held
    boto3.client("sqs").create_queue(QueueName="q")
    assert not wrote.is_set()
    release.set()
    reader.join(30)
    writer.join(30)
    assert wrote.is_set()
    assert db.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
