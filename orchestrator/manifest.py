"""The app zip contract: ``auto-lambda.toml`` at the zip root, its defaults, and
handler detection. Pure: reads files under an unpacked app directory, writes nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import ManifestError

MANIFEST_NAME = "auto-lambda.toml"
SUPPORTED_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
DEFAULT_RUNTIME = "python3.12"
ARCHITECTURES = ("x86_64", "arm64")
HANDLER_CANDIDATES = ("app.handler", "lambda_function.lambda_handler", "handler.handler")
_NAME_RE = re.compile(r"[^a-z0-9-]+")


def slugify(name: str) -> str:
    """A Lambda-safe app name: lower case letters, digits and dashes, at most 40 chars."""
    slug = _NAME_RE.sub("-", name.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)[:40].strip("-")
    return slug or "app"


@dataclass(frozen=True)
class AppSpec:
    """What to build and how to check it, after defaults and detection."""

    name: str
    handler: str
    runtime: str = DEFAULT_RUNTIME
    architecture: str = "x86_64"
    memory: int = 256
    timeout: int = 30
    environment: dict[str, str] = field(default_factory=dict)
    verify_event: Any = field(default_factory=dict)
    verify_expect: Any = None
    has_expect: bool = False
    chalice: bool = False

    @property
    def python_version(self) -> str:
        """'3.12' for 'python3.12'."""
        return self.runtime.removeprefix("python")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppSpec:
        return cls(**data)


def _detect_handler(app_dir: Path) -> str | None:
    for candidate in HANDLER_CANDIDATES:
        module, _, _func = candidate.rpartition(".")
        if (app_dir / f"{module}.py").is_file():
            return candidate
    return None
