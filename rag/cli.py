"""The ``rag`` command: a thin layer over the pipeline.

Every failure, expected or not, becomes a one-line ``error:`` message and exit code 2
(``main``); nothing here holds logic the UI or the eval would need too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from rag.bench.args import add_arguments as add_bench_arguments
from rag.errors import RagError, json_text, printable, safe_name, terminal_text
from rag.settings import Settings

DEFAULT_SEEDS = Path("seeds")


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("settings (also RAG_* environment variables)")
    g.add_argument("--home", help="cache folder for models and the index (RAG_HOME)")
    g.add_argument("--index", dest="index_dir", help="index folder (RAG_INDEX_DIR)")
    g.add_argument("--llm", dest="llm_path", help="a local GGUF chat model (RAG_LLM_PATH)")
    g.add_argument("--llm-url", dest="llm_url",
                   help="generate with an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1, instead of the "
                        "local GGUF (RAG_LLM_URL)")
    g.add_argument("--embedder", dest="embedder_path", help="a sentence-transformers folder (RAG_EMBEDDER_PATH)")
    g.add_argument("--threads", type=int, help="CPU threads for both models (RAG_THREADS)")
    g.add_argument("--passages", "--top-k", dest="passages", type=int,
                   help="passages retrieved and shown to the model (RAG_PASSAGES)")
    g.add_argument("--temperature", type=float, help="sampling temperature (RAG_TEMPERATURE)")
    g.add_argument("--no-verify", dest="verify", action="store_const", const=False,
                   help="show the model's own citations unchecked (RAG_VERIFY=false)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Offline, cited answers from your news articles.")
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="fetch or show the local models")
    msub = models.add_subparsers(dest="models_command", required=True)
    _common(msub.add_parser("fetch", help="download, assemble and verify the bundled models"))
    _common(msub.add_parser("status", help="show where the models are"))

    ingest = sub.add_parser("ingest", help="index article files (.txt, .md, .html)")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (default: seeds/)")
    ingest.add_argument("--rebuild", action="store_true", help="ignore the existing index and start over")
    ingest.add_argument("--reembed", action="store_true",
                        help="if the index was built by another embedder, keep its articles and embed them again")
    ingest.add_argument("--remove", action="append", default=[], metavar="DOC_ID", help="drop an article")
    _common(ingest)

    docs = sub.add_parser("docs", help="list the indexed articles")
    _common(docs)

    verify = sub.add_parser("verify", help="check every byte of the index against its checksums (a start checks "
                                           "sizes and file ends only)")
    _common(verify)

    ask = sub.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    _common(ask)

    ev = sub.add_parser("eval", help="evaluate answers, citations and retrieval")
    ev.add_argument("--dataset", default="seeds",
                    help="comma-separated: seeds, seeds-tune, seeds-gate, gnad, xquad, or a path to a JSONL QA set")
    ev.add_argument("--design", default="checked",
                    help="comma-separated answer designs to score side by side: checked (the product), plain "
                         "(the peer baseline: whole passages, no checks)")
    ev.add_argument("--limit", type=int)
    ev.add_argument("--ablate", nargs="?", const="all", default=None, metavar="CHECKS",
                    help="also score every checked answer with each check off in turn (same drafts); "
                         "optionally only the comma-separated checks named, or tries=N: N candidate quotes "
                         "read per sentence instead of RAG_QUOTE_TRIES")
    ev.add_argument("--no-agreement", dest="agreement", action="store_false",
                    help="skip measuring the support judges against the hand-labelled pairs")
    ev.add_argument("--retrieval-only", action="store_true")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--report", type=Path, default=Path("reports"))
    ev.add_argument("--gates", action="store_true", help="fail when a figure is below its gate")
    _common(ev)

    bench = sub.add_parser("bench", help="measure speed and memory against the hardware's reference lines")
    add_bench_arguments(bench)
    _common(bench)

    ui = sub.add_parser("ui", help="start the chat app")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on; beyond loopback a login (RAG_UI_AUTH=user:password or a token) "
                         "is required")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--timeout", dest="ui_timeout_s", type=float,
                    help="seconds an answer may take before it is stopped (RAG_UI_TIMEOUT_S, default 120)")
    _common(ui)

    serve = sub.add_parser("serve", help="serve the archive as an OpenAI-compatible chat API (/v1/chat/completions)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; beyond loopback an API key (RAG_API_KEY) is required")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--timeout", dest="ui_timeout_s", type=float,
                       help="seconds an answer may take before it is stopped (RAG_UI_TIMEOUT_S, default 120)")
    _common(serve)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    keys = ("home", "index_dir", "llm_path", "embedder_path", "threads", "passages", "temperature", "verify", "llm_url")
    return Settings.from_env().with_overrides(**{k: getattr(args, k, None) for k in keys})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever goes wrong becomes one ``error:`` line on stderr and exit code 2
    (Ctrl-C: one line and 130), never a traceback; usage errors are argparse's (also 2)."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        handler = {
            "models": cmd_models, "ingest": cmd_ingest, "docs": cmd_docs, "verify": cmd_verify, "ask": cmd_ask,
            "eval": cmd_eval, "ui": cmd_ui, "bench": cmd_bench, "serve": cmd_serve,
        }[args.command]
        return handler(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag docs | head`: the reader has gone, nothing to report
        with suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one catch-all: the user gets a line, not a traceback
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2


def error_line(exc: BaseException) -> str:
    """One terminal-safe line for any exception: our own errors and bad settings (``ValueError``)
    keep their message, a file system error says what failed on which path, anything else is
    named by its type."""
    if isinstance(exc, RagError | ValueError) and str(exc):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        where = f": {safe_name(exc.filename)}" if exc.filename is not None else ""
        text = f"{exc.strerror}{where}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    line = printable(text).strip()
    return line if len(line) <= 1000 else line[:1000] + " …"


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from rag import models

    if args.models_command == "status":
        for label, resolve in (("llm", models.resolve_llm), ("embedder", models.resolve_embedder)):
            if label == "llm" and settings.llm_url:
                print(f"llm: {printable(settings.llm_url)} (RAG_LLM_URL; the local GGUF is not used)")
                continue
            try:
                print(f"{label}: {resolve(settings)}")
            except RagError as exc:
                print(f"{label}: missing ({exc})")
        return 0
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int) -> None:
        bar = bars.get(label)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            bar = bars[label] = tqdm(total=total, desc=label, unit="part", file=sys.stderr)
        bar.update(done - bar.n)

    print(f"llm: {models.fetch_llm(settings, progress)}")
    print(f"embedder: {models.fetch_embedder(settings, progress)}")
    for bar in bars.values():
        bar.close()
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from rag.factory import build_embed_cache, build_embedder, build_store
    from rag.ingest import Ingestor, tqdm_progress

    paths = args.paths or ([] if args.remove else [DEFAULT_SEEDS])
    store = build_store(settings)
    store.check_writable()  # before a model is loaded or anything embedded

    def say(line: str) -> None:  # skipped files and id collisions, as soon as they are known
        tqdm.write(line, file=sys.stderr)  # above a bar that is being drawn, not inside it

    # One bar per stage, each shown only when there is work: a 30 MB file shows progress while it
    # is read and split into passages, not only while it is embedded.
    reading, chunking = tqdm_progress("reading", "B", scale=True), tqdm_progress("chunking", "char", scale=True)
    progress = tqdm_progress("embedding")
    ingestor = Ingestor(store, build_embedder(settings), settings.chunk_chars, progress=progress,
                        cache=build_embed_cache(settings), notify=say, read_progress=reading,
                        chunk_progress=chunking)
    try:
        report = ingestor.ingest(paths, rebuild=args.rebuild, remove=args.remove, reembed=args.reembed)
    finally:
        for bar in (reading, chunking, progress):
            bar.close()  # an error line must not be followed by a bar's last redraw
    print(printable(report.summary()))
    return 1 if report.failed and not (report.added or report.updated or report.unchanged) else 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from rag.factory import build_store

    snap = build_store(settings).load()
    for doc in snap.documents.values():
        passages = f"{snap.passage_count(doc.doc_id)} passages"
        fields = (doc.doc_id, doc.date or "-", doc.source or "-", passages, doc.title)
        print("\t".join(printable(f) for f in fields))
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from rag.factory import build_store

    store = build_store(settings)
    checked = store.verify()
    print(f"index ok: {checked} rows checked" if settings.store_url else f"index ok: {checked / 1e6:.1f} MB checked")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.factory import build_assistant
    from rag.pipeline import Corroborated, Done, Retrieved, Token

    if not args.question.strip():
        raise RagError("the question is empty")
    assistant = build_assistant(settings)
    answer = None
    streamed = []
    for event in assistant.stream(args.question):
        if isinstance(event, Token) and not args.json:
            streamed.append(event.text)
            print(terminal_text(event.text), end="", flush=True)
        elif isinstance(event, Retrieved) and not args.json:
            print(f"[{len(event.evidence)} passages retrieved]", file=sys.stderr, flush=True)
        elif isinstance(event, Done | Corroborated):
            answer = event.answer
    assert answer is not None
    if args.json:
        print(json_text(json.dumps(answer.to_json(), ensure_ascii=False, indent=2)))
        return 0
    if streamed:
        print()
    if answer.answer.strip() != "".join(streamed).strip():
        print(f"\nChecked answer: {terminal_text(answer.answer)}")
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        meta = ", ".join(x for x in (c.date, c.source) if x)
        print(f"[{c.n}] {printable(c.doc_id)} | {printable(c.title)} ({printable(meta)})\n    „{printable(c.quote)}“")
    t = answer.timings
    ft = f"{t.first_token_s:.1f}s" if t.first_token_s is not None else "-"
    tps = f", {t.tokens_per_s:.1f} tokens/s" if t.tokens_per_s else ""
    more = f", other articles' quotes {t.sourced_s:.1f}s" if t.corroborate_s is not None else ""
    print(f"\n(first token {ft}, total {t.total_s:.1f}s, checked answer {t.checked_s:.1f}s{more}{tps})",
          file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.runner import run_eval

    return run_eval(args, settings)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from rag.bench.command import run_bench

    return run_bench(args, settings)


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from ui.app import launch

    launch(settings.with_overrides(ui_timeout_s=args.ui_timeout_s), args.host, args.port)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.serve.app import serve

    serve(settings.with_overrides(ui_timeout_s=args.ui_timeout_s), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
