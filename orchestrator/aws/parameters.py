"""The SSM Parameter Store door: secrets the operator names by reference (a webhook's
signing secret), read with decryption. Decides nothing about what a value is for."""

from __future__ import annotations

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient


class Parameters:
    def __init__(self, client: BotoClient) -> None:
        self._ssm = client

    def secret(self, name: str) -> str | None:
        """The decrypted value of parameter ``name``; None when it does not exist."""
        try:
            with aws_call(f"ssm.get_parameter({name})"):
                resp = self._ssm.get_parameter(Name=name, WithDecryption=True)
        except AwsError as exc:
            if exc.aws_code in {"ParameterNotFound", "ParameterVersionNotFound"}:
                return None
            raise
        return str(resp["Parameter"]["Value"])
