"""S3 buckets: incoming app zips, built artifacts, and the access-log bucket they log to.

Every bucket is encrypted, versioned where history matters, TLS-only and closed to the
public. Buckets are retained when the stack is deleted (they hold users' uploads).
This module wires no notifications and grants no permissions: see queue.py and iam.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .names import Names


@dataclass(frozen=True)
class Buckets:
    incoming: s3.Bucket
    artifacts: s3.Bucket
    logs: s3.Bucket


def _secure(**extra: object) -> dict[str, object]:
    return {
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "enforce_ssl": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": RemovalPolicy.RETAIN,
        **extra,
    }


def _versioned_bucket(scope: Construct, construct_id: str, name: str, logs: s3.Bucket,
                      log_prefix: str, rule_id: str) -> s3.Bucket:
    """A data bucket: versioned, access-logged, old versions expired after 30 days."""
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=name,
        versioned=True,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=[
            s3.LifecycleRule(
                id=rule_id,
                noncurrent_version_expiration=Duration.days(30),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        **_secure(),  # type: ignore[arg-type]
    )


def create_buckets(scope: Construct, names: Names) -> Buckets:
    logs = s3.Bucket(
        scope,
        "LogBucket",
        bucket_name=names.log_bucket(Aws.ACCOUNT_ID),
        lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
        **_secure(),  # type: ignore[arg-type]
    )
    incoming = _versioned_bucket(scope, "IncomingBucket", names.incoming_bucket(Aws.ACCOUNT_ID),
                                 logs, "incoming/", "expire-old-uploads")
    artifacts = _versioned_bucket(scope, "ArtifactsBucket",
                                  names.artifacts_bucket(Aws.ACCOUNT_ID), logs, "artifacts/",
                                  "expire-superseded-artifacts")
    return Buckets(incoming=incoming, artifacts=artifacts, logs=logs)
