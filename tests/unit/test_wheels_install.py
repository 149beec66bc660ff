"""Wheels installed straight into a package, offline (hand-made wheels in the cache's
store): members copied compressed as they are, .data placed as pip --target places it,
RECORD still valid, unsafe names and foreign machine code refused, the 250 MB limit
enforced while wheels are read, the SDK left out unless something kept needs it, and
the result byte-identical however often it is built."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from orchestrator.errors import BuildError
from orchestrator.steps.build.cache import WHEELS, BuildCache
from orchestrator.steps.build.download import WheelRef, download
from orchestrator.steps.build.index import IndexConfig
from orchestrator.steps.build.install import install
from orchestrator.steps.build.resolve import Pin, parse_pylock, wheel_rank
from orchestrator.steps.build.runtime_provided import explicit_sdk_request, left_out
from orchestrator.steps.build.target import Target
from orchestrator.steps.build.wheels import read_wheel
from tests.unit.test_abi import AARCH64, make_elf

PY312 = Target("python3.12", "x86_64")
TAG = "py3-none-any"


def record_row(path: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path, f"sha256={digest}", str(len(data))]


def make_wheel(dest: Path, name: str, version: str, files: dict[str, bytes], *,
               requires: tuple[str, ...] = (), tag: str = TAG,
               method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A wheel as build backends write it (with a valid RECORD)."""
    dist = f"{name.replace('-', '_')}-{version}"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    members = {**files, f"{dist}.dist-info/METADATA": meta.encode(),
               f"{dist}.dist-info/WHEEL": f"Wheel-Version: 1.0\nTag: {tag}\n".encode()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in members.items():
        writer.writerow(record_row(path, data))
    writer.writerow([f"{dist}.dist-info/RECORD", "", ""])
    members[f"{dist}.dist-info/RECORD"] = out.getvalue().encode()
    path = dest / f"{dist}-{tag}.whl"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, (2024, 5, 6, 7, 8, 10))
            info.external_attr = (0o100755 if member.endswith(".sh") else 0o100644) << 16
            zf.writestr(info, data, compress_type=method)
    return path


def stored_pin(cache: BuildCache, wheel: Path, name: str, version: str) -> Pin:
    """Put ``wheel`` into the cache's store, as a download would, and pin it."""
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    dest = cache.path(WHEELS, sha)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(wheel.read_bytes())
    cache.add_wheel(sha, dest)
    ref = WheelRef(f"https://files.invalid/{wheel.name}", wheel.name, sha, wheel.stat().st_size)
    return Pin(name, version, ref, (ref,))


def run(cache: BuildCache, pins: list[Pin], **kw: object) -> object:
    args: dict[str, object] = {"builder": "test", "hashes": {}, "require_hashes": False,
                               "include_runtime": None, "explicit_sdk": None}
    args.update(kw)
    return install(pins, PY312, cache, **args)  # type: ignore[arg-type]


def test_data_dirs_are_placed_and_record_rewritten(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0", {
        "demo/__init__.py": b"X = 1\n" * 100,
        "demo-1.0.data/purelib/demo_extra.py": b"Y = 2\n",
        "demo-1.0.data/platlib/demo_plat/__init__.py": b"",
        "demo-1.0.data/data/share/demo.txt": b"data\n",
        "demo-1.0.data/scripts/demo-cli": b"#!python\n",
        "demo-1.0.data/headers/demo.h": b"int x;\n"})
    content = read_wheel(wheel, PY312)
    names = {e.name for e in content.entries}
    assert {"demo/__init__.py", "demo_extra.py", "demo_plat/__init__.py",
            "share/demo.txt"} <= names
    assert not any("demo-1.0.data" in n or n.endswith(("demo-cli", "demo.h")) for n in names)
    assert content.top_level == {"demo", "demo_extra", "demo_plat", "share"}
    record = next(e for e in content.entries if e.name.endswith("RECORD"))
    assert record.data is not None  # rewritten: paths moved
    rows = {r[0]: r for r in csv.reader(io.StringIO(record.data.decode()))}
    assert "demo_extra.py" in rows and "demo-1.0.data/purelib/demo_extra.py" not in rows
    assert not any("scripts" in p or "headers" in p for p in rows)
    # untouched members are copied compressed, not inflated and deflated again
    init = next(e for e in content.entries if e.name == "demo/__init__.py")
    assert init.raw is not None and init.raw.method == zipfile.ZIP_DEFLATED


def test_installed_package_is_byte_identical_and_record_valid(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    pins = [stored_pin(cache, make_wheel(tmp_path / "w", "alpha", "1.0", {
                "alpha/__init__.py": b"import beta\n", "alpha/run.sh": b"#!/bin/sh\n"},
                requires=("beta",)), "alpha", "1.0"),
            stored_pin(cache, make_wheel(tmp_path / "w", "beta", "2.0", {
                "beta.py": b"B = 2\n"}, method=zipfile.ZIP_STORED), "beta", "2.0")]
    first = run(cache, pins)
    again = run(BuildCache(tmp_path / "other", download_dir=cache.download_dir), pins)
    assert first.cached.path.read_bytes() == again.cached.path.read_bytes()  # type: ignore[attr-defined]
    assert first.downloaded == 0  # type: ignore[attr-defined]
    with zipfile.ZipFile(first.cached.path) as zf:  # type: ignore[attr-defined]
        assert zf.testzip() is None
        assert (zf.getinfo("alpha/run.sh").external_attr >> 16) & 0o777 == 0o755
        assert zf.getinfo("beta.py").compress_type == zipfile.ZIP_STORED
        for record in (n for n in zf.namelist() if n.endswith("RECORD")):
            for path, digest, _size in csv.reader(io.StringIO(zf.read(record).decode())):
                if digest:
                    assert record_row(path, zf.read(path))[1] == digest
    meta = first.cached.meta  # type: ignore[attr-defined]
    assert meta["installed"] == [["alpha", "1.0"], ["beta", "2.0"]]
    assert meta["top_level"] == ["alpha", "beta"]


@pytest.mark.parametrize("member", ["../evil.py", "/abs.py", "a\\b.py", "x/../../y.py"])
def test_unsafe_member_names_are_refused(tmp_path: Path, member: str) -> None:
    wheel = make_wheel(tmp_path, "bad", "1", {member: b"x"})
    with pytest.raises(BuildError) as info:
        read_wheel(wheel, PY312)
    assert info.value.code == "WheelInvalid"


def test_foreign_machine_code_in_a_wheel_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "native", "1", {
        "native/_core.cpython-312-x86_64-linux-gnu.so": make_elf(machine=AARCH64)})
    with pytest.raises(BuildError) as info:
        read_wheel(wheel, PY312)
    assert info.value.code == "AbiMismatch" and "_core" in str(info.value)
    tagged = make_wheel(tmp_path / "t", "other", "1", {"o.py": b""},
                        tag="cp312-cp312-macosx_11_0_arm64")
    with pytest.raises(BuildError) as info:
        read_wheel(tagged, PY312)
    assert info.value.code == "AbiMismatch"


def test_the_size_limit_is_enforced_while_wheels_are_read(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    pins = [stored_pin(cache, make_wheel(tmp_path / "w", f"big{i}", "1", {
        f"big{i}/blob.bin": bytes(400_000)}), f"big{i}", "1") for i in range(3)]
    with pytest.raises(BuildError) as info:
        run(cache, pins, limit=1_000_000, base_bytes=300_000)
    err = info.value
    assert err.code == "PackageTooLarge" and "(the app's own files)" in str(err)
    assert not list((tmp_path / "cache").glob("deps/*.zip"))  # nothing was cached


def test_sdk_is_left_out_but_a_dependency_something_kept_needs_stays(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    w = tmp_path / "w"
    pins = [
        stored_pin(cache, make_wheel(w, "requests", "2", {"requests/__init__.py": b""},
                                     requires=("urllib3<3", "idna")), "requests", "2"),
        stored_pin(cache, make_wheel(w, "idna", "3", {"idna/__init__.py": b""}), "idna", "3"),
        stored_pin(cache, make_wheel(w, "urllib3", "2", {"urllib3/__init__.py": b""}),
                   "urllib3", "2"),
        # the SDK's wheels are never read: no file exists behind these pins
        Pin("boto3", "1.40", WheelRef("https://x/boto3.whl", "boto3-1.40-py3-none-any.whl",
                                      "0" * 64)),
        Pin("botocore", "1.40", WheelRef("https://x/bc.whl", "botocore-1.40-py3-none-any.whl",
                                         "1" * 64)),
        Pin("jmespath", "1", WheelRef("https://x/j.whl", "jmespath-1-py3-none-any.whl",
                                      "2" * 64)),
    ]
    got = run(cache, pins)
    assert [n for n, _v in got.cached.meta["installed"]] == ["idna", "requests", "urllib3"]  # type: ignore[attr-defined]
    assert [d.name for d in got.left_out] == ["boto3", "botocore", "jmespath"]  # type: ignore[attr-defined]


def test_left_out_rules() -> None:
    versions = {"boto3": "1", "botocore": "1", "s3transfer": "1", "python-dateutil": "2",
                "six": "1", "pandas": "2"}
    needs = {"pandas": {"python-dateutil"}, "python-dateutil": {"six"}}
    kept, out = left_out(versions, lambda n: needs.get(n, set()), runtime="python3.12",
                         include=None, explicit=None)
    assert kept == {"pandas", "python-dateutil", "six"}
    assert [d.name for d in out] == ["boto3", "botocore", "s3transfer"]
    for include, explicit in ((True, None), (None, "asks boto3==9")):
        kept, out = left_out(versions, lambda n: set(), runtime="python3.12",
                             include=include, explicit=explicit)
        assert kept == set(versions) and out == []


def test_an_sdk_pin_the_runtime_does_not_meet_keeps_the_sdk() -> None:
    have = {"boto3": "1.40.4", "botocore": "1.40.4"}.get
    assert explicit_sdk_request({"boto3": ["boto3>=1.26"]}, have) is None
    assert explicit_sdk_request({"boto3": ["boto3"]}, have) is None
    why = explicit_sdk_request({"boto3": ["boto3==1.40.21"]}, have)
    assert why is not None and "1.40.4" in why


def test_allowed_hashes_choose_among_fitting_wheels(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    pin = stored_pin(cache, make_wheel(tmp_path, "six", "1", {"six.py": b""}), "six", "1")
    other = WheelRef("https://x/six-1-py2.py3-none-any.whl", "six-1-py2.py3-none-any.whl",
                     "f" * 64)
    both = Pin("six", "1", other, (other, pin.wheel))
    got = run(cache, [both], hashes={"six": frozenset({pin.wheel.sha256})})
    assert got.pins[0].wheel.sha256 == pin.wheel.sha256  # type: ignore[attr-defined]
    with pytest.raises(BuildError) as info:
        run(cache, [both], hashes={"six": frozenset({"e" * 64})})
    assert info.value.code == "HashMismatch"
    with pytest.raises(BuildError) as info:
        run(cache, [both], require_hashes=True)
    assert info.value.code == "HashesRequired"


FILES = IndexConfig(("https://files/simple",), frozenset({("files", 443)}))


def test_download_checks_the_hash_and_keeps_nothing_on_mismatch(tmp_path: Path) -> None:
    body = b"wheel bytes"

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        return io.BytesIO(body)

    good = WheelRef("https://files/x.whl", "x.whl", hashlib.sha256(body).hexdigest())
    assert download(good, tmp_path / "x.whl", urlopen=urlopen, index=FILES).read_bytes() == body
    bad = WheelRef("https://files/y.whl", "y.whl", "0" * 64)
    with pytest.raises(BuildError) as info:
        download(bad, tmp_path / "y.whl", urlopen=urlopen, index=FILES)
    assert info.value.code == "HashMismatch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.whl"]
    with pytest.raises(BuildError):
        download(WheelRef("file:///etc/passwd", "p.whl", "0" * 64), tmp_path / "p.whl",
                 index=FILES)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.whl", "http://169.254.169.254/x.whl",
                                 "https://files.evil/x.whl", "https://files:444/x.whl",
                                 "file:///root/.aws/credentials"])
def test_download_refuses_anything_but_the_index(tmp_path: Path, url: str) -> None:
    opened: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        opened.append(url)
        return io.BytesIO(b"")

    with pytest.raises(BuildError) as info:
        download(WheelRef(url, "x.whl", "0" * 64), tmp_path / "x.whl", urlopen=urlopen,
                 index=FILES)
    assert info.value.code == "IndexHostRefused"
    assert opened == []


def test_network_errors_are_transient(tmp_path: Path) -> None:
    def urlopen(url: str, timeout: float) -> io.BytesIO:
        raise ConnectionResetError("reset by peer")

    with pytest.raises(Exception) as info:
        download(WheelRef("https://files/x.whl", "x.whl", "0" * 64), tmp_path / "x.whl",
                 urlopen=urlopen, index=FILES)
    assert getattr(info.value, "code", None) == "NetworkError"


def test_pylock_parsing_picks_the_best_fitting_wheel() -> None:
    text = """
lock-version = "1.0"
[[packages]]
name = "charset-normalizer"
version = "3.5.3"
wheels = [
  { url = "https://f/cn-3.5.3-py3-none-any.whl", hashes = { sha256 = "AA" } },
  { url = "https://f/cn-3.5.3-cp37-abi3-manylinux_2_28_x86_64.whl", hashes = { sha256 = "BB" } },
  { url = "https://f/cn-3.5.3-cp312-cp312-manylinux_2_17_x86_64.whl", hashes = { sha256 = "CC" } },
  { url = "https://f/cn-3.5.3-cp312-cp312-manylinux_2_39_x86_64.whl", hashes = { sha256 = "DD" } },
  { url = "https://f/cn-3.5.3-cp312-cp312-macosx_11_0_arm64.whl", hashes = { sha256 = "EE" } },
]
"""
    for short in ("AA", "BB", "CC", "DD", "EE"):
        text = text.replace(f'"{short}"', f'"{short.lower() * 32}"')
    (pin,) = parse_pylock(text, PY312)
    # cp312-specific beats abi3 beats py3; 2_39 > glibc 2.34
    assert pin.wheel.sha256 == "cc" * 32
    assert [r.sha256 for r in pin.candidates] == ["cc" * 32, "bb" * 32, "aa" * 32]
    assert wheel_rank("x-1-cp313-cp313-manylinux_2_28_x86_64.whl", PY312) is None
    assert wheel_rank("x-1-cp312-cp312-manylinux2014_aarch64.whl",
                      Target("python3.12", "arm64")) is not None
