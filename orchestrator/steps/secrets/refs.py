"""Secrets by reference (docs/security.md, "Secrets"): what a function with a
``[secrets]`` table carries instead of values.

- the package holds the shim (``lambda_shim.py``, packaged as ``SHIM_FILE``), set as the
  function's handler (``SHIM_HANDLER``);
- the function's environment holds the references only: ``AUTO_LAMBDA_SECRETS`` (JSON,
  name -> ``ssm:/...`` or ``secretsmanager:...``) and ``AUTO_LAMBDA_HANDLER`` (the app's
  own handler, which the shim imports once the values are in ``os.environ``);
- the app's role may read exactly those parameters and secrets (``read_statements``).

No value is ever in the zip, the job record, the logs or Lambda's configuration: the
worker never reads one on AWS; locally, verify reads them from the emulator and hands
them to the jailed run only (``orchestrator.steps.verify``). Pure: no I/O.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.unpack.platform import SecretRef
from orchestrator.types import JsonObject

SHIM_MODULE = "_auto_lambda_secrets"
SHIM_FILE = f"{SHIM_MODULE}.py"
SHIM_HANDLER = f"{SHIM_MODULE}.handler"
SHIM_SOURCE = Path(__file__).with_name("lambda_shim.py")
SECRETS_VAR = "AUTO_LAMBDA_SECRETS"
HANDLER_VAR = "AUTO_LAMBDA_HANDLER"


def uses_shim(spec: AppSpec) -> bool:
    return bool(spec.secrets)


def function_handler(spec: AppSpec) -> str:
    """The handler Lambda calls: the shim when the app has secrets, else the app's own."""
    return SHIM_HANDLER if uses_shim(spec) else spec.handler


def function_environment(spec: AppSpec) -> dict[str, str]:
    """The function's environment variables: the manifest's, plus the references (never
    a value) and the app's handler when the shim runs first."""
    env = {str(k): str(v) for k, v in spec.environment.items()}
    if uses_shim(spec):
        env[SECRETS_VAR] = json.dumps({ref.name: ref.reference for ref in spec.secrets},
                                      separators=(",", ":"), sort_keys=True)
        env[HANDLER_VAR] = spec.handler
    return env


def secret_arn(ref: SecretRef, partition: str, region: str, account: str) -> str:
    """What IAM authorizes a read of ``ref`` against. A Secrets Manager ARN ends in six
    random characters AWS adds to the name, hence ``-??????``."""
    if ref.store == "ssm":
        return f"arn:{partition}:ssm:{region}:{account}:parameter/{ref.path.lstrip('/')}"
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{ref.path}-??????"


def read_statements(spec: AppSpec, partition: str, region: str, account: str
                    ) -> list[JsonObject]:
    """IAM statements letting the app's role read exactly its referenced secrets, and
    decrypt them only through the service that holds them (a customer-managed KMS key's
    own policy must still allow the account, as for any caller)."""
    ssm = [secret_arn(r, partition, region, account) for r in spec.secrets if r.store == "ssm"]
    sm = [secret_arn(r, partition, region, account) for r in spec.secrets
          if r.store == "secretsmanager"]
    out: list[JsonObject] = []
    if ssm:
        out.append({"Sid": "ReadOwnParameters", "Effect": "Allow",
                    "Action": ["ssm:GetParameter"], "Resource": ssm})
        out.append({"Sid": "DecryptOwnParameters", "Effect": "Allow",
                    "Action": ["kms:Decrypt"], "Resource": "*", "Condition": {
                        "StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": ssm}}})
    if sm:
        out.append({"Sid": "ReadOwnSecrets", "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"], "Resource": sm})
        out.append({"Sid": "DecryptOwnSecrets", "Effect": "Allow",
                    "Action": ["kms:Decrypt"], "Resource": "*", "Condition": {
                        "StringEquals": {"kms:ViaService":
                                         f"secretsmanager.{region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:SecretARN": sm}}})
    return out
