"""What an app asks to install, from every place teams declare it: requirements files with
includes confined to the zip and hashes, PEP 621 and Poetry pyproject files with optional
groups, the four lock formats read for the target, and a clear code when sources
disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import BuildError
from orchestrator.steps.build.inputs import input_files
from orchestrator.steps.build.inputs.combine import DependencyInputs, read_inputs
from orchestrator.steps.build.inputs.pyproject import poetry_constraint
from orchestrator.steps.build.target import Target

PY312 = Target("python3.12", "x86_64")
SHA_A = "a" * 64
SHA_B = "b" * 64


def app(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def read(root: Path, target: Target = PY312, **kw: object) -> DependencyInputs:
    return read_inputs(root, target, **kw)  # type: ignore[arg-type]


def code_of(root: Path, **kw: object) -> str:
    with pytest.raises(BuildError) as info:
        read(root, **kw)
    assert str(info.value)
    return info.value.code


def texts(inputs: DependencyInputs) -> list[str]:
    return sorted(line.text for line in inputs.requirements)


# ---- requirements files ----
def test_includes_constraints_continuations_and_comments(tmp_path: Path) -> None:
    root = app(tmp_path, {
        "requirements.txt": "# top\n-r reqs/base.txt\n--constraint reqs/pins.txt\n"
                            "requests[socks] >= 2 ; python_version >= '3.8'  # why\n"
                            "pandas \\\n  ==2.2.3\nwin-only; sys_platform == 'win32'\n",
        "reqs/base.txt": "-r more.txt\nnumpy>=2\n",
        "reqs/more.txt": "six\n",
        "reqs/pins.txt": "urllib3<3\n"})
    got = read(root)
    assert texts(got) == ["numpy>=2", "pandas==2.2.3",
                          'requests[socks]>=2; python_version >= "3.8"', "six"]
    assert [c.text for c in got.constraints] == ["urllib3<3"]
    assert got.files == ["requirements.txt", "reqs/base.txt", "reqs/more.txt",
                         "reqs/pins.txt"]
    assert "win-only" not in got.declared  # its marker does not hold on Linux


@pytest.mark.parametrize("text", [
    "-r ../outside.txt\n", "-r /etc/passwd\n", "-r https://example.com/r.txt\n",
    "-r missing.txt\n", "-r requirements.txt\n", "--index-url https://evil.example/simple\n",
    "--extra-index-url=https://evil.example\n", "-f /tmp\n", "-e .\n", "--no-binary :all:\n",
    "pkg @ https://evil.example/pkg.whl\n", "./local-dir\n", "not a requirement!\n",
    "six==1 --hash=md5:abcd\n", "--trusted-host example.com\n", "-r\n",
])
def test_unsafe_or_unreadable_requirements_are_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "outside.txt").write_text("six\n")
    assert code_of(app(tmp_path, {"requirements.txt": text})) == "RequirementsInvalid"


def test_an_include_through_a_symlink_out_of_the_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("six\n")
    root = app(tmp_path, {"requirements.txt": "-r link.txt\n"})
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert code_of(root) == "RequirementsInvalid"


def test_hash_mode_needs_every_requirement_pinned_and_hashed(tmp_path: Path) -> None:
    root = app(tmp_path, {"requirements.txt": f"six==1.16.0 --hash=sha256:{SHA_A} \\\n"
                                              f"    --hash=sha256:{SHA_B.upper()}\nidna\n"})
    assert code_of(root) == "HashesRequired"
    (root / "requirements.txt").write_text(f"--require-hashes\nsix==1.16.0 \\\n"
                                           f"  --hash=sha256:{SHA_A} --hash=sha256:{SHA_B}\n")
    got = read(root)
    assert got.require_hashes and got.hashes == {"six": frozenset({SHA_A, SHA_B})}


# ---- pyproject ----
def test_pep621_dependencies_and_the_optional_groups_asked_for(tmp_path: Path) -> None:
    root = app(tmp_path, {"pyproject.toml": """
[project]
name = "svc"
version = "1"
dependencies = ["fastapi>=0.110", "mangum"]
[project.optional-dependencies]
db = ["psycopg2-binary"]
dev = ["pytest"]
"""})
    assert texts(read(root)) == ["fastapi>=0.110", "mangum"]
    assert texts(read(root, optional=["db"])) == ["fastapi>=0.110", "mangum",
                                                  "psycopg2-binary"]
    assert code_of(root, optional=["nope"]) == "RequirementsInvalid"


def test_setuptools_dynamic_dependencies_come_from_their_file(tmp_path: Path) -> None:
    root = app(tmp_path, {"pyproject.toml": """
[project]
name = "svc"
version = "1"
dynamic = ["dependencies"]
[tool.setuptools.dynamic]
dependencies = { file = ["deps.txt"] }
""", "deps.txt": "six\n"})
    got = read(root)
    assert texts(got) == ["six"] and got.files == ["pyproject.toml", "deps.txt"]


def test_poetry_dependencies_are_translated(tmp_path: Path) -> None:
    root = app(tmp_path, {"pyproject.toml": """
[tool.poetry.dependencies]
python = "^3.12"
requests = "^2.31"
pendulum = { version = "~3.0", extras = ["test"] }
uvloop = { version = "*", markers = "sys_platform == 'linux'" }
boto3 = { version = "1.34.0", optional = true }
[tool.poetry.extras]
aws = ["boto3"]
"""})
    assert texts(read(root)) == ["pendulum[test]<3.1,>=3.0", "requests<3,>=2.31",
                                 'uvloop; sys_platform == "linux"']
    assert "boto3==1.34.0" in texts(read(root, optional=["aws"]))


@pytest.mark.parametrize(("given", "expected"), [
    ("^1.2.3", ">=1.2.3,<2"), ("^0.2.3", ">=0.2.3,<0.3"), ("^0.0.3", ">=0.0.3,<0.0.4"),
    ("^0", ">=0,<1"), ("~1.2.3", ">=1.2.3,<1.3"), ("~1", ">=1,<2"), ("1.2.*", "==1.2.*"),
    (">=1.2, <2.0", ">=1.2,<2.0"), ("*", ""), ("2.0", "==2.0")])
def test_poetry_constraints(given: str, expected: str) -> None:
    assert poetry_constraint(given, "x") == expected


# ---- locks ----
UV_LOCK = f"""
version = 1
revision = 3
requires-python = ">=3.12"

[[package]]
name = "svc"
version = "1"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "requests", extra = ["socks"] }},
    {{ name = "colorama", marker = "sys_platform == 'win32'" }},
]
[package.optional-dependencies]
db = [{{ name = "psycopg2-binary" }}]

[[package]]
name = "requests"
version = "2.32.3"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [{{ name = "idna" }}]
wheels = [{{ url = "https://files/requests.whl", hash = "sha256:{SHA_A}" }}]
[package.optional-dependencies]
socks = [{{ name = "pysocks" }}]

[[package]]
name = "idna"
version = "3.7"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [{{ url = "https://files/idna.whl", hash = "sha256:{SHA_B}" }}]

[[package]]
name = "pysocks"
version = "1.7.1"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "colorama"
version = "0.4.6"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "psycopg2-binary"
version = "2.9.9"
source = {{ registry = "https://pypi.org/simple" }}
"""


def pins(inputs: DependencyInputs) -> dict[str, str]:
    assert inputs.locked is not None
    return {k: p.version for k, p in inputs.locked.items()}


def test_uv_lock_is_walked_from_the_project_for_the_target(tmp_path: Path) -> None:
    root = app(tmp_path, {"uv.lock": UV_LOCK})
    got = read(root)
    assert pins(got) == {"requests": "2.32.3", "idna": "3.7", "pysocks": "1.7.1"}
    assert got.lock_file == "uv.lock" and got.hashes["idna"] == frozenset({SHA_B})
    assert "psycopg2-binary" in pins(read(root, optional=["db"]))


def test_poetry_lock_is_walked_from_pyproject(tmp_path: Path) -> None:
    root = app(tmp_path, {
        "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\nrequests = "^2"\n',
        "poetry.lock": f"""
[[package]]
name = "requests"
version = "2.31.0"
optional = false
files = [{{file = "requests-2.31.0-py3-none-any.whl", hash = "sha256:{SHA_A}"}},
         {{file = "requests-2.31.0.tar.gz", hash = "sha256:{SHA_B}"}}]
[package.dependencies]
idna = ">=2.5"
colorama = {{version = "*", markers = "sys_platform == \\"win32\\""}}
PySocks = {{version = ">=1.5.6", optional = true}}

[[package]]
name = "idna"
version = "3.6"
optional = false
files = []

[[package]]
name = "colorama"
version = "0.4.6"
optional = false
files = []

[[package]]
name = "pysocks"
version = "1.7.1"
optional = true
files = []

[metadata]
lock-version = "2.0"
"""})
    got = read(root)
    assert pins(got) == {"requests": "2.31.0", "idna": "3.6"}
    assert got.hashes["requests"] == frozenset({SHA_A})  # wheels' hashes only


def test_pipfile_lock_default_section_for_the_target(tmp_path: Path) -> None:
    root = app(tmp_path, {"Pipfile.lock": json.dumps({
        "_meta": {}, "develop": {"pytest": {"version": "==8.0.0"}},
        "default": {"six": {"version": "==1.16.0", "hashes": [f"sha256:{SHA_A}"]},
                    "pywin32": {"version": "==306", "markers": "sys_platform == 'win32'"}}})})
    assert pins(read(root)) == {"six": "1.16.0"}


def test_pylock_packages_whose_markers_hold(tmp_path: Path) -> None:
    root = app(tmp_path, {"pylock.toml": f"""
lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "numpy"
version = "2.1.0"
wheels = [{{ url = "https://files/numpy.whl", hashes = {{ sha256 = "{SHA_A}" }} }}]
[[packages]]
name = "uvloop"
version = "0.19.0"
marker = "sys_platform == 'darwin'"
[[packages]]
name = "arm-only"
version = "1.0"
marker = "platform_machine == 'aarch64'"
"""})
    assert pins(read(root)) == {"numpy": "2.1.0"}
    assert pins(read(root, Target("python3.12", "arm64"))) == {"numpy": "2.1.0",
                                                                 "arm-only": "1.0"}


@pytest.mark.parametrize(("name", "text"), [
    ("uv.lock", 'version = 1\n[[package]]\nname = "svc"\nversion = "1"\n'
                'source = { virtual = "." }\ndependencies = [{ name = "x" }]\n'
                '[[package]]\nname = "x"\nversion = "1"\nsource = { git = "https://g/x" }\n'),
    ("Pipfile.lock", json.dumps({"default": {"x": {"path": "./x", "version": "==1"}}})),
    ("pylock.toml", 'lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\n'
                    'directory = { path = "x" }\n'),
])
def test_locked_packages_from_outside_an_index_are_refused(tmp_path: Path, name: str,
                                                          text: str) -> None:
    assert code_of(app(tmp_path, {name: text})) == "LockUnsupported"


# ---- agreement ----
def test_a_requirement_the_lock_does_not_meet_is_a_conflict(tmp_path: Path) -> None:
    root = app(tmp_path, {"uv.lock": UV_LOCK, "requirements.txt": "requests==2.31.0\n"})
    with pytest.raises(BuildError) as info:
        read(root)
    assert info.value.code == "DependencySourcesConflict"
    assert "requirements.txt line 1" in str(info.value) and "2.32.3" in str(info.value)
    (root / "requirements.txt").write_text("requests>=2.32\nidna\n")
    assert pins(read(root))["requests"] == "2.32.3"
    (root / "requirements.txt").write_text("flask\n")
    assert code_of(root) == "DependencySourcesConflict"


def test_two_sources_pinning_different_versions_is_a_conflict(tmp_path: Path) -> None:
    root = app(tmp_path, {"requirements.txt": "numpy==2.2.0\n", "pyproject.toml":
                          '[project]\nname = "a"\nversion = "1"\ndependencies = ["numpy>=2.3"]\n'})
    with pytest.raises(BuildError) as info:
        read(root)
    assert info.value.code == "DependencySourcesConflict"
    assert "requirements.txt" in str(info.value) and "pyproject.toml" in str(info.value)
    (root / "requirements.txt").write_text("numpy==2.3.1\n")
    assert texts(read(root)) == ["numpy==2.3.1", "numpy>=2.3"]


def test_two_locks_must_pin_the_same_versions(tmp_path: Path) -> None:
    pipfile = {"default": {"requests": {"version": "==2.32.3"}, "idna": {"version": "==3.7"},
                           "pysocks": {"version": "==1.7.1"}}}
    root = app(tmp_path, {"uv.lock": UV_LOCK, "Pipfile.lock": json.dumps(pipfile)})
    assert pins(read(root))["requests"] == "2.32.3"
    pipfile["default"]["idna"]["version"] = "==3.6"
    (root / "Pipfile.lock").write_text(json.dumps(pipfile))
    assert code_of(root) == "DependencySourcesConflict"


def test_input_files_are_the_ones_present(tmp_path: Path) -> None:
    root = app(tmp_path, {"requirements.txt": "six\n", "uv.lock": UV_LOCK, "other.txt": "x"})
    assert input_files(root, None) == ["requirements.txt", "uv.lock"]
    assert input_files(root, ["other.txt"]) == ["other.txt", "uv.lock"]
    assert read(app(tmp_path / "e", {"app.py": ""})).empty


def test_a_requirements_file_the_manifest_names_must_exist(tmp_path: Path) -> None:
    from orchestrator.steps.build.cache import BuildCache
    from orchestrator.steps.build.dependencies import DependencyStep

    root = app(tmp_path, {"app.py": ""})
    step = DependencyStep(root, PY312, {"requirements": ["reqs/prod.txt"]},
                          BuildCache(tmp_path / "cache"), tmp_path / "work", builder="t",
                          say=lambda _m: None)
    with pytest.raises(BuildError) as info:
        step.get()
    assert info.value.code == "RequirementsInvalid" and "reqs/prod.txt" in str(info.value)
