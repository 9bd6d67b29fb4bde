"""Settings: defaults, then RAG_* environment variables, then overrides (CLI flags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.settings import Settings, default_home


def test_env_var_is_read() -> None:
    assert Settings.from_env({"RAG_PASSAGES": "3"}).passages == 3
    assert Settings.from_env({}).passages == Settings().passages


def test_process_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_PASSAGES", "6")
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    s = Settings.from_env()
    assert s.passages == 6 and s.home == tmp_path
    assert s.index_path == tmp_path / "index" and s.models_dir == tmp_path / "models"
    assert s.downloads_dir == tmp_path / "downloads"


def test_override_beats_env() -> None:
    s = Settings.from_env({"RAG_PASSAGES": "3", "RAG_TEMPERATURE": "0.5"})
    t = s.with_overrides(passages=5, temperature=None)
    assert t.passages == 5 and t.temperature == 0.5
    assert s.passages == 3, "settings are immutable"
    assert s.with_overrides(passages="7").passages == 7


@pytest.mark.parametrize(("env", "field", "value"), [
    ({"RAG_TEMPERATURE": "0.7"}, "temperature", 0.7),
    ({"RAG_JUDGE_THRESHOLD": "0.6"}, "judge_threshold", 0.6),
    ({"RAG_VERIFY": "no"}, "verify", False),
    ({"RAG_VERIFY": "TRUE"}, "verify", True),
    ({"RAG_CHUNK_CHARS": "300"}, "chunk_chars", 300),
    ({"RAG_LLM_PATH": "~/m.gguf"}, "llm_path", Path("~/m.gguf").expanduser()),
    ({"RAG_INDEX_DIR": "/srv/idx"}, "index_dir", Path("/srv/idx")),
    ({"RAG_PASSAGES": ""}, "passages", Settings().passages),
    ({"RAG_LLM_MMAP": "on"}, "llm_mmap", True),
    ({}, "llm_mmap", False),
])
def test_env_conversion(env: dict[str, str], field: str, value: object) -> None:
    assert getattr(Settings.from_env(env), field) == value


@pytest.mark.parametrize(("env", "name"), [
    ({"RAG_PASSAGES": "many"}, "passages"),
    ({"RAG_PASSAGES": "2.5"}, "passages"),
    ({"RAG_TEMPERATURE": "hot"}, "temperature"),
    ({"RAG_VERIFY": "maybe"}, "verify"),
])
def test_bad_value_names_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(ValueError, match=f"setting {name}") as exc:
        Settings.from_env(env)
    assert repr(next(iter(env.values()))) in str(exc.value)


def test_bad_override_names_the_setting() -> None:
    with pytest.raises(ValueError, match="setting passages"):
        Settings().with_overrides(passages="x")


def test_default_home_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_home() == tmp_path / "rag"
    assert Settings().home == tmp_path / "rag"


def test_index_dir_beats_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "h", index_dir=tmp_path / "i")
    assert s.index_path == tmp_path / "i"
