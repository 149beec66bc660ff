"""ARNs from a manifest or the operator's policy are parsed into their parts, or refused
with ArnInvalid naming the key."""

from __future__ import annotations

import pytest

from orchestrator.arn import Arn, parse_arn, parse_layer_arn, parse_queue_arn
from orchestrator.errors import ManifestError

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:common:3"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:auto-lambda-payments-in"


def test_parts() -> None:
    assert parse_arn(LAYER, "k") == Arn("aws", "lambda", "us-east-1", "123456789012",
                                        "layer:common:3")
    assert str(parse_arn(LAYER, "k")) == LAYER
    s3 = parse_arn("arn:aws:s3:::bucket/key/*", "k", wildcards=True)
    assert (s3.service, s3.region, s3.account, s3.resource) == ("s3", "", "", "bucket/key/*")
    assert parse_layer_arn(LAYER, "k").resource == "layer:common:3"
    assert parse_queue_arn(QUEUE, "k").resource == "auto-lambda-payments-in"
    assert parse_queue_arn(QUEUE + ".fifo", "k").resource.endswith(".fifo")
    assert parse_arn("arn:aws-cn:s3:::b", "k").partition == "aws-cn"


@pytest.mark.parametrize("text", [
    "", "arn", "arn:aws", "arn:aws:s3", "nope:aws:s3:::b", "arn:aws:s3:::",
    "arn:azure:s3:::b", "arn:aws:S3:::b", "arn:aws:s3:us-east:123456789012:b",
    "arn:aws:s3:*:123456789012:b", "arn:aws:s3::12345:b", "arn:aws:s3::*:b",
    "arn:aws:s3:::b c", "arn:aws:s3:::b\n", "arn:aws:s3:::b*", "arn:aws:s3:::" + "b" * 2100,
])
def test_malformed_arns(text: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_arn(text, "[function].layers[0]")
    assert info.value.code == "ArnInvalid" and "[function].layers[0]" in str(info.value)


@pytest.mark.parametrize("text", [
    QUEUE, "arn:aws:lambda:us-east-1:123456789012:function:f",
    "arn:aws:lambda:us-east-1:123456789012:layer:common",
    "arn:aws:lambda:us-east-1:123456789012:layer:common:0",
    "arn:aws:lambda::123456789012:layer:common:1", "arn:aws:lambda:us-east-1::layer:c:1", 5,
])
def test_not_a_layer(text: object) -> None:
    with pytest.raises(ManifestError) as info:
        parse_layer_arn(text, "k")
    assert info.value.code == "ArnInvalid"


@pytest.mark.parametrize("text", [
    LAYER, "arn:aws:sqs:us-east-1:123456789012:a/b", "arn:aws:sqs::123456789012:q",
    "arn:aws:sqs:us-east-1:123456789012:" + "q" * 81,
])
def test_not_a_queue(text: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_queue_arn(text, "k")
    assert info.value.code == "ArnInvalid"
