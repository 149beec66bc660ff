"""Limits auto-lambda enforces, each stated once: Lambda's own quotas and the caps
that keep a worker safe from what an upload holds.

Plain constants and nothing else: no I/O, no imports of ours. Where a figure is
AWS's, the comment says which quota it is.
"""

from __future__ import annotations

# Lambda: deployment package size, unzipped, including layers (262,144,000 bytes).
LAMBDA_UNZIPPED_BYTES = 262_144_000
# Lambda: a zipped package uploaded directly (larger ones go through S3).
LAMBDA_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024
# Lambda: function names are at most 64 characters.
LAMBDA_FUNCTION_NAME_CHARS = 64

# An upload is never larger than what it may unzip to.
UPLOAD_MAX_BYTES = LAMBDA_UNZIPPED_BYTES
# Entries in one uploaded zip.
UNPACK_MAX_ENTRIES = 10_000
