"""What the jobs table knows about an app's life, for the deletion and rollback jobs:
which function an upload key became, and which of its versions verified.

A deleted zip names only its key; the function it became is the one its newest
deployment job recorded (the manifest may name the app differently from the zip), else
the name the zip alone gives. A rollback may move ``live`` only to a version a deployment
job verified: the versions come from the verified jobs of that function, each with the
code hash it verified (a function deleted and made again numbers its versions anew, and
the hash tells an old verdict from a new version). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore
from orchestrator.steps.unpack.manifest import app_name_from_zip
from orchestrator.tenancy import function_name, team_of_key


@dataclass(frozen=True)
class VerifiedVersion:
    version: int
    code_sha256: str | None
    job_id: str
    finished_at: float | None


def name_of_arn(arn: str) -> str:
    """The function name in a (qualified or unqualified) function ARN, or the text itself."""
    if ":function:" not in arn:
        return arn
    return arn.split(":function:", 1)[1].split(":", 1)[0]


def function_for_key(store: JobStore, prefix: str, bucket: str, key: str) -> str:
    """The function the upload at ``bucket``/``key`` became (see the module docstring).
    ``ManifestError`` (TeamInvalid, FunctionNameTooLong) when the key names none."""
    newest: tuple[float, str] | None = None
    scan = {"FilterExpression": "#b = :b AND #k = :k AND attribute_exists(function_arn)",
            "ExpressionAttributeNames": {"#b": "bucket", "#k": "key"},
            "ExpressionAttributeValues": {":b": {"S": bucket}, ":k": {"S": key}},
            "ProjectionExpression": "function_arn, created_at"}
    for items in store.db.scan("dynamodb.scan(jobs of one key)", **scan):
        for item in items:
            arn = item.get("function_arn", {}).get("S")
            created = float(item.get("created_at", {}).get("N", 0))
            if arn and (newest is None or created > newest[0]):
                newest = (created, arn)
    if newest is not None:
        return name_of_arn(newest[1])
    return function_name(prefix, team_of_key(key), app_name_from_zip(key))


def verified_versions(store: JobStore, function: str) -> list[VerifiedVersion]:
    """Every version of ``function`` a deployment job verified, newest version first."""
    out: dict[int, VerifiedVersion] = {}
    for rec in store.list(state="verified"):
        version = _verified_version(rec, function)
        if version is not None and version.version not in out:
            out[version.version] = version
    return [out[v] for v in sorted(out, reverse=True)]


def _verified_version(rec: JobRecord, function: str) -> VerifiedVersion | None:
    if rec.workflow not in ("deployment", "", None) or not rec.function_arn:
        return None
    if name_of_arn(rec.function_arn) != function or not rec.published_version:
        return None
    if not rec.published_version.isdigit():
        return None
    sha = (rec.artifact or {}).get("code_sha256") or None
    return VerifiedVersion(int(rec.published_version), str(sha) if sha else None,
                           rec.job_id, rec.finished_at)
