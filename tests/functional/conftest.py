"""A pipeline on in-process moto: resources, a runtime and a worker that polls on demand."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto import mock_aws

from auto_lambda_dev.emulator import prepare_moto, start_server
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import StackInfo, ensure_resources
from orchestrator.config import Settings
from orchestrator.jobs.extensions import load_hooks
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.runtime import Runtime, build_runtime
from orchestrator.steps.verify.provided import runtime_lib
from tests.fault_hooks import HOOKS_PATH
from worker.loop import Worker


@dataclass
class Pipeline:
    aws: Aws
    info: StackInfo
    runtime: Runtime
    worker: Worker

    def upload(self, key: str, body: bytes) -> None:
        self.aws.s3.put_object(Bucket=self.aws.settings.incoming_bucket, Key=key, Body=body)

    def drain(self, max_polls: int = 20) -> list[JobRecord]:
        """Poll until the queue is empty; every job handled synchronously."""
        for _ in range(max_polls):
            if self.worker.poll_once() == 0:
                break
        return self.runtime.store.list()

    def queue_depth(self) -> int:
        attrs = self.aws.sqs.get_queue_attributes(
            QueueUrl=self.info.queue_url,
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"])


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


HELLO_APP = {
    "app.py": "import os\n\ndef handler(event, context):\n"
              "    return {'message': os.environ.get('GREETING', 'hello') + ' ' + event['name']}\n",
    "auto-lambda.toml": "[function]\nname = 'hello'\nruntime = 'python3.11'\n"
                        "[function.environment]\nGREETING = 'hi'\n"
                        "[verify]\nevent = { name = 'world' }\nexpect = { message = 'hi world' }\n",
}


_RUNTIME_LIBS = Path(tempfile.mkdtemp(prefix="auto-lambda-runtime-lib-"))
atexit.register(shutil.rmtree, _RUNTIME_LIBS, True)


def _share_the_runtime_lib(verify_cache: Path) -> None:
    """The verify sandbox's copy of the runtime-provided modules (~1,000 folders and
    2,000 files) is made once per test process and linked into each pipeline's cache, as
    a worker keeps one for its life. What the pipeline builds and caches stays its own."""
    shared = runtime_lib(_RUNTIME_LIBS)
    verify_cache.mkdir(parents=True, exist_ok=True)
    (verify_cache / shared.name).symlink_to(shared, target_is_directory=True)


def _pipeline(tmp_path: Path, endpoint: str | None) -> Pipeline:
    """The pipeline's resources and a runtime over them: the s3:TestEvent the
    notification set-up sends is consumed like any message; the chaos suite's fault
    points are loaded as any extra hooks are (no rules: no-op)."""
    env = {"AWS_REGION": "us-east-1", "AUTO_LAMBDA_WORK_DIR": str(tmp_path / "work"),
           "AUTO_LAMBDA_LOCAL": "1"}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    settings = Settings.from_env(env)
    _share_the_runtime_lib(settings.cache_dir / "verify")
    aws = Aws(settings)
    info = ensure_resources(aws)
    rt = build_runtime(settings, aws=aws, hooks=load_hooks([HOOKS_PATH]),
                       work_root=tmp_path / "jobs")
    worker = Worker(rt.runner, queue_url=info.queue_url, wait_seconds=0,
                    expected_bucket=settings.incoming_bucket)
    return Pipeline(aws=aws, info=info, runtime=rt, worker=worker)


@pytest.fixture
def embedded_pipeline(tmp_path: Path, aws_env: None) -> Iterator[Pipeline]:
    """The pipeline against the embedded stack: the moto server `local up` starts, over
    HTTP on a free port, instead of moto inside the process (patched by start_server)."""
    endpoint = start_server(0)
    # the server serves this process's moto backends: start from empty ones, as
    # mock_aws does, whatever an earlier test in the process left there
    endpoint.reset()
    try:
        yield _pipeline(tmp_path, endpoint.url)
    finally:
        endpoint.reset()
        endpoint.stop()


@pytest.fixture
def pipeline(tmp_path: Path, aws_env: None) -> Iterator[Pipeline]:
    # moto patched as the embedded stack runs it (tests/unit/test_emulator_speed.py shows
    # the answers are moto's own): applied here, not left to whichever earlier test in
    # the same process happened to start an emulator server
    prepare_moto()
    with mock_aws():
        yield _pipeline(tmp_path, None)


@contextmanager
def emulated_group(min_size: int, max_size: int = 10) -> Iterator[Aws]:
    """In-process moto with the pipeline's resources, an empty queue (the s3:TestEvent the
    notification set-up sends is purged, so counts start at zero) and the local worker
    group the checker reads InService from."""
    from auto_lambda_dev.localgroup import ensure_local_group

    with mock_aws():
        client = Aws(Settings())
        ensure_resources(client)
        client.sqs.purge_queue(QueueUrl=client.queue_url())
        ensure_local_group(client, client.settings, min_size=min_size, max_size=max_size)
        yield client
