"""store_artifact: upload a built package to the artifacts bucket, content-addressed.

The key is ``artifacts/<sha256>.zip``: uploading the same bytes twice is a no-op (a
HEAD finds it), so retries and replays are idempotent. Returns where it is and the
CodeSha256 Lambda will report for it (base64 of the raw sha256 digest). Talks to S3
only through the Aws facade; decides nothing about deployment.
"""

from __future__ import annotations

import base64
from orchestrator.aws.facade import Aws
from orchestrator.steps.data import Artifact
from orchestrator.steps.build.package import BuildResult

def code_sha256(sha256_hex: str) -> str:
    """Lambda's CodeSha256: base64 of the digest bytes, not of the hex string."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def artifact_key(sha256_hex: str) -> str:
    return f"artifacts/{sha256_hex}.zip"


def store_artifact(aws: Aws, res: BuildResult) -> Artifact:
    bucket = aws.settings.artifacts_bucket
    key = artifact_key(res.sha256)
    head = aws.objects.head(bucket, key)
    if head is None or head.size != res.size:
        aws.objects.upload(res.zip_path, bucket, key, content_type="application/zip",
                           metadata={"sha256": res.sha256})
    return Artifact(uri=f"s3://{bucket}/{key}", bucket=bucket, key=key, sha256=res.sha256,
                    size=res.size, code_sha256=code_sha256(res.sha256))
