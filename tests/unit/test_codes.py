"""One registry of error codes: ``orchestrator.codes.Code``. The documented table
(docs/errors.md) lists exactly its members, every member says what it means, the states
library's own names are among them, and no module outside the registry spells a code as
a string of its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import states.errors
from orchestrator.codes import MEANING, Code
from orchestrator.errors import TRANSIENT_CODES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "worker", "checker", "devtools/auto_lambda_dev")
# Files that may spell a code as text: the registry; the AWS error map, whose sets hold
# AWS's own error names (AWS says "InternalError" too); and the bootstrap that runs inside
# the jail without access to auto-lambda's packages, whose answers the runner reads.
SPELLS_TEXT = {"orchestrator/codes.py", "orchestrator/aws/errors.py",
               "orchestrator/steps/verify/bootstrap.py"}


def _documented() -> set[str]:
    text = (ROOT / "docs" / "errors.md").read_text()
    return set(re.findall(r"^\| `([A-Za-z.]+)` \|", text, flags=re.M))


def test_the_documented_table_lists_exactly_the_registry() -> None:
    documented, registry = _documented(), {code.value for code in Code}
    assert documented - registry == set(), "documented but not in Code"
    assert registry - documented == set(), "in Code but not in docs/errors.md"


def test_every_code_says_what_it_means_and_names_itself() -> None:
    assert set(MEANING) == set(Code)
    assert all(text and not text.endswith(".") for text in MEANING.values())
    assert all(code.name == code.value.replace(".", "") for code in Code)


def test_the_retried_codes_are_codes_and_marked_so_in_the_docs() -> None:
    assert set(TRANSIENT_CODES) <= {code.value for code in Code}
    text = (ROOT / "docs" / "errors.md").read_text()
    retried = set(re.findall(r"^\| `([A-Za-z.]+)` \|[^|]*\| yes \|$", text, flags=re.M))
    assert retried == set(TRANSIENT_CODES)


def test_the_states_library_names_are_registered() -> None:
    # states imports nothing of ours, so it spells its names itself: they must be codes.
    names = {value for key, value in vars(states.errors).items()
             if key.startswith("STATES_") and key != "STATES_ALL"}
    classes = {cls.code for cls in vars(states.errors).values()
               if isinstance(cls, type) and isinstance(getattr(cls, "code", None), str)}
    assert names | classes <= {code.value for code in Code}


def _sources() -> list[Path]:
    return [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
            if path.relative_to(ROOT).as_posix() not in SPELLS_TEXT]


def _code_value(node: ast.AST) -> ast.expr | None:
    """The value given to ``code`` by ``code="X"``, ``code = "X"`` or ``code: str = "X"``."""
    if isinstance(node, ast.keyword):
        return node.value if node.arg == "code" else None
    if isinstance(node, ast.Assign):
        named = any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)
        return node.value if named else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.value if node.target.id == "code" else None
    return None


def _spelled(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    registry = {code.value for code in Code}
    found = []
    for node in ast.walk(tree):
        value = _code_value(node)
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
            found.append(f"{path.relative_to(root)}:{node.lineno} code={value.value!r}")
        # any other spelling of a registered code ("AwsUnavailable" in a comparison...)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in registry and id(node) not in docstrings:
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.value!r}")
    return found


def test_no_module_spells_a_code_as_text() -> None:
    spelled = [hit for path in _sources() for hit in _spelled(path)]
    assert spelled == [], "use orchestrator.codes.Code: " + ", ".join(spelled)


def test_the_scan_finds_a_spelled_code(tmp_path: Path) -> None:
    # outside the tree: a probe file in orchestrator/ would be read by the scan above,
    # running at the same time on another worker
    bad = tmp_path / "orchestrator" / "probe.py"
    bad.parent.mkdir()
    bad.write_text('X = dict(code="Whatever")\nif X == "AwsUnavailable":\n    pass\n')
    assert _spelled(bad, tmp_path) == ["orchestrator/probe.py:1 code='Whatever'",
                                       "orchestrator/probe.py:2 'AwsUnavailable'"]
