"""A job's build log: one text object per job in the artifacts bucket,
``logs/<team>/<app>/<job_id>.log``, that outlives the worker that wrote it.

Each run of a step adds one block when it ends (``steps/tasks.py``), success or failure:
a header line, then the parts its transcript kept (``steps/transcript.py``: each jailed
program's stdout and stderr, the import check's verdict, Lambda's log tail, the
traceback of a failure), every line of a part behind ``| `` so no output can forge a
header. A worker that dies loses only the running step's block.

The object is rewritten whole at each step's end (read, add the block, put): a put whose
answer was lost and is sent again writes the same bytes, and a block already there (its
header carries a random run id) is not added twice. One writer at a time is the lease's
promise; a worker that lost its lease and writes anyway can drop one block of the new
owner's, never a record. The object is capped (``LOG_OBJECT_CHARS``: the oldest blocks
go first, the failing step is the last); writing it is best effort, and a failure to
write is logged, never a failed job. A retried step that fails again exactly as its
previous attempt did (same step, outcome and output) is not written again, only counted:
the next block written for the job says how many such attempts it left out, so an
outage's hundreds of retries cost neither hundreds of rewrites nor the log's room.

``log_key``/``log_uri`` say where a job's log is (the console, ``show``, ``auto-lambda
logs`` and the result object point there); ``read_log`` reads it back.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from orchestrator.errors import AutoLambdaError
from orchestrator.steps.transcript import Part, clean
from orchestrator.tenancy import team_of_key

if TYPE_CHECKING:
    from orchestrator.aws.facade import Aws
    from orchestrator.aws.objects import Objects
    from orchestrator.config import Settings

log = logging.getLogger(__name__)

LOG_PREFIX = "logs/"
# The whole object, in characters: the oldest blocks are cut past it.
LOG_OBJECT_CHARS = 1_000_000
CONTENT_TYPE = "text/plain; charset=utf-8"
# Jobs whose last failure a writer remembers (a worker runs a handful at once).
_MAX_TRACKED = 1000
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def log_key(upload_key: str, job_id: str) -> str:
    """Where a job's log is in the artifacts bucket: ``logs/<team>/<app>/<job_id>.log``
    (the app is the upload's file name without ``.zip``, reduced to safe characters)."""
    try:
        team = team_of_key(upload_key)
    except AutoLambdaError:
        team = "_invalid"
    name = upload_key.rpartition("/")[2]
    name = name[:-4] if name.lower().endswith(".zip") else name
    app = _SAFE.sub("_", name).strip("._")[:100] or "_"
    return f"{LOG_PREFIX}{team}/{app}/{_SAFE.sub('_', job_id)[:80]}.log"


def log_uri(settings: Settings, upload_key: str, job_id: str) -> str:
    """``s3://<artifacts bucket>/logs/<team>/<app>/<job_id>.log``."""
    return f"s3://{settings.artifacts_bucket}/{log_key(upload_key, job_id)}"


def render_block(header: str, parts: list[Part]) -> str:
    """One step's run as the log shows it."""
    lines = [f"=== {header} ==="]
    for part in parts:
        lines.append(f"--- {part.title} ---")
        lines += [f"| {line}" for line in part.text.split("\n")]
    return "\n".join(lines) + "\n"


def trim(text: str, limit: int = LOG_OBJECT_CHARS) -> str:
    """``text`` within ``limit`` characters: the oldest whole blocks go first."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit + 200
    start = text.find("\n=== ", cut)
    start = start + 1 if start >= 0 else cut
    return f"[... {start:,} characters of earlier steps cut]\n" + text[start:]


def read_log(aws: Aws, upload_key: str, job_id: str,
             limit: int = 2 * LOG_OBJECT_CHARS) -> str | None:
    """The job's log as text; None when there is none (yet)."""
    body = aws.objects.get(aws.settings.artifacts_bucket, log_key(upload_key, job_id))
    if body is None:
        return None
    data = bytearray()
    for chunk in body.chunks(64 * 1024):
        data += chunk
        if len(data) > limit * 4:
            break
    return data.decode("utf-8", errors="replace")


class BuildLogs:
    """Adds each step's block to its job's log object."""

    def __init__(self, objects: Objects, bucket: str,
                 clock: Callable[[], float] = time.time,
                 run_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12]) -> None:
        self.objects, self.bucket, self.clock, self.run_id = objects, bucket, clock, run_id
        # job id -> (what its last failed block said, failed attempts left out since)
        self._repeats: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def _repeated(self, job_id: str, step: str, outcome: str, parts: list[Part]) -> int | None:
        """None when this block is the same failure as the job's last one (then it is
        only counted); else how many such repeats were left out before it."""
        text = "\0".join([step, outcome, *(f"{p.title}\0{p.text}" for p in parts)])
        signature = hashlib.sha256(text.encode()).hexdigest()
        with self._lock:
            last, skipped = self._repeats.get(job_id, ("", 0))
            if outcome.startswith("failed") and signature == last:
                self._repeats[job_id] = (last, skipped + 1)
                return None
            if outcome.startswith("failed"):
                if len(self._repeats) >= _MAX_TRACKED:
                    self._repeats.clear()
                self._repeats[job_id] = (signature, 0)
            else:
                self._repeats.pop(job_id, None)
            return skipped

    def add(self, upload_key: str, job_id: str, step: str, attempt: int, outcome: str,
            seconds: float, parts: list[Part]) -> bool:
        """One run of a step: its block, unless it repeats the job's last failure."""
        skipped = self._repeated(job_id, step, outcome, parts)
        if skipped is None:
            return True
        if skipped:
            parts = [Part("repeats", f"{skipped} more failed attempt(s) left out: each "
                                     "failed as the block before them did"), *parts]
        return self.append(upload_key, job_id, self.header(step, attempt, outcome, seconds),
                           parts)

    def header(self, step: str, attempt: int, outcome: str, seconds: float) -> str:
        when = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return (f"{step} · attempt {attempt} · {when} · {seconds:.1f} s · "
                f"{clean(outcome, 200)} · run {self.run_id()}")

    def append(self, upload_key: str, job_id: str, header: str, parts: list[Part]) -> bool:
        """Add one block (best effort: False, and a warning, when it could not)."""
        key = log_key(upload_key, job_id)
        try:
            existing = ""
            body = self.objects.get(self.bucket, key)
            if body is not None:
                existing = b"".join(body.chunks(64 * 1024)).decode("utf-8", "replace")
            first = f"=== {header} ==="
            if first in existing:  # a block sent again after a lost answer
                return True
            text = trim(existing + render_block(header, parts))
            self.objects.put(self.bucket, key, text.encode("utf-8"), content_type=CONTENT_TYPE)
            return True
        except Exception as exc:  # the log must never fail the job it describes
            log.warning("job %s: could not write its build log %s: %s", job_id, key, exc)
            return False
