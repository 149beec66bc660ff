"""Verifying on AWS: the published version is invoked (never live or $LATEST) and
Lambda's error answers map to the same codes as the local sandbox's."""

from __future__ import annotations

import base64
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest

from orchestrator.aws.facade import Aws
from orchestrator.aws.functions import Functions
from orchestrator.config import Settings
from orchestrator.errors import VerifyError
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify import verify_deployment

DEPLOYED = DeployResult("auto-lambda-t", "arn:aws:lambda:us-east-1:1:function:auto-lambda-t",
                        "4", "c2hh", True, "3")
RUNNER_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
SOURCE = "def handler(event, context):\n    return {'message': 'hi'}\n"


class FakeLambda:
    """Records invocations and answers with a canned response."""

    def __init__(self, payload: bytes, function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(self.payload),
                                  "LogResult": base64.b64encode(b"START RequestId\n").decode()}
        if self.function_error:
            answer["FunctionError"] = self.function_error
        return answer


class FakeAws:
    """The facade with a Lambda door over the fake client (the door is what runs)."""

    def __init__(self, lam: FakeLambda) -> None:
        self.settings = Settings()  # no endpoint: real AWS mode
        self.lambda_ = lam
        self.functions = Functions(cast(Any, lam))


def run(tmp_path: Path, lam: FakeLambda, **kw: Any) -> Any:
    zip_path = tmp_path / "pkg.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("app.py", SOURCE)
    spec = AppSpec(name="t", handler="app.handler", verify_event={"name": "w"}, **kw)
    return verify_deployment(cast(Aws, FakeAws(lam)), spec, DEPLOYED, zip_path,
                             work_dir=tmp_path / "work", find=lambda v: None)


def test_invokes_the_published_version_and_compares(tmp_path: Path) -> None:
    lam = FakeLambda(json.dumps({"message": "hi"}).encode())
    result = run(tmp_path, lam, verify_expect={"message": "hi"}, has_expect=True)
    assert result.mode == "remote" and result.output == {"message": "hi"}
    assert lam.calls[0]["Qualifier"] == "4"
    assert lam.calls[0]["FunctionName"] == "auto-lambda-t"
    assert json.loads(lam.calls[0]["Payload"]) == {"name": "w"}


def test_remote_mismatch(tmp_path: Path) -> None:
    lam = FakeLambda(json.dumps({"message": "bye"}).encode())
    with pytest.raises(VerifyError) as exc:
        run(tmp_path, lam, verify_expect={"message": "hi"}, has_expect=True)
    assert exc.value.code == "VerifyMismatch"


@pytest.mark.parametrize(("error_type", "message", "code"), [
    ("Runtime.ImportModuleError", "Unable to import module 'app': No module named 'x'",
     "ImportErrorAtInit"),
    ("Runtime.HandlerNotFound", "app.handler is undefined or not exported", "HandlerNotFound"),
    ("Runtime.UserCodeSyntaxError", "Syntax error in module 'app'", "HandlerSyntaxError"),
    ("Sandbox.Timedout", "Task timed out after 3.00 seconds", "HandlerTimeout"),
    ("Runtime.OutOfMemory", "Runtime exited with error: signal: killed", "HandlerMemoryExceeded"),
    ("ValueError", "boom", "HandlerRaised"),
])
def test_lambda_error_payloads_map_to_codes(tmp_path: Path, error_type: str, message: str,
                                           code: str) -> None:
    body = json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": []})
    with pytest.raises(VerifyError) as exc:
        run(tmp_path, FakeLambda(body.encode(), "Unhandled"))
    assert exc.value.code == code
    assert message in str(exc.value)


def test_non_json_payload_is_bad_output(tmp_path: Path) -> None:
    with pytest.raises(VerifyError) as exc:
        run(tmp_path, FakeLambda(b"\xff not json"))
    assert exc.value.code == "VerifyBadOutput"


def test_static_check_runs_before_invoking(tmp_path: Path) -> None:
    lam = FakeLambda(b"{}")
    zip_path = tmp_path / "pkg.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return (\n")
    with pytest.raises(VerifyError) as exc:
        spec = AppSpec(name="t", handler="app.handler", runtime=RUNNER_RUNTIME)
        verify_deployment(cast(Aws, FakeAws(lam)), spec, DEPLOYED, zip_path,
                          work_dir=tmp_path / "work", find=lambda v: None)
    assert exc.value.code == "HandlerSyntaxError"
    assert lam.calls == []
