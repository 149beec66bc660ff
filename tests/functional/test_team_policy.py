"""The team's policy on the pipeline: a manifest it refuses fails at unpack with its
code, and nothing is built or deployed."""

from __future__ import annotations

import pytest

from tests.functional.conftest import HELLO_APP, Pipeline, make_zip


@pytest.mark.parametrize(("extra", "code"), [
    ("[[triggers]]\ntype = 'url'\nauth = 'none'\n", "PublicUrlNotAllowed"),
    ("[secrets]\nTOKEN = 'ssm:/search/token'\n", "ForbiddenSecret"),
])
def test_a_refused_manifest_fails_before_anything_is_deployed(pipeline: Pipeline, extra: str,
                                                              code: str) -> None:
    app = dict(HELLO_APP)
    app["auto-lambda.toml"] = HELLO_APP["auto-lambda.toml"] + extra
    pipeline.upload("payments/hello.zip", make_zip(app))
    (job,) = [r for r in pipeline.drain() if r.key == "payments/hello.zip"]
    assert job.state == "failed" and job.error is not None
    assert job.error["code"] == code
    states = [event.get("state") for event in job.history]
    assert "fetched" in states, states
    assert "built" not in states and "deployed" not in states
    assert pipeline.aws.lambda_.list_functions()["Functions"] == []
