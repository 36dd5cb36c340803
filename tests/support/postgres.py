"""Run a real PostgreSQL server for tests and benchmarks (Debian's ``postgresql`` package).

The server is a throw-away cluster: ``initdb`` into a temporary folder, ``pg_ctl start`` on a
free loopback port with its unix socket in that folder, trust authentication for the local
user, and ``pg_ctl stop -m immediate`` at the end. PostgreSQL refuses to run as root: when the
tests run as root the folder is handed to the ``postgres`` user that Debian's package creates
and every server command runs as that user (``runuser -u postgres``); as any other user it runs
as that user. Nothing here is needed in production (docs/journal.md shows how to point a
journal at a PostgreSQL server).

    with PostgresServer(tmp_path / "pg") as pg:
        url = pg.create_database("run1")       # postgresql://postgres@127.0.0.1:PORT/run1

:func:`postgres_binaries` finds ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/*/bin``, else
``PATH``); None when PostgreSQL is not installed (the tests then skip, saying so).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.natsserver import free_port

__all__ = ["postgres_binaries", "PostgresServer", "skip_reason"]


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest Debian version first), or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                    reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return Path(d)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here (None when they can)."""
    if postgres_binaries() is None:
        return "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH; scripts/services.sh installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and no runuser to run PostgreSQL as the 'postgres' user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'skyweave[postgres]')"
    return None


class PostgresServer:
    """A PostgreSQL cluster in ``folder`` (created; a temporary one under /tmp when None, removed
    at :meth:`stop`), started on entry. As root, the ``postgres`` user must be able to reach
    ``folder`` (pytest's ``tmp_path`` is not: leave ``folder`` None)."""

    def __init__(self, folder: str | Path | None = None, *, port: int | None = None):
        self.bin = postgres_binaries()
        if self.bin is None:
            raise RuntimeError(skip_reason() or "PostgreSQL is not installed")
        self._tmp = None
        if folder is None:
            self._tmp = tempfile.mkdtemp(prefix="skyweave-pg-")
            folder = self._tmp
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "sock"
        self.port = port or free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.started = False

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database (over TCP on loopback)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def start(self) -> PostgresServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for p in (self.folder, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        r = subprocess.run(self._cmd("initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                                     "--no-sync", "--locale=C.UTF-8"), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed ({r.returncode}): {r.stderr.strip()[-500:]}")
        opts = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.socket_dir} "
                "-c fsync=off -c full_page_writes=off -c max_connections=50 -c shared_buffers=64MB")
        log = self.folder / "server.log"
        r = subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"),
                           capture_output=True, text=True, timeout=90)
        if r.returncode != 0:
            tail = log.read_text()[-800:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({r.returncode}): {r.stderr.strip()[-300:]} {tail}")
        self.started = True
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropped first when it exists); returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def stop(self) -> None:
        if self.started:
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, text=True, timeout=60)
            self.started = False
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
