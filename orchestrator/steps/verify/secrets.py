"""The values of an app's ``[secrets]`` for the local verify run.

On AWS the function reads its own secrets with its own role (the shim,
``orchestrator.steps.secrets``). Locally the run sits in a jail without network, so the
worker reads each referenced value from the emulator (``aws.secrets``) and the runner
hands it to the jailed process on its standard input, beside the event; the shim finds
it set and reads nothing. The values live only in memory: never in the job record, a
log line, an error message or a file.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.aws.facade import Aws
from orchestrator.errors import SecretMissing
from orchestrator.steps.unpack.platform import SecretRef


def resolve_for_local_run(aws: Aws, secrets: Iterable[SecretRef]) -> dict[str, str]:
    """Name -> value of every secret referenced; ``SecretMissing`` naming the reference
    (never a value) when one does not exist."""
    values: dict[str, str] = {}
    for ref in secrets:
        value = (aws.secrets.parameter(ref.path) if ref.store == "ssm"
                 else aws.secrets.secret(ref.path))
        if value is None:
            raise SecretMissing(
                f"[secrets].{ref.name} = {ref.reference!r}: no such "
                + ("parameter" if ref.store == "ssm" else "secret (or it holds no text)"),
                hint="create it where the function runs (locally: in the emulator, e.g. "
                     "aws ssm put-parameter --type SecureString ...), then replay the job")
        values[ref.name] = value
    return values
