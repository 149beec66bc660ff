"""The IAM door: the one IAM read the pipeline makes (the functions' execution role).
Creating roles for the local stack is ``orchestrator.aws.resources``."""

from __future__ import annotations

from orchestrator.aws.errors import aws_call
from orchestrator.aws.types import BotoClient


class Roles:
    def __init__(self, client: BotoClient) -> None:
        self._iam = client

    def arn(self, name: str) -> str:
        """The ARN of role ``name``."""
        with aws_call(f"iam.get_role({name})"):
            return str(self._iam.get_role(RoleName=name)["Role"]["Arn"])
