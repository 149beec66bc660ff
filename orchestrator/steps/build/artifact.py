"""store_artifact: upload a built package to the artifacts bucket, content-addressed.

The key is ``artifacts/<sha256>.zip``: uploading the same bytes twice is a no-op (a
HEAD finds it), so retries and replays are idempotent. Returns where it is and the
CodeSha256 Lambda will report for it (base64 of the raw sha256 digest). Talks to S3
only through the Aws facade; decides nothing about deployment.
"""

from __future__ import annotations

import base64
from typing import Any

from orchestrator.aws.facade import aws_call, error_code
from orchestrator.steps.data import Artifact
from orchestrator.steps.build.package import BuildResult

SINGLE_PUT_LIMIT = 8 * 1024 * 1024  # boto3's multipart threshold


def code_sha256(sha256_hex: str) -> str:
    """Lambda's CodeSha256: base64 of the digest bytes, not of the hex string."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def artifact_key(sha256_hex: str) -> str:
    return f"artifacts/{sha256_hex}.zip"


def store_artifact(aws: Any, res: BuildResult) -> Artifact:
    bucket = aws.settings.artifacts_bucket
    key = artifact_key(res.sha256)
    exists = False
    with aws_call(f"s3.head_object({bucket}/{key})"):
        try:
            head = aws.s3.head_object(Bucket=bucket, Key=key)
            exists = int(head.get("ContentLength", -1)) == res.size
        except Exception as exc:
            if error_code(exc) not in {"404", "NoSuchKey", "NotFound"}:
                raise
    if not exists:
        extra = {"ContentType": "application/zip", "Metadata": {"sha256": res.sha256}}
        if res.size < SINGLE_PUT_LIMIT:
            # what upload_file would do below its multipart threshold, without starting
            # a transfer manager and its threads for every package
            with aws_call(f"s3.put_object({bucket}/{key})"), res.zip_path.open("rb") as body:
                aws.s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        else:
            with aws_call(f"s3.upload_file({bucket}/{key})"):
                aws.s3.upload_file(str(res.zip_path), bucket, key, ExtraArgs=extra)
    return Artifact(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key, sha256=res.sha256,
                    size=res.size, code_sha256=code_sha256(res.sha256))
