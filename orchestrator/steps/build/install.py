"""Installing a resolved dependency set into a cache entry, from the wheels themselves.

For each pin the wheel is taken from the cache's store or downloaded (checked against
the sha256 the resolver or the app's lock gave, and against the hashes the app allows),
then read where it lies (``wheels.read_wheel``): its members become package entries
copied compressed as they are, and its native code is checked from the archive.
Independent wheels are fetched and read in parallel threads. Lambda's 250 MB unzipped
limit is enforced while this goes on: as soon as the wheels read so far, with the app's
own files, are over it, the rest is cancelled and the build fails with
``PackageTooLarge``. Distributions the runtime provides are left out as
``runtime_provided`` decides. The result is stored as one deterministic zip in the
cache under the key of the resolved set.

Nothing here resolves versions, reads the app's files or talks to AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from orchestrator.codes import Code
from orchestrator.errors import BuildError
from orchestrator.limits import LAMBDA_UNZIPPED_BYTES
from orchestrator.steps.build.cache import DEPS, WHEELS, BuildCache, CachedZip, cache_key
from orchestrator.steps.build.download import WheelRef, download
from orchestrator.steps.build.names import canonical_name
from orchestrator.steps.build.resolve import Pin
from orchestrator.steps.build.runtime_provided import (
    PROVIDED,
    SDK_CORE,
    LeftOut,
    left_out,
    requirement_names,
)
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.wheels import WheelContent, read_wheel
from orchestrator.steps.build.zipdet import Entry
from orchestrator.types import JsonObject

MAX_PARALLEL = 8
Progress = Callable[[str], None]


@dataclass
class Installed:
    """A dependency set installed into the cache, and what it took."""

    cached: CachedZip
    key: str
    pins: list[Pin]
    left_out: list[LeftOut] = field(default_factory=list)
    downloaded: int = 0
    duration: float = 0.0


def deps_key(pins: Iterable[Pin], target: Target, builder: str) -> str:
    """The cache key of a resolved set installed for ``target``."""
    wheels = sorted((p.key, p.version, p.wheel.sha256) for p in pins)
    return cache_key(wheels=wheels, runtime=target.runtime, arch=target.architecture,
                     glibc=target.glibc_text, builder=builder)


def too_large(sizes: dict[str, int], total: int, what: str = "the package") -> BuildError:
    top = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    listing = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in top)
    return BuildError(
        f"{what} unzips to at least {total:,} bytes, over Lambda's {LAMBDA_UNZIPPED_BYTES:,} "
        f"(250 MB); largest: {listing}",
        code=Code.PackageTooLarge,
        hint="drop dependencies or files the function does not need, or use a container image",
        details={"unzipped_size": total, "largest": [{"path": n, "bytes": s} for n, s in top]})


def choose_wheel(pin: Pin, allowed: frozenset[str] | None) -> WheelRef:
    """The best wheel of ``pin`` whose sha256 the app allows (any, without hashes)."""
    if not allowed:
        return pin.wheel
    for ref in pin.candidates or (pin.wheel,):
        if ref.sha256 in allowed:
            return ref
    seen = ", ".join(f"{r.filename} sha256:{r.sha256}" for r in pin.candidates[:4])
    raise BuildError(
        f"no wheel of {pin.name} {pin.version} for this target has one of the allowed hashes "
        f"({', '.join(sorted(allowed))[:300]}); the index has: {seen}", code=Code.HashMismatch,
        hint="add the hash of the wheel for this runtime and architecture (uv pip compile "
             "--generate-hashes lists every wheel's)",
        details={"package": pin.name, "version": pin.version})


class _Fetcher:
    """Gets and reads wheels for one install, checking the running size."""

    def __init__(self, cache: BuildCache, target: Target, say: Progress,
                 base_bytes: int, limit: int) -> None:
        self.cache = cache
        self.target = target
        self.say = say
        self.limit = limit
        self.sizes: dict[str, int] = {"(the app's own files)": base_bytes} if base_bytes else {}
        self.downloaded = 0
        self.read: dict[str, WheelContent] = {}
        self.lock = threading.Lock()

    def one(self, pin: Pin, ref: WheelRef) -> WheelContent:
        path = self.cache.wheel(ref.sha256)
        if path is None:
            path = download(ref, self.cache.path(WHEELS, ref.sha256))
            self.cache.add_wheel(ref.sha256, path)
            with self.lock:
                self.downloaded += 1
        content = read_wheel(path, self.target, filename=ref.filename)
        if canonical_name(content.name) != pin.key or content.version != pin.version:
            raise BuildError(f"{ref.filename} holds {content.name} {content.version}, not "
                             f"{pin.name} {pin.version}", code=Code.WheelInvalid,
                             hint="the index served a wheel under the wrong name")
        return content

    def account(self, pin: Pin, content: WheelContent) -> None:
        with self.lock:
            self.read[pin.key] = content
            self.sizes[f"{pin.name} {pin.version}"] = content.unzipped_size
            total = sum(self.sizes.values())
        if total > self.limit:
            raise too_large(self.sizes, total)

    def many(self, work: list[tuple[Pin, WheelRef]]) -> None:
        if not work:
            return
        if len(work) == 1:
            pin, ref = work[0]
            self.account(pin, self.one(pin, ref))
            return
        pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(work)),
                                  thread_name_prefix="wheel")
        futures: dict[Future[WheelContent], Pin] = {
            pool.submit(self.one, pin, ref): pin for pin, ref in work}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    pin = futures[fut]
                    self.account(pin, fut.result())
                    self.say(f"installed {pin.name} {pin.version}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def install(pins: list[Pin], target: Target, cache: BuildCache, *, builder: str,
            hashes: dict[str, frozenset[str]], require_hashes: bool,
            include_runtime: bool | None, explicit_sdk: str | None,
            base_bytes: int = 0, limit: int = LAMBDA_UNZIPPED_BYTES,
            progress: Progress | None = None,
            clock: Callable[[], float] = time.monotonic) -> Installed:
    """Install ``pins`` for ``target`` into ``cache``; ``base_bytes`` is the size of the
    app's own files (counted against Lambda's limit from the start)."""
    start = clock()
    say: Progress = progress or (lambda _m: None)
    if require_hashes:
        missing = [p.name for p in pins if not hashes.get(p.key)]
        if missing:
            raise BuildError(
                "hash-checking mode: no --hash is given for " + ", ".join(missing)
                + " (every installed distribution needs one, dependencies included)",
                code=Code.HashesRequired,
                hint="pin every dependency with == and --hash=sha256:... (uv pip compile "
                     "--generate-hashes writes them all)",
                details={"missing": missing})
    refs = {p.key: choose_wheel(p, hashes.get(p.key)) for p in pins}
    by_key = {p.key: p for p in pins}
    fetcher = _Fetcher(cache, target, say, base_bytes, limit)
    versions = {p.key: p.version for p in pins}
    may_drop = bool(set(SDK_CORE) & set(versions)) and not include_runtime and not (
        include_runtime is None and explicit_sdk)
    first = [k for k in versions if not (may_drop and k in PROVIDED)]
    total_mb = sum((refs[k].size or 0) for k in first) / 1e6
    say(f"fetching {len(first)} wheels ({total_mb:.1f} MB) for {target.runtime} "
        f"{target.architecture}")
    fetcher.many([(by_key[k], refs[k]) for k in sorted(first)])

    def requires(key: str) -> set[str]:
        if key not in fetcher.read:  # a runtime dependency a kept package needs
            fetcher.account(by_key[key], fetcher.one(by_key[key], refs[key]))
        return requirement_names(fetcher.read[key].requires_dist, target) & set(versions)

    kept, dropped = left_out(versions, requires, runtime=target.runtime,
                             include=include_runtime, explicit=explicit_sdk)
    if dropped:
        say("left out (the runtime provides them): "
            + ", ".join(f"{d.name} {d.version}" for d in dropped))
    kept_pins = [by_key[k] for k in sorted(kept)]
    fetcher.many([(p, refs[p.key]) for p in kept_pins if p.key not in fetcher.read])
    entries, overridden = _merge([fetcher.read[p.key] for p in kept_pins])
    contents = [fetcher.read[p.key] for p in kept_pins]
    glibc = max((c.abi.newest_glibc for c in contents if c.abi.newest_glibc), default=None)
    final_pins = [Pin(p.name, p.version, refs[p.key], p.candidates) for p in kept_pins]
    key = deps_key(final_pins, target, builder)
    meta: JsonObject = {
        "installed": [[c.name, c.version] for c in contents],
        "left_out": [d.to_dict() for d in dropped],
        "top_level": sorted(set().union(*(c.top_level for c in contents)) if contents
                            else set()),
        "elf_files": sum(c.abi.elf_files for c in contents),
        "newest_glibc": f"{glibc[0]}.{glibc[1]}" if glibc else None,
        "sizes": {c.name: c.unzipped_size for c in contents},
        "overridden": overridden[:50],
        "wheels": [[p.name, p.version, p.wheel.filename, p.wheel.sha256] for p in final_pins],
        "runtime": target.runtime, "architecture": target.architecture,
    }
    cached = cache.get(DEPS, key) or cache.put(DEPS, key, entries, meta)
    return Installed(cached, key, final_pins, dropped, fetcher.downloaded, clock() - start)


def _merge(contents: list[WheelContent]) -> tuple[list[Entry], list[str]]:
    """Every wheel's entries; where two wheels ship one path, the later name wins (as
    the later install would overwrite it), and the path is reported."""
    merged: dict[str, Entry] = {}
    overridden: list[str] = []
    for content in sorted(contents, key=lambda c: canonical_name(c.name)):
        for entry in content.entries:
            if entry.name in merged:
                overridden.append(entry.name)
            merged[entry.name] = entry
    return list(merged.values()), sorted(overridden)
