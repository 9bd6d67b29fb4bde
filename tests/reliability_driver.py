"""A real ``rag ingest`` in its own OS process, on the fake embedder, for the reliability tests.

Run as ``python tests/reliability_driver.py [--embed-delay S] [--fsync-delay S] [--go FILE] -- <rag args>``:
it patches ``rag.factory.build_embedder`` to a ``FakeEmbedder`` that sleeps ``embed-delay``
seconds per text, makes every fsync of the index write sleep ``fsync-delay`` seconds, prints
``phase <name>`` lines on stdout (flushed) as the ingest moves on (parse, embed, fsync, rename,
commit, gc), then runs ``rag.cli.main`` with the given arguments and exits with its code. With
``--go FILE`` it prints ``ready`` and waits until FILE exists, so several writers start together;
with ``--die-at N`` it sends itself SIGKILL at its Nth ``phase`` line (``--die-at-phase NAME``: at
the first one starting with NAME).
Nothing here loads a real model.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from fakes import FakeEmbedder

import rag.factory
import rag.ingest
import rag.store
from rag.cli import main

DIE_AT = [0]  # with --die-at N: SIGKILL this process at its Nth phase line (0: never)
DIE_AT_PHASE = [""]  # with --die-at-phase NAME: SIGKILL at the first phase line starting with NAME
_COUNT = [0]


def phase(name: str) -> None:
    print(f"phase {name}", flush=True)
    _COUNT[0] += 1
    if _COUNT[0] == DIE_AT[0] or (DIE_AT_PHASE[0] and name.startswith(DIE_AT_PHASE[0])):
        os.kill(os.getpid(), signal.SIGKILL)


class SlowFakeEmbedder(FakeEmbedder):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        phase("embed")
        time.sleep(self.delay * len(texts))
        return super().embed_documents(texts)


def instrument(embed_delay: float, fsync_delay: float) -> None:
    rag.factory.build_embedder = lambda settings: SlowFakeEmbedder(embed_delay)  # type: ignore[assignment]
    real_fsync = rag.store._fsync

    def slow_fsync(path: Path) -> None:
        phase(f"fsync {path.name if not path.name.startswith('.tmp-gen-') else '.tmp-gen'}")
        time.sleep(fsync_delay)
        real_fsync(path)

    rag.store._fsync = slow_fsync  # type: ignore[assignment]
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        phase(f"rename to {'CURRENT' if Path(dst).name == 'CURRENT' else 'gen'}")
        real_replace(src, dst)

    os.replace = replace  # type: ignore[assignment]
    real_parse = getattr(rag.ingest.Ingestor, "_parse", None)  # absent in older code: no phase line then

    def parse(self: rag.ingest.Ingestor, *args: object, **kwargs: object) -> object:
        phase("parse")
        return real_parse(self, *args, **kwargs)  # type: ignore[misc]

    if real_parse is not None:
        rag.ingest.Ingestor._parse = parse  # type: ignore[method-assign]
    real_gc = rag.store.Store._collect_garbage

    def gc(self: rag.store.Store, keep: str) -> None:
        phase("gc")
        real_gc(self, keep)
        phase("committed")

    rag.store.Store._collect_garbage = gc  # type: ignore[method-assign]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embed-delay", type=float, default=0.0)
    parser.add_argument("--fsync-delay", type=float, default=0.0)
    parser.add_argument("--go")
    parser.add_argument("--die-at", type=int, default=0)
    parser.add_argument("--die-at-phase", default="")
    parser.add_argument("rag", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    instrument(args.embed_delay, args.fsync_delay)
    DIE_AT[0] = args.die_at
    DIE_AT_PHASE[0] = args.die_at_phase
    rag_args = args.rag[1:] if args.rag[:1] == ["--"] else args.rag
    if args.go:
        print("ready", flush=True)
        deadline = time.monotonic() + 30
        while not Path(args.go).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    phase("start")
    code = main(rag_args)
    phase(f"exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
