"""Only ``orchestrator/aws/`` (the doors) imports boto3 or botocore: every other module
of the four packages talks to AWS through a door. Checked by walking the source with
``ast`` (type-only imports, function-level imports and new modules included), and the
checker is shown to catch a violation on a tree that has one."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("states", "orchestrator", "worker", "checker")
DOORS = Path("orchestrator") / "aws"
FORBIDDEN = ("boto3", "botocore")


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def boundary_violations(root: Path) -> list[str]:
    """``path:line module`` for every boto3/botocore import outside the doors."""
    out: list[str] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.is_relative_to(DOORS):
                continue
            for line, module in _imported(ast.parse(path.read_text(), str(path))):
                if module.split(".")[0] in FORBIDDEN:
                    out.append(f"{rel}:{line} {module}")
    return out


def test_no_module_outside_the_doors_imports_boto3_or_botocore() -> None:
    assert boundary_violations(REPO) == []


def test_the_check_catches_every_kind_of_import(tmp_path: Path) -> None:
    steps = tmp_path / "orchestrator" / "steps"
    steps.mkdir(parents=True)
    (steps / "sneaky.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from botocore.client import BaseClient\n"
        "def f() -> None:\n"
        "    import boto3.session\n")
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "plain.py").write_text("import botocore\n")
    doors = tmp_path / "orchestrator" / "aws"
    doors.mkdir()
    (doors / "door.py").write_text("import boto3\n")  # allowed: this is a door
    assert boundary_violations(tmp_path) == [
        "orchestrator/steps/sneaky.py:4 botocore.client",
        "orchestrator/steps/sneaky.py:6 boto3.session",
        "worker/plain.py:1 botocore",
    ]


# The facade still hands out raw clients, for the doors and for tests that hook botocore
# events; outside the doors nothing may call one (``aws.s3.put_object(...)``).
RAW_CLIENTS = frozenset({"s3", "sqs", "dynamodb", "lambda_", "iam", "cloudwatch",
                         "autoscaling", "xray"})


def raw_client_calls(root: Path) -> list[str]:
    """``path:line client.operation`` for every call through a raw client outside the
    doors (``x.s3.put_object``, ``x.client("s3")``)."""
    out: list[str] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.is_relative_to(DOORS):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Attribute):
                    continue
                inner = node.value
                if isinstance(inner, ast.Attribute) and inner.attr in RAW_CLIENTS:
                    out.append(f"{rel}:{node.lineno} {inner.attr}.{node.attr}")
                elif node.attr == "client" and isinstance(inner, ast.Name) \
                        and inner.id in {"aws", "self"} and path.name != "facade.py":
                    out.append(f"{rel}:{node.lineno} {inner.id}.client")
    return out


def test_no_module_outside_the_doors_calls_a_raw_client() -> None:
    assert raw_client_calls(REPO) == []


def test_the_raw_client_check_catches_a_call(tmp_path: Path) -> None:
    steps = tmp_path / "orchestrator" / "steps"
    steps.mkdir(parents=True)
    (steps / "raw.py").write_text("def f(aws):\n    aws.s3.put_object(Bucket='b')\n"
                                  "    aws.client('sqs')\n")
    (tmp_path / "orchestrator" / "aws").mkdir()
    (tmp_path / "orchestrator" / "aws" / "door.py").write_text("def g(a):\n    a.s3.get()\n")
    assert raw_client_calls(tmp_path) == ["orchestrator/steps/raw.py:2 s3.put_object",
                                          "orchestrator/steps/raw.py:3 aws.client"]
