"""Reliability of ingest on hostile folders: undecodable names, duplicate stems, files that are
not articles, an index that cannot be written, escape sequences, unexpected errors, memory."""

from __future__ import annotations

import os
import random
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_IDS
from fakes import FakeEmbedder

import rag.factory
from rag.cli import main
from rag.errors import IndexError_, printable, safe_name
from rag.ingest import Ingestor
from rag.parse import parse_text
from rag.store import Store

ARTICLE = "date 2021-02\nEin Bericht\n\nMINSK (dpa) - Die Polizei nahm am Sonntag {n} Menschen fest. Es war kalt.\n"


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def ingestor(store: Store, embedder: FakeEmbedder, lines: list[str] | None = None) -> Ingestor:
    return Ingestor(store, embedder, 500, notify=None if lines is None else lines.append)


# ---------------------------------------------------------------- names that are not UTF-8


def bad_name(folder: Path, raw: bytes = b"bad\xff.txt", text: str = ARTICLE.format(n=3)) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))
    with open(os.fsencode(path), "wb") as f:
        f.write(text.encode("utf-8"))
    return path


def test_a_name_that_is_not_utf8_is_reported_before_embedding_and_the_rest_indexed(
        store: Store, seeds_dir: Path) -> None:
    bad = bad_name(seeds_dir)
    embedder = FakeEmbedder()
    lines: list[str] = []
    calls_when_told: list[int] = []
    report = Ingestor(store, embedder, 500,
                      notify=lambda line: (lines.append(line), calls_when_told.append(embedder.calls))).ingest(
        [seeds_dir])
    assert report.failed == [(str(bad), "the file name is not valid UTF-8; rename the file to index it")]
    assert sorted(report.added) == SEED_IDS
    assert sorted(store.load().documents) == SEED_IDS
    assert lines == [f"skipped {safe_name(bad)}: the file name is not valid UTF-8; rename the file to index it"]
    assert "b'" in lines[0] and "bad\\xff.txt" in lines[0], "named by the repr of its bytes"
    assert calls_when_told == [0], "reported before anything was embedded"


def test_cli_names_the_bad_file_before_the_progress_bar(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad_name(seeds_dir, b"caf\xe9-latin1-name.txt")
    assert main(["ingest", str(seeds_dir)]) == 0
    out, err = capsys.readouterr()
    assert "5 added" in out and "1 failed" in out
    line = next(x for x in err.splitlines() if "not valid UTF-8" in x)
    assert "caf\\xe9-latin1-name.txt" in line
    assert err.index("not valid UTF-8") < err.index("embedding")
    err.encode("utf-8")  # printable: no lone surrogates reach the terminal


def test_a_bad_name_given_directly_is_reported(store: Store, tmp_path: Path) -> None:
    bad = bad_name(tmp_path)
    good = tmp_path / "gut.txt"
    good.write_text(ARTICLE.format(n=4), encoding="utf-8")
    report = Ingestor(store, FakeEmbedder()).ingest([bad, good])
    assert [p for p, _ in report.failed] == [str(bad)] and report.added == ["gut"]


# ---------------------------------------------------------------- duplicate stems


def two_dups(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir()
    b.mkdir()
    (a / "dup.txt").write_text(ARTICLE.format(n=10), encoding="utf-8")
    (b / "dup.txt").write_text(ARTICLE.format(n=20), encoding="utf-8")
    return a, b


def test_same_stem_in_one_ingest_gets_two_ids_and_a_clear_report(store: Store, tmp_path: Path) -> None:
    a, b = two_dups(tmp_path)
    lines: list[str] = []
    report = ingestor(store, FakeEmbedder(), lines).ingest([a, b])
    assert len(report.added) == 2 and report.failed == []
    other = next(i for i in report.added if i != "dup")
    assert other.startswith("dup-") and len(other) == len("dup-") + 4
    assert report.collisions[0].startswith(f"2 files named dup.txt: ids dup and {other} ")
    assert lines[-1] == report.collisions[0]
    docs = store.load().documents
    assert "10 Menschen" in docs["dup"].text and "20 Menschen" in docs[other].text
    again = ingestor(store, FakeEmbedder()).ingest([a, b])
    assert sorted(again.unchanged) == sorted(["dup", other]) and not again.collisions


def test_same_stem_across_ingests_does_not_replace(store: Store, tmp_path: Path) -> None:
    a, b = two_dups(tmp_path)
    first = ingestor(store, FakeEmbedder()).ingest([a])
    assert first.added == ["dup"]
    second = ingestor(store, FakeEmbedder()).ingest([b])
    assert second.updated == [] and len(second.added) == 1 and second.added[0].startswith("dup-")
    other = second.added[0]
    assert "2 files named dup.txt" in second.collisions[0] and "already" not in second.collisions[0]
    docs = store.load().documents
    assert "10 Menschen" in docs["dup"].text and "20 Menschen" in docs[other].text
    # each path keeps its id: editing B's file updates B's article, not A's
    (b / "dup.txt").write_text(ARTICLE.format(n=30), encoding="utf-8")
    third = ingestor(store, FakeEmbedder()).ingest([b])
    assert third.updated == [other] and third.added == [] and not third.collisions
    assert ingestor(store, FakeEmbedder()).ingest([a]).unchanged == ["dup"]
    docs = store.load().documents
    assert "10 Menschen" in docs["dup"].text and "30 Menschen" in docs[other].text


def test_seed_ids_stay_file_stems(store: Store, seeds_dir: Path, tmp_path: Path) -> None:
    report = ingestor(store, FakeEmbedder()).ingest([seeds_dir])
    assert sorted(report.added) == SEED_IDS and not report.collisions
    moved = tmp_path / "moved"
    shutil.move(seeds_dir, moved)  # the folder moved: same articles, same ids, nothing embedded again
    again = ingestor(store, FakeEmbedder()).ingest([moved])
    assert sorted(again.unchanged) == SEED_IDS and again.added == again.removed == []


def test_cli_prints_the_collision(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_dups(tmp_path)
    assert main(["ingest", str(a), str(b)]) == 0
    out, err = capsys.readouterr()
    assert "2 added" in out and "2 files named dup.txt: ids dup and dup-" in err


# ---------------------------------------------------------------- files that are not articles


def test_every_skipped_file_is_named_with_its_reason(store: Store, seeds_dir: Path) -> None:
    (seeds_dir / "bericht.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (seeds_dir / "brief.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    (seeds_dir / "sub").mkdir()
    (seeds_dir / "sub" / "blob").write_bytes(bytes(range(256)))
    (seeds_dir / "tot.txt").symlink_to(seeds_dir / "gibt-es-nicht.txt")
    (seeds_dir / ".versteckt.pdf").write_bytes(b"%PDF")
    lines: list[str] = []
    report = ingestor(store, FakeEmbedder(), lines).ingest([seeds_dir])
    skipped = dict(report.skipped)
    assert skipped == {
        str(seeds_dir / "bericht.pdf"): "unsupported file type .pdf; use .txt, .md or .html",
        str(seeds_dir / "brief.docx"): "unsupported file type .docx; use .txt, .md or .html",
        str(seeds_dir / "sub" / "blob"): "unsupported file type (none); use .txt, .md or .html",
        str(seeds_dir / "tot.txt"): "a broken link",
    }
    assert sorted(report.added) == SEED_IDS
    assert len(lines) == 4 and all(line.startswith("skipped ") for line in lines)
    assert "4 skipped" in report.summary()


def test_cli_prints_skipped_files(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    (seeds_dir / "bericht.pdf").write_bytes(b"%PDF-1.4")
    assert main(["ingest", str(seeds_dir)]) == 0
    out, err = capsys.readouterr()
    assert f"skipped {seeds_dir / 'bericht.pdf'}: unsupported file type .pdf" in err
    assert "5 added" in out and "1 skipped" in out


def test_a_folder_of_only_pdfs_names_them(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF")
    assert main(["ingest", str(folder)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "no .txt, .md or .html files" in line and "a.pdf (unsupported file type .pdf" in line


# ---------------------------------------------------------------- an index that cannot be written


def test_index_under_a_regular_file_fails_first_in_one_line(home: Path, seeds_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    built: list[FakeEmbedder] = []
    monkeypatch.setattr(rag.factory, "build_embedder", lambda settings: built.append(FakeEmbedder()) or built[-1])
    assert main(["ingest", str(seeds_dir), "--index", str(blocker / "index")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "cannot create or write the index" in line and "Not a directory" in line
    assert built == [], "failed before a model was even built"


def test_ingestor_checks_the_index_before_embedding(seeds_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    embedder = FakeEmbedder()
    with pytest.raises(IndexError_, match="cannot create or write the index"):
        Ingestor(Store(blocker / "index"), embedder).ingest([seeds_dir])
    assert embedder.calls == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_index_folder(seeds_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    index.chmod(0o555)
    embedder = FakeEmbedder()
    try:
        with pytest.raises(IndexError_):
            Ingestor(Store(index), embedder).ingest([seeds_dir])
    finally:
        index.chmod(0o755)
    assert embedder.calls == 0


# ---------------------------------------------------------------- terminal escapes


EVIL_TITLE = "Rot \x1b[31mROT\x1b[0m Glocke\x07 CSI\x9b2J Titel\x1b]0;gehackt\x07 Ende \u202eeslaf"


def test_docs_and_report_print_no_control_characters(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "evil"
    folder.mkdir()
    body = " ".join(f"Die Polizei in Minsk meldete am Sonntag {n} Festnahmen nach den Protesten." for n in range(40))
    (folder / "titel.txt").write_text(f"date 2021-01\n{EVIL_TITLE}\n\nMINSK (dpa) - {body}\n", encoding="utf-8")
    (folder / "name\x1b[2J\x07.txt").write_text(ARTICLE.format(n=5), encoding="utf-8")
    (folder / "leer\x1b]0;x\x07.md").write_text("")
    (folder / "bild\x1b[5m.pdf").write_bytes(b"%PDF")
    assert main(["ingest", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert main(["docs"]) == 0
    docs_out, _ = capsys.readouterr()
    for text in (out, err, docs_out):
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), repr(text)
    assert "Rot ROT Glocke CSI Titel Ende eslaf" in docs_out
    assert "skipped" in err and "bild" in err and "leer" in err
    rows = [line.split("\t") for line in docs_out.splitlines()]
    assert all(len(r) == 5 for r in rows)


def test_printable_strips_escape_sequences() -> None:
    assert printable("a\x1b[1;31mb\x1b[0m\x07c\x9b2Jd\x1bPdcs\x1b\\e\x1b7f\tg\nh\x7f\x85i") == "abcdef g hi"
    assert printable(os.fsdecode(b"x\xffy")) == "x\\xffy"


# ---------------------------------------------------------------- one error path


class Boom(FakeEmbedder):
    def embed_documents(self, texts: object) -> np.ndarray:
        raise RuntimeError("boom\nsecond line \x1b[31m")


def test_unexpected_exception_is_one_line_with_its_type(home: Path, seeds_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(rag.factory, "build_embedder", lambda settings: Boom())
    assert main(["ingest", str(seeds_dir)]) == 2
    err = capsys.readouterr().err
    assert [x for x in err.splitlines() if "error" in x] == ["error: RuntimeError: boom second line"]
    assert err.endswith("error: RuntimeError: boom second line\n"), "the progress bar was closed before it"
    assert "Traceback" not in err


def test_os_error_is_one_line(home: Path, seeds_dir: Path, fake_embedder: FakeEmbedder,
                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", "/x/sentences.npy")

    monkeypatch.setattr(np.lib.format, "open_memmap", full)
    assert main(["ingest", str(seeds_dir)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "error: No space left on device: /x/sentences.npy"
    assert "Traceback" not in err
    assert [p.name for p in (home / "index").iterdir()] == ["LOCK"], "nothing half-written is left"


def test_ctrl_c_is_one_line_and_130(home: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(settings: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rag.factory, "build_store", interrupted)
    assert main(["docs"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


# ---------------------------------------------------------------- memory


def test_ingest_holds_the_vectors_less_than_twice(tmp_path: Path) -> None:
    """Peak traced memory of a first ingest stays under 2x the bytes of all its vectors (it was
    3.2x: a list of row arrays, a stacked copy, and a second stack before FAISS). FAISS's own
    copy is C++ memory and not traced."""
    rng = random.Random(8)
    words = [f"wort{i}" for i in range(2000)]
    docs = []
    for i in range(60):
        paras = [" ".join(" ".join(rng.choice(words) for _ in range(8)).capitalize() + "." for _ in range(4))
                 for _ in range(5)]
        docs.append(parse_text(f"d{i:03d}", f"Titel {i}\n\n" + "\n\n".join(paras), path=f"/x/d{i}.txt"))
    embedder = FakeEmbedder(dimension=768)
    ing = Ingestor(Store(tmp_path / "index"), embedder)
    tracemalloc.start()
    try:
        report = ing.ingest_documents(docs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    vector_bytes = (report.passages_embedded + report.sentences_embedded) * 768 * 4
    assert vector_bytes > 3_000_000
    assert peak < 2.0 * vector_bytes, f"peak {peak / 1e6:.1f} MB for {vector_bytes / 1e6:.1f} MB of vectors"
