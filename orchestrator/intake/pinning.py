"""Pin an upload to its object version, so one upload always has one job id.

Real S3 events carry the version id; the emulator's do not. An event without one is
pinned with HeadObject (when the etag still matches), so the worker computes the same
job id as AWS would and as ``submit`` reports. Reads S3 only; decides nothing else.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.aws.facade import Aws
from orchestrator.intake.events import ObjectRef


def pin_version(aws: Aws, ref: ObjectRef) -> ObjectRef:
    """``ref`` with the object's version id where the event had none.

    A transient failure of the lookup raises (the message comes back later) rather than
    falling back to the etag: the same upload must always get the same job id."""
    if ref.version_id or ref.pinned_job_id or ref.removed:
        return ref  # a deletion is about the delete, not whatever the key holds now
    head = aws.objects.head(ref.bucket, ref.key, unreadable_is_missing=True)
    if head is None:
        return ref  # gone or unreadable: fetch will record why
    version, etag = head.version_id, head.etag
    if version and (not ref.etag or etag == ref.etag):
        return replace(ref, version_id=version)
    return ref
