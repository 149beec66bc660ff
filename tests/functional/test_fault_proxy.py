"""The fault proxy in front of a moto server: it names each request's operation, passes
everything through with an empty plan, and breaks exactly what the plan says: before
the service sees a request, after it took effect (a 500, or a reset), or late."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from auto_lambda_dev.emulator import LocalEndpoint, start_server
from auto_lambda_dev.faultproxy import CONTROL_PATH, FaultProxy

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                    connect_timeout=5, read_timeout=30)


@pytest.fixture
def endpoint(aws_env: None) -> Iterator[LocalEndpoint]:
    ep = start_server(0)
    ep.reset()
    yield ep
    ep.reset()
    ep.stop()


@pytest.fixture
def proxy(endpoint: LocalEndpoint) -> Iterator[FaultProxy]:
    slept: list[float] = []
    with FaultProxy(endpoint.url, sleep=slept.append) as running:
        running.slept = slept  # type: ignore[attr-defined]
        yield running


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, config=NO_RETRIES)


def test_an_empty_plan_passes_every_protocol_through_and_names_each_operation(
        proxy: FaultProxy) -> None:
    s3 = client(proxy.url, "s3")
    s3.create_bucket(Bucket="proxied")
    s3.put_object(Bucket="proxied", Key="a b+c.zip", Body=b"zip" * 1000)
    assert s3.get_object(Bucket="proxied", Key="a b+c.zip")["Body"].read() == b"zip" * 1000
    sqs = client(proxy.url, "sqs")
    url = sqs.create_queue(QueueName="proxied")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    client(proxy.url, "dynamodb").list_tables()
    client(proxy.url, "iam").list_roles()
    client(proxy.url, "cloudwatch").put_metric_data(
        Namespace="N", MetricData=[{"MetricName": "m", "Value": 1.0}])
    seen = proxy.stats()["operations"]
    assert set(seen) >= {"s3.CreateBucket", "s3.PutObject", "s3.GetObject",
                         "sqs.CreateQueue", "sqs.SendMessage", "dynamodb.ListTables",
                         "iam.ListRoles", "cloudwatch.PutMetricData"}
    assert proxy.stats()["fired"] == {}


def test_before_never_reaches_the_service(proxy: FaultProxy, endpoint: LocalEndpoint) -> None:
    proxy.set_plan("before=100%@CreateQueue#1")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(proxy.url, "sqs").create_queue(QueueName="never")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client(endpoint.url, "sqs").list_queues().get("QueueUrls", []) == []


def test_after_takes_effect_and_loses_the_answer(proxy: FaultProxy,
                                                 endpoint: LocalEndpoint) -> None:
    proxy.set_plan("after=100%@CreateQueue#1")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(proxy.url, "sqs").create_queue(QueueName="landed")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "took effect" in str(info.value)
    urls = client(endpoint.url, "sqs").list_queues()["QueueUrls"]
    assert [u.rsplit("/", 1)[-1] for u in urls] == ["landed"]
    assert proxy.stats()["fired"] == {"after": {"sqs.CreateQueue": 1}}


def test_reset_takes_effect_and_drops_the_connection(proxy: FaultProxy,
                                                     endpoint: LocalEndpoint) -> None:
    proxy.set_plan("reset=100%@CreateBucket#1")
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client(proxy.url, "s3").create_bucket(Bucket="reset-but-made")
    assert client(endpoint.url, "s3").head_bucket(Bucket="reset-but-made")
    # the next request on a new connection goes through
    client(proxy.url, "s3").head_bucket(Bucket="reset-but-made")


def test_delay_waits_with_the_injected_sleep(proxy: FaultProxy) -> None:
    proxy.set_plan("delay=100%:2.5@ListQueues#1")
    client(proxy.url, "sqs").list_queues()
    client(proxy.url, "sqs").list_queues()
    assert proxy.slept == [2.5]  # type: ignore[attr-defined]


def test_rest_operations_are_named_from_the_service_model(proxy: FaultProxy) -> None:
    s3 = client(proxy.url, "s3")
    s3.create_bucket(Bucket="named")
    s3.put_object(Bucket="named", Key="k", Body=b"x")
    s3.copy_object(Bucket="named", Key="k2", CopySource={"Bucket": "named", "Key": "k"})
    s3.head_object(Bucket="named", Key="k2")
    s3.list_objects_v2(Bucket="named")
    s3.delete_object(Bucket="named", Key="k2")
    assert {"s3.PutObject", "s3.CopyObject", "s3.HeadObject", "s3.ListObjectsV2",
            "s3.DeleteObject"} <= set(proxy.stats()["operations"])


def test_the_control_path_reports_and_replaces_the_plan(proxy: FaultProxy) -> None:
    request = urllib.request.Request(f"{proxy.url}{CONTROL_PATH}", method="POST",
                                     data=b"after=50%,seed=3")
    with urllib.request.urlopen(request, timeout=10) as resp:
        stats = json.loads(resp.read())
    assert stats["plan"] == "after=0.5,seed=3"
    bad = urllib.request.Request(f"{proxy.url}{CONTROL_PATH}", method="POST", data=b"zap=1")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad, timeout=10)
    assert info.value.code == 400 and "unknown kind" in info.value.read().decode()


def test_a_request_cut_short_by_its_client_is_never_sent_on(proxy: FaultProxy) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"X-Amz-Target: DynamoDB_20120810.PutItem\r\n\r\n{\"Table")
        sock.shutdown(socket.SHUT_WR)  # the client dies mid-body
        assert sock.recv(100) == b""   # no answer: the proxy just closes
    assert proxy.stats()["requests"] == 0
