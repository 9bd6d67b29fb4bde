"""Several users asking the chat app at once: ``python -m rag.bench.users``.

Starts the app (``ui.app.launch``) on a loopback port and lets ``--users`` clients call its
``/ask`` endpoint (the JSON answer of ``rag ask --json``) at the same moment, each with its own
question, through Gradio's queue as a browser or API client would. For every user it reports
the time from asking to the answer, how long it waited for the model (until Gradio said it was
being processed), its highest place in the queue, whether it was answered, refused or failed;
it prints a table and writes ``users.json``.

``--models real`` uses the configured models and index (RAG_* settings, as ``rag ui`` does);
``--models fake`` (default) uses a temporary index of the seeds with ``HashEmbedder`` and
``PacedGenerator`` (one word every ``--token-s`` seconds), which measures the queue and the
app around the models. The figures are timings of one run on this machine: no pass or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
QUESTIONS = (
    "What did Putin promise Lukashenko?",
    "What share of the vote did Lukashenko get?",
    "Wie viel Prozent der Stimmen erhielt Lukaschenko?",
    "Where did Putin and Lukashenko meet?",
    "Wie viele Menschen wurden bei den Protesten festgenommen?",
    "Who is Svetlana Tikhanovskaya?",
    "Welche Sanktionen kündigte die EU an?",
    "When did the protests in Belarus begin?",
)


@dataclass
class UserRun:
    user: int
    question: str
    asked_s: float = 0.0
    started_s: float | None = None
    answered_s: float | None = None
    latency_s: float | None = None
    waited_s: float | None = None
    highest_place: int | None = None
    outcome: str = "pending"
    answer: str = ""
    error: str = ""
    statuses: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_service(workdir: Path, token_s: float) -> Any:
    from rag.bench.fakes import HashEmbedder, PacedGenerator
    from rag.factory import build_assistant
    from rag.ingest import Ingestor
    from rag.store import Store
    from ui.service import ChatService

    settings = Settings(home=workdir / "home", index_dir=workdir / "index", refuse_below=0.0)
    embedder = HashEmbedder()
    Ingestor(Store(settings.index_path), embedder, settings.chunk_chars).ingest([SEEDS])
    return ChatService(settings, embedder, PacedGenerator(token_s),
                       lambda s, e, g: build_assistant(s, embedder=e, generator=g))


def real_service() -> Any:
    from ui.service import real_service as build

    return build(Settings.from_env())


def ask_all(url: str, questions: list[str], stagger_s: float = 0.0, poll_s: float = 0.05,
            timeout_s: float = 3600.0) -> tuple[list[UserRun], float]:
    """Every user asks at once (or ``stagger_s`` apart) from its own client thread; returns each
    user's run and the wall time until the last answer."""
    from gradio_client import Client
    from gradio_client.utils import Status

    clients = [Client(url, verbose=False, httpx_kwargs={"timeout": timeout_s}) for _ in questions]
    runs = [UserRun(i, q) for i, q in enumerate(questions)]
    go = threading.Barrier(len(questions) + 1)
    origin = 0.0

    def user(i: int) -> None:
        run = runs[i]
        go.wait()
        time.sleep(i * stagger_s)
        run.asked_s = time.monotonic() - origin
        try:
            job = clients[i].submit(run.question, api_name="/ask")
            deadline = time.monotonic() + timeout_s
            while not job.done():
                status = job.status()
                if not run.statuses or run.statuses[-1] != status.code.value:
                    run.statuses.append(status.code.value)
                if status.rank is not None:
                    run.highest_place = max(run.highest_place or 0, status.rank)
                if run.started_s is None and status.code in (Status.PROCESSING, Status.ITERATING):
                    run.started_s = time.monotonic() - origin
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {timeout_s:g} s")
                time.sleep(poll_s)
            result = job.result()
            run.answered_s = time.monotonic() - origin
            if result.get("error"):
                run.outcome, run.error = "error", str(result["error"])
            else:
                run.outcome = "refused" if result.get("refused") else "answered"
                run.answer = str(result.get("answer", ""))
        except Exception as exc:  # noqa: BLE001 - a bench reports what happened to each user
            run.answered_s = time.monotonic() - origin
            run.outcome, run.error = "error", f"{type(exc).__name__}: {exc}"
        run.latency_s = run.answered_s - run.asked_s
        if run.started_s is not None:
            run.waited_s = max(0.0, run.started_s - run.asked_s)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(len(questions))]
    for t in threads:
        t.start()
    origin = time.monotonic()
    go.wait()
    for t in threads:
        t.join()
    return runs, time.monotonic() - origin


def render(report: dict[str, Any]) -> str:
    lines = [f"{len(report['users'])} concurrent /ask users ({report['models']} models): "
             f"all done after {report['wall_s']:.1f} s", "",
             f"{'user':>4} {'asked s':>8} {'waited s':>9} {'latency s':>10} {'place':>6}  {'outcome':<9} question"]
    for u in report["users"]:
        waited = "-" if u["waited_s"] is None else f"{u['waited_s']:.1f}"
        place = "-" if u["highest_place"] is None else str(u["highest_place"])
        lines.append(f"{u['user']:>4} {u['asked_s']:>8.1f} {waited:>9} {u['latency_s']:>10.1f} {place:>6}  "
                     f"{u['outcome']:<9} {u['question']}")
        if u["error"]:
            lines.append(f"{'':>42}{u['error'][:150]}")
    s = report["summary"]
    lines += ["", f"latency: min {s['min_s']:.1f} s, median {s['median_s']:.1f} s, max {s['max_s']:.1f} s; "
                  f"{s['answered']} answered, {s['refused']} refused, {s['errors']} errors"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.bench.users", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", choices=("fake", "real"), default="fake",
                        help="fake: hash embedder and a paced scripted model; real: the configured models and index")
    parser.add_argument("--users", type=int, default=5, help="clients asking at once")
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between two users' questions")
    parser.add_argument("--token-s", type=float, default=0.1, help="fake model: seconds per word")
    parser.add_argument("--timeout", type=float, help="the app's time limit per answer (RAG_UI_TIMEOUT_S)")
    parser.add_argument("--report", type=Path, default=Path("reports/bench"), help="folder for users.json")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from statistics import median

    from ui.app import launch

    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.users)]
    with tempfile.TemporaryDirectory(prefix="rag-bench-users-") as tmp:
        print(f"[users] starting the app with {args.models} models", file=sys.stderr, flush=True)
        service = fake_service(Path(tmp), args.token_s) if args.models == "fake" else real_service()
        if args.timeout is not None:
            service.settings = service.settings.with_overrides(ui_timeout_s=args.timeout)
        port = _free_port()
        started = time.monotonic()
        demo = launch(service.settings, port=port, service=service, block=False)  # warms the models up
        startup_s = time.monotonic() - started
        try:
            print(f"[users] {args.users} users ask at once", file=sys.stderr, flush=True)
            runs, wall = ask_all(f"http://127.0.0.1:{port}/", questions, args.stagger)
        finally:
            demo.close()
    latencies = [r.latency_s for r in runs if r.latency_s is not None]
    report: dict[str, Any] = {
        "version": 1, "created": time.time(), "models": args.models, "cpus": os.cpu_count(),
        "threads": service.settings.threads, "time_limit_s": service.settings.ui_timeout_s,
        "token_s": args.token_s if args.models == "fake" else None, "stagger_s": args.stagger,
        "startup_s": startup_s, "wall_s": wall, "model": service.models(),
        "users": [asdict(r) for r in runs],
        "summary": {"min_s": min(latencies), "median_s": median(latencies), "max_s": max(latencies),
                    "answered": sum(r.outcome == "answered" for r in runs),
                    "refused": sum(r.outcome == "refused" for r in runs),
                    "errors": sum(r.outcome == "error" for r in runs)},
    }
    args.report.mkdir(parents=True, exist_ok=True)
    path = args.report / "users.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(render(report))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
