"""The STS door: who the caller is (``GetCallerIdentity``), for the records of actions a
person takes (``replay``, ``rollback``). Needs no permission; decides nothing."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient


@dataclass(frozen=True)
class Caller:
    arn: str
    account: str
    user_id: str


class Identity:
    def __init__(self, client: BotoClient) -> None:
        self._sts = client

    def caller(self) -> Caller:
        """The ARN, account and user id of these credentials (an ``AwsError`` when the
        credentials are missing or refused)."""
        with aws_call("sts.get_caller_identity"):
            resp = self._sts.get_caller_identity()
        return Caller(str(resp.get("Arn", "")), str(resp.get("Account", "")),
                      str(resp.get("UserId", "")))

    def caller_arn(self) -> str:
        """The ARN of the credentials in use."""
        return self.caller().arn
