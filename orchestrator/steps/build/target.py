"""What a Lambda runtime and architecture mean for a build: Python version, the glibc
of the OS image it runs on, the ELF machine of its CPU, and the wheel platform tags
that fit. Pure data and small functions; no I/O.

python3.10 and python3.11 run on Amazon Linux 2 (glibc 2.26); python3.12 and later on
Amazon Linux 2023 (glibc 2.34). A wheel tagged manylinux_2_X runs where glibc >= 2.X,
so the tags offered to pip are every manylinux_2_X up to the runtime's glibc (pip does
not expand manylinux_2_28 downwards by itself), plus the legacy manylinux2014 alias.
uv takes one platform name and accepts every older tag itself; it knows
``manylinux_2_17`` and ``manylinux_2_28`` upwards, so Amazon Linux 2 (glibc 2.26) is asked
as ``manylinux_2_17``: a release published only as manylinux_2_24/2_26 wheels is not seen.
"""

from __future__ import annotations

from dataclasses import dataclass

ELF_MACHINE = {"x86_64": 62, "arm64": 183}
PIP_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}
AL2_RUNTIMES = frozenset({"python3.10", "python3.11"})
OLDEST_MANYLINUX_MINOR = 17
# uv's --python-platform names: manylinux_2_17, then manylinux_2_28 and newer.
UV_OLDEST_NEW_MANYLINUX = 28


@dataclass(frozen=True)
class Target:
    """A runtime + architecture pair, as Lambda names them."""

    runtime: str
    architecture: str

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def python_nodot(self) -> str:
        return self.python_version.replace(".", "")

    @property
    def os_name(self) -> str:
        return "Amazon Linux 2" if self.runtime in AL2_RUNTIMES else "Amazon Linux 2023"

    @property
    def glibc(self) -> tuple[int, int]:
        return (2, 26) if self.runtime in AL2_RUNTIMES else (2, 34)

    @property
    def glibc_text(self) -> str:
        return f"{self.glibc[0]}.{self.glibc[1]}"

    @property
    def pip_arch(self) -> str:
        return PIP_ARCH[self.architecture]

    @property
    def elf_machine(self) -> int:
        return ELF_MACHINE[self.architecture]

    @property
    def uv_platform(self) -> str:
        """The ``--python-platform`` uv resolves for: the newest manylinux it knows that
        this runtime's glibc runs."""
        minor = self.glibc[1] if self.glibc[1] >= UV_OLDEST_NEW_MANYLINUX else 17
        return f"{self.pip_arch}-manylinux_2_{minor}"

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values on this runtime (for evaluating requirement markers)."""
        full = f"{self.python_version}.0"
        return {
            "implementation_name": "cpython", "implementation_version": full,
            "os_name": "posix", "platform_machine": self.pip_arch,
            "platform_python_implementation": "CPython", "platform_release": "",
            "platform_system": "Linux", "platform_version": "",
            "python_full_version": full, "python_version": self.python_version,
            "sys_platform": "linux",
        }

    def platform_tags(self) -> list[str]:
        """Newest first: manylinux_2_<glibc>.. manylinux_2_17, then manylinux2014."""
        arch = self.pip_arch
        tags = [f"manylinux_2_{minor}_{arch}"
                for minor in range(self.glibc[1], OLDEST_MANYLINUX_MINOR - 1, -1)]
        tags.append(f"manylinux2014_{arch}")
        return tags

    def platform_fits(self, platform: str) -> bool:
        """Whether a wheel platform tag (``manylinux_2_28_x86_64``, ``any``) runs here."""
        if platform == "any":
            return True
        arch = self.pip_arch
        if not platform.endswith("_" + arch):
            return False
        head = platform[: -len(arch) - 1]
        if head in ("manylinux1", "manylinux2010", "manylinux2014"):
            return True
        if head.startswith("manylinux_"):
            try:
                major, minor = (int(x) for x in head.removeprefix("manylinux_").split("_"))
            except ValueError:
                return False
            return (major, minor) <= self.glibc
        return False

    def python_fits(self, python_tag: str, abi_tag: str) -> bool:
        """Whether a wheel's python and abi tags load on this runtime's interpreter."""
        if python_tag in ("py3", f"py{self.python_nodot}") and abi_tag == "none":
            return True
        if python_tag.startswith("py3") and abi_tag == "none":
            return True
        if python_tag == f"cp{self.python_nodot}" and abi_tag in (
                f"cp{self.python_nodot}", "abi3", "none"):
            return True
        if abi_tag == "abi3" and python_tag.startswith("cp3"):
            try:
                return int(python_tag[3:]) <= int(self.python_version.split(".")[1])
            except ValueError:
                return False
        return False
