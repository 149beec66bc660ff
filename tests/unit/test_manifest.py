"""auto-lambda.toml: defaults, detection, and a clear code for every mistake."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from auto_lambda_dev.examples import example_dirs
from orchestrator.errors import ManifestError
from orchestrator.steps.unpack.manifest import (
    DEFAULT_RUNTIME,
    AppSpec,
    load_app_spec,
    local_architecture,
)

HANDLER = "def handler(event, context):\n    return event\n"


def app(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(exist_ok=True)
    return root


def code_of(root: Path, zip_name: str = "app.zip") -> str:
    with pytest.raises(ManifestError) as info:
        load_app_spec(root, zip_name)
    assert str(info.value)
    return info.value.code


def test_defaults_without_a_manifest(tmp_path: Path) -> None:
    spec = load_app_spec(app(tmp_path, {"app.py": HANDLER}), "incoming/My Cool+App.zip")
    assert spec == AppSpec(name="my-cool-app", handler="app.handler")
    assert spec.runtime == "python3.12" and spec.architecture == "x86_64"
    assert spec.verify_event == {} and spec.has_expect is False and spec.chalice is False


@pytest.mark.parametrize(("module", "expected"), [
    ("lambda_function.py", "lambda_function.lambda_handler"), ("handler.py", "handler.handler")])
def test_handler_detection(tmp_path: Path, module: str, expected: str) -> None:
    func = expected.rsplit(".", 1)[1]
    root = app(tmp_path, {module: f"def {func}(event, context):\n    return 1\n"})
    assert load_app_spec(root, "x.zip").handler == expected


def test_full_manifest(tmp_path: Path) -> None:
    root = app(tmp_path, {"svc/main.py": "def run(e, c):\n    pass\n", "auto-lambda.toml": """
[function]
name = "svc-1"
handler = "svc.main.run"
runtime = "python3.13"
architecture = "arm64"
memory = 1024
timeout = 60
[function.environment]
GREETING = "hi"
[verify]
event = { name = "world", n = [1, 2] }
expect = { message = "hi world" }
"""})
    spec = load_app_spec(root, "ignored.zip")
    assert spec.name == "svc-1" and spec.handler == "svc.main.run"
    assert (spec.runtime, spec.architecture, spec.memory, spec.timeout) == (
        "python3.13", "arm64", 1024, 60)
    assert spec.environment == {"GREETING": "hi"}
    assert spec.verify_event == {"name": "world", "n": [1, 2]}
    assert spec.verify_expect == {"message": "hi world"} and spec.has_expect
    assert AppSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_expect_null_like_values_still_count_as_given(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "auto-lambda.toml": "[verify]\nexpect = []\n"})
    spec = load_app_spec(root, "a.zip")
    assert spec.has_expect and spec.verify_expect == []


@pytest.mark.parametrize(("toml", "code"), [
    ("[function\nname = 1", "ManifestInvalid"),
    ("[function]\nnmae = 'x'", "ManifestInvalid"),
    ("[other]\nx = 1", "ManifestInvalid"),
    ("function = 3", "ManifestInvalid"),
    ("[function]\nmemory = '256'", "ManifestInvalid"),
    ("[function]\nmemory = true", "ManifestInvalid"),
    ("[function]\nmemory = 64", "ManifestInvalid"),
    ("[function]\ntimeout = 901", "ManifestInvalid"),
    ("[function]\nname = 'Bad Name!'", "ManifestInvalid"),
    ("[function]\nname = '-x'", "ManifestInvalid"),
    ("[function]\nhandler = 'nodots'", "ManifestInvalid"),
    ("[function.environment]\nAWS_REGION = 'x'", "ManifestInvalid"),
    # the secrets shim's own variables: an app must not name secrets past [secrets]
    ("[function.environment]\nAUTO_LAMBDA_SECRETS = '{\"K\": \"ssm:/other/x\"}'",
     "ManifestInvalid"),
    ("[function.environment]\nAUTO_LAMBDA_HANDLER = 'app.handler'", "ManifestInvalid"),
    ("[function.environment]\nN = 1", "ManifestInvalid"),
    ("[function.environment]\n'1BAD' = 'x'", "ManifestInvalid"),
    ("[verify]\nevent = {}\nextra = 1", "ManifestInvalid"),
    ("[verify]\nevent = { when = 2024-01-01T00:00:00Z }", "ManifestInvalid"),
    ("[function]\nruntime = 'python2.7'", "UnsupportedRuntime"),
    ("[function]\nruntime = 'nodejs20.x'", "UnsupportedRuntime"),
    ("[function]\narchitecture = 'aarch64'", "UnsupportedArchitecture"),
    ("[function]\nhandler = 'app.missing'", "HandlerNotFound"),
    ("[function]\nhandler = 'nomodule.handler'", "HandlerNotFound"),
])
def test_mistakes_have_codes(tmp_path: Path, toml: str, code: str) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "auto-lambda.toml": toml})
    assert code_of(root) == code


def test_manifest_not_utf8(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER})
    (root / "auto-lambda.toml").write_bytes(b"[function]\nname = '\xff'\n")
    assert code_of(root) == "ManifestInvalid"


def test_no_handler_anywhere(tmp_path: Path) -> None:
    assert code_of(app(tmp_path, {"util.py": "x = 1\n"})) == "HandlerNotFound"


def test_module_without_the_function(tmp_path: Path) -> None:
    assert code_of(app(tmp_path, {"app.py": "def other(e, c):\n    pass\n"})) == "HandlerNotFound"


def test_zip_of_a_folder_gets_a_hint(tmp_path: Path) -> None:
    root = app(tmp_path, {"myapp/app.py": HANDLER})
    with pytest.raises(ManifestError) as info:
        load_app_spec(root, "a.zip")
    assert info.value.code == "HandlerNotFound"
    assert "myapp/" in str(info.value)


def test_handler_in_newer_syntax_is_found_by_text(tmp_path: Path) -> None:
    # PEP 695 syntax does not parse on 3.11; the static check falls back to text.
    source = "type Num = int | float\n\ndef handler(event, context):\n    return 1\n"
    assert load_app_spec(app(tmp_path, {"app.py": source}), "a.zip").handler == "app.handler"


def test_handler_bound_by_assignment_or_import(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": "from impl import run as handler\n", "impl.py": HANDLER})
    assert load_app_spec(root, "a.zip").handler == "app.handler"


def test_chalice_project_detected(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": "from chalice import Chalice\napp = Chalice('x')\n",
                          ".chalice/config.json": "{}"})
    spec = load_app_spec(root, "chalice-app.zip")
    assert spec.chalice and spec.handler == "app.app"
    # No runtime named: the one chalice can package for, this interpreter's.
    assert spec.runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert spec.architecture == local_architecture()
    plain = load_app_spec(app(tmp_path / "plain", {"app.py": HANDLER}), "plain.zip")
    assert (plain.runtime, plain.architecture) == (DEFAULT_RUNTIME, "x86_64")


def test_examples_load(tmp_path: Path) -> None:
    specs = {d.name: load_app_spec(d, d.name + ".zip") for d in example_dirs()}
    assert set(specs) >= {"hello", "numpy-stats", "chalice-hello"}
    assert specs["hello"].runtime == "python3.12" and specs["hello"].has_expect
    assert specs["numpy-stats"].runtime == "python3.12"
    assert specs["chalice-hello"].chalice and specs["chalice-hello"].runtime == "python3.11"
    assert specs["chalice-hello"].handler == "app.add"


API_EVENT = '{"resource": "/items/{id}", "httpMethod": "GET", "body": null,\n' \
            ' "pathParameters": {"id": "7"}, "isBase64Encoded": false}\n'


def test_smoke_events_from_json_files_nulls_and_all(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "events/get.json": API_EVENT,
                          "events/get.expected.json": '{"statusCode": 200, "body": null}',
                          "events/post.json": '{"body": "{}"}',
                          "auto-lambda.toml": """
[verify]
event_file = "events/get.json"
expect_file = "events/get.expected.json"
[verify.events.post]
event_file = "events/post.json"
expect = { statusCode = 201 }
[verify.events.inline]
event = { a = 1 }
"""})
    spec = load_app_spec(root, "x.zip")
    events = spec.smoke_events()
    assert [e.name for e in events] == ["default", "post", "inline"]
    assert events[0].event["body"] is None and events[0].expect == {"statusCode": 200,
                                                                    "body": None}
    assert events[1].expect == {"statusCode": 201} and events[2].has_expect is False
    again = AppSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.smoke_events() == events


def test_src_layout_detected_for_named_and_usual_handlers(tmp_path: Path) -> None:
    named = app(tmp_path / "a", {"src/pkg/__init__.py": "", "src/pkg/h.py": HANDLER,
                                 "auto-lambda.toml": '[function]\nhandler = "pkg.h.handler"\n'})
    assert load_app_spec(named, "a.zip").code_root == "src"
    usual = app(tmp_path / "b", {"src/lambda_function.py":
                                 "def lambda_handler(event, context):\n    return 1\n"})
    spec = load_app_spec(usual, "b.zip")
    assert (spec.code_root, spec.handler) == ("src", "lambda_function.lambda_handler")
    both = app(tmp_path / "c", {"app.py": HANDLER, "src/app.py": HANDLER})
    assert load_app_spec(both, "c.zip").code_root == ""
    old = {k: v for k, v in load_app_spec(named, "a.zip").to_dict().items()
           if k != "code_root"}
    assert AppSpec.from_dict(old).code_root == ""
    missing = app(tmp_path / "d", {"src/other.py": "x = 1\n", "auto-lambda.toml":
                                   '[function]\nhandler = "pkg.h.handler"\n'})
    assert code_of(missing) == "HandlerNotFound"


def test_lambdas_folder_form_of_a_handler_is_read_as_a_dotted_module(tmp_path: Path) -> None:
    root = app(tmp_path, {"functions/hello/app.py": HANDLER, "auto-lambda.toml":
                          '[function]\nhandler = "functions/hello/app.handler"\n'})
    assert load_app_spec(root, "x.zip").handler == "functions.hello.app.handler"
    gone = app(tmp_path / "b", {"app.py": HANDLER, "auto-lambda.toml":
                                '[function]\nhandler = "functions/missing.handler"\n'})
    assert code_of(gone) == "HandlerNotFound"


def test_an_async_handler_is_refused_with_its_own_code(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": "async def handler(event, context):\n    return 1\n"})
    with pytest.raises(ManifestError) as exc:
        load_app_spec(root, "x.zip")
    assert exc.value.code == "HandlerAsync" and "asyncio.run" in (exc.value.hint or "")
    # A sync handler beside async helpers is fine.
    ok = app(tmp_path / "ok", {"app.py": "import asyncio\nasync def main(e):\n    return 1\n"
                                         "def handler(event, context):\n"
                                         "    return asyncio.run(main(event))\n"})
    assert load_app_spec(ok, "ok.zip").handler == "app.handler"


def test_match_subset_is_kept_per_event(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "auto-lambda.toml": """
[verify]
expect = { statusCode = 200 }
match = "subset"
[verify.events.exact]
event = { a = 1 }
expect = { statusCode = 201 }
"""})
    spec = load_app_spec(root, "x.zip")
    assert [(e.name, e.match) for e in spec.smoke_events()] == [("default", "subset"),
                                                                 ("exact", "exact")]
    assert AppSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    # A record written before match existed reads as exact.
    old = {k: v for k, v in spec.to_dict().items() if k != "verify_match"}
    assert AppSpec.from_dict(old).verify_match == "exact"


def test_only_named_events_run_when_the_default_is_not_given(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "e.json": "[1, null]", "auto-lambda.toml":
                          '[verify.events.one]\nevent_file = "e.json"\n'})
    assert [(e.name, e.event) for e in load_app_spec(root, "x.zip").smoke_events()] == [
        ("one", [1, None])]


@pytest.mark.parametrize("manifest,files", [
    ('[verify]\nevent_file = "../outside.json"\n', {}),
    ('[verify]\nevent_file = "/etc/passwd"\n', {}),
    ('[verify]\nevent_file = "missing.json"\n', {}),
    ('[verify]\nevent_file = "bad.json"\n', {"bad.json": "{'single': 'quotes'}"}),
    ('[verify]\nevent_file = "nan.json"\n', {"nan.json": '{"x": NaN}'}),
    ('[verify]\nevent_file = "big.json"\n', {"big.json": '"' + "x" * 70_000 + '"'}),
    ('[verify]\nevent = {}\nevent_file = "e.json"\n', {"e.json": "{}"}),
    ('[verify.events.x]\nexpect = 1\n', {}),
    ('[verify.events.x]\nevent = 1\nfile = "e.json"\n', {}),
    ('[verify.events."bad name"]\nevent = 1\n', {}),
    ('[verify]\nexpect = {}\nmatch = "partial"\n', {}),
    ('[verify]\nmatch = "subset"\n', {}),
    ('[verify.events.x]\nevent = 1\nmatch = "subset"\n', {}),
    ('[build]\ninclude_runtime_packages = "yes"\n', {}),
    ('[build]\nrequirements = []\n', {}),
    ('[build]\noptional_dependencies = "api"\n', {}),
    ('[build]\nextras = ["api"]\n', {}),
])
def test_bad_smoke_events_and_build_tables_are_refused(tmp_path: Path, manifest: str,
                                                       files: dict[str, str]) -> None:
    (tmp_path / "outside.json").write_text("{}")
    root = app(tmp_path, {"app.py": HANDLER, "auto-lambda.toml": manifest, **files})
    assert code_of(root) == "ManifestInvalid"


def test_build_table(tmp_path: Path) -> None:
    root = app(tmp_path, {"app.py": HANDLER, "auto-lambda.toml": """
[build]
requirements = ["requirements/prod.txt"]
optional_dependencies = ["api"]
include_runtime_packages = true
"""})
    spec = load_app_spec(root, "x.zip")
    assert spec.build_requirements == ("requirements/prod.txt",)
    assert spec.build_optional == ("api",) and spec.include_runtime_packages is True
    assert load_app_spec(app(tmp_path / "b", {"app.py": HANDLER}), "y.zip"
                         ).include_runtime_packages is None
