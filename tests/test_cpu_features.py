"""Whether the installed llama.cpp was compiled for instructions the CPU lacks (a pip cache shared by two CPUs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import cpu_features
from rag.cpu_features import built_for, cpu_flags, key, missing, wheel_dir

XEON_INFO = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
             "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | LLAMAFILE = 1 | OPENMP = 1 | "
             "REPACK = 1 | ")
ZEN3_INFO = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "
             "OPENMP = 1 | REPACK = 1 | ")
ZEN3_FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
              "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid pni "
              "pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand "
              "hypervisor lahf_lm abm sse4a bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb "
              "sha_ni xsaveopt xsavec xgetbv1 xsaves vaes vpclmulqdq rdpid fsrm")
XEON_FLAGS = ZEN3_FLAGS + " avx512f avx512dq avx512cd avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 avx_vnni"


def cpuinfo(flags: str, model: str) -> str:
    return "".join(f"processor\t: {n}\nmodel name\t: {model}\nflags\t\t: {flags}\n\n" for n in range(2))


ZEN3 = cpuinfo(ZEN3_FLAGS, "AMD EPYC 7B13")
XEON = cpuinfo(XEON_FLAGS, "Intel(R) Xeon(R) Processor")


def test_a_wheel_built_on_an_avx512_cpu_lacks_those_instructions_on_one_without():
    assert missing(XEON_INFO, ZEN3) == {"avx512f", "avx512vbmi", "avx512_vnni", "avx512_bf16", "avx_vnni"}
    assert missing(XEON_INFO, XEON) == set()
    assert missing(ZEN3_INFO, XEON) == set()
    assert missing(ZEN3_INFO, ZEN3) == set()


def test_only_instruction_sets_set_to_1_count_and_other_entries_are_ignored():
    assert built_for("CPU : AVX = 1 | AVX2 = 0 | AVX512 = 0 | LLAMAFILE = 1 | OPENMP = 1 |") == {"avx"}
    assert built_for("") == set()
    assert cpu_flags("processor : 0\n") == set()


def test_the_wheel_folder_is_named_by_the_instruction_sets_alone():
    reordered = cpuinfo(" ".join(reversed(XEON_FLAGS.split())) + " some_new_flag", "another name")
    assert key(reordered) == key(XEON)
    assert key(ZEN3) != key(XEON)
    assert len(key(XEON)) == 12


def test_a_rebuilt_wheel_is_kept_per_version_and_cpu_under_the_home(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]):
    from importlib.metadata import version

    folder = wheel_dir(tmp_path, XEON)
    assert folder.parent == tmp_path / "wheels"
    assert folder.name == f"llama-cpp-python-{version('llama-cpp-python')}-{key(XEON)}"
    assert wheel_dir(tmp_path, ZEN3) != folder
    assert cpu_features.main(["--requirement"]) == 0
    assert capsys.readouterr().out.strip() == f"llama-cpp-python=={version('llama-cpp-python')}"


def test_the_check_fails_in_one_line_naming_what_the_cpu_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "cpuinfo"
    path.write_text(ZEN3)
    monkeypatch.setattr(cpu_features, "installed_system_info", lambda: XEON_INFO)
    assert cpu_features.main(["--cpuinfo", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and "avx512f" in err
    path.write_text(XEON)
    assert cpu_features.main(["--cpuinfo", str(path)]) == 0


@pytest.mark.real
def test_the_installed_llama_cpp_runs_on_this_cpu():
    """The check itself on this machine: a wheel built elsewhere would have failed set-up here."""
    assert cpu_features.main([]) == 0
