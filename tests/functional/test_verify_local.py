"""Local verification end to end: tiny package zips run in the sandbox with the machine's
own interpreter; every failure class ends in its own code; the sandbox sees no
credentials, no network and none of the worker's packages."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.facade import Aws
from orchestrator.config import Settings
from orchestrator.errors import VerifyError
from orchestrator.steps.deploy.step import DeployResult
from orchestrator.steps.unpack.manifest import AppSpec
from orchestrator.steps.verify import VerifyResult, run_local, verify_deployment
from orchestrator.steps.verify.interpreters import find_interpreter
from tests.processes import processes_with

RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
LOCAL = Aws(Settings(endpoint_url="http://127.0.0.1:9"))  # local mode; no call is made
CACHE = LOCAL.settings.cache_dir / "verify"  # what verify_deployment uses; kept between runs
DEPLOYED = DeployResult("auto-lambda-t", "arn:aws:lambda:us-east-1:123456789012:function:"
                        "auto-lambda-t", "7", "c2hh", True, "6")


def package(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / f"pkg-{uuid.uuid4().hex[:8]}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return path


def spec(**kw: Any) -> AppSpec:
    base: dict[str, Any] = {"name": "t", "handler": "app.handler", "runtime": RUNTIME,
                            "memory": 128, "timeout": 5, "verify_event": {"name": "world"}}
    base.update(kw)
    return AppSpec(**base)


def verify(tmp_path: Path, source: str, **kw: Any) -> VerifyResult:
    zip_path = package(tmp_path, {"app.py": source})
    return verify_deployment(LOCAL, spec(**kw), DEPLOYED, zip_path, work_dir=tmp_path / "work")


def failure(tmp_path: Path, source: str, **kw: Any) -> VerifyError:
    with pytest.raises(VerifyError) as exc:
        verify(tmp_path, source, **kw)
    return exc.value


GREET = ("import json\n"
         "def handler(event, context):\n"
         "    print('log line that is not the result')\n"
         "    return {'message': 'hi ' + event['name']}\n")


def test_handler_output_matching_expect_passes(tmp_path: Path) -> None:
    result = verify(tmp_path, GREET, verify_expect={"message": "hi world"}, has_expect=True)
    assert result.mode == "local"
    assert result.output == {"message": "hi world"}
    assert result.interpreter is not None
    assert result.static["function"] == "handler"
    assert json.loads(json.dumps(result.to_dict()))["mode"] == "local"


def test_mismatch_shows_expected_and_got(tmp_path: Path) -> None:
    err = failure(tmp_path, GREET, verify_expect={"message": "hello world"}, has_expect=True)
    assert err.code == "VerifyMismatch"
    assert "hello world" in str(err) and "hi world" in str(err)


def test_syntax_error(tmp_path: Path) -> None:
    assert failure(tmp_path, "def handler(e, c)\n    return 1\n").code == "HandlerSyntaxError"


def test_missing_handler(tmp_path: Path) -> None:
    assert failure(tmp_path, "def other(e, c):\n    return 1\n").code == "HandlerNotFound"


def test_handler_defined_only_on_a_branch_not_taken_is_not_found_at_init(tmp_path: Path) -> None:
    err = failure(tmp_path, "if False:\n    def handler(e, c):\n        return 1\n")
    assert err.code == "HandlerNotFound"


def test_error_while_importing_is_import_error_at_init(tmp_path: Path) -> None:
    err = failure(tmp_path, "import os\nCONFIG = os.environ['MISSING_SETTING']\n"
                            "def handler(e, c):\n    return 1\n")
    assert err.code == "ImportErrorAtInit"
    assert "KeyError" in str(err) and "MISSING_SETTING" in str(err)


def test_missing_dependency_is_import_error_at_init(tmp_path: Path) -> None:
    err = failure(tmp_path, "import definitely_not_installed\ndef handler(e, c):\n    return 1\n")
    assert err.code == "ImportErrorAtInit"


def test_handler_raising_reports_type_and_message(tmp_path: Path) -> None:
    err = failure(tmp_path, "def handler(e, c):\n    raise ValueError('no name ' + e['name'])\n")
    assert err.code == "HandlerRaised"
    assert "ValueError" in str(err) and "no name world" in str(err)
    assert err.details["error_type"] == "ValueError"
    assert any("raise ValueError" in line for line in err.details["trace"])


def test_handler_calling_sys_exit_is_handler_raised(tmp_path: Path) -> None:
    err = failure(tmp_path, "import sys\ndef handler(e, c):\n    sys.exit(3)\n")
    assert err.code == "HandlerRaised" and "SystemExit" in str(err)


def test_not_json_output_is_bad_output(tmp_path: Path) -> None:
    assert failure(tmp_path, "def handler(e, c):\n    return {1, 2}\n").code == "VerifyBadOutput"


def test_hang_is_handler_timeout_and_the_process_group_dies(tmp_path: Path) -> None:
    marker = f"verify-hang-{uuid.uuid4().hex}"
    source = ("import subprocess\n"
              "def handler(e, c):\n"
              f"    subprocess.Popen(['sleep', '300', '{marker}'])\n"
              "    while True:\n"
              "        pass\n")
    err = failure(tmp_path, source, timeout=1)
    assert err.code == "HandlerTimeout"
    assert "1 s" in str(err)
    assert wait_for(lambda: not processes_with(marker)), "the handler's child survived"


def test_memory_hog_is_handler_memory_exceeded(tmp_path: Path) -> None:
    source = ("def handler(e, c):\n"
              "    hoard = []\n"
              "    while True:\n"
              "        hoard.append(bytearray(16 * 1024 * 1024))\n")
    err = failure(tmp_path, source, memory=128)
    assert err.code == "HandlerMemoryExceeded"
    assert "128 MB" in str(err)


def test_limits_are_in_force_before_the_app_is_imported(tmp_path: Path) -> None:
    # read at import time: the limits must already be set when the app's module loads
    source = ("import resource, uuid\n"
              "AT_IMPORT = {n: list(resource.getrlimit(getattr(resource, n)))\n"
              "             for n in ('RLIMIT_AS', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE',\n"
              "                       'RLIMIT_CORE', 'RLIMIT_CPU')}\n"
              "def handler(e, c):\n"
              "    return {'limits': AT_IMPORT,\n"
              "            'uuid4': uuid.UUID(c.aws_request_id).version}\n")
    out = verify(tmp_path, source, memory=256, timeout=3).output
    address_space = (256 + 256) * 1024 * 1024
    assert out["limits"]["RLIMIT_AS"] == [address_space, address_space]
    assert out["limits"]["RLIMIT_NOFILE"] == [1024, 1024]
    assert out["limits"]["RLIMIT_FSIZE"] == [512 * 1024 * 1024] * 2
    assert out["limits"]["RLIMIT_CORE"] == [0, 0]
    assert out["limits"]["RLIMIT_CPU"] == [18, 23]  # init 10 s + timeout 3 s + 5
    assert out["uuid4"] == 4


def test_same_version_interpreter_compiles_in_the_runner(tmp_path: Path) -> None:
    result = verify(tmp_path, GREET)
    assert result.static["compiled_with"].endswith("(runner)")
    err = failure(tmp_path, "def handler(e, c):\n    return (1\n")
    assert err.code == "HandlerSyntaxError" and "line" in str(err)


def test_no_interpreter_for_the_runtime_is_static_only(tmp_path: Path) -> None:
    zip_path = package(tmp_path, {"app.py": GREET})
    result = verify_deployment(LOCAL, spec(runtime="python3.14"), DEPLOYED, zip_path,
                               work_dir=tmp_path / "work", find=lambda version: None)
    assert result.mode == "static-only"
    assert result.output is None
    assert "NOT run" in result.note and "python3.14" in result.note
    assert result.static["function"] == "handler"


def test_static_only_still_fails_a_broken_package(tmp_path: Path) -> None:
    zip_path = package(tmp_path, {"app.py": "def handler(e, c):\n  return (\n"})
    with pytest.raises(VerifyError) as exc:
        verify_deployment(LOCAL, spec(), DEPLOYED, zip_path, work_dir=tmp_path / "work",
                          find=lambda version: None)
    assert exc.value.code == "HandlerSyntaxError"


def test_context_looks_like_lambdas(tmp_path: Path) -> None:
    source = ("import os\n"
              "def handler(e, c):\n"
              "    return {'name': c.function_name, 'version': c.function_version,\n"
              "            'arn': c.invoked_function_arn, 'memory': int(c.memory_limit_in_mb),\n"
              "            'request': len(c.aws_request_id), 'group': c.log_group_name,\n"
              "            'stream': bool(c.log_stream_name),\n"
              "            'remaining': 0 < c.get_remaining_time_in_millis() <= 5000,\n"
              "            'root': os.environ['LAMBDA_TASK_ROOT'] == os.getcwd(),\n"
              "            'greeting': os.environ['GREETING']}\n")
    out = verify(tmp_path, source, environment={"GREETING": "hi"}).output
    assert out == {"name": "auto-lambda-t", "version": "7", "arn": DEPLOYED.function_arn + ":7",
                   "memory": 128, "request": 36, "group": "/aws/lambda/auto-lambda-t",
                   "stream": True, "remaining": True, "root": True, "greeting": "hi"}


CREDENTIAL_PROBE = (
    "import os\n"
    "def handler(e, c):\n"
    "    names = sorted(k for k in os.environ if k.startswith('AWS_') and not\n"
    "                   k.startswith(('AWS_LAMBDA_', 'AWS_REGION', 'AWS_DEFAULT_REGION',\n"
    "                                 'AWS_EXECUTION_ENV')))\n"
    "    secrets = sorted(k for k, v in os.environ.items() if 'fake-secret' in v)\n"
    "    return {'aws_vars': names, 'holding_secrets': secrets}\n")


def test_sandbox_sees_no_aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.setenv(name, "fake-secret-" + name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/fake-secret")
    monkeypatch.setenv("AWS_PROFILE", "fake-secret-profile")
    assert os.environ["AWS_SECRET_ACCESS_KEY"].startswith("fake-secret")
    out = verify(tmp_path, CREDENTIAL_PROBE).output
    assert out == {"aws_vars": [], "holding_secrets": []}


def test_sandbox_has_no_network_even_loopback(tmp_path: Path) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        source = ("import socket\n"
                  "def handler(e, c):\n"
                  "    s = socket.socket()\n"
                  "    s.settimeout(3)\n"
                  "    try:\n"
                  f"        s.connect(('127.0.0.1', {port}))\n"
                  "        return 'connected'\n"
                  "    except OSError as exc:\n"
                  "        return type(exc).__name__ + ': ' + str(exc)\n")
        result = verify(tmp_path, source)
    finally:
        listener.close()
    assert result.output != "connected"
    assert "in the jail (no network)" in result.note


SITE_PROBE = (
    "import importlib, sys\n"
    "def handler(e, c):\n"
    "    found = {}\n"
    "    for name in ('boto3', 'moto', 'click', 'orchestrator', 'json'):\n"
    "        try:\n"
    "            importlib.import_module(name)\n"
    "            found[name] = True\n"
    "        except ImportError:\n"
    "            found[name] = False\n"
    "    found['site_paths'] = [p for p in sys.path if 'site-packages' in p]\n"
    "    return found\n")


def test_worker_site_packages_are_invisible_but_boto3_is_provided(tmp_path: Path) -> None:
    out = verify(tmp_path, SITE_PROBE).output
    assert out == {"boto3": True, "moto": False, "click": False, "orchestrator": False,
                   "json": True, "site_paths": []}


def test_run_local_reports_stdout_and_isolation(tmp_path: Path) -> None:
    interpreter = find_interpreter(RUNTIME.removeprefix("python"))
    assert interpreter is not None
    run = run_local(package(tmp_path, {"app.py": GREET}), spec(), interpreter,
                    work_dir=tmp_path / "work", cache_dir=CACHE, precompile=False)
    assert run.output == {"message": "hi world"}
    assert "log line that is not the result" in run.stdout_tail
    assert run.jailed is True and run.notes == []
    assert list((tmp_path / "work").iterdir()) == []  # the sandbox dir is removed


def wait_for(condition: Any, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_hang_while_importing_is_an_init_timeout(tmp_path: Path) -> None:
    interpreter = find_interpreter(RUNTIME.removeprefix("python"))
    assert interpreter is not None
    zip_path = package(tmp_path, {"app.py": "while True:\n    pass\n"})
    with pytest.raises(VerifyError) as exc:
        run_local(zip_path, spec(), interpreter, work_dir=tmp_path / "work", init_timeout=1,
                  cache_dir=CACHE)
    assert exc.value.code == "HandlerTimeout"
    assert "init phase" in str(exc.value)


def test_response_over_lambdas_limit_is_bad_output(tmp_path: Path) -> None:
    err = failure(tmp_path, "def handler(e, c):\n    return 'x' * (7 * 1024 * 1024)\n")
    assert err.code == "VerifyBadOutput"


def test_foreign_architecture_with_native_code_is_static_only(tmp_path: Path) -> None:
    import platform

    other = "x86_64" if platform.machine() in {"aarch64", "arm64"} else "arm64"
    zip_path = package(tmp_path, {"app.py": GREET, "fast/_core.abi3.so": "\x7fELF"})
    result = verify_deployment(LOCAL, spec(architecture=other), DEPLOYED, zip_path,
                               work_dir=tmp_path / "work")
    assert result.mode == "static-only"
    assert other in result.note and "NOT run" in result.note


def test_unsafe_package_entry_is_refused(tmp_path: Path) -> None:
    zip_path = package(tmp_path, {"app.py": GREET, "../escape.py": "x = 1\n"})
    with pytest.raises(VerifyError, match="escapes the package"):
        verify_deployment(LOCAL, spec(), DEPLOYED, zip_path, work_dir=tmp_path / "work")
    assert not (tmp_path / "escape.py").exists()


API_GATEWAY = ("def handler(event, context):\n"
               "    body = event['body']\n"
               "    who = (event.get('pathParameters') or {}).get('id')\n"
               "    return {'statusCode': 200 if body is None else 201, 'id': who}\n")


def test_every_named_event_runs_with_its_own_expectation(tmp_path: Path) -> None:
    get = {"name": "get", "event": {"body": None, "pathParameters": {"id": "7"}},
           "expect": {"statusCode": 200, "id": "7"}, "has_expect": True}
    post = {"name": "post", "event": {"body": "{}", "pathParameters": None},
            "expect": {"statusCode": 201, "id": None}, "has_expect": True}
    result = verify(tmp_path, API_GATEWAY, verify_default=False, verify_events=(get, post))
    assert [e["name"] for e in result.events] == ["get", "post"]
    assert [e["output"] for e in result.events] == [get["expect"], post["expect"]]
    assert "with 2 events" in result.note
    wrong = {**post, "expect": {"statusCode": 200, "id": None}}
    err = failure(tmp_path, API_GATEWAY, verify_default=False, verify_events=(get, wrong))
    assert err.code == "VerifyMismatch" and "'post'" in str(err)
    assert err.details["event"] == "post" and "[verify.events.post]" in (err.hint or "")
