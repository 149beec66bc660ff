"""The build-time import check: what the handler's module (and the app's own modules it
imports) load at import time must be packaged, in the target's standard library, or
provided by the runtime; anything else fails the build with MissingDependency."""

from __future__ import annotations

import pytest

from orchestrator.errors import BuildError
from orchestrator.steps.build.imports import check_imports
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.zipdet import Entry

PY312 = Target("python3.12", "x86_64")


def entries(files: dict[str, str]) -> dict[str, Entry]:
    return {n: Entry(n, len(t), data=t.encode()) for n, t in files.items()}


def check(app: dict[str, str], deps: dict[str, str] | None = None,
          handler: str = "app.handler", target: Target = PY312) -> dict[str, object]:
    return check_imports(entries({**(deps or {}), **app}), handler, target,
                         app_names=set(app))


def missing(app: dict[str, str], deps: dict[str, str] | None = None,
            target: Target = PY312) -> list[str]:
    with pytest.raises(BuildError) as info:
        check(app, deps, target=target)
    assert info.value.code == "MissingDependency"
    return list(info.value.details["missing"])


def test_packaged_stdlib_and_runtime_modules_pass() -> None:
    got = check({"app.py": "import json, os.path\nimport boto3\nfrom dateutil import tz\n"
                           "import numpy as np\nfrom yaml import safe_load\n"
                           "def handler(e, c):\n    return 1\n"},
                deps={"numpy/__init__.py": "", "yaml/__init__.py": "",
                      "_yaml.cpython-312-x86_64-linux-gnu.so": ""})
    kinds = {i["module"]: i["from"] for i in got["imports"]}  # type: ignore[union-attr]
    assert kinds == {"json": "stdlib", "os": "stdlib", "boto3": "runtime",
                     "dateutil": "runtime", "numpy": "package", "yaml": "package"}


def test_the_apps_own_modules_are_followed() -> None:
    app = {"app.py": "from svc import routes\n\ndef handler(e, c):\n    return 1\n",
           "svc/__init__.py": "from .models import Item\n",
           "svc/models.py": "import pydantic\n", "svc/routes.py": "import fastapi\n"}
    assert sorted(missing(app)) == ["fastapi (svc/routes.py line 1)",
                                    "pydantic (svc/models.py line 1)"]


def test_optional_and_deferred_imports_do_not_count() -> None:
    check({"app.py": "try:\n    import orjson as json\nexcept ImportError:\n    import json\n"
                     "if False:\n    import nothing_here\n"
                     "def handler(e, c):\n    import requests\n    return 1\n"})


def test_stdlib_of_the_target_not_the_worker() -> None:
    assert missing({"app.py": "import distutils\ndef handler(e, c):\n    return 1\n"}) == [
        "distutils (app.py line 1)"]
    check({"app.py": "import distutils\ndef handler(e, c):\n    return 1\n"},
          target=Target("python3.11", "x86_64"))


def test_unparsable_or_huge_sources_are_noted_not_failed() -> None:
    got = check({"app.py": "import lib\ndef handler(e, c):\n    return 1\n",
                 "lib.py": "def (:\n"})
    assert any("lib.py could not be parsed" in n for n in got["notes"])  # type: ignore[union-attr]
    huge = "x = 1\n" * 200_000 + "import nothing_here\n"
    got = check({"app.py": huge + "def handler(e, c):\n    return 1\n"})
    assert any("over 1024 KB" in n for n in got["notes"])  # type: ignore[union-attr]


def test_a_large_module_is_read_by_the_bounded_probe() -> None:
    big = "x = 1\n" * 20_000  # ~117 KB: over what is parsed in the worker
    assert missing({"app.py": big + "import yaml\ndef handler(e, c):\n    return 1\n"}) == [
        "yaml (app.py line 20001)"]
