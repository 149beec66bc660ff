"""The deployment workflow's tasks: fetch, unpack, build, deploy, verify.

Each task takes the states library's TaskContext, does one thing, and returns what it
learned (merged into the execution's data). Tasks never decide what happens next and
never retry: retries, catches and timeouts come from the declaration in
``orchestrator.jobs.workflow``. Every task is idempotent, and a task that runs on another
machine than the previous one rehydrates its inputs (the source object pinned by
version, the artifact by content hash) without rerunning an earlier step.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.aws.facade import S3_MISSING_CODES, Aws, aws_call, error_code
from orchestrator.errors import ObjectMissing, ZipError
from orchestrator.faults import fault_point

log = logging.getLogger(__name__)

# Lambda's unzipped limit; a larger upload cannot become a function.
MAX_SOURCE_BYTES = 262_144_000
_CHUNK = 1 << 20
# Lowers the unzip caps (bytes, entries) for drills and tests of the limits; never raises them.
ENV_UNPACK_MAX_BYTES = "AUTO_LAMBDA_UNPACK_MAX_BYTES"
ENV_UNPACK_MAX_ENTRIES = "AUTO_LAMBDA_UNPACK_MAX_ENTRIES"
# A gradual rollout's bake sleeps in slices this long, heartbeating after each: well
# inside the verify step's 60 s heartbeat timeout.
BAKE_SLICE_SECONDS = 20.0


def unpack_limits(env: Any = None) -> Any:
    """The unzip limits, lowered by the environment where asked (for drills)."""
    from orchestrator.steps.zipsafe import UnpackLimits

    env = os.environ if env is None else env
    base = UnpackLimits()
    changes: dict[str, int] = {}
    for name, attr in ((ENV_UNPACK_MAX_BYTES, "max_total_bytes"),
                       (ENV_UNPACK_MAX_ENTRIES, "max_entries")):
        raw = env.get(name)
        if raw and raw.isdigit():
            changes[attr] = min(int(raw), getattr(base, attr))
    if not changes:
        return base
    from dataclasses import replace

    return replace(base, **changes)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:6]}.part{path.suffix}")


@dataclass
class StepEnv:
    aws: Aws
    work_root: Path
    role_arn: str
    progress: Callable[[str, str], None] = field(default=lambda job_id, msg: None)
    _cache: Any = None
    sleep: Callable[[float], None] = time.sleep  # a gradual rollout's bake time

    @property
    def cache(self) -> Any:
        if self._cache is None:
            from orchestrator.steps.packaging import BuildCache
            from orchestrator.steps.packaging.cache import S3RemoteCache

            self._cache = BuildCache.from_settings(self.aws.settings,
                                                   remote=S3RemoteCache(self.aws))
        return self._cache


class Steps:
    """Binds the step functions to one StepEnv; ``tasks()`` is what drive() runs."""

    def __init__(self, env: StepEnv) -> None:
        self.env = env

    def tasks(self) -> dict[str, Callable[[Any], dict[str, Any]]]:
        return {"fetch": self.fetch, "unpack": self.unpack, "build": self.build,
                "deploy": self.deploy, "verify": self.verify}

    # ---- paths and rehydration ----
    def job_dir(self, job_id: str) -> Path:
        path = self.env.work_root / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _download_source(self, data: dict[str, Any], dest: Path) -> dict[str, Any]:
        s3 = self.env.aws.s3
        kwargs: dict[str, Any] = {"Bucket": data["bucket"], "Key": data["key"]}
        pinned = (data.get("source") or {}).get("version_id") or data.get("version_id")
        if pinned:
            kwargs["VersionId"] = pinned
        try:
            with aws_call(f"s3.get_object({data['key']})"):
                resp = s3.get_object(**kwargs)
        except Exception as exc:
            if error_code(exc) in S3_MISSING_CODES:
                raise ObjectMissing(
                    f"s3://{data['bucket']}/{data['key']} no longer exists",
                    hint="it was deleted before it could be fetched; upload it again") from exc
            raise
        etag = str(resp.get("ETag", "")).strip('"')
        expected = data.get("etag")
        if expected and not pinned and etag and etag != expected:
            raise ObjectMissing(
                f"s3://{data['bucket']}/{data['key']} changed since the upload that started "
                f"this job (etag {expected} -> {etag})",
                hint="the newer upload has its own job")
        written = 0
        tmp = _tmp_name(dest)
        try:
            with tmp.open("wb") as out:
                for chunk in resp["Body"].iter_chunks(_CHUNK):
                    written += len(chunk)
                    if written > MAX_SOURCE_BYTES:
                        raise ZipError(f"the upload is over {MAX_SOURCE_BYTES:,} bytes",
                                       code="ZipTooLarge",
                                       hint="Lambda packages are at most 250 MB unzipped")
                    out.write(chunk)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return {"version_id": resp.get("VersionId") if resp.get("VersionId") != "null" else None,
                "etag": etag, "size": written}

    def _source_zip(self, ctx: Any) -> Path:
        path = self.job_dir(ctx.execution_id) / "source.zip"
        if not (path.exists() and _source_checks_out(path, ctx.data.get("source") or {})):
            self._download_source(dict(ctx.data), path)
        return path

    def _app_dir(self, ctx: Any) -> Path:
        from orchestrator.steps.zipsafe import unpack_zip

        app = self.job_dir(ctx.execution_id) / "app"
        # The marker sits next to the folder: inside it, it would be packaged.
        marker = app.with_name("app.unpacked")
        if not marker.exists():
            shutil.rmtree(app, ignore_errors=True)
            unpack_zip(self._source_zip(ctx), app, unpack_limits())
            marker.touch()
        return app

    def _spec(self, ctx: Any) -> Any:
        from orchestrator.steps.manifest import AppSpec

        return AppSpec.from_dict(dict(ctx.data["app"]))

    # ---- the five tasks ----
    def _point(self, when: str, ctx: Any, step: str) -> None:
        fault_point(f"{when}:{step}", job_id=ctx.execution_id, key=str(ctx.data.get("key", "")))

    def fetch(self, ctx: Any) -> dict[str, Any]:
        self._point("before", ctx, "fetch")
        path = self.job_dir(ctx.execution_id) / "source.zip"
        source = self._download_source(dict(ctx.data), path)
        self.env.progress(ctx.execution_id, f"fetched {source['size']:,} bytes")
        self._point("during", ctx, "fetch")
        return {"source": source}

    def unpack(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.steps.manifest import load_app_spec
        from orchestrator.steps.zipsafe import unpack_zip

        self._point("before", ctx, "unpack")
        app = self.job_dir(ctx.execution_id) / "app"
        marker = app.with_name("app.unpacked")
        marker.unlink(missing_ok=True)
        shutil.rmtree(app, ignore_errors=True)
        result = unpack_zip(self._source_zip(ctx), app, unpack_limits())
        spec = load_app_spec(app, Path(str(ctx.data["key"])).name)
        marker.touch()
        self._point("during", ctx, "unpack")
        return {"app": spec.to_dict(),
                "unpacked": {"files": result.files, "bytes": result.bytes_written}}

    def build(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.steps.packaging import build_package, store_artifact

        self._point("before", ctx, "build")
        spec = self._spec(ctx)
        out = self.job_dir(ctx.execution_id) / "package.zip"
        tmp = _tmp_name(out)

        def progress(msg: str) -> None:
            ctx.heartbeat()
            self.env.progress(ctx.execution_id, msg)

        try:
            result = build_package(self._app_dir(ctx), spec, tmp, cache=self.env.cache,
                                   progress=progress)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        result.zip_path = out
        artifact = store_artifact(self.env.aws, result)
        self._point("during", ctx, "build")
        return {"artifact": artifact, "build": result.to_dict() | {"zip_path": str(out)}}

    def deploy(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.steps.deploy import deploy_function

        self._point("before", ctx, "deploy")
        spec = self._spec(ctx)
        artifact = dict(ctx.data["artifact"])
        res = reuse_published_version(self.env.aws, spec, artifact, self.env.role_arn)
        if res is None:
            res = deploy_function(self.env.aws, spec, artifact, self.env.role_arn)
        self._point("during", ctx, "deploy")
        return {"deploy": res.to_dict()}

    def _package_zip(self, ctx: Any) -> Path:
        path = self.job_dir(ctx.execution_id) / "package.zip"
        artifact = ctx.data["artifact"]
        if path.exists() and _sha256_of(path) == artifact.get("sha256"):
            return path
        tmp = _tmp_name(path)
        try:
            with aws_call("s3.download_file(artifact)"):
                self.env.aws.s3.download_file(artifact["bucket"], artifact["key"], str(tmp))
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def verify_version(self, ctx: Any, spec: Any, deployed: Any, package_zip: Path) -> Any:
        """The dynamic check of one published version (sandbox run locally, invoke on AWS)."""
        from orchestrator.steps.checks import verify_deployment

        return verify_deployment(self.env.aws, spec, deployed, package_zip,
                                 work_dir=self.job_dir(ctx.execution_id) / "verify")

    def verify(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.steps.deploy import (
            DeployResult,
            gradual_promote,
            live_version,
            promote,
            sleep_in_slices,
        )

        self._point("before", ctx, "verify")
        spec = self._spec(ctx)
        deployed = DeployResult.from_dict(dict(ctx.data["deploy"]))
        package = self._package_zip(ctx)
        result = self.verify_version(ctx, spec, deployed, package)
        # `live` moves only now, after the new version passed.
        aws, name, version = self.env.aws, deployed.function_name, deployed.version
        previous = live_version(aws, name) if spec.deploy_strategy == "gradual" else None
        rollout: dict[str, Any] = {"requested": spec.deploy_strategy}
        if previous is None or previous == version:
            promote(aws, name, version)
            rollout |= {"strategy": "all-at-once", "weights": [], "bake_seconds": 0}
        else:
            checks = [0]

            def recheck() -> None:
                ctx.heartbeat()
                self.verify_version(ctx, spec, deployed, package)
                checks[0] += 1
                ctx.heartbeat()

            def bake(seconds: float) -> None:
                sleep_in_slices(seconds, slice_seconds=BAKE_SLICE_SECONDS,
                                sleep=self.env.sleep, beat=ctx.heartbeat)

            self.env.progress(ctx.execution_id, f"gradual rollout of version {version} over "
                              f"{previous}: weights {list(spec.deploy_weights)}")
            # On a failed re-check `live` is back on `previous` with no routing, and the
            # verify error fails the step with its own code.
            gradual_promote(aws, name, version, weights=spec.deploy_weights,
                            bake_seconds=spec.deploy_bake_seconds, check=recheck, sleep=bake)
            rollout |= {"strategy": "gradual", "weights": list(spec.deploy_weights),
                        "bake_seconds": spec.deploy_bake_seconds, "previous_live": previous,
                        "rechecks": checks[0]}
        self._point("during", ctx, "verify")
        return {"verify": result.to_dict() | {"rollout": rollout}}


def _source_checks_out(path: Path, source: dict[str, Any]) -> bool:
    """A source zip left by an earlier attempt is reused only if it is whole."""
    size = source.get("size")
    if size is not None and path.stat().st_size != int(size):
        return False
    etag = str(source.get("etag") or "")
    if etag and "-" not in etag and len(etag) == 32:  # single-part upload: etag is the MD5
        return _md5_of(path) == etag
    return size is not None


def reuse_published_version(aws: Aws, spec: Any, artifact: dict[str, Any],
                            role_arn: str) -> Any:
    """A published version that already runs this artifact's code with the spec's
    configuration (an earlier attempt published it, then crashed before recording it),
    as a DeployResult; None when there is none, so deploy_function publishes one."""
    from orchestrator.steps.deploy import (
        DeployResult,
        configuration_matches,
        desired_configuration,
        live_version,
    )

    want_sha = str(artifact.get("code_sha256") or "")
    if not want_sha:
        return None
    name = aws.settings.function_name(spec.name)
    desired = desired_configuration(spec, role_arn)
    found: dict[str, Any] | None = None
    try:
        with aws_call(f"lambda.list_versions_by_function({name})"):
            pages = aws.lambda_.get_paginator("list_versions_by_function").paginate(
                FunctionName=name)
            for page in pages:
                for version in page.get("Versions", []):
                    if (found is None and version.get("Version") != "$LATEST"
                            and version.get("CodeSha256") == want_sha
                            and configuration_matches(version, desired, spec.architecture)):
                        found = version
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    if found is None:
        return None
    number = str(found["Version"])
    arn = str(found["FunctionArn"])
    if arn.endswith(f":{number}"):
        arn = arn[: -len(number) - 1]
    log.info("function %s: version %s already runs this package; reusing it", name, number)
    return DeployResult(name, arn, number, want_sha, False, live_version(aws, name))
