"""The hostile-input catalogue (docs/architecture.md) against a live worker: each ends
failed with its own code, nothing retried, the worker keeps serving, its memory stays
bounded, and nothing is written outside the work dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chaos.conftest import ChaosStack, Figures, app_zip
from tests.chaos.hostile import ABSOLUTE_TARGET, MARK, TOO_LARGE_CAP, cases

pytestmark = pytest.mark.slow

PEAK_RSS_LIMIT_KB = 400 * 1024


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _planted(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"*{MARK}*") if "work" not in p.relative_to(root).parts]


def test_hostile_catalogue_fails_each_case_with_its_own_code(stack: ChaosStack,
                                                             figures: Figures) -> None:
    catalogue = cases()
    worker = stack.start_worker(concurrency=2,
                                env={"AUTO_LAMBDA_UNPACK_MAX_BYTES": str(TOO_LARGE_CAP)})
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                             "Bucket": stack.settings.incoming_bucket})
    stack.send(test_event)
    for case in catalogue:
        if case.message is not None:
            stack.send(case.message.replace("BUCKET", stack.settings.incoming_bucket))
        else:
            assert case.key is not None
            stack.upload(case.key, case.body)
    # Keys with spaces and '+' arrive quote_plus-encoded: they must still work.
    stack.upload("my app+v2.zip", app_zip("spaces-plus"))
    expected = len(catalogue) + 1
    stack.wait_for("every hostile job to settle", lambda: stack.settled(expected), timeout=150)

    jobs = stack.jobs()
    codes: dict[str, str] = {}
    by_key = {j.key: j for j in jobs if j.key}
    for case in catalogue:
        if case.key is not None:
            job = by_key[case.key]
        elif case.code == "ObjectMissing":
            job = by_key["h-gone.zip"]
        else:
            continue
        assert job.state == "failed", (case.name, job.state)
        assert job.error is not None and job.error["code"] == case.code, (case.name, job.error)
        assert not [e for e in job.history if e["type"] == "RetryScheduled"], case.name
        codes[case.name] = case.code
    rejected = sorted(str((j.error or {}).get("code")) for j in jobs
                      if j.job_id.startswith("rejected-"))
    assert rejected == sorted(c.code for c in catalogue
                              if c.message is not None and c.code != "ObjectMissing")
    # Each catalogue entry has its own code (the two malformed bodies are one entry).
    zip_codes = [c.code for c in catalogue if c.key is not None]
    assert len(zip_codes) == len(set(zip_codes)), zip_codes

    fine = by_key["my app+v2.zip"]
    assert fine.state == "verified", fine.error
    # The worker kept serving: it is alive and takes one more job.
    assert worker.alive(), worker.tail()
    stack.upload("after.zip", app_zip("after"))
    stack.wait_for("a job after the hostile ones", lambda: stack.settled(expected + 1),
                   timeout=60)
    assert stack.job_for("after.zip").state == "verified"
    assert worker.alive()
    peak = _peak_rss_kb(worker.pid)
    assert 0 < peak < PEAK_RSS_LIMIT_KB, f"worker peak RSS {peak} kB"

    # Nothing planted anywhere: not outside the work dir, not at absolute paths.
    assert not _planted(stack.root), _planted(stack.root)
    assert not Path(ABSOLUTE_TARGET).exists()
    for outside in ("cwd", "home"):
        assert not any((stack.root / outside).iterdir()), outside
    assert stack.dlq_depth() == 0
    figures.add("hostile", jobs_run=len(jobs), hostile_inputs=len(catalogue) + 1,
                jobs_lost=0 if fine.state == "verified" else 1, duplicate_deployments=0)
