"""Connections: one pooled engine per process, and transactions scoped to one creator.

Two engines share a server:
  * the owner engine applies migrations and runs the few owner-only bootstrap calls;
  * the app engine is what every page and command uses. It runs as ``chronos_app``, a role
    that owns nothing and cannot bypass row-level security, and each transaction names its
    creator with a transaction-local setting that the policies read.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from . import applogin, embedded, migrations
from .config import Settings
from .errors import DatabaseUnavailable, ReadOnlyAccess, StartupError

__all__ = [
    "ANALYST_ROLE",
    "APP_ROLE",
    "Database",
    "Workspace",
    "create_engine",
    "is_connection_lost",
    "lock_wait_limit",
    "normalize_url",
    "open_database",
    "redact_url",
]

log = logging.getLogger(__name__)

APP_ROLE = applogin.APP_ROLE
ANALYST_ROLE = "chronos_analyst"
SEARCH_PATH = "chronos, public, extensions"  # Supabase keeps pgvector in "extensions"
MIN_SERVER_VERSION = 150000  # ON DELETE SET NULL (column) and security_invoker views need 15
_POOL_SIZE = 5
_RESET_SESSION = "RESET chronos.creator_id; CLOSE ALL; DISCARD TEMP"
_CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Workspace:
    """A connection inside one transaction that belongs to one creator.

    Data functions take a Workspace first, filter by ``creator_id`` themselves, and never commit:
    whoever opened the transaction owns it. Row-level security checks the same thing again.
    """

    conn: Connection
    creator_id: uuid.UUID
    #: An analyst teammate's view: Postgres refuses every change (role chronos_analyst).
    read_only: bool = False


@dataclass
class Database:
    """The database Chronos is using: its engines and how it was reached."""

    engine: Engine
    owner_engine: Engine
    kind: Literal["embedded", "url"]
    display_url: str
    server: Any = field(default=None, repr=False)

    @contextmanager
    def workspace(self, creator_id: uuid.UUID | str, *, read_only: bool = False) -> Iterator[Workspace]:
        """Open a transaction for ``creator_id``: commit on success, roll back on error.

        ``read_only`` runs it as chronos_analyst, which may read the workspace and change nothing.
        """
        creator = uuid.UUID(str(creator_id))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text("SELECT set_config('chronos.creator_id', :creator, true)"),
                    {"creator": str(creator)},
                )
                if read_only:
                    # LOCAL: the pooled connection is chronos_app again once this transaction ends.
                    conn.execute(sa.text(f"SET LOCAL ROLE {ANALYST_ROLE}"))
                yield Workspace(conn, creator, read_only)
        except OperationalError as exc:
            if _is_connection_lost(exc):
                raise DatabaseUnavailable(
                    "The database is not answering right now; try again in a moment."
                ) from exc
            raise
        except sa.exc.TimeoutError as exc:  # every pooled connection stayed busy for pool_timeout
            raise DatabaseUnavailable(
                "The database is too busy to answer right now; try again in a moment."
            ) from exc
        except DBAPIError as exc:
            if read_only and isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
                raise ReadOnlyAccess(
                    "You have read-only (analyst) access to this workspace; ask its owner to make this change."
                ) from exc
            raise

    @contextmanager
    def owner(self) -> Iterator[Connection]:
        """A transaction as the schema owner, for migrations and sign-in bootstrap only."""
        with self.owner_engine.begin() as conn:
            yield conn

    def recover(self) -> bool:
        """After a lost connection: restart the embedded server if it died (a server named by
        DATABASE_URL is someone else's to restart). True when a restart was needed and done."""
        if self.kind != "embedded" or self.server is None:
            return False
        try:
            return embedded.restart_if_stopped(self.server)
        except Exception:  # noqa: BLE001 - still down; the caller keeps retrying
            log.warning("the embedded PostgreSQL could not be restarted yet", exc_info=True)
            return False

    def dispose(self) -> None:
        """Close pooled connections (the embedded server stops when its last process exits)."""
        self.engine.dispose()
        self.owner_engine.dispose()


@contextmanager
def lock_wait_limit(t: Workspace, seconds: float, busy: Exception) -> Iterator[None]:
    """Within ``t``'s transaction, wait at most ``seconds`` for rows another transaction holds (a
    rollup, a Whop sync), then raise ``busy``: a caller that can be retried (a collector request,
    a webhook delivery) answers "busy, retry" instead of waiting for the whole other transaction."""
    t.conn.execute(sa.text("SELECT set_config('lock_timeout', :wait, true)"),
                   {"wait": f"{max(1, int(seconds * 1000))}ms"})
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
            raise busy from None
        raise


def normalize_url(url: str, *, setting: str = "DATABASE_URL") -> str:
    """Accept ``postgres://``, ``postgresql://`` and ``postgresql+psycopg://`` URLs; use psycopg 3.
    ``setting`` names the variable the URL came from, for the messages."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise StartupError(
            f"{setting} is not a URL; write it as postgresql://user:password@host:5432/database."
        )
    if scheme.lower() not in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        raise StartupError(
            f"{setting} uses the scheme '{scheme}'; Chronos needs a PostgreSQL URL "
            "starting with postgresql://."
        )
    authority = rest.partition("/")[0]
    if authority.count("@") > 1:  # read as-is, the host would be the password's end
        raise StartupError(
            f"The user name or password in {setting} contains '@'; percent-encode it (write %40 for @, "
            "%3A for :, %2F for /) so the host is read correctly."
        )
    return f"postgresql+psycopg://{rest}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, safe to show on a page or in a log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is still shown, minus anything like a password
        return re.sub(r":[^:@/]*@", ":***@", url)


def create_engine(url: str, *, role: str | None = None, register_vector: bool = True) -> Engine:
    """A pooled psycopg 3 engine; ``role`` is SET on each new connection (non-owner access)."""
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=_POOL_SIZE,
        max_overflow=_POOL_SIZE,
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_SECONDS, "application_name": "chronos"},
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Session settings survive pooling; the creator setting does not (it is transaction-local).
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET search_path TO {SEARCH_PATH}")
            if role:
                cur.execute(f'SET ROLE "{role}"')
        if register_vector:
            from pgvector.psycopg import register_vector as _register

            _register(dbapi_conn)
        dbapi_conn.commit()

    reset_sql = _RESET_SESSION + (f'; SET ROLE "{role}"' if role else "; RESET ROLE")

    @sa.event.listens_for(engine, "reset")
    def _on_reset(dbapi_conn: Any, _record: Any, reset_state: Any) -> None:
        # A returned connection gets more than SQLAlchemy's ROLLBACK: session state that SQL may
        # have left (a session-wide creator setting, temporary tables, held cursors, another role)
        # must not reach the next transaction, which may belong to another creator.
        if reset_state.terminate_only:
            return
        dbapi_conn.rollback()
        with dbapi_conn.cursor() as cur:
            cur.execute(reset_sql)
        dbapi_conn.commit()

    return engine


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Start or reach the database named by ``settings``, apply pending migrations, and return it.

    Raises:
        StartupError: the database could not be reached or prepared (one sentence, with the fix).
        MigrationError: a migration failed or an applied migration file was edited.
    """
    if settings.database_url:
        owner_url = normalize_url(settings.database_url)
        server = None
        kind: Literal["embedded", "url"] = "url"
    else:
        server = embedded.start_embedded_server(settings.data_dir)
        owner_url = embedded.embedded_url(server)
        kind = "embedded"

    owner_engine = create_engine(owner_url, register_vector=False)
    engine: Engine | None = None
    try:
        _check_server(owner_engine, owner_url)
        if migrate:
            migrations.migrate(owner_engine)
            _register_openai_model(owner_engine, settings)
        # The app logs in as a role of its own, never as the owner: SQL sent on its connection
        # could RESET ROLE, and RESET ROLE goes back to whoever logged in.
        if kind == "embedded":
            app_url = _embedded_app_login(owner_engine, server)
        elif settings.app_database_url:
            app_url = normalize_url(settings.app_database_url, setting=applogin.APP_URL_SETTING)
        else:
            app_url = applogin.provision(owner_engine, owner_url, settings.data_dir)
        engine = create_engine(app_url, role=APP_ROLE)
        if migrate:
            applogin.check_login(engine, app_url, derived=kind == "url" and not settings.app_database_url)
    except Exception:
        owner_engine.dispose()
        if engine is not None:
            engine.dispose()
        raise
    return Database(
        engine=engine,
        owner_engine=owner_engine,
        kind=kind,
        display_url=redact_url(owner_url) if kind == "url" else str(settings.pgdata),
        server=server,
    )


def _embedded_app_login(owner_engine: Engine, server: Any) -> str:
    """The embedded server is ours and trusts its Unix socket: chronos_app just needs LOGIN."""
    with owner_engine.begin() as conn:
        if applogin.role_exists(conn):  # not yet on a fresh folder opened only to migrate
            conn.execute(sa.text(f"ALTER ROLE {APP_ROLE} LOGIN"))
    return embedded.embedded_url(server, user=APP_ROLE)


def _register_openai_model(engine: Engine, settings: Settings) -> None:
    """Make sure the configured OpenAI embedding model has its row and its HNSW index."""
    if not settings.openai_api_key:
        return
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT chronos.register_embedding_model(:name, 'openai', :dims)"),
                         {"name": settings.openai_embedding_model, "dims": settings.openai_embedding_dimensions})
    except DBAPIError as exc:
        raise StartupError(
            f"The embedding model {settings.openai_embedding_model} cannot be used with "
            f"{settings.openai_embedding_dimensions} dimensions ({str(exc.orig).splitlines()[0]}); fix "
            "CHRONOS_OPENAI_EMBEDDING_MODEL or CHRONOS_OPENAI_EMBEDDING_DIMENSIONS."
        ) from exc


def _check_server(engine: Engine, url: str) -> None:
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
    except (OperationalError, DBAPIError) as exc:
        raise StartupError(explain_connect_error(exc, url)) from exc
    if int(version) < MIN_SERVER_VERSION:
        raise StartupError(
            f"The server at {redact_url(url)} runs PostgreSQL {int(version) // 10000}; "
            "Chronos needs PostgreSQL 15 or newer with pgvector."
        )


def explain_connect_error(exc: Exception, url: str) -> str:
    """One sentence for a failed connection: what went wrong and what to change."""
    message = str(getattr(exc, "orig", exc))
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    user = parsed.username or "postgres"
    if "password authentication failed" in message or "no password supplied" in message:
        return (
            f"The database at {where} rejected the password for user '{user}'; "
            "check the password in DATABASE_URL."
        )
    if re.search(r'database "[^"]+" does not exist', message):
        return (
            f"The database '{parsed.database}' does not exist on {where}; create it "
            "(createdb) or fix the database name in DATABASE_URL."
        )
    if re.search(r'role "[^"]+" does not exist', message):
        return f"The user '{user}' does not exist on {where}; fix the user name in DATABASE_URL."
    if "could not translate host name" in message or "Name or service not known" in message:
        return f"The host '{parsed.host}' in DATABASE_URL could not be found; check its spelling."
    if "Connection refused" in message:
        return (
            f"Nothing accepts connections at {where}; start PostgreSQL there or fix the host "
            "and port in DATABASE_URL (unset it to use the embedded database)."
        )
    if "timeout" in message.lower():
        return (
            f"The database at {where} did not answer within {_CONNECT_TIMEOUT_SECONDS} s; "
            "check the host, the port and any firewall."
        )
    if "server closed the connection" in message or "invalid response" in message or "SSL" in message:
        return (
            f"Something that is not PostgreSQL answered at {where} (the port is busy with "
            "another program); fix the port in DATABASE_URL."
        )
    first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return f"Chronos could not connect to the database at {where} ({first_line}); check DATABASE_URL."


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the server went away or refuses connections,
    the kind of failure that retrying after a restart of the server cures."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable):
            return True
        if isinstance(current, OperationalError) and _is_connection_lost(current):
            return True
        if isinstance(current, psycopg.OperationalError) and _lost_marker(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_connection_lost(exc: OperationalError) -> bool:
    return bool(getattr(exc, "connection_invalidated", False)) or _lost_marker(str(exc.orig))


def _lost_marker(message: str) -> bool:
    return any(marker in message
               for marker in ("server closed the connection", "Connection refused", "terminating connection",
                              "connection is closed", "the database system is", "consuming input failed",
                              "No such file or directory"))
