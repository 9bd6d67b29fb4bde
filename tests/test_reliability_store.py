"""Reliability of the on-disk index: kill -9 during ingest, concurrent writers, readers during
writes, and corruption of every index file. Ingests run in real OS processes
(``tests/reliability_driver.py``, fake embedder) where a process must be killed or several
must race; everything else runs in-process through ``rag.cli.main``."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import STORED_ATOL
from fakes import FakeEmbedder

import rag.factory
from rag.cli import main
from rag.errors import IndexBusyError, IndexError_
from rag.ingest import Ingestor
from rag.parse import parse_file
from rag.store import CURRENT, LOCK, SEGMENTS, Store

TESTS = Path(__file__).resolve().parent
DRIVER = TESTS / "reliability_driver.py"

_WORDS = ("Minsk Moskau Lukaschenko Putin Opposition Wahl Protest Polizei Regierung Präsident Kreml Grenze "
          "Vertrag Gespräch Treffen Kredit Milliarden Stimmen Ergebnis Kandidatin Demonstranten Sonntag").split()


def article(rng: random.Random, title: str) -> str:
    paras = []
    for _ in range(2):
        sents = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 10))) + "." for _ in range(3)]
        paras.append(" ".join(s[0].upper() + s[1:] for s in sents))
    return f"date 2021-0{rng.randint(1, 9)}\n{title}\n\nMINSK (dpa) - " + "\n\n".join(paras) + "\n"


def write_articles(folder: Path, rng: random.Random, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.txt").write_text(article(rng, f"Bericht {name}"), encoding="utf-8")


def expected(*folders: Path) -> dict[str, str]:
    """{doc id: content hash} that ingesting these folders must give (stems are unique here)."""
    return {f.stem: parse_file(f).content_hash for folder in folders for f in sorted(folder.glob("*.txt"))}


def indexed(index: Path) -> dict[str, str]:
    return {d.doc_id: d.content_hash for d in Store(index).load().documents.values()}


def assert_vectors_match_texts(index: Path) -> None:
    snap = Store(index).load()
    emb = FakeEmbedder()
    pvecs = snap.passage_index.vectors(np.arange(len(snap.passages), dtype=np.int64))
    for p, vec in zip(snap.passages, pvecs, strict=True):
        np.testing.assert_allclose(vec, emb.vector(p.text), atol=STORED_ATOL)
    flat = [s for p in snap.passages for s in p.sentences]
    assert len(flat) == len(snap.sentence_vectors)
    for s, vec in zip(flat, snap.sentence_vectors, strict=True):
        np.testing.assert_allclose(vec, emb.vector(s.text), atol=STORED_ATOL)


def leftovers(index: Path) -> list[str]:
    """Anything in the index folder besides CURRENT, LOCK, the one current generation and its segments."""
    current = (index / CURRENT).read_text().strip()
    listed = {s["name"] for s in json.loads((index / current / "manifest.json").read_text())["segments"]}
    extra = sorted(p.name for p in index.iterdir() if p.name not in (CURRENT, LOCK, SEGMENTS, current))
    if (index / SEGMENTS).is_dir():
        extra += sorted(f"{SEGMENTS}/{p.name}" for p in (index / SEGMENTS).iterdir() if p.name not in listed)
    return extra


def driver_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def start_driver(args: list[str | Path], go: Path | None = None, embed_delay: float = 0.0,
                 fsync_delay: float = 0.0, die_at: int = 0, die_at_phase: str = "",
                 **env: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(DRIVER), "--embed-delay", str(embed_delay), "--fsync-delay", str(fsync_delay),
           "--die-at", str(die_at), "--die-at-phase", die_at_phase]
    if go is not None:
        cmd += ["--go", str(go)]
    return subprocess.Popen([*cmd, "--", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=driver_env(**env), cwd=TESTS.parent)


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """``rag.cli.main`` in this process embeds with the fake."""
    emb = FakeEmbedder()
    monkeypatch.setattr(rag.factory, "build_embedder", lambda settings: emb)
    return emb


def cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


# ---------------------------------------------------------------- kill -9


@pytest.mark.reliability
def test_kill_9_at_random_points_loses_nothing(tmp_path: Path, fake_cli: FakeEmbedder,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An ingest killed at random moments (parsing, embedding, writing files, renaming, flipping
    CURRENT, collecting) leaves an index holding exactly the previous or the new articles, vectors
    matching their texts; a plain re-run then completes with the new set and leaves nothing behind.

    Even rounds kill from outside after a random delay; odd rounds have the ingest kill itself at a
    random one of its phase lines (so the short windows around the renames are hit too). Every
    other round is a ``--rebuild``, the rest incremental (new, edited and deleted files)."""
    rng = random.Random(21)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_articles(corpus, rng, [f"a{i:02d}" for i in range(12)])
    go = tmp_path / "go"
    go.touch()
    # a full, unkilled run through the driver: the starting index, and how long a run takes here
    t0 = time.monotonic()
    proc = start_driver(["ingest", corpus, "--index", index, "--home", tmp_path / "h0"], go=go,
                        embed_delay=0.003, fsync_delay=0.04)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    full_run = time.monotonic() - t0
    n_phases = sum(line.startswith("phase ") for line in out.splitlines())
    previous = indexed(index)
    assert previous == expected(corpus)

    kills, phases, outcomes = 0, [], {"previous": 0, "new": 0}
    next_name = 12
    for round_no in range(24):
        if kills >= 14:
            break
        files = sorted(corpus.glob("*.txt"))
        rng.choice(files).unlink()
        edited = rng.choice(sorted(corpus.glob("*.txt")))
        edited.write_text(edited.read_text(encoding="utf-8") + f"\nNachtrag {round_no}: Die Polizei schwieg.\n",
                          encoding="utf-8")
        write_articles(corpus, rng, [f"a{next_name:02d}", f"a{next_name + 1:02d}"])
        next_name += 2
        new = expected(corpus)
        assert new != previous
        rebuild = ["--rebuild"] if round_no % 4 >= 2 else []
        go = tmp_path / f"go-{round_no}"
        die_at = rng.randint(2, n_phases) if round_no % 2 else 0
        delay = rng.uniform(0.0, 0.8 * full_run)
        proc = start_driver(["ingest", corpus, "--index", index, "--home", tmp_path / f"h{round_no + 1}", *rebuild],
                            go=go, embed_delay=0.003, fsync_delay=0.04, die_at=die_at)
        wait_ready(proc)
        go.touch()
        if not die_at:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        seen = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("phase ")]
        if proc.returncode == -signal.SIGKILL and not (seen and seen[-1].startswith("exit")):
            kills += 1
            how = f"at phase {die_at}" if die_at else f"after {delay:.2f}s"
            phases.append(f"{seen[-1] if seen else 'start'} ({how})")
        else:
            assert proc.returncode in (0, -signal.SIGKILL), err
            phases.append("finished")

        got = indexed(index)  # loads: no half index, whatever the moment
        assert got in (previous, new), f"round {round_no}: neither the previous nor the new set"
        outcomes["previous" if got == previous else "new"] += 1
        assert_vectors_match_texts(index)

        assert cli("ingest", corpus, "--index", index, "--home", tmp_path / "rerun") == 0
        assert indexed(index) == new
        assert leftovers(index) == [], f"round {round_no}: leftovers after the re-run"
        assert_vectors_match_texts(index)
        previous = new
    # and one fixed point: killed after CURRENT moved, before the old generation was collected;
    # the re-run has nothing to embed or write, and must still leave nothing behind
    (corpus / "spaet.txt").write_text(article(rng, "Spät"), encoding="utf-8")
    proc = start_driver(["ingest", corpus, "--index", index, "--home", tmp_path / "h-gc"], die_at_phase="gc")
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert indexed(index) == expected(corpus) and leftovers(index) != []
    assert cli("ingest", corpus, "--index", index, "--home", tmp_path / "rerun") == 0
    assert indexed(index) == expected(corpus) and leftovers(index) == []
    kills += 1
    capsys.readouterr()
    with capsys.disabled():
        print(f"\nkill -9: {kills} kills in {len(phases)} rounds (full run {full_run:.2f}s, {n_phases} phases); "
              f"index afterwards: {outcomes}; killed in: {'; '.join(phases)}")
    assert kills >= 10


# ---------------------------------------------------------------- concurrent writers


def race(tmp_path: Path, n: int, timeouts: dict[int, str] | None = None) -> tuple[list[int], list[str], Path]:
    rng = random.Random(100 + n)
    index = tmp_path / "index"
    folders = []
    for w in range(n):
        folder = tmp_path / f"w{w}"
        write_articles(folder, rng, [f"w{w}_{j}" for j in range(5)])
        folders.append(folder)
    go = tmp_path / "go"
    procs = []
    for w, folder in enumerate(folders):
        env = {"RAG_LOCK_TIMEOUT": (timeouts or {}).get(w, "60")}
        procs.append(start_driver(["ingest", folder, "--index", index, "--home", tmp_path / f"home{w}"], go=go,
                                  embed_delay=0.003, fsync_delay=0.01, **env))
    for proc in procs:
        wait_ready(proc)
    go.touch()
    codes, errs = [], []
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        errs.append(err)
    return codes, errs, index


@pytest.mark.reliability
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_writers_end_with_the_union(tmp_path: Path, writers: int) -> None:
    codes, errs, index = race(tmp_path, writers)
    assert codes == [0] * writers, errs
    folders = [tmp_path / f"w{w}" for w in range(writers)]
    assert indexed(index) == expected(*folders), "every writer's articles are in the index"
    waited = [e.count("waiting for another ingest") for e in errs]
    assert max(waited) == 1 and sum(waited) >= 1, "a writer that waits says so once"
    assert all("Traceback" not in e for e in errs)
    assert leftovers(index) == []
    assert_vectors_match_texts(index)


@pytest.mark.reliability
def test_cli_writers_and_an_app_upload_end_with_the_union(tmp_path: Path) -> None:
    """Two ``rag ingest`` processes and the chat app's upload (``ChatService.add_files``) at once."""
    from fakes import ScriptedGenerator

    from rag.factory import build_assistant
    from rag.settings import Settings
    from ui.service import ChatService

    rng = random.Random(7)
    index = tmp_path / "index"
    uploads = tmp_path / "uploads"
    write_articles(uploads, rng, [f"up_{j}" for j in range(4)])
    go = tmp_path / "go"
    procs = []
    for w in range(2):
        write_articles(tmp_path / f"w{w}", rng, [f"w{w}_{j}" for j in range(5)])
        procs.append(start_driver(["ingest", tmp_path / f"w{w}", "--index", index, "--home", tmp_path / f"home{w}"],
                                  go=go, embed_delay=0.003, fsync_delay=0.01))
    for proc in procs:
        wait_ready(proc)
    service = ChatService(Settings(home=tmp_path / "app", index_dir=index, threads=1), FakeEmbedder(),
                          ScriptedGenerator(), lambda st, e, g: build_assistant(st, embedder=e, generator=g))
    go.touch()
    report = service.add_files(sorted(uploads.glob("*.txt")))
    assert sorted(report.added) == [f"up_{j}" for j in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert indexed(index) == expected(tmp_path / "w0", tmp_path / "w1", service.library)
    assert leftovers(index) == []


@pytest.mark.reliability
def test_a_writer_that_cannot_wait_fails_clearly_and_loses_nothing(tmp_path: Path) -> None:
    codes, errs, index = race(tmp_path, 4, timeouts={1: "0", 3: "0"})
    for code, err in zip(codes, errs, strict=True):
        assert code in (0, 2) and "Traceback" not in err
        if code == 2:
            lines = [line for line in err.splitlines() if line.startswith("error:")]
            assert len(lines) == 1 and "another ingest" in lines[0] and "RAG_LOCK_TIMEOUT" in lines[0]
    assert 2 in codes, "two writers that may not wait cannot both have found the index free"
    ok = [tmp_path / f"w{w}" for w, code in enumerate(codes) if code == 0]
    assert indexed(index) == expected(*ok)


def test_second_writer_waits_then_times_out_with_one_message(tmp_path: Path, seeds_dir: Path) -> None:
    index = tmp_path / "index"
    Ingestor(Store(index), FakeEmbedder()).ingest([seeds_dir])
    messages: list[str] = []
    embedder = FakeEmbedder()
    with Store(index).writer():  # another writer holds the lock (a second open file: flock conflicts)
        waiting = Store(index, lock_timeout=0.3, on_wait=messages.append)
        start = time.monotonic()
        with pytest.raises(IndexBusyError, match="another ingest .*pid .*RAG_LOCK_TIMEOUT"):
            Ingestor(waiting, embedder).ingest([seeds_dir])
        assert time.monotonic() - start >= 0.3
    assert messages == [f"waiting for another ingest (pid {os.getpid()}) to finish…"]
    assert embedder.calls == 0
    # released: the next writer goes through at once
    assert Ingestor(Store(index, lock_timeout=0), FakeEmbedder()).ingest([seeds_dir]).unchanged


def test_waiting_writer_reads_the_index_after_the_lock(tmp_path: Path, seeds_dir: Path) -> None:
    """The lost update: B starts while A writes; B must build on A's generation, not the one before."""
    index = tmp_path / "index"
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "neu.txt").write_text("Ein neuer Artikel über Minsk. Er hat zwei Sätze.", encoding="utf-8")
    holder = Store(index)
    result: list[object] = []
    with holder.writer():
        thread = threading.Thread(target=lambda: result.append(Ingestor(Store(index), FakeEmbedder()).ingest([extra])))
        thread.start()
        time.sleep(0.2)
        assert not result, "the second writer must wait for the lock"
        Ingestor(holder, FakeEmbedder()).ingest([seeds_dir])
    thread.join(10)
    assert sorted(indexed(index)) == sorted([*expected(seeds_dir), "neu"])


# ---------------------------------------------------------------- readers during writes


def test_reader_retries_when_its_generation_is_collected(ingested: Store, seeds_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """CURRENT read, then a writer replaces and collects that generation before the reader opens it."""
    import rag.store

    real = rag.store._load_generation
    calls: list[Path] = []

    def racing(gen: Path) -> object:
        calls.append(gen)
        if len(calls) == 1:
            (seeds_dir / "neu.txt").write_text("Ein neuer Artikel über Minsk. Er hat zwei Sätze.", encoding="utf-8")
            monkeypatch.setattr(rag.store, "_load_generation", real)  # the writer reads normally
            Ingestor(Store(ingested.root), FakeEmbedder()).ingest([seeds_dir])
            monkeypatch.setattr(rag.store, "_load_generation", racing)
            assert not gen.exists()
        return real(gen)

    monkeypatch.setattr(rag.store, "_load_generation", racing)
    snap = ingested.load()
    assert len(calls) == 2 and calls[0] != calls[1]
    assert "neu" in snap.documents


def test_readers_never_see_half_an_index(tmp_path: Path, seeds_dir: Path) -> None:
    index = tmp_path / "index"
    small = [parse_file(p) for p in sorted(seeds_dir.glob("*.txt"))][:2]
    full = [parse_file(p) for p in sorted(seeds_dir.glob("*.txt"))]
    writer = Ingestor(Store(index), FakeEmbedder())
    writer.ingest_documents(full)
    valid = ({d.doc_id for d in small}, {d.doc_id for d in full})
    errors: list[BaseException] = []
    loads = [0]
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                assert set(Store(index).load().documents) in valid
                loads[0] += 1
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(16):
        writer.ingest_documents(small if i % 2 == 0 else full)
    stop.set()
    reader.join(10)
    assert errors == [] and loads[0] > 0, [repr(e) for e in errors]


def test_collection_spares_the_current_generation_and_removes_dead_writers_leftovers(
        ingested: Store, snapshot: object) -> None:
    current = ingested.current_dir()
    dead_tmp = ingested.root / ".tmp-gen-99999-crashed"
    dead_tmp.mkdir()
    (dead_tmp / "passages.sqlite").write_bytes(b"half")
    orphan = ingested.root / "gen-99999999999999999999"  # renamed into place, never made current
    orphan.mkdir()
    (ingested.root / "CURRENT.tmp").write_text("gen-99999999999999999999\n")
    segment = _segment(ingested.root)
    dead_segment = ingested.root / SEGMENTS / ".tmp-seg-99999-1"  # a writer died while writing it
    unlisted = ingested.root / SEGMENTS / "seg-99999999999999999999"  # written, never committed
    for folder in (dead_segment, unlisted):
        folder.mkdir()
        (folder / "sentences.npy").write_bytes(b"half")
    ingested.tidy()
    assert ingested.current_dir() == current and current.is_dir() and segment.is_dir()
    assert not dead_tmp.exists() and not orphan.exists() and not (ingested.root / "CURRENT.tmp").exists()
    assert not dead_segment.exists() and not unlisted.exists()
    assert leftovers(ingested.root) == []


# ---------------------------------------------------------------- corruption of every file


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(max(64, path.stat().st_size)))


def _garbage_inside(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) * 2 // 3
    data[at:at + 16] = random.Random(4).randbytes(16)
    path.write_bytes(bytes(data))


def _delete(path: Path) -> None:
    path.unlink()


FILE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate, "emptied": _empty, "garbage": _garbage, "garbage inside": _garbage_inside,
    "deleted": _delete,
}
GEN_FILES = ["passages.sqlite", "passages.faiss", "sentences.npy", "manifest.json"]


def _gen(root: Path) -> Path:
    return root / (root / CURRENT).read_text().strip()


def _segment(root: Path) -> Path:
    """The current generation's one segment (the seeds index has one)."""
    [entry] = json.loads((_gen(root) / "manifest.json").read_text())["segments"]
    return root / SEGMENTS / entry["name"]


def _file(root: Path, name: str) -> Path:
    return _gen(root) / name if name == "manifest.json" else _segment(root) / name


def _pointer(root: Path, content: bytes | None) -> None:
    if content is None:
        (root / CURRENT).unlink()
    else:
        (root / CURRENT).write_bytes(content)


def _manifest(root: Path, edit: Callable[[str], str]) -> None:
    path = _gen(root) / "manifest.json"
    path.write_text(edit(path.read_text()))


def _drop_passage(root: Path) -> None:
    con = sqlite3.connect(_segment(root) / "passages.sqlite")
    con.execute("DELETE FROM passages WHERE passage_id = (SELECT MAX(passage_id) FROM passages)")
    con.commit()
    con.close()


def _current_is_a_folder(root: Path) -> None:
    (root / CURRENT).unlink()
    (root / CURRENT).mkdir()


INDEX_DAMAGE: dict[str, Callable[[Path], None]] = {
    **{f"{name} {what}": (lambda root, name=name, fn=fn: fn(_file(root, name)))
       for name in GEN_FILES for what, fn in FILE_DAMAGE.items()},
    "CURRENT missing": lambda root: _pointer(root, None),
    "CURRENT dangling": lambda root: _pointer(root, b"gen-00000000000000000001\n"),
    "CURRENT garbage": lambda root: _pointer(root, bytes(range(256))),
    "CURRENT empty": lambda root: _pointer(root, b""),
    "CURRENT escapes": lambda root: _pointer(root, b"../../etc\n"),
    "CURRENT is a folder": _current_is_a_folder,
    "manifest not an object": lambda root: _manifest(root, lambda s: "[1, 2]"),
    "manifest missing a field": lambda root: _manifest(root, lambda s: s.replace('"embedder"', '"embedded"')),
    "manifest wrong type": lambda root: _manifest(root, lambda s: s.replace('"dimension": 64', '"dimension": "64"')),
    "manifest wrong count": lambda root: _manifest(root, lambda s: s.replace('"documents": 5', '"documents": 4')),
    "sqlite row deleted": _drop_passage,
    "generation folder deleted": lambda root: shutil.rmtree(_gen(root)),
    "segment folder deleted": lambda root: shutil.rmtree(_segment(root)),
    "segment entry names another folder": lambda root: _manifest(root, lambda s: s.replace('"seg-', '"seg-0')),
}


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("damage", list(INDEX_DAMAGE))
def test_every_damaged_index_file_is_one_clean_line_and_rebuild_recovers(
        damage: str, tmp_path: Path, seeds_index: Path, seeds_dir: Path, fake_cli: FakeEmbedder,
        capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeds_index, index)
    home = ["--index", str(index), "--home", str(tmp_path / "home")]
    INDEX_DAMAGE[damage](index)

    assert cli("docs", *home) == 2
    out, err = capsys.readouterr()
    assert "rag ingest --rebuild" in one_error_line(err) and out == ""

    code = cli("ingest", seeds_dir, *home)
    out, err = capsys.readouterr()
    if damage == "CURRENT missing":  # nothing committed: a plain ingest starts a new index
        assert code == 0
    else:
        assert code == 2 and "rag ingest --rebuild" in one_error_line(err)

    assert cli("ingest", "--rebuild", seeds_dir, *home) == 0
    capsys.readouterr()
    assert cli("docs", *home) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 5 and "error" not in err
    assert leftovers(index) == []


def test_ask_on_a_damaged_index_is_one_line(tmp_path: Path, seeds_index: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeds_index, index)
    INDEX_DAMAGE["sentences.npy garbage inside"](index)
    with pytest.raises(IndexError_, match="checksum"):
        Store(index).load()
    assert cli("ask", "Wer?", "--index", index, "--home", tmp_path / "home") == 2
    assert "rag ingest --rebuild" in one_error_line(capsys.readouterr().err)
