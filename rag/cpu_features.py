"""Whether the installed llama.cpp was compiled for instructions this CPU lacks.

llama-cpp-python builds llama.cpp from source with ``-march=native`` (about 20 minutes on 2 cores),
and pip keeps the wheel in its cache under the package's name and version, not the CPU's. A wheel
built on the Intel Xeon of sessions 29-33 (AVX-512, VNNI) and reused from a shared pip cache on a CPU
without AVX-512 stops the first matrix product with SIGILL; CI runs "on whatever x86 CPU the
machine has". ``scripts/setup.sh`` runs ``python -m rag.cpu_features`` and, when it fails, builds
the wheel again for this CPU into a folder named by the version and its instruction sets
(``--wheels``), where the next set-up on such a CPU finds it.

llama.cpp's system info names the instruction sets its CPU code was compiled with (``AVX512 = 1``:
the compile-time macros, not what the running CPU has), so the check reads the library's own
report and ``/proc/cpuinfo`` and never runs a kernel.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

# llama.cpp's system-info names -> the flag /proc/cpuinfo gives the same instructions.
SYSTEM_INFO_FLAGS = {
    "SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "AVX_VNNI": "avx_vnni", "F16C": "f16c",
    "FMA": "fma", "BMI2": "bmi2", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AMX_INT8": "amx_int8",
}


def cpu_flags(cpuinfo: str) -> set[str]:
    """The first processor's flags in a ``/proc/cpuinfo`` text."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def built_for(system_info: str) -> set[str]:
    """The cpuinfo flags of the instruction sets a llama.cpp system-info line says it was compiled with."""
    built = set()
    for part in system_info.split("|"):
        name, _, value = part.rpartition(":")[2].partition("=")
        flag = SYSTEM_INFO_FLAGS.get(name.strip())
        if flag and value.strip() == "1":
            built.add(flag)
    return built


def missing(system_info: str, cpuinfo: str) -> set[str]:
    """Instruction sets the library uses that this CPU does not have (empty: the library runs here)."""
    return built_for(system_info) - cpu_flags(cpuinfo)


def key(cpuinfo: str) -> str:
    """A short name for the instruction sets a native llama.cpp build would use on this CPU."""
    relevant = sorted(cpu_flags(cpuinfo) & set(SYSTEM_INFO_FLAGS.values()))
    return hashlib.sha256(" ".join(relevant).encode()).hexdigest()[:12]


def requirement() -> str:
    """The installed llama-cpp-python as a pip requirement: the version to build again."""
    from importlib.metadata import version

    return f"llama-cpp-python=={version('llama-cpp-python')}"


def wheel_dir(home: Path, cpuinfo: str) -> Path:
    """Where set-up keeps a wheel built for this CPU: one folder per version, so a new pin never finds an old build."""
    return home / "wheels" / f"{requirement().replace('==', '-')}-{key(cpuinfo)}"


def installed_system_info() -> str:
    """The installed llama.cpp's own report (loading the library runs no kernel)."""
    import llama_cpp

    return bytes(llama_cpp.llama_print_system_info()).decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cpuinfo = Path(args[args.index("--cpuinfo") + 1] if "--cpuinfo" in args else "/proc/cpuinfo").read_text()
    if "--requirement" in args:
        print(requirement())
        return 0
    if "--wheels" in args:
        from rag.settings import Settings

        print(wheel_dir(Settings.from_env().home, cpuinfo))
        return 0
    info = installed_system_info()
    lacking = missing(info, cpuinfo)
    if lacking:
        print(f"error: the installed llama-cpp-python was built for instructions this CPU lacks: "
              f"{' '.join(sorted(lacking))}", file=sys.stderr)
        return 1
    print(f"llama-cpp-python runs on this CPU ({' '.join(sorted(built_for(info))) or 'no x86 extensions'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
