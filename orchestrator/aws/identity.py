"""The STS door: who the caller is (``auto-lambda rollback`` records it with the job)."""

from __future__ import annotations

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient


class Identity:
    def __init__(self, client: BotoClient) -> None:
        self._sts = client

    def caller_arn(self) -> str:
        """The ARN of the credentials in use (GetCallerIdentity needs no permission)."""
        with aws_call("sts.get_caller_identity"):
            return str(self._sts.get_caller_identity()["Arn"])
