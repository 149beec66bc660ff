"""Finding a working interpreter of a runtime's version: shims that fail are skipped,
answers are checked, pyenv versions searched newest first, results cached."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.steps.verify import interpreters
from orchestrator.steps.verify.interpreters import candidates, clear_cache, find_interpreter


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def fake_python(path: Path, answer: str | None, exit_code: int = 0) -> Path:
    """A script standing in for an interpreter: prints ``answer`` and its own path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f'echo "{answer}"\necho "{path}"\n' if answer else 'echo "pyenv: not selected" >&2\n'
    path.write_text(f"#!/bin/sh\n{body}exit {exit_code}\n")
    path.chmod(0o755)
    return path


def test_failing_shim_on_path_is_skipped_for_pyenv_version(tmp_path: Path) -> None:
    fake_python(tmp_path / "shims" / "python3.12", None, exit_code=127)
    real = fake_python(tmp_path / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12",
                       "(3, 12)")
    env = {"PATH": str(tmp_path / "shims"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    assert find_interpreter("3.12", env=env, system_dirs=()) == real


def test_wrong_version_answer_is_rejected(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.12", "(3, 11)")
    env = {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "none")}
    assert find_interpreter("3.12", env=env, system_dirs=()) is None


def test_path_comes_before_pyenv_and_system_dirs(tmp_path: Path) -> None:
    on_path = fake_python(tmp_path / "bin" / "python3.13", "(3, 13)")
    fake_python(tmp_path / "pyenv" / "versions" / "3.13.0" / "bin" / "python3.13", "(3, 13)")
    fake_python(tmp_path / "usr" / "python3.13", "(3, 13)")
    env = {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    assert find_interpreter("3.13", env=env, system_dirs=[tmp_path / "usr"]) == on_path


def test_system_dirs_are_searched_last(tmp_path: Path) -> None:
    system = fake_python(tmp_path / "usr" / "python3.10", "(3, 10)")
    env = {"PATH": "", "PYENV_ROOT": str(tmp_path / "none")}
    assert find_interpreter("3.10", env=env, system_dirs=[tmp_path / "usr"]) == system


def test_newest_pyenv_patch_release_first(tmp_path: Path) -> None:
    versions = tmp_path / "pyenv" / "versions"
    fake_python(versions / "3.12.1" / "bin" / "python3.12", "(3, 12)")
    fake_python(versions / "3.12.10" / "bin" / "python3.12", "(3, 12)")
    env = {"PATH": "", "PYENV_ROOT": str(tmp_path / "pyenv")}
    found = candidates("3.12", env, system_dirs=())
    assert [p.parent.parent.name for p in found] == ["3.12.10", "3.12.1"]


def test_default_pyenv_root_is_under_home(tmp_path: Path) -> None:
    real = fake_python(tmp_path / ".pyenv" / "versions" / "3.12.3" / "bin" / "python3.12",
                       "(3, 12)")
    assert find_interpreter("3.12", env={"PATH": "", "HOME": str(tmp_path)},
                            system_dirs=()) == real


def test_results_are_cached(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.12", "(3, 12)")
    env = {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "none")}
    calls: list[Path] = []

    def probe(path: Path) -> tuple[tuple[int, int], Path] | None:
        calls.append(path)
        return (3, 12), path

    first = find_interpreter("3.12", env=env, system_dirs=(), probe=probe)
    second = find_interpreter("3.12", env=env, system_dirs=(), probe=probe)
    assert first == second == tmp_path / "bin" / "python3.12"
    assert len(calls) == 1


def test_nothing_found_is_none_not_an_error(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path)}
    assert find_interpreter("3.14", env=env, system_dirs=()) is None


@pytest.mark.parametrize("version", ["", "3", "python3.12", "3.12; rm -rf /", "../3.12"])
def test_odd_version_strings_find_nothing(version: str) -> None:
    assert find_interpreter(version) is None


def test_the_running_interpreter_is_found_for_its_own_version() -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # a virtualenv's bin holds pythonX.Y; the answer is the real executable behind it
    found = find_interpreter(version, env={"PATH": str(Path(sys.executable).parent)},
                             system_dirs=())
    assert found is not None
    assert found.resolve() == Path(sys.executable).resolve()
    answer = interpreters.probe_version(found)
    assert answer is not None and answer[0] == sys.version_info[:2]


def test_a_pyenv_root_that_cannot_be_read_is_skipped_not_an_error(tmp_path: Path) -> None:
    # As root no folder is unreadable; a name the kernel refuses (ENAMETOOLONG) makes
    # the same OSError surface from the search. (The hostile suite runs the real case,
    # a root-only ~/.pyenv, as an unprivileged worker.)
    system = tmp_path / "usr-bin"
    want = fake_python(system / "python3.99", "(3, 99)")
    env = {"PATH": "", "PYENV_ROOT": "/" + "x" * 5000}
    assert candidates("3.99", env, system_dirs=[system]) == [want]
