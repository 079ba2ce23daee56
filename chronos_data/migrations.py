"""The migration runner: ordered files in sql/, each applied once, in its own transaction.

Two processes starting together serialize on an advisory lock; an applied file that was edited
afterwards stops start-up, because the database no longer matches what the file says.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from .errors import MigrationError, StartupError

__all__ = [
    "MIGRATIONS_DIR",
    "MigrationFile",
    "MigrationStatus",
    "discover",
    "migrate",
    "migration_status",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "sql"
#: Arbitrary constant naming the lock; every Chronos process uses the same one.
_ADVISORY_LOCK_KEY = 7_220_330_818
_FILE_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

_LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS chronos;
CREATE TABLE IF NOT EXISTS chronos.schema_migrations (
  filename    text PRIMARY KEY,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL
);
"""


@dataclass(frozen=True)
class MigrationFile:
    """One numbered SQL file."""

    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        # Line endings are normalized so a Windows checkout of the same file is not "edited".
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    """Which files are applied and which are pending; ``version`` is the last applied file."""

    applied: list[str]
    pending: list[str]

    @property
    def version(self) -> str | None:
        return self.applied[-1] if self.applied else None


def discover(directory: Path = MIGRATIONS_DIR) -> list[MigrationFile]:
    """The migration files in ``directory``, in order.

    Raises:
        MigrationError: a file is misnamed or two files share a number.
    """
    files: list[MigrationFile] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"Migration file {path.name} is misnamed; name it NNN_lowercase_words.sql."
            )
        number = match.group(1)
        if number in seen:
            raise MigrationError(f"Migration files {seen[number]} and {path.name} share the number {number}.")
        seen[number] = path.name
        files.append(MigrationFile(path.name, path.read_text(encoding="utf-8")))
    return files


def migration_status(conn: Connection, directory: Path = MIGRATIONS_DIR) -> MigrationStatus:
    """Compare the files with the ledger without changing anything."""
    files = discover(directory)
    applied = _applied(conn)
    return MigrationStatus(
        applied=[name for name in applied],
        pending=[f.filename for f in files if f.filename not in applied],
    )


def migrate(engine: Engine, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending file in order; return the names applied now.

    Raises:
        MigrationError: an applied file was edited or removed, or a file failed (it is rolled
            back and stays pending; files before it stay applied).
        StartupError: the server lacks pgvector.
    """
    files = discover(directory)
    applied_now: list[str] = []
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            with conn.begin():
                _execute_script(conn, _LEDGER_DDL)
            applied = _applied(conn)
            conn.commit()
            _check_unchanged(files, applied)
            for migration in files:
                if migration.filename in applied:
                    continue
                _apply(conn, migration)
                applied_now.append(migration.filename)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            conn.commit()
    return applied_now


def _applied(conn: Connection) -> dict[str, str]:
    exists = conn.execute(sa.text("SELECT to_regclass('chronos.schema_migrations')")).scalar()
    if exists is None:
        return {}
    rows = conn.execute(sa.text("SELECT filename, checksum FROM chronos.schema_migrations ORDER BY filename"))
    return {name: checksum for name, checksum in rows}


def _check_unchanged(files: list[MigrationFile], applied: dict[str, str]) -> None:
    on_disk = {f.filename: f for f in files}
    for name, checksum in applied.items():
        migration = on_disk.get(name)
        if migration is None:
            raise MigrationError(
                f"The database has migration {name}, which this copy of Chronos does not have; "
                "update Chronos to the version that made this database."
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"sql/{name} was edited after it was applied to this database; restore the file "
                "and put the change in a new migration file."
            )


def _apply(conn: Connection, migration: MigrationFile) -> None:
    started = time.perf_counter()
    try:
        with conn.begin():
            _execute_script(conn, migration.sql)
            conn.execute(
                sa.text(
                    "INSERT INTO chronos.schema_migrations (filename, checksum, duration_ms) "
                    "VALUES (:filename, :checksum, :ms)"
                ),
                {
                    "filename": migration.filename,
                    "checksum": migration.checksum,
                    "ms": int((time.perf_counter() - started) * 1000),
                },
            )
    except (DBAPIError, psycopg.Error) as exc:
        message = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if 'extension "vector"' in message and ("not available" in message or "control file" in message):
            raise StartupError(
                "This PostgreSQL server has no pgvector extension; install pgvector on it (or enable "
                "it in your provider's dashboard), or unset DATABASE_URL to use the embedded database."
            ) from exc
        if "permission denied to create extension" in message:
            raise StartupError(
                "The database user may not install pgvector; ask an administrator to run "
                "CREATE EXTENSION vector in this database, then start Chronos again."
            ) from exc
        raise MigrationError(f"Migration {migration.filename} failed and was rolled back: {message}") from exc
    log.info("applied migration %s", migration.filename)


def _execute_script(conn: Connection, script: str) -> None:
    # The raw psycopg cursor runs a multi-statement script as is: no parameters, so no
    # placeholder parsing of the % signs in format() calls.
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(script)
