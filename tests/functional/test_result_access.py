"""A team reads its own result objects and no other team's: the results are laid out per
team prefix, so the per-team read policy of the CDK stack (GetObject on `<team>/*`,
tests/cdk/test_cdk_feedback.py) is all it takes. The emulator enforces IAM here."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin

from orchestrator.aws.errors import AwsError
from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.feedback.publish import Publisher
from orchestrator.feedback.waiting import Target, find_result
from tests.functional.test_webhooks import _result

ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _user(iam: object, name: str, policy: str) -> boto3.session.Session:
    iam.create_user(UserName=name)  # type: ignore[attr-defined]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)  # type: ignore[attr-defined]
    key = iam.create_access_key(UserName=name)["AccessKey"]  # type: ignore[attr-defined]
    return boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                 aws_secret_access_key=key["SecretAccessKey"],
                                 region_name="us-east-1")


def _team_policy(bucket: str, team: str) -> str:
    # what infra/cdk/auto_lambda_infra/feedback.py grants each team's upload role
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/{team}/*"}]})


@pytest.fixture
def sessions(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Aws]]:
    for key in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings()
    # moto's own switch (its set_initial_no_auth_action_count, as a fixture): the first
    # three calls make the admin user; every later call is checked against IAM
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 3)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        admin = Aws(settings, session=_user(iam, "admin", ADMIN))
        admin.client("s3").create_bucket(Bucket=settings.results_bucket)
        admin.client("events").create_event_bus(Name=settings.event_bus_name)
        for team in ("alpha", "beta"):
            Publisher(admin).job_ended(_result(team))
        iam_admin = admin.client("iam")
        yield {"worker": admin, **{
            team: Aws(settings, session=_user(iam_admin, f"upload-{team}",
                                              _team_policy(settings.results_bucket, team)))
            for team in ("alpha", "beta")}}


def test_a_team_reads_its_result_and_not_another_teams(sessions: dict[str, Aws]) -> None:
    alpha, beta = sessions["alpha"], sessions["beta"]
    mine = find_result(alpha, Target("alpha/hello.zip", "v1"))
    assert mine is not None and mine["team"] == "alpha"
    with pytest.raises(AwsError) as refused:
        find_result(alpha, Target("beta/hello.zip", "v1"))
    assert refused.value.code == "AwsAccessDenied"
    assert find_result(beta, Target("beta/hello.zip", "v1")) is not None
