"""Reliability of ingest on hostile folders: undecodable names, duplicate stems, files that are
not articles, an index that cannot be written, escape sequences, unexpected errors, memory."""

from __future__ import annotations

import os
import random
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

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

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", full)
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


def _random_docs(n: int, seed: int = 8) -> list:
    rng = random.Random(seed)
    words = [f"wort{i}" for i in range(2000)]
    docs = []
    for i in range(n):
        paras = [" ".join(" ".join(rng.choice(words) for _ in range(8)).capitalize() + "." for _ in range(4))
                 for _ in range(5)]
        docs.append(parse_text(f"d{i:03d}", f"Titel {i}\n\n" + "\n\n".join(paras), path=f"/x/d{i}.txt"))
    return docs


def test_a_first_ingest_holds_little_beyond_the_batch_it_writes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """While building, traced memory rises less than 15% of the vector bytes above what is held when
    the store is handed the new segment (its float16 passage and sentence matrices, passages and
    texts), and what is held then carries each vector once, in float16. It was 33% when a float32
    passage and sentence matrix were both held. FAISS's copy, made while the segment is written, is
    C++ memory and not traced; FAISS is imported before tracing starts."""
    from embeddings.index import FaissIndex

    FaissIndex(8)
    seen: dict[str, int] = {}
    real_commit = Store.commit

    def commit(self: Store, *args: Any, **kwargs: Any) -> Any:
        seen["held"], seen["peak"] = tracemalloc.get_traced_memory()
        return real_commit(self, *args, **kwargs)

    monkeypatch.setattr(Store, "commit", commit)
    docs = _random_docs(60)
    ing = Ingestor(Store(tmp_path / "index"), FakeEmbedder(dimension=768))
    tracemalloc.start()
    try:
        report = ing.ingest_documents(docs)
    finally:
        tracemalloc.stop()
    vector_bytes = (report.passages_embedded + report.sentences_embedded) * 768 * 4
    half = vector_bytes // 2  # every vector once, in float16
    assert vector_bytes > 4_000_000 and half < seen["held"] < 1.25 * half, seen
    extra = seen["peak"] - seen["held"]
    assert extra < 0.15 * vector_bytes, f"{extra / 1e6:.2f} MB above the batch for {vector_bytes / 1e6:.1f} MB"


def test_passages_are_embedded_in_batches_before_sentences_and_faiss_gets_each_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passage texts first, then the sentences that are not also a passage (those take the passage's
    vector), each in batches of at most ``EMBED_BATCH``; FAISS gets every passage vector once, in
    one add, when the store writes the segment after the last batch."""
    from embeddings.index import FaissIndex
    from rag.ingest import EMBED_BATCH

    events: list[tuple[str, int]] = []
    embedded: list[str] = []
    real_add = FaissIndex.add

    def add(self: FaissIndex, ids: np.ndarray, vectors: np.ndarray) -> None:
        events.append(("add", len(ids)))
        real_add(self, ids, vectors)

    class Embedder(FakeEmbedder):
        def embed_documents(self, texts: Any) -> np.ndarray:
            events.append(("embed", len(texts)))
            embedded.extend(texts)
            return super().embed_documents(texts)

    monkeypatch.setattr(FaissIndex, "add", add)
    docs = _random_docs(40)
    docs.append(parse_text("kurz", "Titel kurz\n\nEin Satz allein.\n\nNoch ein Satz allein.", path="/x/kurz.txt"))
    embedder = Embedder(dimension=96)
    report = Ingestor(Store(tmp_path / "index"), embedder).ingest_documents(docs)
    snap = Store(tmp_path / "index").load()
    assert events[-1] == ("add", len(snap.passages)), "FAISS gets all passage vectors in one add, once, last"
    assert [e for e in events if e[0] == "add"] == [events[-1]]
    passages = {p.text for p in snap.passages}
    sentences = {s.text for p in snap.passages for s in p.sentences}
    assert set(embedded[:len(passages)]) == passages, "every passage text is embedded before any sentence"
    assert sorted(embedded[len(passages):]) == sorted(sentences - passages), "a sentence that is a passage is not"
    assert "Ein Satz allein." in passages & sentences
    assert all(0 < n <= EMBED_BATCH for kind, n in events if kind == "embed")
    assert report.sentences_embedded == len(snap.sentence_vectors)
    from test_ingest import assert_vectors_match_texts

    assert_vectors_match_texts(snap, embedder)


def test_an_update_neither_copies_nor_reads_the_previous_generation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding one article to a big index must not hold the old and the new index at once. With
    segments the old index is not rebuilt at all: FAISS gets the new article's passages only, no
    old vector is read, and the old segment is part of the next generation as it was."""
    from embeddings.index import FaissIndex
    from rag.snapshot import SegmentedIndex, SentenceVectors

    store = Store(tmp_path / "index")
    docs = _random_docs(30)
    embedder = FakeEmbedder(dimension=64)
    Ingestor(store, embedder).ingest_documents(docs)
    old_segments = {seg.ref.name for seg in store.load().segments}
    added: list[int] = []
    read: list[str] = []
    real_add = FaissIndex.add

    def add(self: FaissIndex, ids: np.ndarray, vectors: np.ndarray) -> None:
        added.append(len(ids))
        real_add(self, ids, vectors)

    def reads(name: str) -> Any:
        def record(self: Any, ids: np.ndarray) -> np.ndarray:
            read.append(name)
            raise AssertionError(f"an update read old {name}")

        return record

    monkeypatch.setattr(FaissIndex, "add", add)
    monkeypatch.setattr(SegmentedIndex, "vectors", reads("passage vectors"))
    monkeypatch.setattr(SentenceVectors, "rows", reads("sentence vectors"))
    new = parse_text("neu", ARTICLE.format(n=7), path="/x/neu.txt")
    report = Ingestor(store, embedder).ingest_documents([*docs, new])
    monkeypatch.undo()
    assert report.added == ["neu"] and sorted(report.unchanged) == sorted(d.doc_id for d in docs)
    assert added == [report.passages_embedded] and report.passages_embedded == 1 and not read
    assert old_segments <= {seg.ref.name for seg in store.load().segments}
    from test_ingest import assert_vectors_match_texts

    assert_vectors_match_texts(store.load(), embedder)


def test_a_merge_reads_the_old_sentence_rows_without_mapping_them(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A merge copies old segments' sentence rows into the new segment through ``RowFile`` reads, so
    no page of a ``sentences.npy`` is mapped into the writer (a map kept every page it read resident
    beside the new file's until it was released)."""
    from rag import compaction
    from rag.rowfile import RowFile

    store = Store(tmp_path / "index")
    docs = _random_docs(6)
    embedder = FakeEmbedder(dimension=64)
    for n in range(1, 4):
        Ingestor(store, embedder).ingest_documents(docs[:n])
    before = store.load()
    rows = {seg.ref.name: seg.ref.sentences for seg in before.segments}
    maps = Path("/proc/self/maps")
    taken: list[int] = []
    real_take = RowFile.take

    def take(self: RowFile, ids: np.ndarray) -> np.ndarray:
        taken.append(len(ids))
        assert not maps.exists() or "sentences.npy" not in maps.read_text()
        return real_take(self, ids)

    monkeypatch.setattr(compaction, "plan", lambda sizes: [compaction.Group(tuple(range(len(sizes))), True)])
    monkeypatch.setattr(RowFile, "take", take)
    Ingestor(store, embedder).ingest_documents(docs[:4])
    monkeypatch.undo()
    after = store.load()
    assert len(after.segments) == 1
    merged = [*rows.values(), len(after.sentence_vectors) - sum(rows.values())]  # the three old, the new one
    assert sorted(taken) == sorted(merged), "each merged segment's rows, read once"
    from test_ingest import assert_vectors_match_texts

    assert_vectors_match_texts(store.load(), embedder)
    assert not maps.exists() or "sentences.npy" not in maps.read_text()


# ---------------------------------------------------------------- progress while reading and chunking


def _one_line_file(folder: Path, sentences: int = 2000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "eine-zeile.txt"
    text = " ".join(f"Im Bericht {i} meldete die Polizei in Minsk {i % 97} Festnahmen." for i in range(sentences))
    path.write_text(text, encoding="utf-8")
    return path


def test_a_one_line_file_shows_progress_while_read_and_chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading (bytes) and chunking (characters, also inside the one long line) report progress
    before anything is embedded; an unchanged re-run reads but chunks and embeds nothing."""
    monkeypatch.setattr("rag.chunk.PROGRESS_STEP", 4096)
    line = _one_line_file(tmp_path / "in")
    other = tmp_path / "in" / "kurz.txt"
    other.write_text(ARTICLE.format(n=4), encoding="utf-8")
    embedder = FakeEmbedder()
    events: list[tuple[str, int, int, int]] = []

    def log(stage: str) -> Any:
        return lambda done, total: events.append((stage, done, total, embedder.calls))

    store = Store(tmp_path / "index")
    ing = Ingestor(store, embedder, 500, progress=log("embed"), read_progress=log("read"),
                   chunk_progress=log("chunk"))
    ing.ingest([tmp_path / "in"])
    reads = [e for e in events if e[0] == "read"]
    chunks = [e for e in events if e[0] == "chunk"]
    size = line.stat().st_size + other.stat().st_size
    assert reads[0][1:3] == (0, size) and reads[-1][1:3] == (size, size) and len(reads) == 3
    chars = sum(len(d.text) for d in store.load().documents.values())
    assert chunks[0][1:3] == (0, chars) and chunks[-1][1:3] == (chars, chars)
    inside = [e for e in chunks if 0 < e[1] < e[2]]
    assert len(inside) >= line.stat().st_size // 4096 - 2, "progress inside the long line"
    for stage in (reads, chunks):
        assert [e[1] for e in stage] == sorted(e[1] for e in stage)
    assert all(e[3] == 0 for e in reads + chunks), "shown before anything is embedded"
    stages = [e[0] for e in events]
    assert stages.index("embed") > max(i for i, s in enumerate(stages) if s == "chunk")

    events.clear()
    again = ing.ingest([tmp_path / "in"])
    assert len(again.unchanged) == 2 and {e[0] for e in events} == {"read"}


def test_cli_shows_reading_and_chunking_before_embedding(home: Path, tmp_path: Path, fake_embedder: FakeEmbedder,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.chunk.PROGRESS_STEP", 4096)
    line = _one_line_file(tmp_path / "in", 600)
    assert main(["ingest", str(line)]) == 0
    out, err = capsys.readouterr()
    assert "1 added" in out
    assert 0 <= err.index("reading") < err.index("chunking") < err.index("embedding"), err
    reading = err[err.index("reading"):err.index("chunking")]
    chunking = err[err.index("chunking"):err.index("embedding")]
    assert "100%" in reading and "B" in reading
    assert "100%" in chunking and "char" in chunking


# ---------------------------------------------------------------- terminal output of article text


def test_ask_prints_no_escape_sequences_from_articles_or_the_model(
        home: Path, tmp_path: Path, fake_embedder: FakeEmbedder, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`rag ask` prints the model's streamed answer, titles and quotes: none of them may carry an
    escape sequence to the terminal, in text or in --json (where JSON leaves C1 and bidi raw)."""
    from fakes import ScriptedGenerator, sources_in

    from rag.chunk import split_sentences
    from rag.pipeline import Assistant
    from rag.settings import Settings

    folder = tmp_path / "evil"
    folder.mkdir()
    body = " ".join(f"Die Polizei in Minsk meldete am Sonntag {n} Festnahmen." for n in range(60))
    body += " Die Polizei\x1b[8m in Minsk meldete\x9b2J am Montag 7 Festnahmen\u202e."
    (folder / "titel.txt").write_text(f"date 2021-01\n{EVIL_TITLE}\n\nMINSK (dpa) - {body}\n", encoding="utf-8")
    assert main(["ingest", str(folder)]) == 0
    capsys.readouterr()

    def answer(messages: Any) -> str:
        for n, passage in sources_in(messages).items():  # a bell of its own, the article's escapes copied
            for sentence in split_sentences(passage):
                if "Montag" in sentence.text:
                    return f"\x07{sentence.text} [{n}]"
        return "NOT IN SOURCES"

    gen = ScriptedGenerator(answer, piece_chars=3)
    real_build = rag.factory.build_assistant

    def build(settings: Settings) -> Assistant:
        return real_build(settings.with_overrides(refuse_below=0.0), embedder=fake_embedder, generator=gen)

    monkeypatch.setattr(rag.factory, "build_assistant", build)
    question = "Wie viele Festnahmen meldete die Polizei in Minsk am Montag?"
    assert main(["ask", question]) == 0
    out, err = capsys.readouterr()
    assert "Montag 7 Festnahmen" in out and "Sources:" in out and "Rot ROT Glocke" in out
    assert main(["ask", "--json", question]) == 0
    json_out, _ = capsys.readouterr()
    import json

    data = json.loads(json_out)
    assert "\x9b2J" in data["citations"][0]["quote"], "the JSON value keeps the text as it is"
    for text in (out, err, json_out):
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), repr(text)


def test_eval_table_prints_no_escape_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    """`rag eval` prints each answer (written by the model from articles) and question in a table."""
    from rag.eval.runner import print_table

    row = {"id": "q\x1b[2J1", "question": "Wer\x9b2J gewann?", "answer": "Er\x1b]0;x\x07 gewann \u202e.",
           "answerable": True, "correct": True}
    print_table({"datasets": {"seeds": {"rows": [row], "totals": {"answered": 1}}}})
    err = capsys.readouterr().err
    assert "ok  q1" in err and "Wer gewann?" in err and "Er gewann ." in err
    assert not any(ch in err for ch in "\x1b\x07\x9b\u202e"), repr(err)
