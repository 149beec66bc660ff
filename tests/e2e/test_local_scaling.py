"""A burst of uploads (8) in `local up` scales the local workers out and back in, with
target tracking alone and with the checker's direct control.

The emulator never scales an Auto Scaling group; `local up` runs the local autoscaler
on the checker's BacklogPerSlot (and, with `--control direct`, the checker setting the
group's desired capacity, which the local autoscaler follows), and prints the worker
count when it changes. Every wait is on a printed line or a job state, with a deadline.
"""

from __future__ import annotations

import io
import re
import time
import zipfile

# Uploads in a burst: with one worker of one slot and a target of 2 jobs per slot, 8
# queued jobs ask for 4 workers, so the group goes to its max of 3 well before the
# backlog drains, whichever controller acts.
BURST = 8


def _app(i: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", f"def handler(event, context):\n    return {{'n': {i}}}\n")
        zf.writestr("auto-lambda.toml",
                    f"[function]\nname = 'burst-{i}'\nruntime = 'python3.11'\n"
                    f"[verify]\nexpect = {{ n = {i} }}\n")
    return buf.getvalue()


def _upload_burst(up, count: int) -> None:  # type: ignore[no-untyped-def]
    s3 = up.client("s3")
    for i in range(count):
        s3.put_object(Bucket="auto-lambda-incoming-local", Key=f"burst-{i}.zip", Body=_app(i))


def _worker_counts(up) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(m.group(1)) for line in up.lines
            if (m := re.match(r"^workers: (\d+)$", line))]


def _all_verified(up, count: int) -> None:  # type: ignore[no-untyped-def]
    ddb = up.client("dynamodb")
    deadline = time.monotonic() + 120
    while True:
        items = ddb.scan(TableName="auto-lambda-jobs")["Items"]
        done = [i for i in items if i["state"]["S"] in ("verified", "failed")]
        if len(done) == count or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # polling the table, bounded by the deadline above
    assert len(items) == count
    assert {i["state"]["S"] for i in items} == {"verified"}


def test_a_burst_of_uploads_scales_workers_up_and_back_down(local_up_factory):  # type: ignore[no-untyped-def]
    up = local_up_factory("--workers", "1", "--max-workers", "3")
    up.wait_for_line(r"^workers: 1$", timeout=30)
    _upload_burst(up, BURST)
    peak = int(up.wait_for_line(r"^workers: ([2-9])$", timeout=60).group(1))
    assert peak > 1
    up.wait_for_line(r"^workers: 1$", timeout=180)
    assert max(_worker_counts(up)) <= 3
    assert not any("control: desired" in line for line in up.lines)  # tracking only
    _all_verified(up, BURST)


def test_direct_control_scales_workers_up_for_a_burst_and_back_down(local_up_factory):  # type: ignore[no-untyped-def]
    up = local_up_factory("--workers", "1", "--max-workers", "3", "--control", "direct")
    up.wait_for_line(r"autoscale direct, max 3", timeout=30)
    up.wait_for_line(r"^workers: 1$", timeout=30)
    _upload_burst(up, BURST)
    # The checker sets the group's desired capacity; the worker count follows it.
    since = _after_last_count(up)
    up.wait_for_line(r"control: desired=1->[2-9] \(backlog needs", timeout=60)
    assert not any(re.search(r"autoscaler workers=\d+->", line)
                   for line in up.lines[:-1])  # tracking did not move first
    _seen_or_wait(up, r"^workers: [2-9]$", timeout=30, since=since)
    # Back down: the checker scales in once the burst is done and its window has passed.
    since = _after_last_count(up)
    up.wait_for_line(r"control: desired=[2-9]->1 \(backlog needed at most 1", timeout=180)
    _seen_or_wait(up, r"^workers: 1$", timeout=30, since=since)
    counts = _worker_counts(up)
    assert max(counts) in (2, 3) and counts[-1] == 1, "".join(up.lines)
    _all_verified(up, BURST)


def _after_last_count(up) -> int:  # type: ignore[no-untyped-def]
    """The index just after the last worker-count line read so far."""
    return max((i + 1 for i, line in enumerate(up.lines) if line.startswith("workers: ")),
               default=0)


def _seen_or_wait(up, pattern: str, timeout: float, since: int) -> None:  # type: ignore[no-untyped-def]
    """The worker count and the controller print from two threads, so the count may come
    just before the controller's line: look from ``since``, else wait for one."""
    if not any(re.search(pattern, line) for line in up.lines[since:]):
        up.wait_for_line(pattern, timeout=timeout)
