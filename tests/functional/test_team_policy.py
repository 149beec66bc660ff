"""The team's policy on the pipeline: a manifest it refuses fails at unpack with its
code, and nothing is built or deployed."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import HELLO_APP, Pipeline, make_zip

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::auto-lambda-payments-data/*"}]})
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:payments-common:3"


# With no operator policy every team has the safe defaults: no public URLs, no VPC
# profiles, no layers, no services for its role; and a team's secrets are its own.
@pytest.mark.parametrize(("extra", "code"), [
    ("[[triggers]]\ntype = 'url'\nauth = 'none'\n", "PublicUrlNotAllowed"),
    ("[secrets]\nTOKEN = 'ssm:/search/token'\n", "ForbiddenSecret"),
    ("[permissions]\npolicy_file = 'policy.json'\n", "PermissionsOutsideBoundary"),
    ("", "VpcProfileUnknown"),
    ("", "LayerNotAllowed"),
])
def test_a_refused_manifest_fails_before_anything_is_deployed(pipeline: Pipeline, extra: str,
                                                              code: str) -> None:
    app = dict(HELLO_APP, **{"policy.json": POLICY})
    function_keys = {"VpcProfileUnknown": "vpc = 'private'\n",
                     "LayerNotAllowed": f"layers = ['{LAYER}']\n"}.get(code, "")
    app["auto-lambda.toml"] = HELLO_APP["auto-lambda.toml"].replace(
        "[function]\n", "[function]\n" + function_keys) + extra
    pipeline.upload("payments/hello.zip", make_zip(app))
    (job,) = [r for r in pipeline.drain() if r.key == "payments/hello.zip"]
    assert job.state == "failed" and job.error is not None
    assert job.error["code"] == code
    states = [event.get("state") for event in job.history]
    assert "fetched" in states, states
    assert "built" not in states and "deployed" not in states
    assert pipeline.aws.lambda_.list_functions()["Functions"] == []
