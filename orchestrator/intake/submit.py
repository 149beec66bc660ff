"""Upload an app zip to the incoming bucket (what teams do; the demo does it too)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.aws.facade import Aws, aws_call, s3_version_etag
from orchestrator.errors import AutoLambdaError
from orchestrator.intake.events import ObjectRef


def submit_zip(aws: Aws, zip_path: Path, name: str | None = None) -> ObjectRef:
    key = name or zip_path.name
    if not key.endswith(".zip"):
        raise AutoLambdaError(f"object name {key!r} does not end in .zip", code="BadName",
                              hint="the bucket notifies the queue for .zip objects only")
    bucket = aws.settings.incoming_bucket
    with aws_call(f"s3.put_object({key})"), zip_path.open("rb") as body:
        resp = aws.s3.put_object(Bucket=bucket, Key=key, Body=body,
                                 ContentType="application/zip")
    version_id, etag = s3_version_etag(resp)
    return ObjectRef(bucket=bucket, key=key, version_id=version_id, etag=etag)
