"""Static checks of a package: handler file and function, syntax, top-level imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestrator.errors import VerifyError
from orchestrator.steps.verify.interpreters import find_interpreter
from orchestrator.steps.verify.static import RUNTIME_PROVIDED, static_check, stdlib_names

RUNNER = f"{sys.version_info[0]}.{sys.version_info[1]}"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body)
    return root


def code_of(exc: pytest.ExceptionInfo[VerifyError]) -> str:
    return exc.value.code


def test_good_handler_reports_where_each_import_comes_from(tmp_path: Path) -> None:
    write(tmp_path, {
        "app.py": "import json\nimport boto3\nfrom helpers import greet\nimport requests\n"
                  "def handler(event, context):\n    return greet(event)\n",
        "helpers.py": "def greet(e):\n    return e\n",
        "requests/__init__.py": "",
    })
    result = static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    origins = {i["module"]: i["from"] for i in result["imports"]}
    assert origins == {"json": "stdlib", "boto3": "runtime", "helpers": "package",
                       "requests": "package"}
    assert result["module_file"] == "app.py"
    assert result["function"] == "handler"


def test_missing_module_file_is_handler_not_found(tmp_path: Path) -> None:
    write(tmp_path, {"other.py": "def handler(e, c):\n    return 1\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler")
    assert code_of(exc) == "HandlerNotFound"
    assert "app.py" in str(exc.value)


def test_missing_function_is_handler_not_found(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "def main(e, c):\n    return 1\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler")
    assert code_of(exc) == "HandlerNotFound"
    assert "'handler'" in str(exc.value)


@pytest.mark.parametrize("handler", ["app", "app.", ".handler", "app.handler-x", "a..b"])
def test_malformed_handler_string_is_handler_not_found(tmp_path: Path, handler: str) -> None:
    write(tmp_path, {"app.py": "def handler(e, c):\n    return 1\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, handler)
    assert code_of(exc) == "HandlerNotFound"


@pytest.mark.parametrize("body", [
    "from chalice import Chalice\napp = Chalice(app_name='x')\n",       # chalice: app.app
    "from impl import app\n",                                            # re-exported
    "try:\n    from impl import app\nexcept ImportError:\n    app = None\n",
    "class app:\n    pass\n",
])
def test_handler_bound_without_def_is_accepted(tmp_path: Path, body: str) -> None:
    write(tmp_path, {"app.py": body, "impl.py": "app = 1\n", "chalice/__init__.py": ""})
    assert static_check(tmp_path, "app.app", runtime_version=RUNNER)["function"] == "app"


def test_handler_in_a_package_module(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/api.py": "def run(e, c):\n    return 1\n"})
    assert static_check(tmp_path, "pkg.api.run")["module_file"] == "pkg/api.py"


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "def handler(e, c):\n    return (1\n\nx = 2\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    assert code_of(exc) == "HandlerSyntaxError"
    assert "app.py line" in str(exc.value)


def test_null_bytes_are_a_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": b"def handler(e, c):\n    return 1\n\x00\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    assert code_of(exc) == "HandlerSyntaxError"


def test_unresolvable_import_is_import_error_at_init(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import json\nimport numpy as np\nfrom yaml import safe_load\n"
                               "def handler(e, c):\n    return 1\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    assert code_of(exc) == "ImportErrorAtInit"
    assert exc.value.details["missing"] == ["numpy (line 2)", "yaml (line 3)"]


def test_optional_imports_inside_try_are_not_required(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "try:\n    import ujson as json\nexcept ImportError:\n"
                               "    import json\ndef handler(e, c):\n    return 1\n"})
    assert static_check(tmp_path, "app.handler", runtime_version=RUNNER)["imports"] == []


def test_compiled_extension_in_package_resolves(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import _speedups\ndef handler(e, c):\n    return 1\n",
                     "_speedups.cpython-312-x86_64-linux-gnu.so": b"\x7fELF"})
    result = static_check(tmp_path, "app.handler", runtime_version="3.12")
    assert result["imports"] == [{"module": "_speedups", "line": 1, "from": "package"}]


def test_stdlib_module_removed_in_the_target_runtime_is_missing(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import telnetlib\ndef handler(e, c):\n    return 1\n"})
    assert static_check(tmp_path, "app.handler", runtime_version="3.12")["imports"][0][
        "from"] == "stdlib"
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version="3.13")
    assert code_of(exc) == "ImportErrorAtInit"


def test_stdlib_names_track_the_target_version() -> None:
    assert "distutils" not in stdlib_names((3, 12))
    assert "annotationlib" in stdlib_names((3, 14))
    assert "json" in stdlib_names((3, 10))
    assert "boto3" in RUNTIME_PROVIDED


NEW_SYNTAX = "type Pair = tuple[int, int]\ndef handler(e, c):\n    return 1\n"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the runner already parses 3.12 syntax")
def test_newer_syntax_without_an_interpreter_is_noted_not_failed(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": NEW_SYNTAX})
    result = static_check(tmp_path, "app.handler", runtime_version="3.12")
    assert any("syntax not confirmed" in note for note in result["notes"])


def test_target_interpreter_judges_syntax(tmp_path: Path) -> None:
    interpreter = find_interpreter("3.12")
    if interpreter is None:
        pytest.skip("no python3.12 on this machine")
    write(tmp_path, {"app.py": NEW_SYNTAX})
    result = static_check(tmp_path, "app.handler", runtime_version="3.12",
                          interpreter=interpreter)
    assert result["compiled_with"] == str(interpreter)
    write(tmp_path, {"app.py": "def handler(e, c):\n    return (1\n"})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version="3.12", interpreter=interpreter)
    assert code_of(exc) == "HandlerSyntaxError"


def test_a_handler_module_over_the_cap_is_refused_without_being_parsed(tmp_path: Path) -> None:
    from orchestrator.steps.unpack.pysource import MAX_SOURCE_BYTES

    body = "def handler(e, c):\n    return 1\n" + "x = 1\n" * (MAX_SOURCE_BYTES // 6 + 1)
    write(tmp_path, {"app.py": body})
    with pytest.raises(VerifyError) as exc:
        static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    assert code_of(exc) == "HandlerTooLarge"
    assert f"{len(body):,} bytes" in str(exc.value)


def test_a_module_too_complex_to_parse_in_the_cap_is_its_own_code(tmp_path: Path) -> None:
    from orchestrator.steps.unpack import pysource

    write(tmp_path, {"app.py": "def handler(e, c):\n    return 1\n" + "y = [1, 2, 3]\n" * 20000})
    old = pysource.PROBE_MEMORY_BYTES
    pysource.PROBE_MEMORY_BYTES = 40 * 1024 * 1024  # too little for this module's tree
    try:
        with pytest.raises(VerifyError) as exc:
            static_check(tmp_path, "app.handler", runtime_version=RUNNER)
    finally:
        pysource.PROBE_MEMORY_BYTES = old
    assert code_of(exc) == "HandlerTooComplex"
