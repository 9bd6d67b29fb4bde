"""Peak memory and time of ingesting one big file: ``python -m rag.bench.ingest_memory``.

Generates a file of about ``--mb`` megabytes of German news prose made from the seeds (every
sentence made unique by an inserted made-up name, so nothing is deduplicated) in two shapes:
``paragraphs`` (3-6 sentences, blank lines between) and ``oneline`` (the same kind of text
without a single line break); ``nobreaks`` (optional) is one line without a sentence boundary,
the worst case for the chunker. Each is ingested from scratch into a fresh index in its own
process, and ``update`` adds one seed article to the paragraphs index (an update of a big
index: with segments, one small segment and a manifest; the previous generation is neither
copied nor read).

For every run it reports the process's peak RSS (``ru_maxrss`` of that child, from ``wait4``),
the wall time, the peak RSS and time of each stage as the progress callbacks announce them
(reading, chunking, embedding, writing = after the last vector), the progress calls each stage
made, and the bytes of the vectors it holds. It prints a table and writes ``ingest-memory.json``.

``--models fake`` (default) embeds with ``HashEmbedder`` at the real embedder's 768 dimensions,
so the figures are the app's own memory around the model; ``--models real`` loads the configured
embedder (RAG_* settings) and measures everything, the model included. The embedding cache is
not used, so every text is embedded once.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
KINDS = ("paragraphs", "oneline", "nobreaks")
_SYLLABLES = ("ka", "lo", "wes", "ber", "tsch", "mi", "ro", "dan", "sk", "el", "gor", "ni", "ow", "ja", "ü", "ä")


# ------------------------------------------------------------------ inputs


def seed_sentences(seeds: Path = SEEDS) -> list[str]:
    out = []
    for f in sorted(seeds.glob("*.txt")):
        for s in re.split(r"(?<=[.!?])\s+", f.read_text(encoding="utf-8")):
            s = " ".join(s.split())
            if 40 < len(s) < 300 and s.endswith("."):
                out.append(s)
    if not out:
        raise SystemExit(f"no sentences in {seeds}")
    return out


def _name(i: int) -> str:
    out = []
    while True:
        out.append(_SYLLABLES[i % len(_SYLLABLES)])
        i //= len(_SYLLABLES)
        if not i:
            return "".join(out).capitalize()


def make_inputs(folder: Path, megabytes: float, kinds: list[str], seed: int = 1) -> dict[str, Path]:
    """Write the input files (deterministic for a seed; ``paragraphs`` and ``oneline`` come from
    one random sequence, in that order, so the same call always gives the same files)."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = seed_sentences()
    rng = random.Random(seed)
    count = 0
    size = int(megabytes * 1_000_000)

    def sentence() -> str:
        nonlocal count
        count += 1
        words = rng.choice(sentences).split()
        words.insert(rng.randint(1, len(words) - 1), _name(count))
        return " ".join(words)

    def text(sep: str) -> str:
        parts: list[str] = []
        n = 0
        while n < size:
            para = " ".join(sentence() for _ in range(rng.randint(3, 6)))
            parts.append(para)
            n += len(para.encode("utf-8")) + len(sep)
        return sep.join(parts)

    out: dict[str, Path] = {}
    for kind in ("paragraphs", "oneline"):
        body = text("\n\n" if kind == "paragraphs" else " ")
        if kind in kinds:
            out[kind] = folder / f"{kind}.txt"
            out[kind].write_text(body, encoding="utf-8")
    if "nobreaks" in kinds:
        body = text(" ")
        out["nobreaks"] = folder / "nobreaks.txt"
        out["nobreaks"].write_text(re.sub(r"[.!?]", ",", body), encoding="utf-8")
    return out


# ------------------------------------------------------------------ one measured ingest (child process)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class Stages:
    """Which stage the ingest is in (set by its progress callbacks) and each stage's RSS peak."""

    def __init__(self) -> None:
        self.current = "start"
        self._since = time.perf_counter()
        self.stats: dict[str, dict[str, float]] = {}
        self._enter("start")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self.current in self.stats:
            self._note()
            self.stats[self.current]["seconds"] += now - self._since
        self.current, self._since = stage, now
        self.stats.setdefault(stage, {"seconds": 0.0, "peak_rss_bytes": 0, "progress_calls": 0})

    def callback(self, stage: str) -> Any:
        def progress(done: int, total: int) -> None:
            if self.current != stage:
                self._enter(stage)
            self.stats[stage]["progress_calls"] += 1
            self.stats[stage]["total"] = total
            self._note()
            if stage == "embedding" and done >= total:
                self._enter("writing")

        return progress

    def _note(self) -> None:
        entry = self.stats[self.current]
        entry["peak_rss_bytes"] = max(entry["peak_rss_bytes"], _rss_bytes())

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._note()

    def finish(self) -> dict[str, dict[str, float]]:
        self._note()
        self._stop.set()
        self._thread.join()
        self._enter("done")
        del self.stats["done"]
        return self.stats


def child(args: argparse.Namespace) -> int:
    from rag.ingest import Ingestor
    from rag.store import Store

    if args.models == "real":
        from rag.factory import build_embedder
        from rag.settings import Settings

        settings = Settings.from_env()
        embedder: Any = build_embedder(settings)
        chunk_chars = settings.chunk_chars
    else:
        from rag.bench.fakes import HashEmbedder

        embedder = HashEmbedder(args.dimension)
        chunk_chars = 500
    stages = Stages()
    store = Store(Path(args.index))
    started = time.perf_counter()
    stage_progress = {"read_progress": stages.callback("reading"), "chunk_progress": stages.callback("chunking")}
    accepted = inspect.signature(Ingestor).parameters  # older code (for a before/after) has no stage progress
    ingestor = Ingestor(store, embedder, chunk_chars, progress=stages.callback("embedding"),
                        **{k: v for k, v in stage_progress.items() if k in accepted})
    report = ingestor.ingest([Path(p) for p in args.files])
    seconds = time.perf_counter() - started
    stats = stages.finish()
    manifest = store.read_manifest()
    dim = manifest.dimension
    result = {
        "seconds": seconds, "summary": report.summary(), "added": len(report.added), "unchanged": len(report.unchanged),
        "passages": manifest.passages, "sentences": manifest.sentences,
        "passages_embedded": report.passages_embedded, "sentences_embedded": report.sentences_embedded,
        "dimension": dim, "vector_bytes": (manifest.passages + manifest.sentences) * dim * 4,
        "sentence_vector_bytes": manifest.sentences * dim * 4, "stages": stats,
        "embedder": embedder.model_id,
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


# ------------------------------------------------------------------ the bench (parent process)


def _measure(case: str, files: list[Path], index: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    out = workdir / f"{case}.json"
    cmd = [sys.executable, "-m", "rag.bench.ingest_memory", "--child", "--index", str(index), "--out", str(out),
           "--models", args.models, "--dimension", str(args.dimension), *map(str, files)]
    print(f"[ingest-memory] {case}: ingesting {', '.join(f.name for f in files)} "
          f"({sum(f.stat().st_size for f in files) / 1e6:.1f} MB)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not out.exists():
        return {"case": case, "error": f"exit code {proc.returncode}", "wall_s": wall}
    result: dict[str, Any] = json.loads(out.read_text())
    peak = usage.ru_maxrss * 1024  # kilobytes on Linux
    result.update(case=case, file_bytes=sum(f.stat().st_size for f in files), wall_s=wall, peak_rss_bytes=peak,
                  peak_over_vectors=peak / result["vector_bytes"] if result["vector_bytes"] else None)
    return result


def render(report: dict[str, Any]) -> str:
    lines = [f"ingest memory ({report['models']} models, {report['megabytes']} MB inputs)", "",
             f"{'case':<11} {'MB':>6} {'passages':>9} {'sentences':>10} {'vectors MB':>10} {'peak RSS MB':>11} "
             f"{'time s':>8}  stages: peak RSS MB / s / progress calls"]
    for r in report["runs"]:
        if "error" in r:
            lines.append(f"{r['case']:<11} error: {r['error']}")
            continue
        stages = "  ".join(f"{k} {v['peak_rss_bytes'] / 1e6:.0f}/{v['seconds']:.1f}/{int(v['progress_calls'])}"
                           for k, v in r["stages"].items())
        lines.append(f"{r['case']:<11} {r['file_bytes'] / 1e6:>6.1f} {r['passages']:>9} {r['sentences']:>10} "
                     f"{r['vector_bytes'] / 1e6:>10.0f} {r['peak_rss_bytes'] / 1e6:>11.0f} {r['wall_s']:>8.1f}  "
                     f"{stages}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.ingest_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", choices=("fake", "real"), default="fake",
                        help="fake: hash vectors of the real size; real: the configured embedder "
                             "(slow: hours at 30 MB)")
    parser.add_argument("--mb", type=float, default=30.0, help="size of each generated file in megabytes")
    parser.add_argument("--kinds", default="paragraphs,oneline", help=f"comma-separated: {', '.join(KINDS)}")
    parser.add_argument("--no-update", dest="update", action="store_false",
                        help="skip adding one article to the paragraphs index")
    parser.add_argument("--dimension", type=int, default=768, help="vector size of the fake embedder")
    parser.add_argument("--workdir", type=Path, help="keep inputs and indexes here (default: a temporary folder)")
    parser.add_argument("--report", type=Path, default=Path("reports/bench"), help="folder for ingest-memory.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="rag-ingest-memory-") as tmp:
        workdir = args.workdir or Path(tmp)
        inputs = make_inputs(workdir / "input", args.mb, kinds)
        runs = []
        for kind, path in inputs.items():
            runs.append(_measure(kind, [path], workdir / f"index-{kind}", workdir, args))
        if args.update and "paragraphs" in inputs and "error" not in runs[0]:
            extra = workdir / "update"
            extra.mkdir(exist_ok=True)
            article = sorted(SEEDS.glob("*.txt"))[0]
            (extra / article.name).write_text(article.read_text(encoding="utf-8"), encoding="utf-8")
            runs.append(_measure("update", [extra / article.name], workdir / "index-paragraphs", workdir, args))
    report = {"version": 1, "created": time.time(), "models": args.models, "megabytes": args.mb,
              "dimension": args.dimension if args.models == "fake" else None, "python": sys.version.split()[0],
              "cpus": os.cpu_count(), "runs": runs}
    args.report.mkdir(parents=True, exist_ok=True)
    path = args.report / "ingest-memory.json"
    path.write_text(json.dumps(report, indent=2))
    print(render(report))
    print(f"\nwrote {path}")
    return 0 if all("error" not in r for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
