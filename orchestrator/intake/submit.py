"""Upload an app zip to the incoming bucket (what teams do; the demo does it too)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.aws.facade import Aws
from orchestrator.codes import Code
from orchestrator.errors import AutoLambdaError
from orchestrator.intake.events import ObjectRef


def submit_zip(aws: Aws, zip_path: Path, name: str | None = None) -> ObjectRef:
    key = name or zip_path.name
    if not key.endswith(".zip"):
        raise AutoLambdaError(f"object name {key!r} does not end in .zip", code=Code.BadName,
                              hint="the bucket notifies the queue for .zip objects only")
    bucket = aws.settings.incoming_bucket
    with zip_path.open("rb") as body:
        head = aws.objects.put(bucket, key, body, content_type="application/zip")
    return ObjectRef(bucket=bucket, key=key, version_id=head.version_id, etag=head.etag)
