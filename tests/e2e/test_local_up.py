"""The real CLI: `auto-lambda local up` in one process, uploads and checks from outside."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from auto_lambda_dev.examples import example_dirs, zip_example

REPO = Path(__file__).resolve().parents[2]


def _wait_terminal(up, job_id: str, timeout: float = 120.0) -> dict:  # type: ignore[no-untyped-def]
    ddb = up.client("dynamodb")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = ddb.get_item(TableName="auto-lambda-jobs", Key={"job_id": {"S": job_id}},
                            ConsistentRead=True).get("Item")
        if item and item["state"]["S"] in ("verified", "failed"):
            return item
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not terminal after {timeout}s")


def test_local_up_deploys_an_uploaded_example_and_moves_live(local_up_factory, tmp_path):  # type: ignore[no-untyped-def]
    up = local_up_factory("--workers", "1", "--no-autoscale")
    up.wait_for_line(r"export AWS_ENDPOINT_URL=", timeout=10)
    hello = next(d for d in example_dirs() if d.name == "hello")
    zip_path = zip_example(hello, tmp_path)

    # upload from outside, as a team would, with the AWS CLI
    subprocess.run(["aws", "s3", "cp", str(zip_path), "s3://auto-lambda-incoming-local/hello.zip",
                    "--endpoint-url", up.endpoint], check=True, env=up.env,
                   capture_output=True)
    show = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "jobs", "--json"],
                          check=True, env=up.env, capture_output=True, text=True, cwd=REPO)
    deadline = time.monotonic() + 30
    while not json.loads(show.stdout)["jobs"] and time.monotonic() < deadline:
        time.sleep(0.2)
        show = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "jobs", "--json"],
                              check=True, env=up.env, capture_output=True, text=True, cwd=REPO)
    jobs = json.loads(show.stdout)["jobs"]
    assert [j["key"] for j in jobs] == ["hello.zip"]
    item = _wait_terminal(up, jobs[0]["job_id"])
    assert item["state"]["S"] == "verified", item.get("error")

    out = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "show",
                          jobs[0]["job_id"][:10], "--json"],
                         check=True, env=up.env, capture_output=True, text=True, cwd=REPO)
    job = json.loads(out.stdout)
    entered = [e["state"] for e in job["history"] if e["type"] == "StateEntered"]
    # all at once: the rollout's Choice goes straight to verified
    assert entered == ["received", "fetched", "unpacked", "built", "deployed", "tested",
                       "rollout", "verified"]
    assert all(e["time"] for e in job["history"])
    human = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "show",
                            jobs[0]["job_id"][:10]], check=True, env=up.env,
                           capture_output=True, text=True, cwd=REPO)
    assert "installed: (no dependencies)" in human.stdout

    function = "auto-lambda-default-hello"  # hello.zip at the bucket root: team default
    alias = subprocess.run(["aws", "lambda", "get-alias", "--function-name", function,
                            "--name", "live", "--endpoint-url", up.endpoint],
                           check=True, env=up.env, capture_output=True, text=True)
    assert json.loads(alias.stdout)["FunctionVersion"] == job["published_version"] == "1"

    # what a team sees without the console: `wait` answers for a good and a broken upload
    wait = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "wait", "hello.zip",
                           "--json", "-q", "--timeout", "60s"], env=up.env,
                          capture_output=True, text=True, cwd=REPO)
    assert wait.returncode == 0, wait.stderr
    result = json.loads(wait.stdout)
    assert (result["state"], result["version"], result["alias"]) == ("verified", "1", "live")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("readme.txt", "no code here")
    subprocess.run(["aws", "s3", "cp", str(broken), "s3://auto-lambda-incoming-local/broken.zip",
                    "--endpoint-url", up.endpoint], check=True, env=up.env, capture_output=True)
    wait = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "wait", "broken.zip",
                           "--json", "-q", "--timeout", "120s"], env=up.env,
                          capture_output=True, text=True, cwd=REPO)
    assert wait.returncode == 1, wait.stderr
    assert json.loads(wait.stdout)["error"]["code"] == "HandlerNotFound"
    assert "[HandlerNotFound]" in wait.stderr
    events = subprocess.run([sys.executable, "-m", "orchestrator.cli.main", "events", "--json"],
                            check=True, env=up.env, capture_output=True, text=True, cwd=REPO)
    ended = [json.loads(line)["detail"] for line in events.stdout.splitlines()]
    assert sorted((d["upload"]["key"], d["state"]) for d in ended) == [
        ("broken.zip", "failed"), ("hello.zip", "verified")]
