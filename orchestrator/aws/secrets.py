"""The SSM Parameter Store and Secrets Manager door: reading one referenced secret's
value. Used only by local verification, which hands the values to the jailed run (the
deployed function reads its own with its own role); a value read here is returned to
the caller and never logged. A missing parameter or secret is ``None``."""

from __future__ import annotations

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient

_MISSING = frozenset({"ParameterNotFound", "ResourceNotFoundException"})


class Secrets:
    def __init__(self, ssm: BotoClient, secretsmanager: BotoClient) -> None:
        self._ssm = ssm
        self._sm = secretsmanager

    def parameter(self, path: str) -> str | None:
        """The (decrypted) value of an SSM parameter; None when there is none."""
        try:
            with aws_call(f"ssm.get_parameter({path})"):
                answer = self._ssm.get_parameter(Name=path, WithDecryption=True)
        except AwsError as exc:
            if exc.aws_code in _MISSING:
                return None
            raise
        return str(answer["Parameter"]["Value"])

    def secret(self, name: str) -> str | None:
        """A Secrets Manager secret's text; None when there is none or it holds only
        binary data."""
        try:
            with aws_call(f"secretsmanager.get_secret_value({name})"):
                answer = self._sm.get_secret_value(SecretId=name)
        except AwsError as exc:
            if exc.aws_code in _MISSING:
                return None
            raise
        value = answer.get("SecretString")
        return None if value is None else str(value)
