"""What a jail leaves is read as hostile data: a link anywhere on the path, a FIFO, a
device or an oversized file is refused (``JailOutputInvalid``) and nothing outside the
folder is read; and the worker's secrets never reach an error message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator import redact
from orchestrator.errors import AutoLambdaError, BuildError
from orchestrator.steps.jail.files import open_beneath, read_beneath


@pytest.fixture
def out(tmp_path: Path) -> Path:
    root = tmp_path / "jail-out"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.zip").write_bytes(b"PK good")
    (tmp_path / "secret.zip").write_bytes(b"another team's package")
    return root


def test_a_regular_file_is_read(out: Path) -> None:
    assert read_beneath(out, "sub/ok.zip", max_bytes=100) == b"PK good"


@pytest.mark.parametrize("make", ["final_link", "parent_link", "fifo", "device", "big",
                                  "dotdot", "absolute"])
def test_anything_but_a_plain_file_beneath_is_refused(out: Path, make: str) -> None:
    rel = "sub/deployment.zip"
    secret = out.parent / "secret.zip"
    if make == "final_link":
        os.symlink(secret, out / rel)
    elif make == "parent_link":
        os.symlink(out.parent, out / "up")
        rel = "up/secret.zip"
    elif make == "fifo":
        os.mkfifo(out / rel)
    elif make == "device":
        os.symlink("/dev/zero", out / rel)
    elif make == "big":
        (out / rel).write_bytes(b"x" * 101)
    elif make == "dotdot":
        rel = "../secret.zip"
    else:
        rel = str(secret)
    with pytest.raises(BuildError) as info:
        read_beneath(out, rel, max_bytes=100)
    assert info.value.code == "JailOutputInvalid"


def test_the_descriptor_is_what_was_checked(out: Path) -> None:
    with open_beneath(out, "sub/ok.zip", max_bytes=100) as fh:
        os.replace(out.parent / "secret.zip", out / "sub" / "ok.zip")  # swapped after open
        assert fh.read() == b"PK good"


def test_worker_secrets_never_reach_an_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_secret_access_key = FROM-THE-CREDENTIALS-FILE-123\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("PROBE_SECRET", "SECRET-0123456789abcdef")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN")
    redact.refresh()
    try:
        text = ("uv: error in /proc/1/environ: PROBE_SECRET=SECRET-0123456789abcdef "
                "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLETOKEN key AKIAABCDEFGHIJKLMNOP "
                "aws_secret_access_key = FROM-THE-CREDENTIALS-FILE-123")
        err = BuildError(text, code="DependencyInstallFailed", hint=text,
                         details={"output": text})
        shown = str(err.as_dict())
        for secret in ("SECRET-0123456789abcdef", "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
                       "AKIAABCDEFGHIJKLMNOP", "FROM-THE-CREDENTIALS-FILE-123"):
            assert secret not in shown and secret not in str(err)
        assert redact.MASK in err.message
        assert len(AutoLambdaError("x" * 100_000).message) <= 32_768
    finally:
        monkeypatch.undo()
        redact.refresh()
