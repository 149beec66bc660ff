"""The deployment workflow's tasks: fetch, unpack, build, deploy, verify.

Each task takes the states library's TaskContext, does one thing, and returns what it
learned (merged into the execution's data). Tasks never decide what happens next and
never retry: retries, catches and timeouts come from the declaration in
``orchestrator.workflow``. Every task is idempotent, and a task that runs on another
machine than the previous one rehydrates its inputs (the source object pinned by
version, the artifact by content hash) without rerunning an earlier step.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.aws import Aws, aws_call, error_code
from orchestrator.errors import ObjectMissing, ZipError

log = logging.getLogger(__name__)

# Lambda's unzipped limit; a larger upload cannot become a function.
MAX_SOURCE_BYTES = 262_144_000
_CHUNK = 1 << 20


@dataclass
class StepEnv:
    aws: Aws
    work_root: Path
    role_arn: str
    progress: Callable[[str, str], None] = field(default=lambda job_id, msg: None)
    _cache: Any = None

    @property
    def cache(self) -> Any:
        if self._cache is None:
            from orchestrator.build import BuildCache
            from orchestrator.build.cache import S3RemoteCache

            self._cache = BuildCache(self.aws.settings.cache_dir,
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
            if error_code(exc) in {"NoSuchKey", "NoSuchVersion", "404", "NoSuchBucket"}:
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
        tmp = dest.with_suffix(".part")
        with tmp.open("wb") as out:
            for chunk in resp["Body"].iter_chunks(_CHUNK):
                written += len(chunk)
                if written > MAX_SOURCE_BYTES:
                    raise ZipError(f"the upload is over {MAX_SOURCE_BYTES:,} bytes",
                                   code="ZipTooLarge",
                                   hint="Lambda packages are at most 250 MB unzipped")
                out.write(chunk)
        tmp.replace(dest)
        return {"version_id": resp.get("VersionId") if resp.get("VersionId") != "null" else None,
                "etag": etag, "size": written}

    def _source_zip(self, ctx: Any) -> Path:
        path = self.job_dir(ctx.execution_id) / "source.zip"
        if not path.exists():
            self._download_source(dict(ctx.data), path)
        return path

    def _app_dir(self, ctx: Any) -> Path:
        from orchestrator.unpack import unpack_zip

        app = self.job_dir(ctx.execution_id) / "app"
        if not (app / ".unpacked").exists():
            shutil.rmtree(app, ignore_errors=True)
            unpack_zip(self._source_zip(ctx), app)
            (app / ".unpacked").touch()
        return app

    def _spec(self, ctx: Any) -> Any:
        from orchestrator.manifest import AppSpec

        return AppSpec.from_dict(dict(ctx.data["app"]))

    # ---- the five tasks ----
    def fetch(self, ctx: Any) -> dict[str, Any]:
        path = self.job_dir(ctx.execution_id) / "source.zip"
        source = self._download_source(dict(ctx.data), path)
        self.env.progress(ctx.execution_id, f"fetched {source['size']:,} bytes")
        return {"source": source}

    def unpack(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.manifest import load_app_spec
        from orchestrator.unpack import unpack_zip

        app = self.job_dir(ctx.execution_id) / "app"
        shutil.rmtree(app, ignore_errors=True)
        result = unpack_zip(self._source_zip(ctx), app)
        spec = load_app_spec(app, Path(str(ctx.data["key"])).name)
        (app / ".unpacked").touch()
        return {"app": spec.to_dict(),
                "unpacked": {"files": result.files, "bytes": result.bytes_written}}

    def build(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.build import build_package, store_artifact

        spec = self._spec(ctx)
        out = self.job_dir(ctx.execution_id) / "package.zip"

        def progress(msg: str) -> None:
            ctx.heartbeat()
            self.env.progress(ctx.execution_id, msg)

        result = build_package(self._app_dir(ctx), spec, out, cache=self.env.cache,
                               progress=progress)
        artifact = store_artifact(self.env.aws, result)
        return {"artifact": artifact, "build": result.to_dict() | {"zip_path": str(out)}}

    def deploy(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.deploy import deploy_function

        res = deploy_function(self.env.aws, self._spec(ctx), dict(ctx.data["artifact"]),
                              self.env.role_arn)
        return {"deploy": res.to_dict()}

    def _package_zip(self, ctx: Any) -> Path:
        path = self.job_dir(ctx.execution_id) / "package.zip"
        if not path.exists():
            artifact = ctx.data["artifact"]
            with aws_call("s3.download_file(artifact)"):
                self.env.aws.s3.download_file(artifact["bucket"], artifact["key"], str(path))
        return path

    def verify(self, ctx: Any) -> dict[str, Any]:
        from orchestrator.deploy import DeployResult, promote
        from orchestrator.verify import verify_deployment

        deployed = DeployResult.from_dict(dict(ctx.data["deploy"]))
        result = verify_deployment(self.env.aws, self._spec(ctx), deployed,
                                   self._package_zip(ctx),
                                   work_dir=self.job_dir(ctx.execution_id) / "verify")
        # `live` moves only now, after the new version passed.
        promote(self.env.aws, deployed.function_name, deployed.version)
        return {"verify": result.to_dict()}
