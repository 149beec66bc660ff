"""The demo's logic: submit zips, follow their jobs until terminal, check each
verified function's ``live`` alias, and list the function URLs and HTTP APIs the jobs
attached (with the address the local stand-in serves each on, and, for public ones, what
a GET answers). Display is a callback given the job records (the CLI draws them); no
terminal code here."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from orchestrator.aws.facade import Aws
from orchestrator.config import LIVE_ALIAS
from orchestrator.intake.events import ObjectRef
from orchestrator.intake.submit import submit_zip
from orchestrator.jobs.record import JobRecord
from orchestrator.jobs.store import JobStore


@dataclass(frozen=True)
class Served:
    """A function URL or HTTP API of a demo app, and where the stand-in serves it."""

    app: str
    kind: str
    auth: str
    aws_url: str
    local_url: str


@dataclass
class DemoResult:
    records: list[JobRecord] = field(default_factory=list)
    live_versions: dict[str, str | None] = field(default_factory=dict)
    timed_out: bool = False
    served: list[Served] = field(default_factory=list)

    @property
    def all_verified(self) -> bool:
        return bool(self.records) and not self.timed_out and all(
            r.state == "verified" and self.live_versions.get(r.job_id) == r.published_version
            for r in self.records)

    def summary_lines(self) -> list[str]:
        lines = []
        for r in self.records:
            if r.state == "verified":
                live = self.live_versions.get(r.job_id)
                verify = (r.snapshot.get("data") or {}).get("verify") or {}
                how = verify.get("mode", "?")
                if verify.get("interpreter"):
                    how += f", {verify['interpreter']}"
                lines.append(f"[green]✔[/green] {escape(r.app_name or r.key)}: version "
                             f"{r.published_version} live={live} (verify: {escape(how)})")
            else:
                err = r.error or {}
                lines.append(f"[red]✘[/red] {escape(r.app_name or r.key)}: {r.state} "
                             + escape(f"[{err.get('code')}] {err.get('message')}"))
        if self.timed_out:
            lines.append("[red]timed out waiting for jobs[/red]")
        return lines


def wait_for_jobs(store: JobStore, job_ids: list[str], *, timeout: float,
                  on_update: Callable[[list[JobRecord]], None] | None = None,
                  poll: float = 0.5, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> tuple[list[JobRecord], bool]:
    """Poll the store until every job is terminal; (records, timed_out)."""
    deadline = clock() + timeout
    while True:
        records = [store.get(j) for j in job_ids]
        present = [r for r in records if r is not None]
        if on_update is not None:
            on_update(present)
        if len(present) == len(job_ids) and all(r.is_terminal for r in present):
            return present, False
        if clock() > deadline:
            return present, True
        sleep(poll)


def live_version(aws: Aws, function_arn: str | None) -> str | None:
    if not function_arn:
        return None
    try:
        alias = aws.lambda_.get_alias(FunctionName=function_arn.split(":")[6], Name=LIVE_ALIAS)
    except Exception:
        return None
    return str(alias.get("FunctionVersion"))


def triggers_of(record: JobRecord) -> list[dict[str, Any]]:
    """The triggers a job's promote step recorded (``[]`` before it ran)."""
    data = (record.snapshot.get("data") or {}).get("triggers") or {}
    return [dict(t) for t in data.get("triggers") or [] if isinstance(t, dict)]


def served_endpoints(records: list[JobRecord], local_url: Callable[[str], str]
                     ) -> list[Served]:
    return [Served(r.app_name or r.key, str(t["type"]), str(t.get("auth")), str(t["url"]),
                   local_url(str(t["url"])))
            for r in records if r.state == "verified"
            for t in triggers_of(r) if t.get("type") in ("url", "http") and t.get("url")]


def fetch(url: str, timeout: float = 60) -> tuple[int, str]:
    """GET ``url``: (status, body), errors included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def run_demo(aws: Aws, zips: list[Path], *, timeout: float,
             on_update: Callable[[list[JobRecord]], None] | None = None,
             keys: list[str] | None = None,
             local_url: Callable[[str], str] | None = None) -> DemoResult:
    store = JobStore(aws)
    names: list[str | None] = list(keys) if keys else [None] * len(zips)
    refs: list[ObjectRef] = [submit_zip(aws, path, name)
                             for path, name in zip(zips, names, strict=True)]
    job_ids = [r.job_id for r in refs]
    records, timed_out = wait_for_jobs(store, job_ids, timeout=timeout, on_update=on_update)
    result = DemoResult(records=records, timed_out=timed_out)
    for r in records:
        result.live_versions[r.job_id] = live_version(aws, r.function_arn)
    if local_url is not None:
        result.served = served_endpoints(records, local_url)
    return result
