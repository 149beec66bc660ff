"""Requirements are data: whatever text an upload puts in a requirement or lock field
(newlines, pip options, URLs, ``${VAR}``, NUL, unicode), the build either refuses it
with a stable code naming the file, or the installer's input holds only canonical
``name[extras]specifiers`` lines generated from checked fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import BuildError
from orchestrator.steps.build.inputs.combine import read_inputs
from orchestrator.steps.build.inputs.spec import Requirement
from orchestrator.steps.build.resolve import _lines
from orchestrator.steps.build.target import Target
from tests.conftest import examples

PY312 = Target("python3.12", "x86_64")
CANONICAL = re.compile(r"^[a-z0-9][a-z0-9-]*(\[[a-z0-9,-]+\])?([<>=!~]{1,2}[A-Za-z0-9.*+!]+"
                       r"(,[<>=!~]{1,2}[A-Za-z0-9.*+!]+)*)?$")
STABLE = {"RequirementsInvalid", "LockInvalid", "LockUnsupported", "DependencySourcesConflict",
          "HashesRequired"}
# What attackers put in fields: each would be a command to a line-based installer.
HOSTILE = ["1.0\n-e ./evil", "six\n", "1.0\r\n-r /proc/self/environ", "--index-url=http://127.0.0.1:1/",
           "${HOME}", "1.0\x00", "http://127.0.0.1:9/x.whl",
           "requests\n--extra-index-url http://169.254.169.254/", "1.0\u2028-e ."]
SHA = "ab" * 32


def installer_input(app: Path, *, optional: list[str] | None = None) -> list[str]:
    """The lines uv would be given for ``app``, as the build generates them."""
    inputs = read_inputs(app, PY312, optional=optional)
    if inputs.locked is not None:
        reqs = [Requirement(k, specifiers=(("==", p.version),))
                for k, p in sorted(inputs.locked.items())]
    else:
        reqs = [line.requirement for line in inputs.requirements]
    reqs += [c.requirement for c in inputs.constraints]
    return _lines(reqs).splitlines()


def outcome(app: Path) -> str | list[str]:
    """The refusal's code, or the installer's lines."""
    try:
        return installer_input(app)
    except BuildError as exc:
        return exc.code


def assert_safe(result: str | list[str]) -> None:
    if isinstance(result, str):
        assert result in STABLE, result
        return
    for line in result:
        assert CANONICAL.fullmatch(line), line


# ---- one writer per source, each taking a hostile value for one field ----
def uv_lock(field: str, value: str) -> dict[str, str]:
    pkg = {"name": "six", "version": "1.16.0", "source": '{ registry = "https://pypi.org/simple" }',
           "hash": f"sha256:{SHA}", "marker": ""}
    pkg[field] = value
    dep_marker = f", marker = {json.dumps(pkg['marker'])}" if field == "marker" else ""
    source = pkg["source"] if field != "source" else f"{{ registry = {json.dumps(value)} }}"
    return {"uv.lock": (
        'version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        f'dependencies = [{{ name = {json.dumps(pkg["name"])}{dep_marker} }}]\n\n'
        f'[[package]]\nname = {json.dumps(pkg["name"])}\nversion = {json.dumps(pkg["version"])}\n'
        f'source = {source}\n'
        f'wheels = [{{ url = "https://f/six-1.16.0-py2.py3-none-any.whl", '
        f'hash = {json.dumps(pkg["hash"])} }}]\n')}


def pipfile_lock(field: str, value: str) -> dict[str, str]:
    entry: dict[str, object] = {"version": "==1.16.0", "hashes": [f"sha256:{SHA}"]}
    name = "six"
    if field == "name":
        name = value
    elif field == "version":
        entry["version"] = "==" + value
    elif field == "hash":
        entry["hashes"] = [value]
    elif field == "marker":
        entry["markers"] = value
    elif field == "source":
        entry["index"] = value
    doc = {"_meta": {"sources": [{"url": value if field == "source" else "https://pypi.org/simple",
                                  "name": "pypi"}]}, "default": {name: entry}}
    return {"Pipfile.lock": json.dumps(doc)}


def pylock(field: str, value: str) -> dict[str, str]:
    f = {"name": "six", "version": "1.16.0", "hash": SHA, "marker": "",
         "source": "https://f/six-1.16.0-py2.py3-none-any.whl"} | {field: value}
    marker_line = f"marker = {json.dumps(f['marker'])}\n" if f["marker"] else ""
    return {"pylock.toml": (
        'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\n'
        f"name = {json.dumps(f['name'])}\nversion = {json.dumps(f['version'])}\n{marker_line}"
        f"wheels = [{{ url = {json.dumps(f['source'])}, "
        f"hashes = {{ sha256 = {json.dumps(f['hash'])} }} }}]\n")}


def poetry_lock(field: str, value: str) -> dict[str, str]:
    f = {"name": "six", "version": "1.16.0", "hash": f"sha256:{SHA}", "marker": "",
         "source": ""} | {field: value}
    name, marker = f["name"], f["marker"]
    source = (f'[package.source]\ntype = "legacy"\nurl = {json.dumps(f["source"])}\n'
              'reference = "x"\n') if field == "source" else ""
    deps = (f"{json.dumps(name)} = {{ version = \"*\", markers = {json.dumps(marker)} }}"
            if marker else f"{json.dumps(name)} = \"*\"")
    return {
        "pyproject.toml": f"[tool.poetry]\nname = 'app'\n[tool.poetry.dependencies]\n{deps}\n",
        "poetry.lock": (f"[[package]]\nname = {json.dumps(name)}\n"
                        f"version = {json.dumps(f['version'])}\n"
                        f"files = [{{ file = \"six-1.16.0-py2.py3-none-any.whl\", "
                        f"hash = {json.dumps(f['hash'])} }}]\n{source}")}


def requirements_txt(field: str, value: str) -> dict[str, str]:
    line = {"name": f"{value}==1.0", "version": f"six=={value}",
            "hash": f"six==1.16.0 --hash=sha256:{value}", "marker": f"six==1.16.0; {value}",
            "source": f"six @ {value}"}[field]
    return {"requirements.txt": line + "\n"}


def pep621(field: str, value: str) -> dict[str, str]:
    text = {"name": f"{value}==1.0", "version": f"six=={value}", "hash": "six==1.16.0",
            "marker": f"six==1.16.0; python_version > {json.dumps(value)}",
            "source": f"six @ {value}"}[field]
    return {"pyproject.toml": f"[project]\nname='app'\ndependencies = [{json.dumps(text)}]\n"}


WRITERS = {"uv.lock": uv_lock, "Pipfile.lock": pipfile_lock, "pylock.toml": pylock,
           "poetry.lock": poetry_lock, "requirements.txt": requirements_txt,
           "pyproject.toml": pep621}
FIELDS = ["name", "version", "hash", "marker", "source"]


def make_app(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        old.unlink()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("source", sorted(WRITERS))
def test_an_ordinary_pin_becomes_one_canonical_line(tmp_path: Path, source: str) -> None:
    lines = installer_input(make_app(tmp_path / "app", WRITERS[source]("name", "six")))
    assert len(lines) == 1 and lines[0].startswith("six") and CANONICAL.fullmatch(lines[0])


@pytest.mark.parametrize("source", sorted(WRITERS))
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_field_values_never_reach_the_installer(tmp_path: Path, source: str,
                                                        field: str, value: str) -> None:
    result = outcome(make_app(tmp_path / "app", WRITERS[source](field, value)))
    assert_safe(result)
    if isinstance(result, list):  # accepted: the value was not used (a lock's source URL)
        assert all(value not in line for line in result)


@pytest.mark.parametrize("line,code", [
    ("-e ./evil", "RequirementsInvalid"),
    ("--index-url http://127.0.0.1:1/", "RequirementsInvalid"),
    ("-r /proc/self/environ", "RequirementsInvalid"), ("-r http://127.0.0.1:9/r.txt",
                                                      "RequirementsInvalid"),
    ("six===1.0", "RequirementsInvalid"), ("six==1.0 --hash=sha256:abc", "RequirementsInvalid"),
    ("./evil", "RequirementsInvalid"), ("six @ file:///etc/passwd", "RequirementsInvalid")])
def test_requirement_lines_that_are_commands_are_refused(tmp_path: Path, line: str,
                                                         code: str) -> None:
    app = make_app(tmp_path / "app", {"requirements.txt": line + "\n"})
    with pytest.raises(BuildError) as info:
        installer_input(app)
    assert info.value.code == code
    assert "requirements.txt" in str(info.value)


def test_a_lock_version_with_a_newline_names_the_file_and_field(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app", uv_lock("version", "1.0\n-e ./evil"))
    with pytest.raises(BuildError) as info:
        installer_input(app)
    assert info.value.code == "LockInvalid"
    assert "uv.lock" in info.value.message and "version" in info.value.message


def test_versions_and_names_are_written_in_their_normal_form(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app", {"requirements.txt":
                                      "Foo_Bar.baz[Extra_One]>=1.0-post1,!=2.*\n"})
    assert installer_input(app) == ["foo-bar-baz[extra-one]!=2.*,>=1.0.post1"]


def test_markers_are_decided_here_and_never_written(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app", {"requirements.txt":
                                      "six==1.16.0; python_version >= '3.12'\n"
                                      "idna==3.7; python_version < '3'\n"})
    assert installer_input(app) == ["six==1.16.0"]


FIELD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                     max_size=40) | st.sampled_from(HOSTILE)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(source=st.sampled_from(sorted(WRITERS)), field=st.sampled_from(FIELDS),
       value=FIELD_TEXT)
def test_any_text_in_any_field_is_refused_or_canonical(tmp_path: Path, source: str, field: str,
                                                       value: str) -> None:
    try:
        files = WRITERS[source](field, value)
    except UnicodeEncodeError:
        return
    assert_safe(outcome(make_app(tmp_path / "prop", files)))
