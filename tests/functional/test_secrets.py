"""Secrets by reference, end to end: a value planted in SSM and in Secrets Manager is
seen by the app's smoke test (the shim resolved it before the handler module loaded),
and is nowhere else: not in the job record or its history, not in any log line, not in
Lambda's configuration of any version, not in the package. The shim itself is run here
against the emulator as it runs at a function's cold start."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import logging
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator.steps.secrets.refs import SHIM_FILE, SHIM_HANDLER, SHIM_SOURCE
from tests.functional.conftest import Pipeline, make_zip

DB_URL = "postgres://orders:PLANTED-db-9f3a1c@db.internal/orders"
API_KEY = "sk-PLANTED-key-77e2b6d0"
VALUES = (DB_URL, API_KEY, "PLANTED-db-9f3a1c", "PLANTED-key-77e2b6d0")

VAULT_APP = {
    "app.py": "import hashlib, os\n"
              "SEEN_AT_IMPORT = 'DB_URL' in os.environ\n"
              "def handler(event, context):\n"
              "    return {'db': hashlib.sha256(os.environ['DB_URL'].encode()).hexdigest(),\n"
              "            'key_chars': len(os.environ['API_KEY']),\n"
              "            'at_import': SEEN_AT_IMPORT}\n",
    "auto-lambda.toml": "[function]\nname = 'vault'\nruntime = 'python3.11'\n"
                        "[function.environment]\nMODE = 'test'\n"
                        "[secrets]\nDB_URL = 'ssm:/payments/db-url'\n"
                        "API_KEY = 'secretsmanager:payments/api-key'\n"
                        "[verify]\nevent = {}\n"
                        f"expect = {{ db = '{hashlib.sha256(DB_URL.encode()).hexdigest()}', "
                        f"key_chars = {len(API_KEY)}, at_import = true }}\n",
}


def _plant(region: str = "us-east-1") -> None:
    boto3.client("ssm", region_name=region).put_parameter(
        Name="/payments/db-url", Value=DB_URL, Type="SecureString")
    boto3.client("secretsmanager", region_name=region).create_secret(
        Name="payments/api-key", SecretString=API_KEY)


def _leaks(text: str) -> list[str]:
    return [v for v in VALUES if v in text]


def _zip_text(data: bytes) -> str:
    """The archive's bytes and every member's uncompressed content."""
    parts = [data.decode("latin-1")]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts += [zf.read(name).decode("latin-1") for name in zf.namelist()]
    return "\n".join(parts)


def test_a_planted_secret_reaches_the_smoke_test_and_nothing_else(
        pipeline: Pipeline, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    # Everything auto-lambda logs, at every level; other libraries at INFO (botocore's own
    # DEBUG wire log prints response bodies, which a worker must never run with:
    # docs/security.md)
    caplog.set_level(logging.INFO)
    for package in ("orchestrator", "worker", "states", "auto_lambda_dev"):
        caplog.set_level(logging.DEBUG, logger=package)
    _plant()
    pipeline.upload("payments/vault.zip", make_zip(VAULT_APP))
    (job,) = [r for r in pipeline.drain() if r.key == "payments/vault.zip"]
    assert job.state == "verified", job.error
    aws = pipeline.aws

    # the job record and its history, as stored (every item of both tables)
    for table in (aws.settings.table_name, aws.settings.history_table_name):
        items = aws.dynamodb.scan(TableName=table)["Items"]
        assert items and _leaks(json.dumps(items)) == [], table
    stored = pipeline.runtime.store.get(job.job_id)
    assert stored is not None
    shown = json.dumps([stored.to_json(), list(pipeline.runtime.store.history(stored))])
    assert _leaks(shown) == [] and "/payments/db-url" in shown  # references are kept
    # every log line and everything printed while it ran
    out, err = capfd.readouterr()
    assert _leaks(caplog.text + out + err) == []
    # Lambda's configuration, of $LATEST and of every version
    name = "auto-lambda-payments-vault"
    versions = aws.lambda_.list_versions_by_function(FunctionName=name)["Versions"]
    assert len(versions) == 2
    for version in versions:
        config = aws.lambda_.get_function_configuration(FunctionName=name,
                                                        Qualifier=version["Version"])
        assert config["Handler"] == SHIM_HANDLER
        assert _leaks(json.dumps(config, default=str)) == []
    assert _leaks(json.dumps(aws.lambda_.get_function(FunctionName=name), default=str)) == []
    # the package, and everything else in the artifacts bucket
    bucket = aws.settings.artifacts_bucket
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    packages = [k for k in keys if k.endswith(".zip")]
    assert packages
    for key in keys:
        data = aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        text = _zip_text(data) if key.endswith(".zip") else data.decode("latin-1")
        assert _leaks(text) == [], key
    # the package holds the shim, which is what reads them
    with zipfile.ZipFile(io.BytesIO(aws.s3.get_object(
            Bucket=bucket, Key=packages[0])["Body"].read())) as zf:
        assert zf.read(SHIM_FILE) == SHIM_SOURCE.read_bytes()


def test_a_missing_secret_fails_verify_with_its_reference_not_a_value(
        pipeline: Pipeline) -> None:
    pipeline.upload("payments/vault.zip", make_zip(VAULT_APP))
    (job,) = [r for r in pipeline.drain() if r.key == "payments/vault.zip"]
    assert job.state == "failed" and job.error is not None
    assert job.error["code"] == "SecretMissing"
    assert "ssm:/payments/db-url" in job.error["message"]


@pytest.fixture
def shim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_env: None) -> Iterator[Path]:
    (tmp_path / "myapp.py").write_text(
        "import os\nAT_IMPORT = os.environ.get('DB_URL')\n"
        "def handler(event, context):\n    return AT_IMPORT, os.environ.get('API_KEY')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AUTO_LAMBDA_HANDLER", "myapp.handler")
    monkeypatch.setenv("AUTO_LAMBDA_SECRETS", json.dumps(
        {"DB_URL": "ssm:/payments/db-url", "API_KEY": "secretsmanager:payments/api-key"}))
    for name in ("DB_URL", "API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    sys.modules.pop("myapp", None)


def _cold_start() -> Any:
    spec = importlib.util.spec_from_file_location("_auto_lambda_secrets_test", SHIM_SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shim_resolves_before_the_app_module_loads_and_becomes_its_handler(
        shim: Path) -> None:
    with mock_aws():
        _plant()
        module = _cold_start()
        assert module.handler({}, None) == (DB_URL, API_KEY)
        assert module.handler is sys.modules["myapp"].handler


def test_the_shim_leaves_values_already_set_and_then_calls_nothing(
        shim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_URL", "handed-in")
    monkeypatch.setenv("API_KEY", "handed-in-too")
    module = _cold_start()  # no emulator: a call to AWS would fail here
    assert module.handler({}, None) == ("handed-in", "handed-in-too")


def test_the_shim_fails_the_cold_start_when_a_secret_is_missing(shim: Path) -> None:
    with mock_aws(), pytest.raises(Exception, match="ParameterNotFound"):
        _cold_start()
