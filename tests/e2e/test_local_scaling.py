"""A burst of uploads in `local up` scales the local workers out and back in.

The emulator never scales an Auto Scaling group; `local up` runs the local autoscaler
on the checker's BacklogPerInstance, and prints the worker count when it changes.
"""

from __future__ import annotations

import io
import re
import time
import zipfile


def _app(i: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", f"def handler(event, context):\n    return {{'n': {i}}}\n")
        zf.writestr("auto-lambda.toml",
                    f"[function]\nname = 'burst-{i}'\nruntime = 'python3.11'\n"
                    f"[verify]\nexpect = {{ n = {i} }}\n")
    return buf.getvalue()


def test_a_burst_of_20_uploads_scales_workers_up_and_back_down(local_up_factory):  # type: ignore[no-untyped-def]
    up = local_up_factory("--workers", "1", "--max-workers", "3")
    up.wait_for_line(r"^workers: 1$", timeout=30)
    s3 = up.client("s3")
    for i in range(20):
        s3.put_object(Bucket="auto-lambda-incoming-local", Key=f"burst-{i}.zip", Body=_app(i))
    peak = int(up.wait_for_line(r"^workers: ([2-9])$", timeout=60).group(1))
    assert peak > 1
    up.wait_for_line(r"^workers: 1$", timeout=180)
    counts = [int(m.group(1)) for line in up.lines
              if (m := re.match(r"^workers: (\d+)$", line))]
    assert max(counts) <= 3
    ddb = up.client("dynamodb")
    deadline = time.monotonic() + 120
    while True:
        items = ddb.scan(TableName="auto-lambda-jobs")["Items"]
        done = [i for i in items if i["state"]["S"] in ("verified", "failed")]
        if len(done) == 20 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(items) == 20
    assert {i["state"]["S"] for i in items} == {"verified"}
