"""What the command line prints when AWS says no: one ``error [CODE]: message (hint)``
line and exit status 2, never a traceback."""

from __future__ import annotations

import pytest
from moto import mock_aws

from orchestrator.cli.main import main


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["auto-lambda", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


def test_a_missing_stack_is_reported_with_a_stable_code_and_the_aws_one(
        aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():  # no resources created: the jobs table does not exist
        status = run_main(monkeypatch, "jobs")
    err = capsys.readouterr().err
    assert status == 2
    # `jobs` reads the table's listing index: a missing table is refused on that Query.
    assert err.startswith("error [AwsNotFound]: dynamodb Query")
    assert "ResourceNotFoundException" in err and "request id" in err
    assert "AUTO_LAMBDA_PREFIX" in err and "Traceback" not in err


def test_missing_credentials_say_how_to_provide_them(
        aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    status = run_main(monkeypatch, "jobs")
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error [NoCredentials]: no AWS credentials found")
    assert "AWS_PROFILE" in err
