"""The ``rag`` command: one-line errors with exit code 2, ingest/docs/ask with fakes patched in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED_IDS
from fakes import FakeEmbedder, ScriptedGenerator, echo_matching

import rag.factory
from rag.cli import build_parser, main, settings_from
from rag.errors import ModelMissingError
from rag.pipeline import Assistant
from rag.settings import Settings


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question(home: Path, capsys: pytest.CaptureFixture[str], question: str) -> None:
    assert main(["ask", question]) == 2
    out, err = capsys.readouterr()
    assert "empty" in one_error_line(err)
    assert out == ""


def test_ask_without_index_or_models(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Was hat Putin Lukaschenko versprochen?"]) == 2
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert "`rag ingest`" in line or "`rag models fetch`" in line
    assert out == ""


def test_ask_with_index_but_without_models(home: Path, seeds_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    shutil.copytree(seeds_index, home / "index")
    assert main(["ask", "Was hat Putin Lukaschenko versprochen?"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "`rag models fetch`" in line


def test_ingest_then_docs(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(seeds_dir)]) == 0
    out, err = capsys.readouterr()
    assert "5 added" in out and fake_embedder.document_calls > 0
    assert (home / "index" / "CURRENT").is_file()

    assert main(["docs"]) == 0
    out, _ = capsys.readouterr()
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == SEED_IDS
    by_id = {r[0]: r for r in rows}
    assert by_id[SEED_IDS[1]][1:3] == ["2020-09", "dpa-AFX"]
    assert by_id[SEED_IDS[2]][4] == "Belarussischer Präsident Lukaschenko trifft Putin am Montag in Russland"
    assert all(r[3].endswith(" passages") and int(r[3].split()[0]) > 0 for r in rows)


def test_ingest_again_and_remove(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(seeds_dir)]) == 0
    assert main(["ingest", str(seeds_dir)]) == 0
    out, _ = capsys.readouterr()
    assert "5 unchanged" in out.splitlines()[-1] and "embedded 0 passages" in out
    assert main(["ingest", "--remove", SEED_IDS[0]]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert main(["docs"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == SEED_IDS[1:]


def test_ingest_reports_broken_files(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (seeds_dir / "kaputt.txt").write_bytes(b"\x00\xff" * 20)
    assert main(["ingest", str(seeds_dir)]) == 0
    _, err = capsys.readouterr()
    assert "skipped" in err and "kaputt.txt" in err and "not a text file" in err


def test_ingest_only_broken_files_fails(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "kaputt.txt").write_bytes(b"\x00\xff" * 20)
    assert main(["ingest", str(folder)]) == 1


def test_ingest_missing_folder(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in one_error_line(capsys.readouterr().err)


def test_ingest_without_embedder_is_one_line(home: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(seeds_dir)]) == 2
    assert "`rag models fetch`" in one_error_line(capsys.readouterr().err)


def test_docs_without_index(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs"]) == 2
    assert "rag ingest" in one_error_line(capsys.readouterr().err)


def test_docs_with_corrupt_index(home: Path, seeds_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    shutil.copytree(seeds_index, home / "index")
    (home / "index" / "CURRENT").write_text("garbage")
    assert main(["docs"]) == 2
    assert "corrupt" in one_error_line(capsys.readouterr().err)


@pytest.fixture
def fake_assistant(monkeypatch: pytest.MonkeyPatch, home: Path, seeds_index: Path) -> ScriptedGenerator:
    import shutil

    shutil.copytree(seeds_index, home / "index")
    gen = ScriptedGenerator(echo_matching("80,1 Prozent"))
    real_build = rag.factory.build_assistant

    def build(settings: Settings) -> Assistant:
        return real_build(settings.with_overrides(refuse_below=0.0), embedder=FakeEmbedder(),
                          generator=gen)

    monkeypatch.setattr(rag.factory, "build_assistant", build)
    return gen


def test_ask_json(fake_assistant: ScriptedGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?"]) == 0
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert set(data) == {"question", "answer", "refused", "verified", "citations", "sentences", "dropped",
                         "timings"}
    assert data["refused"] is False and data["citations"][0]["n"] == 1
    assert data["citations"][0]["doc_id"] in SEED_IDS


def test_ask_text(fake_assistant: ScriptedGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Mit wie viel Prozent der Stimmen wurde Lukaschenko bestätigt?"]) == 0
    out, err = capsys.readouterr()
    assert "Sources:" in out and "[1] " in out
    assert "passages retrieved" in err and "first token" in err and "checked answer" in err


def test_ask_refusal_text(fake_assistant: ScriptedGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    fake_assistant.answer = "NOT IN SOURCES"
    assert main(["ask", "Who won the cycling race?"]) == 0
    out, _ = capsys.readouterr()
    assert "The articles don't say. The passages closest to the question, which do not state the answer: [1]" in out


def test_models_status(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "status"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("missing") == 2 and "rag models fetch" in out


def test_bad_env_value_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAG_PASSAGES", "many")
    assert main(["docs"]) == 2
    assert "passages" in one_error_line(capsys.readouterr().err)


def test_ui_launches_the_app_with_host_and_port(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.app

    seen: dict[str, object] = {}
    monkeypatch.setattr(ui.app, "launch", lambda settings, host, port: seen.update(host=host, port=port))
    assert main(["ui", "--host", "0.0.0.0", "--port", "7999"]) == 0
    assert seen == {"host": "0.0.0.0", "port": 7999}


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["ask"])


def test_cli_flags_beat_env(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_PASSAGES", "3")
    monkeypatch.setenv("RAG_THREADS", "3")
    args = build_parser().parse_args(["ask", "q", "--passages", "5", "--index", str(tmp_path / "ix")])
    s = settings_from(args)
    assert s.passages == 5 and s.threads == 3
    assert s.home == home and s.index_path == tmp_path / "ix"
    assert settings_from(build_parser().parse_args(["ask", "q"])).passages == 3
    assert settings_from(build_parser().parse_args(["ask", "q", "--top-k", "2"])).passages == 2, "the old flag"


def test_model_missing_error_is_a_rag_error_with_exit_2(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    def missing(settings: Settings) -> None:
        raise ModelMissingError("LLM not found at /x: run `rag models fetch`")

    monkeypatch.setattr(rag.factory, "build_assistant", missing)
    assert main(["ask", "Wer?"]) == 2
    assert one_error_line(capsys.readouterr().err) == "error: LLM not found at /x: run `rag models fetch`"
